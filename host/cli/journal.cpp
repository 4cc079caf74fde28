// The journal of a resumable run: see journal.hpp and docs/FORMATS.md.
#include "cli/journal.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "cli/commands.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace cli {

namespace {

constexpr char kMagic[] = "dgeval-journal 1";
constexpr char kPartMagic[8] = {'D', 'G', 'P', 'A', 'R', 'T', '1', '\0'};

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " " + printable(path) + ": " + std::strerror(errno);
}

std::string hex64(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::string hex32(std::uint32_t v) {
  char b[9];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

struct Hasher {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void bytes(const unsigned char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 0x100000001b3ull;
    }
  }
  void words(const unsigned char* p, std::size_t n) {  // 8 bytes at a time, then the tail
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      h = (h ^ w) * 0x100000001b3ull;
      h ^= h >> 29;
    }
    bytes(p + i, n - i);
  }
  void text(const std::string& s) {
    bytes(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    const unsigned char sep = 0;
    bytes(&sep, 1);
  }
  /// One block of a file: its 8-byte words in four independent chains (word k in chain k mod 4, so
  /// four multiplications are in flight rather than one after another: several GB/s), the chains
  /// then folded into h in order, then the tail past the last 32 bytes as words().
  void block(const unsigned char* p, std::size_t n) {
    std::uint64_t lane[4] = {h, h ^ 0x9e3779b97f4a7c15ull, h ^ 0xbf58476d1ce4e5b9ull, h ^ 0x94d049bb133111ebull};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      for (int k = 0; k < 4; ++k) {
        std::uint64_t w;
        std::memcpy(&w, p + i + 8 * k, 8);
        lane[k] = (lane[k] ^ w) * 0x100000001b3ull;
        lane[k] ^= lane[k] >> 29;
      }
    }
    words(reinterpret_cast<const unsigned char*>(lane), sizeof lane);
    words(p + i, n - i);
  }
};

std::uint32_t crc_of(const void* p, std::size_t n, std::uint32_t crc = 0) {
  const auto* b = static_cast<const Bytef*>(p);
  while (n > 0) {
    const uInt step = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    crc = static_cast<std::uint32_t>(::crc32(crc, b, step));
    b += step;
    n -= step;
  }
  return crc;
}

void write_all(int fd, const void* data, std::size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = ENOSPC;
      throw error(sys_error("cannot write", path));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) throw error(sys_error("cannot sync", path));
}

// One read(2) of up to `size` bytes of `fd` (retried on EINTR); 0 at the end of the file. On an
// error it closes `fd` and throws, naming `path`.
std::size_t read_some(int fd, const std::string& path, void* buf, std::size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    const int e = errno;
    ::close(fd);
    errno = e;
    throw error(sys_error("cannot read", path));
  }
}

/// Reads `size` bytes, fewer only at the end of the file (read() may return less at any call).
std::size_t read_full(int fd, const std::string& path, unsigned char* buf, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const std::size_t n = read_some(fd, path, buf + got, size - got);
    if (n == 0) break;
    got += n;
  }
  return got;
}

std::string read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw error(sys_error("cannot open", path));
  std::string s;
  char buf[1 << 16];
  while (const std::size_t n = read_some(fd, path, buf, sizeof buf)) s.append(buf, n);
  ::close(fd);
  return s;
}

// Tests: DGEVAL_TEST_KILL_AT=STAGE:K[:SIG] raises signal SIG (default SIGKILL) at the K-th
// (1-based) moment of STAGE in this process: part (a range's part file written, its line not
// yet), record (its line written), load (a done range read back on --resume), finish (the
// outputs committed, the journal not yet removed; K = 1). SIGINT there is a Ctrl-C at that point.
void test_kill_point(const char* stage, int k) {
  static const char* spec = std::getenv("DGEVAL_TEST_KILL_AT");
  if (!spec || !*spec) return;
  const char* colon = std::strchr(spec, ':');
  if (!colon) return;
  if (std::string(spec, colon) != stage || std::atoi(colon + 1) != k) return;
  const char* sig = std::strchr(colon + 1, ':');
  std::raise(sig && std::atoi(sig + 1) > 0 ? std::atoi(sig + 1) : SIGKILL);
}

