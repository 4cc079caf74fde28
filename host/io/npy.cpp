// NumPy .npy: header parsing (format versions 1.0, 2.0, 3.0), element conversion, and writers.
// Reference: numpy/lib/format.py. The header is a Python dict literal with the keys 'descr',
// 'fortran_order' and 'shape'; it is parsed strictly (any other content is refused).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "io/io_internal.hpp"

namespace dgeval {

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMaxRank = 64;  // NumPy allows 64 dimensions (32 before NumPy 2)

[[noreturn]] void fail(const std::string& name, std::size_t offset, const std::string& what) {
  std::ostringstream m;
  m << name << ": byte " << offset << ": " << what;
  throw error(m.str());
}

// A strict parser of the header dict; `base` is the byte offset of the text in the file.
class DictParser {
 public:
  DictParser(const std::string& text, std::size_t base, const std::string& name) : s_(text), base_(base), name_(name) {}

  void parse(NpyHeader& h) {
    bool have_descr = false, have_order = false, have_shape = false;
    ws();
    expect('{', "'{' opening the header dict");
    for (;;) {
      ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::size_t key_at = i_;
      const std::string key = quoted("a quoted key ('descr', 'fortran_order' or 'shape')");
      ws();
      expect(':', "':' after the key");
      ws();
      if (key == "descr") {
        if (peek() == '[')
          fail(name_, base_ + i_,
               "unsupported dtype: structured arrays are not supported; expected float32 or float64");
        h.descr = quoted("the dtype string, e.g. '<f8'");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (s_.compare(i_, 4, "True") == 0) {
          h.fortran_order = true;
          i_ += 4;
        } else if (s_.compare(i_, 5, "False") == 0) {
          h.fortran_order = false;
          i_ += 5;
        } else {
          fail(name_, base_ + i_, "expected True or False for 'fortran_order'");
        }
        have_order = true;
      } else if (key == "shape") {
        expect('(', "'(' opening the shape tuple");
        h.shape.clear();
        for (;;) {
          ws();
          if (peek() == ')') {
            ++i_;
            break;
          }
          if (h.shape.size() >= kMaxRank) {
            fail(name_, base_ + i_, "more than " + std::to_string(kMaxRank) + " dimensions in the shape");
          }
          h.shape.push_back(integer());
          ws();
          if (peek() == ',') {
            ++i_;
          } else if (peek() != ')') {
            fail(name_, base_ + i_, "expected ',' or ')' in the shape tuple");
          }
        }
        have_shape = true;
      } else {
        fail(name_, base_ + key_at,
             "unexpected key '" + printable(key.substr(0, 40)) +
                 "' in the header; expected 'descr', 'fortran_order', 'shape'");
      }
      ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != '}') {
        fail(name_, base_ + i_, "expected ',' or '}' in the header dict");
      }
    }
    ws();
    if (i_ != s_.size()) fail(name_, base_ + i_, "unexpected text after the header dict");
    if (!have_descr || !have_order || !have_shape) {
      fail(name_, base_,
           "the header dict lacks " + std::string(!have_descr   ? "'descr'"
                                                  : !have_order ? "'fortran_order'"
                                                                : "'shape'"));
    }
  }

 private:
  int peek() const { return i_ < s_.size() ? static_cast<unsigned char>(s_[i_]) : -1; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c, const char* what) {
    if (peek() != c) fail(name_, base_ + i_, std::string("expected ") + what);
    ++i_;
  }
  std::string quoted(const char* what) {
    const int q = peek();
    if (q != '\'' && q != '"') fail(name_, base_ + i_, std::string("expected ") + what);
    const std::size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != q) ++i_;
    if (i_ >= s_.size()) fail(name_, base_ + start - 1, "unterminated string in the header");
    return s_.substr(start, i_++ - start);
  }
  std::int64_t integer() {
    const std::size_t start = i_;
    if (peek() == '-') fail(name_, base_ + i_, "negative dimension in the shape; expected sizes >= 0");
    std::int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int d = s_[i_++] - '0';
      if (v > (INT64_MAX - d) / 10) fail(name_, base_ + start, "dimension overflows a 64-bit integer");
      v = v * 10 + d;
    }
    if (i_ == start) fail(name_, base_ + i_, "expected a non-negative integer dimension in the shape");
    if (peek() == 'L') ++i_;  // Python 2 long suffix
    return v;
  }

  const std::string& s_;
  std::size_t base_;
  const std::string& name_;
  std::size_t i_ = 0;
};

