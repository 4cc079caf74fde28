// NumPy .npz (a zip of .npy entries, stored or deflated) through libzip: a streaming reader
// and a writer that stages each array in an unnamed temporary file and zips them into one of a
// run's outputs (dgeval/output.hpp).
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "dgeval/output.hpp"
#include "io/io_internal.hpp"

namespace dgeval {

namespace {

std::string array_label(const std::string& npz, const std::string& array) {
  return npz + ": array '" + printable(array) + "'";
}

/// One member's bytes, streamed. The member's CRC-32 is accumulated as the bytes pass (zlib's
/// crc32, no second pass over the data) and checked against the archive's when the last byte
/// of the member has been read: a corrupt member is refused by name instead of evaluated.
class ZipStream : public NpzReader::Stream {
 public:
  ZipStream(zip_file_t* f, std::string label, std::int64_t size, bool has_crc, std::uint32_t crc)
      : f_(f), label_(std::move(label)), size_(size), has_crc_(has_crc), expected_crc_(crc) {}
  ~ZipStream() override { zip_fclose(f_); }
  void read(void* dst, std::size_t bytes) override {
    auto* p = static_cast<char*>(dst);
    while (bytes > 0) {
      const zip_int64_t got = zip_fread(f_, p, bytes);
      if (got < 0) {
        throw error(label_ + ": byte " + std::to_string(offset_) + ": cannot read the entry (" + zip_file_strerror(f_) +
                    ")");
      }
      if (got == 0) {
        throw error(label_ + ": byte " + std::to_string(offset_) + ": truncated: the entry ends " +
                    std::to_string(bytes) + " bytes early");
      }
      crc_ = crc32_z(crc_, reinterpret_cast<const Bytef*>(p), static_cast<z_size_t>(got));
      p += got;
      bytes -= static_cast<std::size_t>(got);
      offset_ += got;
    }
    if (has_crc_ && offset_ == size_ && crc_ != expected_crc_) {
      char text[64];
      std::snprintf(text, sizeof text, "archive says 0x%08x, the data gives 0x%08x",
                    static_cast<unsigned>(expected_crc_), static_cast<unsigned>(crc_));
      throw error(label_ + ": CRC-32 mismatch, the entry is corrupt (" + text + ")");
    }
  }
  std::int64_t offset() const { return offset_; }

 private:
  zip_file_t* f_;
  std::string label_;
  std::int64_t size_;
  bool has_crc_;
  std::uint32_t expected_crc_;
  std::int64_t offset_ = 0;
  uLong crc_ = crc32_z(0L, Z_NULL, 0);
};

}  // namespace

struct NpzReader::Impl {
  zip_t* za = nullptr;
  std::int64_t archive_bytes = 0;  // the size of the archive (bounds each member's compressed size)
  std::vector<std::string> order;
  std::map<std::string, zip_uint64_t> index;
  ~Impl() {
    if (za) zip_discard(za);
  }
};

namespace {

void index_entries(NpzReader::Impl& im, zip_t* za, const std::string& name) {
  im.za = za;
  const zip_int64_t count = zip_get_num_entries(za, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* entry = zip_get_name(za, static_cast<zip_uint64_t>(i), 0);
    if (!entry) continue;
    std::string s = entry;
    if (s.size() > 4 && s.compare(s.size() - 4, 4, ".npy") == 0) s.resize(s.size() - 4);
    if (im.index.count(s)) throw error(name + ": array '" + printable(s) + "' appears twice in the archive");
    im.index[s] = static_cast<zip_uint64_t>(i);
    im.order.push_back(s);
  }
}

}  // namespace

NpzReader::NpzReader(const std::string& path) : name_(path), impl_(std::make_unique<Impl>()) {
  {
    // libzip reads the directory at the end of the archive first: it needs a file it can seek.
    const detail::InputFile f(path);
    if (!f.regular()) {
      throw error(path +
                  ": an .npz cannot be read from a pipe, FIFO or device (a zip archive is read by seeking); "
                  "write it to a file first");
    }
    impl_->archive_bytes = f.size();
  }
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!za) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    if (err == ZIP_ER_NOZIP) throw error(path + ": byte 0: not an .npz file (not a zip archive: " + why + ")");
    throw error(path + ": cannot open as .npz: " + why);
  }
  index_entries(*impl_, za, path);
}

