// Input files opened once and read as regular files (size known, pread) or as streams (pipes,
// FIFOs, devices), and the checked buffers the readers allocate (io_internal.hpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "io/io_internal.hpp"

namespace dgeval {
namespace detail {

std::int64_t bytes_of(std::int64_t count, std::size_t size, const std::string& what) {
  if (count < 0) throw error(what + ": negative size");
  const std::string label = what + ": size in bytes";
  return checked_mul(count, static_cast<std::int64_t>(size), label.c_str());
}

unsigned char* Buffer::reserve(std::int64_t bytes, const std::string& what) {
  if (bytes < 0) throw error(what + ": negative size");
  if (static_cast<std::uint64_t>(bytes) <= capacity_ && data_) return data_.get();
  check_memory(bytes, what);
  data_.reset();
  capacity_ = 0;
  // new[] without an initialiser leaves the bytes uninitialised: pages are only committed as
  // data is written into them.
  data_.reset(new (std::nothrow) unsigned char[static_cast<std::size_t>(std::max<std::int64_t>(bytes, 1))]);
  if (!data_) throw error(what + ": out of memory allocating " + describe_bytes(bytes));
  capacity_ = static_cast<std::size_t>(bytes);
  return data_.get();
}

InputFile::InputFile(const std::string& path) : path_(path) {
  do {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw error("cannot stat " + path + ": " + why);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    throw error(path + ": is a directory; expected a file");
  }
  regular_ = S_ISREG(st.st_mode);
  size_ = regular_ ? static_cast<std::int64_t>(st.st_size) : -1;
  if (regular_) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::int64_t InputFile::current_size() const {
  if (!regular_) return -1;
  struct stat st;
  if (::fstat(fd_, &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_size);
}

std::string InputFile::peek(std::size_t n) {
  if (offset_ != 0) throw error(path_ + ": internal error: peek after read");
  while (pending_.size() < n) {
    char buf[256];
    const std::size_t want = std::min(sizeof buf, n - pending_.size());
    ssize_t got;
    do {
      got = ::read(fd_, buf, want);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
      throw error(path_ + ": byte " + std::to_string(pending_.size()) + ": read error: " + std::strerror(errno));
    if (got == 0) break;
    pending_.append(buf, static_cast<std::size_t>(got));
  }
  return pending_.substr(0, std::min(n, pending_.size()));
}

std::size_t InputFile::read(void* dst, std::size_t n) {
  if (n == 0) return 0;
  if (!pending_.empty()) {
    const std::size_t k = std::min(n, pending_.size());
    std::memcpy(dst, pending_.data(), k);
    pending_.erase(0, k);
    offset_ += static_cast<std::int64_t>(k);
    return k;
  }
  ssize_t got;
  do {
    got = ::read(fd_, dst, n);
  } while (got < 0 && errno == EINTR);
  if (got < 0) throw error(path_ + ": byte " + std::to_string(offset_) + ": read error: " + std::strerror(errno));
  offset_ += got;
  return static_cast<std::size_t>(got);
}

std::size_t InputFile::read_full(void* dst, std::size_t n) {
  auto* p = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const std::size_t got = read(p + done, n - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

std::size_t InputFile::read_at(void* dst, std::size_t n, std::int64_t offset) const {
  auto* p = static_cast<char*>(dst);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + static_cast<std::int64_t>(done)));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw error(path_ + ": byte " + std::to_string(offset + static_cast<std::int64_t>(done)) +
                  ": read error: " + std::strerror(errno));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void read_exact(InputFile& f, void* dst, std::int64_t bytes, const std::string& what) {
  auto* p = static_cast<char*>(dst);
  std::int64_t done = 0;
  while (done < bytes) {
    const std::size_t step = static_cast<std::size_t>(std::min<std::int64_t>(bytes - done, std::int64_t{1} << 30));
    const std::size_t got = f.read_full(p + done, step);
    done += static_cast<std::int64_t>(got);
    if (got < step) {
      throw error(f.path() + ": byte " + std::to_string(f.offset()) + ": truncated: the input ends " +
                  std::to_string(bytes - done) + " bytes before the end of " + what);
    }
  }
}

InputStreamBuf::int_type InputStreamBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  const std::size_t got = f_.read(buf_.data(), buf_.size());
  if (got == 0) return traits_type::eof();
  setg(buf_.data(), buf_.data(), buf_.data() + got);
  return traits_type::to_int_type(*gptr());
}

}  // namespace detail
}  // namespace dgeval