template <class T>
T load_raw(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  if (swap) {
    for (std::size_t k = 0; k < sizeof(T); ++k) b[k] = p[sizeof(T) - 1 - k];
  } else {
    std::memcpy(b, p, sizeof(T));
  }
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

}  // namespace

std::int64_t NpyHeader::elements() const {
  std::int64_t e = 1;
  for (std::int64_t d : shape) e = checked_mul(e, d, "array size (product of the shape)");
  return e;
}

std::int64_t NpyHeader::data_bytes() const { return checked_mul(elements(), itemsize, "array size in bytes"); }

std::string NpyHeader::shape_text() const {
  std::string t = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) t += ",";
  return t + ")";
}

DType NpyHeader::utility_dtype(const std::string& name) const {
  if (kind == 'f' && itemsize == 8) return DType::float64;
  if (kind == 'f' && itemsize == 4) return DType::float32;
  throw error(name + ": unsupported dtype '" + printable(descr.substr(0, 40)) +
              "' for utilities; expected float32 or float64 ('<f4', '<f8', '>f4' or '>f8')");
}

NpyHeader parse_npy_header(const void* data, std::size_t size, const std::string& name) {
  const auto* p = static_cast<const unsigned char*>(data);
  if (size < 8)
    fail(name, size, "truncated: the file ends inside the .npy magic and version (needs at least 10 bytes)");
  if (std::memcmp(p, kMagic, 6) != 0) fail(name, 0, "wrong magic: not a NumPy .npy file (expected \\x93NUMPY)");
  NpyHeader h;
  h.major = p[6];
  h.minor = p[7];
  if (h.major < 1 || h.major > 3 || h.minor != 0) {
    fail(name, 6,
         "unsupported .npy format version " + std::to_string(h.major) + "." + std::to_string(h.minor) +
             "; expected 1.0, 2.0 or 3.0");
  }
  const std::size_t len_bytes = h.major == 1 ? 2 : 4;
  if (size < 8 + len_bytes) fail(name, size, "truncated: the file ends inside the header length");
  std::size_t header_len = p[8] | (std::size_t{p[9]} << 8);
  if (len_bytes == 4) header_len |= (std::size_t{p[10]} << 16) | (std::size_t{p[11]} << 24);
  const std::size_t start = 8 + len_bytes;
  if (header_len > (std::size_t{1} << 24))
    fail(name, 8, "header length " + std::to_string(header_len) + " is implausibly large");
  if (size < start + header_len) {
    fail(name, size,
         "truncated: the header needs " + std::to_string(start + header_len) + " bytes, the file has " +
             std::to_string(size));
  }
  std::string text(reinterpret_cast<const char*>(p + start), header_len);
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 && h.major < 3) fail(name, start, "non-ASCII byte in the header");
  }
  DictParser(text, start, name).parse(h);
  h.data_offset = static_cast<std::int64_t>(start + header_len);

  // descr: byte order, kind, item size.
  const std::string& d = h.descr;
  bool ok = d.size() >= 3;
  char order = ok ? d[0] : '?';
  if (ok && order != '<' && order != '>' && order != '=' && order != '|') ok = false;
  if (ok) {
    h.kind = d[1];
    const std::string size_text = d.substr(2);
    h.itemsize = size_text == "1" ? 1 : size_text == "2" ? 2 : size_text == "4" ? 4 : size_text == "8" ? 8 : 0;
    ok = h.itemsize != 0;
    if (ok) {
      switch (h.kind) {
        case 'f':
          ok = h.itemsize == 4 || h.itemsize == 8;
          break;
        case 'i':
        case 'u':
          break;
        case 'b':
          ok = h.itemsize == 1;
          break;
        default:
          ok = false;
      }
    }
    if (ok && order == '|' && h.itemsize != 1) ok = false;
  }
  if (!ok) {
    fail(name, start,
         "unsupported dtype '" + printable(d.substr(0, 40)) +
             "'; expected float32 or float64 (e.g. '<f8'), or for strategies an integer or bool dtype");
  }
  h.big_endian = order == '>' && h.itemsize > 1;
  try {
    h.data_bytes();
  } catch (const error& e) {
    fail(name, start, std::string("shape ") + h.shape_text() + ": " + e.what());
  }
  return h;
}