NpzReader::NpzReader(const void* data, std::size_t size, const std::string& name)
    : name_(name), impl_(std::make_unique<Impl>()) {
  impl_->archive_bytes = static_cast<std::int64_t>(size);
  zip_error_t e;
  zip_error_init(&e);
  zip_source_t* src = zip_source_buffer_create(data, size, 0, &e);
  if (!src) {
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw error(name + ": " + why);
  }
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY, &e);
  if (!za) {
    zip_source_free(src);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw error(name + ": byte 0: not an .npz file (not a zip archive: " + why + ")");
  }
  zip_error_fini(&e);
  index_entries(*impl_, za, name);
}

NpzReader::~NpzReader() = default;

std::vector<std::string> NpzReader::arrays() const { return impl_->order; }

bool NpzReader::has(const std::string& array) const { return impl_->index.count(array) > 0; }

std::unique_ptr<NpzReader::Stream> NpzReader::open(const std::string& array, NpyHeader* header) {
  const auto it = impl_->index.find(array);
  const std::string label = array_label(name_, array);
  if (it == impl_->index.end()) {
    std::string found;
    for (const std::string& a : impl_->order) found += (found.empty() ? "" : ", ") + printable(a);
    throw error(name_ + ": no array '" + printable(array) +
                "' (the archive holds: " + (found.empty() ? "nothing" : found) + ")");
  }
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(impl_->za, it->second, 0, &st) != 0) {
    throw error(label + ": cannot read the entry: " + zip_strerror(impl_->za));
  }
  // The sizes in the zip directory, checked against the bytes there are before anything is
  // allocated from them: a member's compressed bytes lie inside the archive; a stored member's
  // size is its compressed size; a deflated member expands at most 1032 times (a 258-byte match
  // in 2 bits). The .npy header inside must then agree with the size (below).
  const zip_uint64_t need_valid = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if ((st.valid & need_valid) != need_valid) throw error(label + ": the zip directory does not give the entry's sizes");
  const std::int64_t archive = impl_->archive_bytes;
  if (st.comp_size > static_cast<zip_uint64_t>(archive) || st.size > static_cast<zip_uint64_t>(INT64_MAX)) {
    throw error(label + ": the zip directory says the entry holds " + std::to_string(st.comp_size) +
                " compressed bytes, but the archive has " + std::to_string(archive) + " bytes");
  }
  if (st.comp_method == ZIP_CM_STORE) {
    if (st.size != st.comp_size) {
      throw error(label + ": the zip directory gives the stored entry " + std::to_string(st.size) + " bytes but " +
                  std::to_string(st.comp_size) + " bytes in the archive; the archive is corrupt");
    }
  } else if (st.comp_method == ZIP_CM_DEFLATE) {
    if (st.size / 1032 > st.comp_size || (st.size / 1032 == st.comp_size && st.size % 1032 != 0)) {
      throw error(label + ": the zip directory says the entry inflates from " + std::to_string(st.comp_size) + " to " +
                  std::to_string(st.size) +
                  " bytes, more than deflate can expand (1032 times); the archive is corrupt");
    }
  } else {
    throw error(label + ": compression method " + std::to_string(st.comp_method) +
                " is not supported; expected a stored or deflated entry (np.savez, np.savez_compressed)");
  }
  zip_file_t* f = zip_fopen_index(impl_->za, it->second, 0);
  if (!f) throw error(label + ": cannot open the entry: " + zip_strerror(impl_->za));
  // The header: magic and version, then its length, then the dict.
  const std::int64_t entry_size = static_cast<std::int64_t>(st.size);
  auto stream = std::make_unique<ZipStream>(f, label, entry_size, (st.valid & ZIP_STAT_CRC) != 0 && entry_size >= 0,
                                            static_cast<std::uint32_t>(st.crc));
  std::string head(12, '\0');
  const std::size_t first = entry_size >= 0 && entry_size < 12 ? static_cast<std::size_t>(entry_size) : 12;
  stream->read(head.data(), first);
  head.resize(first);
  std::size_t need = first;
  if (first >= 10 && std::memcmp(head.data(), "\x93NUMPY", 6) == 0) {
    const auto* p = reinterpret_cast<const unsigned char*>(head.data());
    std::size_t len = p[8] | (std::size_t{p[9]} << 8);
    std::size_t start = 10;
    if (p[6] >= 2 && first >= 12) {
      len |= (std::size_t{p[10]} << 16) | (std::size_t{p[11]} << 24);
      start = 12;
    }
    if (len <= (std::size_t{1} << 24)) need = start + len;
    if (entry_size >= 0 && static_cast<std::int64_t>(need) > entry_size) need = static_cast<std::size_t>(entry_size);
  }
  if (need > first) {
    head.resize(need);
    stream->read(head.data() + first, need - first);
  }
  NpyHeader h = parse_npy_header(head.data(), head.size(), label);
  if (static_cast<std::int64_t>(head.size()) > h.data_offset) {
    throw error(label + ": internal error: header over-read");  // cannot happen: need is the header size
  }
  if (entry_size >= 0) {
    const std::int64_t expect = h.data_offset + h.data_bytes();
    if (entry_size < expect) {
      throw error(label + ": byte " + std::to_string(entry_size) + ": truncated: shape " + h.shape_text() + " needs " +
                  std::to_string(h.data_bytes()) + " data bytes, the entry has " +
                  std::to_string(entry_size - h.data_offset));
    }
    if (entry_size > expect) {
      throw error(label + ": byte " + std::to_string(expect) + ": " + std::to_string(entry_size - expect) +
                  " unexpected bytes after the array data (shape " + h.shape_text() + ")");
    }
  }
  if (header) *header = h;
  return stream;
}