// Part files: the results of one range, column by column in the order of DGEVAL_RESULT_COLUMNS,
// in the machine's byte order (the journal's header records it).
void put_u64(std::string& s, std::uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
template <class T>
void put_vector(std::string& s, const std::vector<T>& v) {
  put_u64(s, v.size());
  s.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace

std::string serialise_results(const Results& r) {
  std::string s(kPartMagic, 8);
  put_u64(s, static_cast<std::uint64_t>(r.games));
  put_u64(s, static_cast<std::uint64_t>(r.players));
  put_u64(s, r.columns);
#define DGEVAL_PUT_COLUMN(name, kind, desc) put_vector(s, r.name);
  DGEVAL_RESULT_COLUMNS(DGEVAL_PUT_COLUMN)
#undef DGEVAL_PUT_COLUMN
  put_u64(s, r.pure_ne.size());
  for (const auto& v : r.pure_ne) put_vector(s, v);
  put_vector(s, r.distance_matrix);
  return s;
}

namespace {

class PartReader {
 public:
  PartReader(const std::string& bytes, std::string path, std::string advice)
      : s_(bytes), path_(std::move(path)), advice_(std::move(advice)) {}
  std::uint64_t u64() {
    need(8);
    std::uint64_t v;
    std::memcpy(&v, s_.data() + at_, 8);
    at_ += 8;
    return v;
  }
  template <class T>
  void vector(std::vector<T>& v) {
    const std::uint64_t n = u64();
    if (n > (s_.size() - at_) / sizeof(T)) bad("an array longer than the file");
    v.resize(static_cast<std::size_t>(n));
    if (n > 0) std::memcpy(v.data(), s_.data() + at_, static_cast<std::size_t>(n) * sizeof(T));  // data() may be null
    at_ += static_cast<std::size_t>(n) * sizeof(T);
  }
  void need(std::size_t n) {
    if (s_.size() - at_ < n) bad("the file ends early");
  }
  [[noreturn]] void bad(const std::string& why) {
    throw error(printable(path_) + ": byte " + std::to_string(at_) + ": " + why + advice_);
  }
  std::size_t at_ = 0;
  bool at_end() const { return at_ == s_.size(); }

 private:
  const std::string& s_;
  std::string path_;
  std::string advice_;
};

std::string part_name(std::int64_t first) { return "part-" + std::to_string(first); }

std::string journal_line(const std::string& text) {
  return text + " *" + hex32(crc_of(text.data(), text.size())) + "\n";
}

}  // namespace

std::string hash_text(const std::string& text) {
  Hasher h;
  h.text(text);
  return hex64(h.h);
}

std::string hash_command_line(const std::vector<std::string>& args) {
  Hasher h;
  for (const std::string& a : args) {
    if (a == "--resume" || a == "-q" || a == "--quiet") continue;
    h.text(a);
  }
  return hex64(h.h);
}

std::string hash_files(const std::vector<std::string>& paths) {
  // The file in whole blocks of 1 MiB (the last one shorter), so the hash depends on the bytes only,
  // not on how many each read() returned.
  Hasher h;
  std::vector<unsigned char> buf(1 << 20);
  for (const std::string& path : paths) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw error(sys_error("cannot open", path));
    std::uint64_t total = 0;
    while (const std::size_t n = read_full(fd, path, buf.data(), buf.size())) {
      h.block(buf.data(), n);
      total += n;
    }
    ::close(fd);
    h.words(reinterpret_cast<const unsigned char*>(&total), 8);
  }
  return hex64(h.h);
}

std::string RunJournal::folder_for(const std::string& output_file) { return output_file + ".dgeval-journal"; }

namespace {

std::vector<std::string> header_lines(const JournalIdentity& id) {
  const std::uint16_t probe = 1;
  const bool little = *reinterpret_cast<const unsigned char*>(&probe) == 1;
  return {kMagic,
          "dgeval-version " + id.version,
          "command " + id.command,
          "inputs " + id.inputs,
          "backend " + id.backend,
          "byte-order " + std::string(little ? "little" : "big"),
          "games " + std::to_string(id.games),
          "ranges " + std::to_string(id.ranges)};
}

}  // namespace

RunJournal::RunJournal(std::string folder, const JournalIdentity& identity, bool resume, bool quiet)
    : folder_(std::move(folder)), journal_path_(folder_ + "/journal") {
  struct stat st;
  const bool exists = ::lstat(folder_.c_str(), &st) == 0;
  if (exists && !S_ISDIR(st.st_mode)) {
    throw error(printable(folder_) + ": not a dgeval journal (not a folder); remove it to start again");
  }
  // A folder without its journal file holds nothing done (a run stopped while it created or
  // removed the journal): it is used again.
  const bool has_journal = exists && ::access(journal_path_.c_str(), F_OK) == 0;
  if (has_journal && !resume) {
    throw usage_error("the journal " + printable(folder_) +
                      " of an interrupted run exists: give --resume to continue that run, or remove the folder to "
                      "start again");
  }
  if (has_journal) {
    open_existing(identity);
    resumed_ = true;
    if (!quiet) {
      std::fprintf(stderr, "dgeval: note: resuming from %s: %zu of %lld ranges (%lld of %lld games) done\n",
                   printable(folder_).c_str(), done_.size(), static_cast<long long>(identity.ranges),
                   static_cast<long long>(games_done()), static_cast<long long>(identity.games));
    }
    return;
  }
  if (resume && !quiet) {
    std::fprintf(stderr, "dgeval: note: --resume: no journal %s; starting from the beginning\n",
                 printable(folder_).c_str());
  }
  create(identity);
}

RunJournal::~RunJournal() {
  if (fd_ >= 0) ::close(fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void RunJournal::create(const JournalIdentity& identity) {
  if (::mkdir(folder_.c_str(), 0777) != 0 && errno != EEXIST) throw error(sys_error("cannot create", folder_));
  dir_fd_ = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw error(sys_error("cannot open", folder_));
  // The header goes to a temporary name, durably, and is then renamed: a journal file, once
  // there, always has its whole header.
  const std::string tmp = folder_ + "/journal.new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw error(sys_error("cannot create", tmp));
  std::string header;
  for (const std::string& l : header_lines(identity)) header += journal_line(l);
  try {
    write_all(fd, header.data(), header.size(), tmp);
    sync_fd(fd, tmp);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), journal_path_.c_str()) != 0) throw error(sys_error("cannot rename", tmp));
  sync_fd(dir_fd_, folder_);
  const std::string parent = folder_.find('/') == std::string::npos ? "." : folder_.substr(0, folder_.rfind('/') + 1);
  const int pfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd >= 0) {
    ::fsync(pfd);
    ::close(pfd);
  }
  fd_ = ::open(journal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw error(sys_error("cannot open", journal_path_));
}

void RunJournal::open_existing(const JournalIdentity& identity) {
  const std::string text = read_whole(journal_path_);
  const std::string where = printable(journal_path_);
  const std::vector<std::string> expected = header_lines(identity);
  std::size_t at = 0;
  int line = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) break;  // a torn last line (a crash while it was written): not done
    ++line;
    const std::string l = text.substr(at, nl - at);
    at = nl + 1;
    const std::size_t star = l.rfind(" *");
    const std::string body = star == std::string::npos ? l : l.substr(0, star);
    const bool crc_ok = star != std::string::npos && l.size() - star == 10 &&
                        l.substr(star + 2) == hex32(crc_of(body.data(), body.size()));
    if (line == 1 && body != kMagic) {
      throw error(where + ": line 1: not a dgeval journal (expected \"" + kMagic +
                  "\"); remove its folder to start again");
    }
    if (!crc_ok) {
      throw error(where + ": line " + std::to_string(line) +
                  ": corrupt (its checksum does not match); remove the folder " + printable(folder_) +
                  " to start again");
    }
    if (static_cast<std::size_t>(line) <= expected.size()) {
      if (body != expected[static_cast<std::size_t>(line) - 1]) {
        const std::string key = body.substr(0, body.find(' '));
        const std::string want = expected[static_cast<std::size_t>(line) - 1];
        std::string what = key;
        if (key == "dgeval-version") what = "another dgeval version (" + body.substr(key.size() + 1) + ")";
        if (key == "command") what = "another command line (only --resume, -q and --quiet may change)";
        if (key == "inputs") what = "other input files (their contents changed)";
        if (key == "backend") what = "another backend (" + body.substr(key.size() + 1) + ")";
        if (key == "byte-order") what = "a machine of another byte order";
        if (key == "games" || key == "ranges") what = "a run of another size (" + body + ")";
        if (key != want.substr(0, want.find(' '))) {
          throw error(where + ": line " + std::to_string(line) + ": expected \"" + want.substr(0, want.find(' ')) +
                      " ...\"; the journal is corrupt: remove the folder " + printable(folder_) + " to start again");
        }
        throw usage_error("cannot resume: the journal " + printable(folder_) + " was written by " + what +
                          "; run the same command as before with --resume, or remove the folder to start again");
      }
      continue;
    }
    std::istringstream in(body);
    std::string word, crc;
    long long first = -1, count = -1;
    unsigned long long bytes = 0;
    in >> word >> first >> count >> bytes >> crc;
    if (word != "done" || !in || first < 0 || count <= 0 || crc.size() != 8 || !in.eof()) {
      throw error(where + ": line " + std::to_string(line) +
                  ": expected \"done FIRST COUNT BYTES CRC\"; the journal "
                  "is corrupt: remove the folder " +
                  printable(folder_) + " to start again");
    }
    Range r;
    r.count = count;
    r.bytes = bytes;
    r.crc = static_cast<std::uint32_t>(std::strtoul(crc.c_str(), nullptr, 16));
    done_[first] = r;
  }
  if (line < static_cast<int>(expected.size())) {
    throw error(where + ": the header ends early; the journal is corrupt: remove the folder " + printable(folder_) +
                " to start again");
  }
  if (at < text.size()) {  // drop the torn line, so that the next line starts on its own
    if (::truncate(journal_path_.c_str(), static_cast<off_t>(at)) != 0) {
      throw error(sys_error("cannot truncate", journal_path_));
    }
  }
  dir_fd_ = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw error(sys_error("cannot open", folder_));
  fd_ = ::open(journal_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw error(sys_error("cannot open", journal_path_));
}