void convert_to_double(const NpyHeader& h, const void* src, std::int64_t count, double* dst) {
  if (count <= 0) return;  // (an empty array may have null pointers)
  const auto* p = static_cast<const unsigned char*>(src);
  const bool swap = h.big_endian;
  const std::int64_t w = h.itemsize;
  if (h.kind == 'f' && w == 8 && !swap) {
    std::memcpy(dst, p, static_cast<std::size_t>(count) * 8);
    return;
  }
  for (std::int64_t j = 0; j < count; ++j, p += w) {
    double v = 0;
    switch (h.kind) {
      case 'f':
        v = w == 8 ? load_raw<double>(p, swap) : load_raw<float>(p, swap);
        break;
      case 'b':
        v = *p ? 1.0 : 0.0;
        break;
      case 'i':
        v = w == 1   ? static_cast<double>(static_cast<std::int8_t>(*p))
            : w == 2 ? load_raw<std::int16_t>(p, swap)
            : w == 4 ? load_raw<std::int32_t>(p, swap)
                     : static_cast<double>(load_raw<std::int64_t>(p, swap));
        break;
      default:
        v = w == 1   ? *p
            : w == 2 ? load_raw<std::uint16_t>(p, swap)
            : w == 4 ? load_raw<std::uint32_t>(p, swap)
                     : static_cast<double>(load_raw<std::uint64_t>(p, swap));
    }
    dst[j] = v;
  }
}

namespace detail {

std::vector<double> fortran_to_c(const std::vector<double>& f, const std::vector<std::int64_t>& shape,
                                 const std::string& what) {
  const std::size_t r = shape.size();
  if (r <= 1 || f.empty()) return f;
  std::vector<double> c;
  checked_assign(c, static_cast<std::int64_t>(f.size()), what + " (its C-order copy)");
  std::vector<std::int64_t> idx(r, 0), fstride(r, 1);
  for (std::size_t j = 1; j < r; ++j) fstride[j] = fstride[j - 1] * shape[j - 1];
  std::int64_t off = 0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    c[k] = f[static_cast<std::size_t>(off)];
    for (std::size_t j = r; j-- > 0;) {
      if (++idx[j] < shape[j]) {
        off += fstride[j];
        break;
      }
      off -= (shape[j] - 1) * fstride[j];
      idx[j] = 0;
    }
  }
  return c;
}

