// The output layer (dgeval/output.hpp): targets classified before anything is written, outputs
// staged in unnamed files and committed together, the process's one stop flag, and the registry
// of the few temporary names that exist (so that a signal handler can remove them).
#include "dgeval/output.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <random>
#include <streambuf>

#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"

namespace dgeval {

// ---------------------------------------------------------------------------------------------
// Stop flag and the registry of temporary names (both touched by signal handlers: lock-free
// atomics and plain memory only).
// ---------------------------------------------------------------------------------------------

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int> g_stop_count{0};
std::atomic<int> g_committing{0};
static_assert(std::atomic<int>::is_always_lock_free, "the stop flag is read in signal handlers");

constexpr int kSlots = 64;
constexpr std::size_t kSlotPath = 4096;
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being written, 2 holds a name to remove
  char path[kSlotPath];
};
Slot g_slots[kSlots];

int register_name(const std::string& path) {
  if (path.size() >= kSlotPath) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      g_slots[i].state.store(2);
      return i;
    }
  }
  return -1;  // full: the name is still removed by discard(), just not by a signal handler
}

void unregister_name(int& slot) {
  if (slot >= 0) g_slots[slot].state.store(0);
  slot = -1;
}

std::atomic<bool> g_named_staging{false};
std::atomic<bool> g_copy_instead_of_link{false};

}  // namespace

void request_stop(int signal_number) noexcept {
  int expected = 0;
  g_stop_signal.compare_exchange_strong(expected, signal_number);
  g_stop_count.fetch_add(1);
}

int stop_signal() noexcept { return g_stop_signal.load(); }
int stop_requests() noexcept { return g_stop_count.load(); }

void throw_if_stop_requested() {
  if (g_stop_signal.load() != 0) throw cancelled();
}

void clear_stop_requests() noexcept {
  g_stop_signal.store(0);
  g_stop_count.store(0);
}

bool commit_in_progress() noexcept { return g_committing.load() != 0; }

void remove_temporary_names() noexcept {
  for (Slot& s : g_slots) {
    if (s.state.load() == 2) ::unlink(s.path);
  }
}

namespace detail {
void set_output_fallbacks(bool named_staging, bool copy_instead_of_link) {
  g_named_staging = named_staging;
  g_copy_instead_of_link = copy_instead_of_link;
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

namespace {

std::string why(int e) { return std::strerror(e); }

std::string folder_of(const std::string& p) {
  const std::string::size_type slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  const std::string::size_type slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string temporary_folder() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

std::string random_suffix() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%ld-%08x%04x", static_cast<long>(::getpid()), rd(), counter.fetch_add(1) & 0xffff);
  return buf;
}

/// "/dev/stdout", "/dev/fd/3", "/proc/self/fd/3", "/proc/<this pid>/fd/3": the descriptor.
bool descriptor_path(const std::string& path, int* fd) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p(path);
  if (p.is_relative()) p = fs::current_path(ec) / p;
  const std::string s = p.lexically_normal().string();
  if (s == "/dev/stdin") return *fd = 0, true;
  if (s == "/dev/stdout") return *fd = 1, true;
  if (s == "/dev/stderr") return *fd = 2, true;
  std::string rest;
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"), std::string("/proc/thread-self/fd/"),
        "/proc/" + std::to_string(::getpid()) + "/fd/"}) {
    if (s.compare(0, prefix.size(), prefix) == 0) rest = s.substr(prefix.size());
  }
  if (rest.empty() || rest.size() > 9 || rest.find_first_not_of("0123456789") != std::string::npos) return false;
  *fd = std::atoi(rest.c_str());
  return true;
}

/// Follows the symlinks at the end of `path` (not those of its folders, which the kernel
/// follows itself): the path of what it finally names, or the descriptor it names.
struct Resolved {
  std::string path;
  int descriptor = -1;
};

Resolved resolve_links(const std::string& given) {
  std::string p = given;
  for (int hop = 0;; ++hop) {
    int fd = -1;
    if (descriptor_path(p, &fd)) return {p, fd};
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return {p, -1};
    if (hop == 40) throw error(printable(given) + ": too many levels of symbolic links");
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
    if (n < 0) throw error(printable(given) + ": cannot read the symbolic link " + printable(p) + ": " + why(errno));
    target.resize(static_cast<std::size_t>(n));
    p = !target.empty() && target[0] == '/' ? target
                                            : (p.find('/') == std::string::npos ? target : folder_of(p) + "/" + target);
  }
}