std::int64_t RunJournal::games_done() const {
  std::int64_t n = 0;
  for (const auto& d : done_) n += d.second.count;
  return n;
}

bool RunJournal::load_bytes(std::int64_t first, std::int64_t count, std::string& bytes) {
  const auto it = done_.find(first);
  if (it == done_.end()) return false;
  const std::string path = folder_ + "/" + part_name(first);
  if (it->second.count != count) {
    throw error(printable(journal_path_) + ": range " + std::to_string(first) + " holds " +
                std::to_string(it->second.count) + " games where the run has " + std::to_string(count) +
                "; the journal is corrupt: remove the folder " + printable(folder_) + " to start again");
  }
  bytes = read_whole(path);
  if (bytes.size() != it->second.bytes || crc_of(bytes.data(), bytes.size()) != it->second.crc) {
    throw error(printable(path) +
                ": its size or CRC-32 differs from the journal's; the journal is corrupt: remove "
                "the folder " +
                printable(folder_) + " to start again");
  }
  test_kill_point("load", ++loaded_);
  return true;
}

bool RunJournal::holds(std::int64_t first) const { return done_.count(first) > 0; }

bool RunJournal::load(std::int64_t first, std::int64_t count, Results& r) {
  std::string bytes;
  if (!load_bytes(first, count, bytes)) return false;
  r = parse_results(bytes, count, folder_ + "/" + part_name(first),
                    "; the journal is corrupt: remove its folder to start again");
  return true;
}