NpyHeader read_npy_header(InputFile& f) {
  std::string head(12, '\0');
  head.resize(f.read_full(&head[0], 10));
  const auto magic_ok = [&]() { return head.size() >= 8 && std::memcmp(head.data(), kMagic, 6) == 0; };
  if (head.size() == 10 && magic_ok() && static_cast<unsigned char>(head[6]) >= 2) {
    head.resize(12);
    head.resize(10 + f.read_full(&head[10], 2));
  }
  // The header's length, when the magic and version are there (parse_npy_header says what is
  // wrong otherwise); the header is then read in steps, so that a length beyond the end of a
  // stream allocates no more than the bytes that came.
  std::size_t total = head.size();
  if (magic_ok() && head.size() >= 10) {
    const auto* p = reinterpret_cast<const unsigned char*>(head.data());
    const bool wide = p[6] >= 2;
    if (!wide || head.size() >= 12) {
      std::size_t len = p[8] | (std::size_t{p[9]} << 8);
      if (wide) len |= (std::size_t{p[10]} << 16) | (std::size_t{p[11]} << 24);
      if (len <= (std::size_t{1} << 24)) total = (wide ? 12 : 10) + len;
    }
  }
  while (head.size() < total) {
    const std::size_t at = head.size();
    const std::size_t step = std::min<std::size_t>(total - at, std::size_t{1} << 16);
    head.resize(at + step);
    const std::size_t got = f.read_full(&head[at], step);
    head.resize(at + got);
    if (got < step) break;
  }
  return parse_npy_header(head.data(), head.size(), f.path());
}

NpyArray read_npy_file(const std::string& path, const std::function<void(const NpyHeader&)>& check_header) {
  InputFile f(path);
  NpyArray a;
  a.header = read_npy_header(f);
  if (check_header) check_header(a.header);
  const NpyHeader& h = a.header;
  const std::int64_t need = h.data_bytes();
  if (f.regular()) {
    const std::int64_t have = f.size() - h.data_offset;
    if (have < need) {
      fail(path, static_cast<std::size_t>(f.size()),
           "truncated: shape " + h.shape_text() + " needs " + std::to_string(need) + " data bytes after byte " +
               std::to_string(h.data_offset) + ", the file has " + std::to_string(have));
    }
    if (have > need) {
      fail(path, static_cast<std::size_t>(h.data_offset + need),
           std::to_string(have - need) + " unexpected bytes after the array data (shape " + h.shape_text() + ")");
    }
  }
  const std::string what = path + " (shape " + h.shape_text() + ")";
  {
    Buffer raw;
    raw.reserve(need, what);
    read_exact(f, raw.data(), need, "the array data (shape " + h.shape_text() + ")");
    char extra;
    if (f.read(&extra, 1) != 0) {
      fail(path, static_cast<std::size_t>(h.data_offset + need),
           "unexpected bytes after the array data (shape " + h.shape_text() + ")");
    }
    checked_assign(a.values, h.elements(), what + " as float64");
    convert_to_double(h, raw.data(), h.elements(), a.values.data());
  }
  if (h.fortran_order) a.values = fortran_to_c(a.values, h.shape, what);
  return a;
}

}  // namespace detail

NpyArray parse_npy(const void* data, std::size_t size, const std::string& name) {
  NpyArray a;
  a.header = parse_npy_header(data, size, name);
  const std::int64_t need = a.header.data_bytes();
  const std::int64_t have = static_cast<std::int64_t>(size) - a.header.data_offset;
  if (have < need) {
    fail(name, size,
         "truncated: shape " + a.header.shape_text() + " needs " + std::to_string(need) + " data bytes after byte " +
             std::to_string(a.header.data_offset) + ", the file has " + std::to_string(have));
  }
  if (have > need) {
    fail(name, static_cast<std::size_t>(a.header.data_offset + need),
         std::to_string(have - need) + " unexpected bytes after the array data (shape " + a.header.shape_text() + ")");
  }
  const std::string what = name + " (shape " + a.header.shape_text() + ")";
  detail::checked_assign(a.values, a.header.elements(), what + " as float64");
  convert_to_double(a.header, static_cast<const unsigned char*>(data) + a.header.data_offset, a.header.elements(),
                    a.values.data());
  if (a.header.fortran_order) a.values = detail::fortran_to_c(a.values, a.header.shape, what);
  return a;
}

NpyArray read_npy(const std::string& path) { return detail::read_npy_file(path, nullptr); }

