// NumPy .npz (a zip of .npy entries, stored or deflated) through libzip: a streaming reader
// and an atomic writer that stages each array in a temporary .npy file beside the output.
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "io_internal.hpp"

namespace dgeval {

namespace {

std::string array_label(const std::string& npz, const std::string& array) {
  return npz + ": array '" + array + "'";
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
        throw error(label_ + ": byte " + std::to_string(offset_) + ": cannot read the entry (" +
                    zip_file_strerror(f_) + ")");
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
      std::snprintf(text, sizeof text, "archive says 0x%08x, the data gives 0x%08x", static_cast<unsigned>(expected_crc_),
                    static_cast<unsigned>(crc_));
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
    if (im.index.count(s)) throw error(name + ": array '" + s + "' appears twice in the archive");
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
      throw error(path + ": an .npz cannot be read from a pipe, FIFO or device (a zip archive is read by seeking); "
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
    for (const std::string& a : impl_->order) found += (found.empty() ? "" : ", ") + a;
    throw error(name_ + ": no array '" + array + "' (the archive holds: " + (found.empty() ? "nothing" : found) + ")");
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
                  std::to_string(st.size) + " bytes, more than deflate can expand (1032 times); the archive is corrupt");
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

NpzWriter::NpzWriter(std::string path, bool compress) : path_(std::move(path)), compress_(compress) {}

NpzWriter::~NpzWriter() {
  for (auto& e : entries_) {
    const std::string p = e.second->path();
    e.second.reset();
    std::remove(p.c_str());
  }
}

namespace {
std::string temp_name(const std::string& base, const std::string& suffix) {
  std::random_device rd;
  return base + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd()) + suffix;
}
}  // namespace

NpyStreamWriter& NpzWriter::begin(const std::string& array, const std::string& descr) {
  for (const auto& e : entries_) {
    if (e.first == array) throw error("npz writer: array '" + array + "' added twice");
  }
  entries_.emplace_back(array, std::make_unique<NpyStreamWriter>(temp_name(path_, "." + array + ".npy"), descr));
  return *entries_.back().second;
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
  for (const auto& e : entries_) {
    if (!e.second->finished()) throw error("npz writer: array '" + e.first + "' was not finished");
  }
  const std::string tmp = temp_name(path_, ".npz");
  int err = 0;
  zip_t* za = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    const std::string why = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw error("cannot create " + tmp + ": " + why);
  }
  try {
    for (const auto& e : entries_) {
      zip_source_t* src = zip_source_file(za, e.second->path().c_str(), 0, 0);
      if (!src) throw error("npz writer: " + e.second->path() + ": " + zip_strerror(za));
      const zip_int64_t idx = zip_file_add(za, (e.first + ".npy").c_str(), src, ZIP_FL_ENC_UTF_8);
      if (idx < 0) {
        zip_source_free(src);
        throw error("npz writer: cannot add '" + e.first + "': " + zip_strerror(za));
      }
      if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), compress_ ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0) {
        throw error("npz writer: cannot set compression: " + std::string(zip_strerror(za)));
      }
    }
    if (zip_close(za) != 0) throw error("writing " + path_ + " failed: " + zip_strerror(za));
  } catch (...) {
    zip_discard(za);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw error("cannot rename " + tmp + " to " + path_ + ": " + why);
  }
  committed_ = true;
}

}  // namespace dgeval