Results parse_results(const std::string& bytes, std::int64_t count, const std::string& what,
                      const std::string& advice) {
  Results r;
  PartReader in(bytes, what, advice);
  in.need(8);
  if (std::memcmp(bytes.data(), kPartMagic, 8) != 0) in.bad("not a dgeval part file");
  in.at_ = 8;
  r.games = static_cast<std::int64_t>(in.u64());
  r.players = static_cast<int>(in.u64());
  r.columns = in.u64();
#define DGEVAL_GET_COLUMN(name, kind, desc) in.vector(r.name);
  DGEVAL_RESULT_COLUMNS(DGEVAL_GET_COLUMN)
#undef DGEVAL_GET_COLUMN
  const std::uint64_t ne = in.u64();
  if (ne > bytes.size()) in.bad("more games than bytes");
  r.pure_ne.resize(static_cast<std::size_t>(ne));
  for (auto& v : r.pure_ne) in.vector(v);
  in.vector(r.distance_matrix);
  if (!in.at_end()) in.bad("bytes after the results");
  if (r.games != count) in.bad("a range of another size");
  return r;
}

void RunJournal::append_line(const std::string& text) {
  const std::string l = journal_line(text);
  write_all(fd_, l.data(), l.size(), journal_path_);
  sync_fd(fd_, journal_path_);
}