namespace {

int itemsize_of(const std::string& descr) {
  if (descr == "<f8" || descr == "<i8") return 8;
  if (descr == "<f4") return 4;
  if (descr == "|b1") return 1;
  throw error("npy writer: unsupported dtype " + descr);
}

// The header block (magic, version, length, dict, padding) padded to a multiple of 64 bytes,
// and at least `min_total` bytes.
std::string make_header(const std::vector<std::int64_t>& shape, const std::string& descr, std::size_t min_total) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dict += ",";
  dict += "), }";
  std::size_t total = 10 + dict.size() + 1;
  total = std::max(total, min_total);
  total = (total + 63) / 64 * 64;
  if (total - 10 > 65535) throw error("npy writer: header too long");
  const std::size_t header_len = total - 10;
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_len & 0xff);
  out += static_cast<char>(header_len >> 8);
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

constexpr std::size_t kStreamHeaderBytes = 1024;  // room for any shape of up to kMaxPlayers + 2 axes

}  // namespace

void write_npy(std::ostream& out, const std::vector<std::int64_t>& shape, const std::string& descr, const void* data) {
  std::int64_t elements = 1;
  for (std::int64_t d : shape) elements = checked_mul(elements, d, "npy writer: array size");
  out << make_header(shape, descr, 0);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(elements * itemsize_of(descr)));
  if (!out) throw error("npy writer: write failed");
}

NpyStreamWriter::NpyStreamWriter(const std::string& path, std::string descr)
    : path_(path), descr_(std::move(descr)), itemsize_(itemsize_of(descr_)) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw error("cannot create " + path + ": " + std::strerror(errno));
  reserve_header();
}

NpyStreamWriter::NpyStreamWriter(int fd, std::string name, std::string descr)
    : path_(std::move(name)), descr_(std::move(descr)), itemsize_(itemsize_of(descr_)) {
  // A descriptor of our own (the caller's stays open, holding the file once this one closes).
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0 || ::lseek(own, 0, SEEK_SET) != 0 || ::ftruncate(own, 0) != 0 || !(file_ = ::fdopen(own, "wb"))) {
    const int e = errno;
    if (own >= 0 && !file_) ::close(own);
    throw error("cannot write " + path_ + ": " + std::strerror(e));
  }
  reserve_header();
}

void NpyStreamWriter::reserve_header() {
  const std::string placeholder(kStreamHeaderBytes, ' ');
  if (std::fwrite(placeholder.data(), 1, placeholder.size(), file_) != placeholder.size()) {
    const int e = errno;
    std::fclose(file_);
    file_ = nullptr;
    throw error("writing " + path_ + " failed: " + std::strerror(e));
  }
}

NpyStreamWriter::~NpyStreamWriter() {
  if (file_) std::fclose(file_);
}

void NpyStreamWriter::append(const void* data, std::size_t bytes) {
  if (!file_) throw error("npy writer: " + path_ + " is already finished");
  if (bytes && std::fwrite(data, 1, bytes, file_) != bytes) {
    throw error("writing " + path_ + " failed: " + std::strerror(errno));
  }
  bytes_ += static_cast<std::int64_t>(bytes);
}

void NpyStreamWriter::finish(const std::vector<std::int64_t>& shape) {
  std::int64_t elements = 1;
  for (std::int64_t d : shape) elements = checked_mul(elements, d, "npy writer: array size");
  if (elements * itemsize_ != bytes_) throw error("npy writer: " + path_ + ": shape does not match the data written");
  const std::string header = make_header(shape, descr_, kStreamHeaderBytes);
  if (header.size() != kStreamHeaderBytes) throw error("npy writer: shape too long for " + path_);
  if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(header.data(), 1, header.size(), file_) != header.size() ||
      std::fflush(file_) != 0) {
    throw error("writing " + path_ + " failed: " + std::strerror(errno));
  }
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw error("writing " + path_ + " failed: " + std::strerror(errno));
}

}  // namespace dgeval
