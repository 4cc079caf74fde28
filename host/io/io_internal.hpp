// Helpers shared by the file-format sources under host/io (not part of the public API).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <streambuf>
#include <string>
#include <vector>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "dgeval/memory.hpp"

namespace dgeval {
namespace detail {

/// Reorders the elements of a Fortran-order array of `shape` into C order. `what` names the
/// array for the memory check of the copy.
std::vector<double> fortran_to_c(const std::vector<double>& f, const std::vector<std::int64_t>& shape,
                                 const std::string& what = "array");

/// Parses a number as written in .nfg and strategy files: an integer, a decimal with optional
/// exponent (also nan/inf), or a rational p/q (q != 0). False if `s` is not exactly that.
bool parse_number(const std::string& s, double* out);

// ---------------------------------------------------------------------------------------------
// Allocations sized from file contents: every one goes through these, after the size has been
// checked against the bytes the file holds, so that it is also checked against the memory
// budget (dgeval/memory.hpp) and an out-of-memory becomes a dgeval::error naming `what`.

/// `count` elements of `size` bytes, in bytes (throws naming `what` on overflow).
std::int64_t bytes_of(std::int64_t count, std::size_t size, const std::string& what);

/// An uninitialised byte buffer (its pages are only touched when written), grown on demand.
class Buffer {
 public:
  /// Makes room for at least `bytes` bytes (the contents are not kept when it grows).
  unsigned char* reserve(std::int64_t bytes, const std::string& what);
  unsigned char* data() { return data_.get(); }
  std::size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<unsigned char[]> data_;
  std::size_t capacity_ = 0;
};

/// v.assign(count, T()) after the memory check.
template <class T>
void checked_assign(std::vector<T>& v, std::int64_t count, const std::string& what) {
  const std::int64_t bytes = bytes_of(count, sizeof(T), what);
  check_memory(bytes, what);
  try {
    v.assign(static_cast<std::size_t>(count), T());
  } catch (const std::bad_alloc&) {
    throw error(what + ": out of memory allocating " + describe_bytes(bytes));
  }
}

/// v.push_back(x), checking each growth of the capacity against the memory budget.
template <class T>
void checked_push(std::vector<T>& v, T x, const std::string& what) {
  if (v.size() == v.capacity()) {
    const std::int64_t cap = v.capacity() < 16 ? 16 : static_cast<std::int64_t>(v.capacity()) * 2;
    const std::int64_t bytes = bytes_of(cap, sizeof(T), what);
    check_memory(bytes, what);
    try {
      v.reserve(static_cast<std::size_t>(cap));
    } catch (const std::bad_alloc&) {
      throw error(what + ": out of memory allocating " + describe_bytes(bytes));
    } catch (const std::length_error&) {
      throw error(what + ": out of memory allocating " + describe_bytes(bytes));
    }
  }
  v.push_back(std::move(x));
}

// ---------------------------------------------------------------------------------------------
// Input files

/// A file opened once for reading: a regular file (its size known, read at any offset) or a
/// stream (a pipe, FIFO, terminal or device such as /dev/zero: read in order, size unknown).
class InputFile {
 public:
  /// Opens `path`; throws "cannot open PATH: why".
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  bool regular() const { return regular_; }
  /// The size when opened; -1 for a stream.
  std::int64_t size() const { return size_; }
  /// The size now (a regular file may have been truncated since it was opened); -1 for a stream.
  std::int64_t current_size() const;

  /// The first `n` bytes (fewer if the input is shorter), without consuming them: read()
  /// returns them again. Only before the first read().
  std::string peek(std::size_t n);
  /// Reads up to `n` bytes from the current position; 0 only at the end. Throws naming the
  /// byte offset on a read error.
  std::size_t read(void* dst, std::size_t n);
  /// Reads until `n` bytes or the end; returns the number read.
  std::size_t read_full(void* dst, std::size_t n);
  /// Bytes consumed by read().
  std::int64_t offset() const { return offset_; }
  /// Reads at `offset` of a regular file (pread) until `n` bytes or the end; returns the number
  /// read. Does not move the position of read().
  std::size_t read_at(void* dst, std::size_t n, std::int64_t offset) const;

 private:
  std::string path_;
  int fd_ = -1;
  bool regular_ = false;
  std::int64_t size_ = -1;
  std::string pending_;  // peeked bytes not yet returned by read()
  std::int64_t offset_ = 0;
};

/// A std::streambuf reading an InputFile in order (for the .nfg parser, which reads streams).
class InputStreamBuf : public std::streambuf {
 public:
  explicit InputStreamBuf(InputFile& f) : f_(f), buf_(std::size_t{1} << 16) {}

 protected:
  int_type underflow() override;

 private:
  InputFile& f_;
  std::vector<char> buf_;
};

/// The header of an .npy read from the start of `f`: the magic, version and length, then the
/// dict, read in steps as the bytes arrive. Throws naming the file and the byte offset.
NpyHeader read_npy_header(InputFile& f);

/// Reads `bytes` bytes of `f` in order into `dst`, or throws naming the file and the byte offset
/// where it ended (`what` says what was being read).
void read_exact(InputFile& f, void* dst, std::int64_t bytes, const std::string& what);

/// read_npy, calling `check_header` (if any) on the header before the data is read, so that a
/// caller that knows what the array must be refuses a wrong shape before anything is allocated.
NpyArray read_npy_file(const std::string& path, const std::function<void(const NpyHeader&)>& check_header);

}  // namespace detail
}  // namespace dgeval