/// The absolute path of a file that may not exist: its folder's real path and its name.
std::string canonical_path(const std::string& resolved) {
  char* real = ::realpath(resolved.c_str(), nullptr);
  if (real) {
    std::string r = real;
    std::free(real);
    return r;
  }
  char* dir = ::realpath(folder_of(resolved).c_str(), nullptr);
  if (!dir) return resolved;
  std::string r = dir;
  std::free(dir);
  return (r == "/" ? r : r + "/") + base_of(resolved);
}

void write_all(int fd, const char* data, std::size_t bytes, const std::string& name) {
  while (bytes > 0) {
    const ssize_t n = ::write(fd, data, bytes);
    if (n < 0) {
      if (errno == EINTR) {
        throw_if_stop_requested();
        continue;
      }
      throw error("writing " + name + " failed: " + why(errno));
    }
    if (n == 0) throw error("writing " + name + " failed: the target accepts no more bytes");
    data += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

/// Copies all of `from` (a regular file, from byte 0) to `to`.
void copy_file_data(int from, int to, const std::string& name) {
  std::vector<char> buf(std::size_t{1} << 20);
  off_t at = 0;
  for (;;) {
    throw_if_stop_requested();
    const ssize_t n = ::pread(from, buf.data(), buf.size(), at);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw error("writing " + name + " failed: cannot read back its staged data: " + why(errno));
    }
    if (n == 0) return;
    write_all(to, buf.data(), static_cast<std::size_t>(n), name);
    at += n;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

OutputTarget classify_output(const std::string& path) {
  OutputTarget t;
  t.path = path;
  const std::string name = printable(path);
  struct stat st;
  auto take = [&](const struct stat& s) {
    t.exists = true;
    t.device = s.st_dev;
    t.inode = s.st_ino;
    t.character_device = S_ISCHR(s.st_mode);
  };
  if (path.empty()) throw unusable_output("an empty output path; expected a file name, or - for standard output");
  if (path == "-") {
    if (::fstat(1, &st) != 0) throw error("-: standard output is not open");
    t.kind = OutputKind::standard_output;
    t.descriptor = 1;
    t.file = "-";
    take(st);
    return t;
  }
  const Resolved r = resolve_links(path);
  if (r.descriptor >= 0) {
    if (::fstat(r.descriptor, &st) != 0) {
      throw error(name + ": descriptor " + std::to_string(r.descriptor) + " is not open");
    }
    if (S_ISDIR(st.st_mode)) throw unusable_output(name + ": is a directory; expected a file name");
    t.kind = OutputKind::descriptor;
    t.descriptor = r.descriptor;
    t.file = r.path;
    take(st);
    return t;
  }
  const std::string base = base_of(r.path);
  if (base.empty() || base == "." || base == ".." || (!path.empty() && path.back() == '/')) {
    throw unusable_output(name + ": is a directory; expected a file name");
  }
  if (::stat(r.path.c_str(), &st) == 0) {
    take(st);
    if (S_ISDIR(st.st_mode)) throw unusable_output(name + ": is a directory; expected a file name");
    if (S_ISBLK(st.st_mode)) {
      throw unusable_output(name +
                            ": is a block device; outputs are regular files, character devices, FIFOs or sockets");
    }
    if (S_ISREG(st.st_mode)) {
      t.kind = OutputKind::regular;
      t.file = canonical_path(r.path);
    } else {
      t.kind = OutputKind::stream;  // character device, FIFO, socket
      t.file = r.path;
    }
    return t;
  }
  const int e = errno;
  if (e != ENOENT) throw error(name + ": cannot write there: " + why(e));
  const std::string folder = folder_of(r.path);
  struct stat ds;
  if (::stat(folder.c_str(), &ds) != 0) {
    throw error(name + ": cannot create it: the folder " + printable(folder) + " " +
                (errno == ENOENT ? std::string("does not exist") : "cannot be reached: " + why(errno)));
  }
  if (!S_ISDIR(ds.st_mode)) throw error(name + ": cannot create it: " + printable(folder) + " is not a folder");
  t.kind = OutputKind::regular;
  t.file = canonical_path(r.path);
  return t;
}

bool same_file(const OutputTarget& a, const OutputTarget& b) {
  if (a.character_device || b.character_device) return false;
  if (a.exists && b.exists) return a.device == b.device && a.inode == b.inode;
  if (!a.exists && !b.exists) return a.file == b.file;
  return false;
}

bool same_file(const std::string& path, bool is_input, const OutputTarget& b) {
  if (path.empty()) return false;
  OutputTarget a;
  struct stat st;
  bool found;
  if (path == "-") {
    found = ::fstat(is_input ? 0 : 1, &st) == 0;
  } else {
    found = ::stat(path.c_str(), &st) == 0;
  }
  if (found) {
    a.exists = true;
    a.device = st.st_dev;
    a.inode = st.st_ino;
    a.character_device = S_ISCHR(st.st_mode);
    return same_file(a, b);
  }
  if (path == "-" || is_input) return false;  // an input that is not there is read by nobody
  try {
    a.file = canonical_path(resolve_links(path).path);
  } catch (const error&) {
    return false;
  }
  return same_file(a, b);
}

// ---------------------------------------------------------------------------------------------
// Staged outputs
// ---------------------------------------------------------------------------------------------

/// The stream buffer of StagedOutput::stream(): whole-buffer writes with every error reported.
struct StagedOutput::Buffer : std::streambuf {
  Buffer(int fd, std::string name) : fd_(fd), name_(std::move(name)), buf_(std::size_t{1} << 16) {
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  void drain() {
    const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    if (n) write_all(fd_, pbase(), n, name_);
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  int_type overflow(int_type c) override {
    drain();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n >= static_cast<std::streamsize>(buf_.size())) {
      drain();
      write_all(fd_, s, static_cast<std::size_t>(n), name_);
      return n;
    }
    if (n > epptr() - pptr()) drain();
    std::memcpy(pptr(), s, static_cast<std::size_t>(n));
    pbump(static_cast<int>(n));
    return n;
  }
  int sync() override {
    drain();
    return 0;
  }

  int fd_;
  std::string name_;
  std::vector<char> buf_;
};

StagedOutput::StagedOutput(OutputTarget target) : target_(std::move(target)) {}

StagedOutput::~StagedOutput() { discard(); }

std::string StagedOutput::name() const {
  return target_.kind == OutputKind::standard_output ? std::string("standard output") : printable(target_.path);
}

void StagedOutput::open_staging() {
  const std::string nm = name();
  switch (target_.kind) {
    case OutputKind::standard_output:
    case OutputKind::descriptor:
      fd_ = ::fcntl(target_.descriptor, F_DUPFD_CLOEXEC, 3);
      if (fd_ < 0)
        throw error(nm + ": cannot use descriptor " + std::to_string(target_.descriptor) + ": " + why(errno));
      scratch_ = temporary_folder();
      return;
    case OutputKind::stream: {
      scratch_ = temporary_folder();
      struct stat st;
      if (::stat(target_.file.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (target_.file.size() >= sizeof addr.sun_path)
          throw error(nm + ": the socket's path is too long to connect to");
        std::memcpy(addr.sun_path, target_.file.c_str(), target_.file.size() + 1);
        int e = 0;
        for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
          fd_ = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
          if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return;
          e = errno;
          if (fd_ >= 0) ::close(fd_), fd_ = -1;
          if (e != EPROTOTYPE) break;  // a datagram socket refuses a stream connection
        }
        throw error(nm + ": cannot connect to the socket: " + why(e));
      }
      // A FIFO blocks here until a reader opens it; a signal interrupts the wait.
      for (;;) {
        fd_ = ::open(target_.file.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd_ >= 0) return;
        if (errno != EINTR) throw error(nm + ": cannot open for writing: " + why(errno));
        throw_if_stop_requested();
      }
    }
    case OutputKind::regular:
      break;
  }
  const std::string folder = folder_of(target_.file);
  scratch_ = folder;
  dir_fd_ = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw error(nm + ": cannot open its folder " + printable(folder) + ": " + why(errno));
  struct stat old;
  const bool keep_mode = target_.exists && ::stat(target_.file.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  if (!g_named_staging) {
    fd_ = ::openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);  // 0666 & ~umask, as a new file
    if (fd_ >= 0) {
      unnamed_ = true;
    } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
      throw error(nm + ": cannot create a file in " + printable(folder) + ": " + why(errno));
    }
  }
  if (fd_ < 0) {  // no O_TMPFILE here: a hidden named file, registered so that the exit path removes it
    std::string stem = base_of(target_.file).substr(0, 180);
    for (int attempt = 0; fd_ < 0; ++attempt) {
      temp_name_ = "." + stem + ".dgeval-" + random_suffix();
      registry_slot_ = register_name(folder + "/" + temp_name_);
      fd_ = ::openat(dir_fd_, temp_name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0666);
      if (fd_ < 0) {
        const int e = errno;
        unregister_name(registry_slot_);
        temp_name_.clear();
        if (e != EEXIST || attempt > 100)
          throw error(nm + ": cannot create a file in " + printable(folder) + ": " + why(e));
      }
    }
  }
  if (keep_mode) {
    // The replacement keeps the old file's permission bits (and, for root, its owner and group;
    // chown first, as it clears set-user-ID bits).
    // EPERM / EINVAL: a file system that does not let root give files away (NFS with root
    // squashing, an unmapped ID in a user namespace) keeps the new file's owner, as for anyone.
    if (::geteuid() == 0 && ::fchown(fd_, old.st_uid, old.st_gid) != 0 && errno != EPERM && errno != EINVAL) {
      throw error(nm + ": cannot give the new file the old one's owner: " + why(errno));
    }
    if (::fchmod(fd_, old.st_mode & 07777) != 0) {
      throw error(nm + ": cannot give the new file the old one's permissions: " + why(errno));
    }
  }
}

std::ostream& StagedOutput::stream() {
  if (!stream_) {
    buffer_ = std::make_unique<Buffer>(fd_, name());
    stream_ = std::make_unique<std::ostream>(buffer_.get());
    stream_->exceptions(std::ios::badbit);  // the buffer's dgeval::error reaches the caller
  }
  return *stream_;
}

int StagedOutput::seekable_descriptor() {
  if (target_.kind == OutputKind::regular) return fd_;
  if (seekable_fd_ < 0) seekable_fd_ = unnamed_file(scratch_);
  return seekable_fd_;
}

void StagedOutput::flush_stream() {
  if (!stream_) return;
  stream_->flush();
  buffer_->drain();
}

void StagedOutput::prepare() {
  flush_stream();
  if (target_.kind != OutputKind::regular) {
    if (seekable_fd_ >= 0) copy_file_data(seekable_fd_, fd_, name());
    return;
  }
  throw_if_stop_requested();
  if (::fsync(fd_) != 0) throw error("writing " + name() + " failed: " + why(errno));
}

void StagedOutput::link_temporary_name() {
  if (target_.kind != OutputKind::regular || !unnamed_ || !temp_name_.empty()) return;
  const std::string folder = folder_of(target_.file);
  const std::string stem = "." + base_of(target_.file).substr(0, 180) + ".dgeval-";
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string candidate = stem + random_suffix();
    registry_slot_ = register_name(folder + "/" + candidate);
    int rc = -1;
    if (!g_copy_instead_of_link) {
      rc = ::linkat(fd_, "", dir_fd_, candidate.c_str(), AT_EMPTY_PATH);  // needs CAP_DAC_READ_SEARCH
      if (rc != 0 && errno != EEXIST) {
        const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
        rc = ::linkat(AT_FDCWD, proc.c_str(), dir_fd_, candidate.c_str(), AT_SYMLINK_FOLLOW);
      }
    }
    if (rc == 0) {
      temp_name_ = candidate;
      return;
    }
    const int e = g_copy_instead_of_link ? EPERM : errno;
    unregister_name(registry_slot_);
    if (e == EEXIST) continue;
    if (e == ENOSPC || e == EDQUOT || e == EROFS || e == EIO) {
      throw error("writing " + name() + " failed: cannot name the new file: " + why(e));
    }
    // No way to link an unnamed file here (no /proc, no privilege): copy it to a named one.
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw error("writing " + name() + " failed: " + why(errno));
    for (int k = 0; k < 100; ++k) {
      temp_name_ = stem + random_suffix();
      registry_slot_ = register_name(folder + "/" + temp_name_);
      const int fd = ::openat(dir_fd_, temp_name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) {
        const int e2 = errno;
        unregister_name(registry_slot_);
        temp_name_.clear();
        if (e2 == EEXIST) continue;
        throw error("writing " + name() + " failed: cannot create a file in " + printable(folder) + ": " + why(e2));
      }
      try {
        if (::geteuid() == 0) (void)::fchown(fd, st.st_uid, st.st_gid);
        if (::fchmod(fd, st.st_mode & 07777) != 0) throw error("writing " + name() + " failed: " + why(errno));
        copy_file_data(fd_, fd, name());
        if (::fsync(fd) != 0) throw error("writing " + name() + " failed: " + why(errno));
      } catch (...) {
        ::close(fd);
        ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
        unregister_name(registry_slot_);
        temp_name_.clear();
        throw;
      }
      ::close(fd_);
      fd_ = fd;
      unnamed_ = false;
      return;
    }
    break;
  }
  throw error("writing " + name() + " failed: cannot find a free temporary name in " + printable(folder));
}

void StagedOutput::rename_into_place() {
  if (target_.kind != OutputKind::regular) {
    committed_ = true;
    return;
  }
  const std::string base = base_of(target_.file);
  if (::renameat(dir_fd_, temp_name_.c_str(), dir_fd_, base.c_str()) != 0) {
    throw error("cannot rename " + printable(folder_of(target_.file) + "/" + temp_name_) + " to " + name() + ": " +
                why(errno));
  }
  unregister_name(registry_slot_);
  temp_name_.clear();
  committed_ = true;
}

void StagedOutput::discard() noexcept {
  if (!temp_name_.empty() && dir_fd_ >= 0 && !committed_) ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
  temp_name_.clear();
  unregister_name(registry_slot_);
  stream_.reset();
  buffer_.reset();
  if (fd_ >= 0) ::close(fd_);
  if (seekable_fd_ >= 0) ::close(seekable_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  fd_ = seekable_fd_ = dir_fd_ = -1;
}

OutputSet::OutputSet() = default;

OutputSet::~OutputSet() { discard(); }

StagedOutput& OutputSet::add(const std::string& path) {
  if (committed_) throw error("output set: already committed");
  auto out = std::unique_ptr<StagedOutput>(new StagedOutput(classify_output(path)));
  out->open_staging();
  outputs_.push_back(std::move(out));
  return *outputs_.back();
}

void OutputSet::commit() {
  if (committed_) throw error("output set: already committed");
  // Everything that may fail or take a while, with stops honoured: nothing is in place yet.
  for (auto& o : outputs_) {
    throw_if_stop_requested();
    o->prepare();
  }
  for (auto& o : outputs_) o->link_temporary_name();
  // The renames: stops wait (the handler sees commit_in_progress()) until all are done.
  g_committing.store(1);
  struct Leave {
    ~Leave() { g_committing.store(0); }
  } leave;
  throw_if_stop_requested();
  std::size_t done = 0;
  try {
    for (; done < outputs_.size(); ++done) outputs_[done]->rename_into_place();
  } catch (const error& e) {
    if (done == 0) throw;
    std::string in_place;
    for (std::size_t i = 0; i < done; ++i) {
      if (outputs_[i]->target().kind == OutputKind::regular)
        in_place += (in_place.empty() ? "" : ", ") + outputs_[i]->name();
    }
    throw error(std::string(e.what()) + " (already replaced: " + (in_place.empty() ? "none" : in_place) + ")");
  }
  committed_ = true;
  for (auto& o : outputs_) {
    if (o->target().kind == OutputKind::regular && ::fsync(o->dir_fd_) != 0 && errno != EINVAL) {
      throw error(o->name() + " was written, but its folder could not be synced to disk: " + why(errno));
    }
  }
  for (auto& o : outputs_) o->discard();  // closes the descriptors; nothing is removed
}

void OutputSet::discard() noexcept {
  for (auto& o : outputs_) o->discard();
}

int unnamed_file(const std::string& folder) {
  if (!g_named_staging) {
    const int fd = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT) {
      throw error("cannot create a temporary file in " + printable(folder) + ": " + why(errno));
    }
  }
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string p = folder + "/.dgeval-scratch-" + random_suffix();
    int slot = register_name(p);
    const int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    const int e = errno;
    if (fd >= 0) ::unlink(p.c_str());  // unnamed from here on
    unregister_name(slot);
    if (fd >= 0) return fd;
    if (e != EEXIST) throw error("cannot create a temporary file in " + printable(folder) + ": " + why(e));
  }
  throw error("cannot create a temporary file in " + printable(folder) + ": no free name");
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  OutputSet set;
  StagedOutput& out = set.add(path);
  fill(out.stream());
  set.commit();
}

}  // namespace dgeval