NpyHeader NpzReader::header(const std::string& array) {
  NpyHeader h;
  open(array, &h);
  return h;
}

NpyArray NpzReader::load(const std::string& array) {
  NpyArray a;
  auto s = open(array, &a.header);
  const std::string what = array_label(name_, array) + " (shape " + a.header.shape_text() + ")";
  {
    detail::Buffer raw;
    const std::int64_t bytes = a.header.data_bytes();
    raw.reserve(bytes, what);
    s->read(raw.data(), static_cast<std::size_t>(bytes));
    detail::checked_assign(a.values, a.header.elements(), what + " as float64");
    convert_to_double(a.header, raw.data(), a.header.elements(), a.values.data());
  }
  if (a.header.fortran_order) a.values = detail::fortran_to_c(a.values, a.header.shape, what);
  return a;
}

// ---------------------------------------------------------------------------------------------

namespace {

// libzip sources over descriptors: the archive is written into the output's seekable staging
// descriptor and each member is read from its unnamed staging file, so that no file with a
// name is ever created (libzip's own zip_open(path) writes "path.XXXXXX" beside the target).
// Both poll the stop flag, which ends zip_close with ZIP_ER_CANCELLED.

struct ZipSink {
  int fd = -1;
  bool written = false;
  zip_error_t error;
};

zip_int64_t zip_sink_callback(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* s = static_cast<ZipSink*>(state);
  switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
      return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                            ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL,
                                            ZIP_SOURCE_SUPPORTS, ZIP_SOURCE_BEGIN_WRITE, ZIP_SOURCE_COMMIT_WRITE,
                                            ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_WRITE, ZIP_SOURCE_SEEK_WRITE,
                                            ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, -1);
    case ZIP_SOURCE_STAT:  // "no archive yet": zip_open_from_source starts an empty one
      zip_error_set(&s->error, ZIP_ER_READ, ENOENT);
      return -1;
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_BEGIN_WRITE:
      if (::ftruncate(s->fd, 0) != 0 || ::lseek(s->fd, 0, SEEK_SET) != 0) {
        zip_error_set(&s->error, ZIP_ER_WRITE, errno);
        return -1;
      }
      return 0;
    case ZIP_SOURCE_WRITE: {
      const char* p = static_cast<const char*>(data);
      zip_uint64_t left = len;
      while (left > 0) {
        if (stop_signal() != 0) {
          zip_error_set(&s->error, ZIP_ER_CANCELLED, 0);
          return -1;
        }
        const ssize_t n = ::write(s->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          zip_error_set(&s->error, ZIP_ER_WRITE, n < 0 ? errno : ENOSPC);
          return -1;
        }
        p += n;
        left -= static_cast<zip_uint64_t>(n);
      }
      return static_cast<zip_int64_t>(len);
    }
    case ZIP_SOURCE_SEEK_WRITE: {
      auto* args = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &s->error);
      if (!args) return -1;
      if (::lseek(s->fd, static_cast<off_t>(args->offset), args->whence) < 0) {
        zip_error_set(&s->error, ZIP_ER_SEEK, errno);
        return -1;
      }
      return 0;
    }
    case ZIP_SOURCE_TELL_WRITE: {
      const off_t at = ::lseek(s->fd, 0, SEEK_CUR);
      if (at < 0) zip_error_set(&s->error, ZIP_ER_TELL, errno);
      return at;
    }
    case ZIP_SOURCE_COMMIT_WRITE:
      s->written = true;
      return 0;
    case ZIP_SOURCE_ROLLBACK_WRITE:
    case ZIP_SOURCE_REMOVE:
    case ZIP_SOURCE_OPEN:
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_READ:
    case ZIP_SOURCE_SEEK:
    case ZIP_SOURCE_TELL:
    case ZIP_SOURCE_FREE:
      return 0;
    default:
      zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