void RunJournal::record(std::int64_t first, const Results& r) { record_bytes(first, r.games, serialise_results(r)); }

void RunJournal::record_bytes(std::int64_t first, std::int64_t count, const std::string& bytes) {
  const std::string path = folder_ + "/" + part_name(first);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw error(sys_error("cannot create", path));
  try {
    write_all(fd, bytes.data(), bytes.size(), path);
    sync_fd(fd, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  sync_fd(dir_fd_, folder_);  // the part file's name, durably, before the line that names it
  ++recorded_;
  test_kill_point("part", recorded_);
  const std::uint32_t crc = crc_of(bytes.data(), bytes.size());
  append_line("done " + std::to_string(first) + " " + std::to_string(count) + " " + std::to_string(bytes.size()) + " " +
              hex32(crc));
  Range range;
  range.count = count;
  range.bytes = bytes.size();
  range.crc = crc;
  done_[first] = range;
  test_kill_point("record", recorded_);
}

void RunJournal::finish() {
  test_kill_point("finish", 1);
  // The journal file first (a folder without it is no journal), then the parts, then the folder.
  if (::unlink(journal_path_.c_str()) != 0 && errno != ENOENT) throw error(sys_error("cannot remove", journal_path_));
  if (DIR* d = ::opendir(folder_.c_str())) {
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const std::string& n : names) ::unlink((folder_ + "/" + n).c_str());
  }
  if (::rmdir(folder_.c_str()) != 0) throw error(sys_error("cannot remove", folder_));
  done_.clear();
}

void RunJournal::finish_after_commit(const char* command) {
  try {
    finish();
  } catch (const error& e) {
    fresh_stderr_line();
    std::fprintf(stderr, "dgeval %s: warning: the outputs are complete, but the journal could not be removed: %s\n",
                 command, printable(e.what()).c_str());
  }
}

void RunJournal::on_failure(const char* command, std::int64_t total_games, bool quiet) noexcept {
  try {
    if (stop_signal() == 0 && !resumed_) {
      finish();
    } else if (stop_signal() != 0 && !quiet) {
      fresh_stderr_line();
      std::fprintf(stderr,
                   "dgeval %s: note: the journal %s keeps %lld of %lld games; the same command with --resume "
                   "continues the run\n",
                   command, printable(folder_).c_str(), static_cast<long long>(games_done()),
                   static_cast<long long>(total_games));
    }
  } catch (...) {  // the run's own error is the one to report
  }
}

}  // namespace cli
}  // namespace dgeval