struct ZipMember {
  int fd = -1;
  zip_uint64_t size = 0;
  zip_uint64_t at = 0;
  zip_error_t error;
};

zip_int64_t zip_member_callback(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto* m = static_cast<ZipMember*>(state);
  switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
      return ZIP_SOURCE_SUPPORTS_SEEKABLE;
    case ZIP_SOURCE_OPEN:
      m->at = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      if (stop_signal() != 0) {
        zip_error_set(&m->error, ZIP_ER_CANCELLED, 0);
        return -1;
      }
      const zip_uint64_t want = std::min(len, m->size - std::min(m->at, m->size));
      zip_uint64_t got = 0;
      while (got < want) {
        const ssize_t n = ::pread(m->fd, static_cast<char*>(data) + got, want - got, static_cast<off_t>(m->at + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          zip_error_set(&m->error, ZIP_ER_READ, n < 0 ? errno : EIO);
          return -1;
        }
        got += static_cast<zip_uint64_t>(n);
      }
      m->at += got;
      return static_cast<zip_int64_t>(got);
    }
    case ZIP_SOURCE_CLOSE:
      return 0;
    case ZIP_SOURCE_STAT: {
      auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &m->error);
      if (!st) return -1;
      zip_stat_init(st);
      st->size = m->size;
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_SEEK: {
      const zip_int64_t to = zip_source_seek_compute_offset(m->at, m->size, data, len, &m->error);
      if (to < 0) return -1;
      m->at = static_cast<zip_uint64_t>(to);
      return 0;
    }
    case ZIP_SOURCE_TELL:
      return static_cast<zip_int64_t>(m->at);
    case ZIP_SOURCE_ERROR:
      return zip_error_to_data(&m->error, data, len);
    case ZIP_SOURCE_FREE:
      zip_error_fini(&m->error);
      delete m;
      return 0;
    default:
      zip_error_set(&m->error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

std::function<void()> g_pack_hook;  // tests: called as the packing of an archive starts

}  // namespace

namespace detail {
void set_npz_pack_hook(std::function<void()> hook) { g_pack_hook = std::move(hook); }
}  // namespace detail

NpzWriter::NpzWriter(std::string path, bool compress)
    : path_(std::move(path)), compress_(compress), own_(std::make_unique<OutputSet>()) {
  out_ = &own_->add(path_);
  path_ = out_->name();
}

NpzWriter::NpzWriter(StagedOutput& output, bool compress) : path_(output.name()), compress_(compress), out_(&output) {}

NpzWriter::~NpzWriter() {
  for (Entry& e : entries_) {
    e.writer.reset();
    if (e.fd >= 0) ::close(e.fd);  // unnamed: closing it frees it
  }
}

NpyStreamWriter& NpzWriter::begin(const std::string& array, const std::string& descr) {
  if (committed_) throw error("npz writer: " + path_ + " already written");
  for (const Entry& e : entries_) {
    if (e.array == array) throw error("npz writer: array '" + array + "' added twice");
  }
  Entry e;
  e.array = array;
  e.fd = unnamed_file(out_->scratch_folder());
  try {
    e.writer = std::make_unique<NpyStreamWriter>(e.fd, path_ + " (array '" + array + "')", descr);
  } catch (...) {
    ::close(e.fd);
    throw;
  }
  entries_.push_back(std::move(e));
  return *entries_.back().writer;
}

void NpzWriter::add(const std::string& array, const std::vector<std::int64_t>& shape, const std::string& descr,
                    const void* data) {
  NpyStreamWriter& w = begin(array, descr);
  std::int64_t elements = 1;
  for (std::int64_t d : shape) elements = checked_mul(elements, d, "npz writer: array size");
  const std::int64_t item = descr == "|b1" ? 1 : descr == "<f4" ? 4 : 8;
  w.append(data, static_cast<std::size_t>(checked_mul(elements, item, "npz writer: array bytes")));
  w.finish(shape);
}

void NpzWriter::commit() {
  if (committed_) throw error("npz writer: " + path_ + " already written");
  if (entries_.empty()) throw error("npz writer: " + path_ + ": no arrays to write");
  for (const Entry& e : entries_) {
    if (!e.writer->finished()) throw error("npz writer: array '" + e.array + "' was not finished");
  }
  throw_if_stop_requested();
  ZipSink sink;
  sink.fd = out_->seekable_descriptor();
  zip_error_init(&sink.error);
  struct Fini {
    zip_error_t* e;
    ~Fini() { zip_error_fini(e); }
  } fini{&sink.error};
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* target = zip_source_function_create(zip_sink_callback, &sink, &err);
  zip_t* za = target ? zip_open_from_source(target, ZIP_CREATE | ZIP_TRUNCATE, &err) : nullptr;
  if (!za) {
    if (target) zip_source_free(target);
    const std::string why = zip_error_strerror(&err);
    zip_error_fini(&err);
    throw error("cannot write " + path_ + ": " + why);
  }
  zip_error_fini(&err);
  zip_register_progress_callback_with_state(
      za, 0.01,
      [](zip_t*, double, void*) {
        if (g_pack_hook) g_pack_hook();
      },
      nullptr, nullptr);
  zip_register_cancel_callback_with_state(
      za, [](zip_t*, void*) { return stop_signal() != 0 ? 1 : 0; }, nullptr, nullptr);
  try {
    for (const Entry& e : entries_) {
      struct stat st;
      if (::fstat(e.fd, &st) != 0) throw error("npz writer: array '" + e.array + "': " + std::strerror(errno));
      auto* member = new ZipMember;
      member->fd = e.fd;
      member->size = static_cast<zip_uint64_t>(st.st_size);
      zip_error_init(&member->error);
      zip_source_t* src = zip_source_function(za, zip_member_callback, member);
      if (!src) {
        zip_error_fini(&member->error);
        delete member;
        throw error("npz writer: " + path_ + ": " + zip_strerror(za));
      }
      const zip_int64_t idx = zip_file_add(za, (e.array + ".npy").c_str(), src, ZIP_FL_ENC_UTF_8);
      if (idx < 0) {
        zip_source_free(src);
        throw error("npz writer: cannot add '" + e.array + "': " + zip_strerror(za));
      }
      if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), compress_ ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) !=
          0) {
        throw error("npz writer: cannot set compression: " + std::string(zip_strerror(za)));
      }
      // The same results give the same bytes: every member has the same fixed metadata rather
      // than its staging file's time (libzip's default: now) — the DOS epoch, 1980-01-01 00:00
      // (date: day 1 | month 1 << 5 | (1980 - 1980) << 9; no time zone involved), and the
      // attributes of a regular file rw-r--r-- made on Unix. libzip adds no extra fields of its own.
      constexpr zip_uint16_t kDosTime = 0;
      constexpr zip_uint16_t kDosDate = (1u << 5) | 1u;
      constexpr zip_uint32_t kUnixRegular644 = 0100644u << 16;
      if (zip_file_set_dostime(za, static_cast<zip_uint64_t>(idx), kDosTime, kDosDate, 0) != 0 ||
          zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(idx), 0, ZIP_OPSYS_UNIX, kUnixRegular644) !=
              0) {
        throw error("npz writer: cannot set the metadata of '" + e.array + "': " + std::string(zip_strerror(za)));
      }
    }
    if (zip_close(za) != 0) {
      throw_if_stop_requested();  // ZIP_ER_CANCELLED: a stop, not a failure
      throw error("writing " + path_ + " failed: " + zip_strerror(za));
    }
  } catch (...) {
    zip_discard(za);
    throw;
  }
  committed_ = true;
  for (Entry& e : entries_) {  // the staged arrays are no longer needed: free their space now
    e.writer.reset();
    ::close(e.fd);
    e.fd = -1;
  }
  if (own_) own_->commit();
}

}  // namespace dgeval
