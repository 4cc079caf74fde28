// Hostile and unusual inputs: sizes read from a file are never trusted (checked against the
// bytes there are and the memory budget before anything is allocated), reads are bounded,
// pipes and FIFOs are read as streams, and a file truncated while it is read is an error
// naming the byte, not a SIGBUS. The crafted "size lie" files run in a child process under a
// tight address-space limit and must be refused with a clear message, not kill the process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "dgeval/memory.hpp"
#include "test_cli_util.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DGEVAL_NO_RLIMIT_TESTS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define DGEVAL_NO_RLIMIT_TESTS 1
#endif
#endif

using dgeval_test::data_dir;
using dgeval_test::expect_error;
using dgeval_test::TempDir;
using dgeval_test::write_file;

namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

// Restores the memory limit (and DGEVAL_MEMORY_LIMIT) at the end of a test.
struct LimitGuard {
  LimitGuard() { ::unsetenv("DGEVAL_MEMORY_LIMIT"); }
  ~LimitGuard() {
    dgeval::set_memory_limit(-1);
    ::unsetenv("DGEVAL_MEMORY_LIMIT");
  }
};

std::string le16(unsigned v) { return {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)}; }
std::string le32(std::uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); }

// An .npy: header dict padded to 64 bytes, then `data`.
std::string npy(const std::string& descr, bool fortran, const std::string& shape, const std::string& data) {
  std::string h =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + le16(static_cast<unsigned>(h.size())) + h + data;
}

std::string repeat(const std::string& s, int times) {
  std::string out;
  for (int j = 0; j < times; ++j) out += s;
  return out;
}

std::string doubles(const std::vector<double>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

std::string raw_deflate(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A zip member as the directory describes it: `data` is what the archive holds (compressed
// when deflated); the sizes and CRC may lie.
struct Member {
  std::string name;
  bool deflated = false;
  std::string data;
  std::uint32_t size = 0, crc = 0;
};

Member stored(const std::string& name, const std::string& bytes) {
  Member m;
  m.name = name;
  m.data = bytes;
  m.size = static_cast<std::uint32_t>(bytes.size());
  m.crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
  return m;
}

Member deflated(const std::string& name, const std::string& bytes) {
  Member m = stored(name, bytes);
  m.deflated = true;
  m.data = raw_deflate(bytes);
  return m;
}

// A member whose .npy header claims `claimed` data bytes (and the directory agrees), of which
// the archive holds only the deflated header, followed by `padding` junk bytes (so that the
// compressed size can make the claim possible for deflate's 1032:1).
Member lying(const std::string& name, const std::string& header, std::uint32_t claimed, std::size_t padding) {
  Member m;
  m.name = name;
  m.deflated = true;
  m.data = raw_deflate(header) + std::string(padding, '\x55');
  m.size = static_cast<std::uint32_t>(header.size()) + claimed;
  return m;
}

std::string zip(const std::vector<Member>& members) {
  std::string out, dir;
  for (const Member& m : members) {
    const std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    const std::string common = le16(20) + le16(0) + le16(m.deflated ? 8 : 0) + le16(0) + le16(0x21) + le32(m.crc) +
                               le32(static_cast<std::uint32_t>(m.data.size())) + le32(m.size) +
                               le16(static_cast<unsigned>(m.name.size())) + le16(0);
    out += le32(0x04034b50) + common + m.name + m.data;
    dir += le32(0x02014b50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + m.name;
  }
  const std::uint32_t dir_at = static_cast<std::uint32_t>(out.size());
  const unsigned n = static_cast<unsigned>(members.size());
  return out + dir + le32(0x06054b50) + le16(0) + le16(0) + le16(n) + le16(n) +
         le32(static_cast<std::uint32_t>(dir.size())) + le32(dir_at) + le16(0);
}

// One 2x2 game: agents 1..8, principals -1..-8.
std::string game_npy(bool principals) {
  std::vector<double> v(8);
  for (int j = 0; j < 8; ++j) v[static_cast<std::size_t>(j)] = (principals ? -1.0 : 1.0) * (j + 1);
  return npy("<f8", false, "(1, 2, 2, 2)", doubles(v));
}

// Reads every game of a source (and its strategy) and returns the sum of the utilities.
double read_all(dgeval::GameSource& s, std::int64_t chunk = 0) {
  const std::int64_t step = chunk > 0 ? chunk : dgeval::games_per_chunk(s.dims());
  double sum = 0;
  for (std::int64_t g = 0; g < s.games(); g += step) {
    const std::int64_t count = std::min(step, s.games() - g);
    const dgeval::Batch b = dgeval::copy_games(s.read(g, count), 0, count);
    for (double x : b.agents) sum += x;
    for (double x : b.principals) sum += x;
  }
  if (s.has_strategy()) s.strategy();
  return sum;
}

// What a child process did: its exit status (or the signal that killed it) and the message of
// the exception it caught.
struct ChildResult {
  int status = -1;  // 0: a dgeval::error was thrown; 3: nothing thrown; 4: std::bad_alloc; 5: another exception
  int signal = 0;
  std::string message;
};

// Runs `f` in a child process, under an address-space limit of `headroom` bytes above what the
// process uses now (if >= 0), killed after `seconds`.
ChildResult in_child(const std::function<void()>& f, std::int64_t headroom, unsigned seconds = 60) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(seconds);
    if (headroom >= 0) {
      std::ifstream statm("/proc/self/statm");
      std::int64_t pages = 0;
      statm >> pages;
      struct rlimit rl;
      rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(pages * ::sysconf(_SC_PAGESIZE) + headroom);
      ::setrlimit(RLIMIT_AS, &rl);
    }
    int code = 3;
    std::string message = "no error";
    try {
      f();
    } catch (const dgeval::error& e) {
      code = 0;
      message = e.what();
    } catch (const std::bad_alloc&) {
      code = 4;
      message = "std::bad_alloc";
    } catch (const std::exception& e) {
      code = 5;
      message = e.what();
    }
    const ssize_t w = ::write(fds[1], message.data(), message.size());
    (void)w;
    ::_exit(code);
  }
  ::close(fds[1]);
  ChildResult r;
  char buf[4096];
  ssize_t got;
  while ((got = ::read(fds[0], buf, sizeof buf)) > 0) r.message.append(buf, static_cast<std::size_t>(got));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  return r;
}

// Expects the child to have thrown a dgeval::error holding every one of `parts`.
void expect_refused(const ChildResult& r, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal << " (" << strsignal(r.signal) << ")";
  EXPECT_EQ(r.status, 0) << "status " << r.status << ": " << r.message;
  for (const std::string& p : parts) EXPECT_NE(r.message.find(p), std::string::npos) << r.message << "\nlacks: " << p;
}

#ifdef DGEVAL_NO_RLIMIT_TESTS
#define SKIP_UNDER_SANITIZER() GTEST_SKIP() << "address-space limits do not work under a sanitizer"
#else
#define SKIP_UNDER_SANITIZER() (void)0
#endif

constexpr std::int64_t kHeadroom = std::int64_t{256} << 20;

// A writer thread feeding `bytes` to a FIFO (opened when the reader opens it), or endlessly
// `chunk` when `endless`; it stops when the reader goes away.
class FifoWriter {
 public:
  FifoWriter(std::string path, std::string bytes, bool endless = false)
      : ignore_(std::signal(SIGPIPE, SIG_IGN)), path_(std::move(path)), bytes_(std::move(bytes)), endless_(endless) {
    EXPECT_EQ(::mkfifo(path_.c_str(), 0600), 0) << std::strerror(errno);
    thread_ = std::thread([this] { run(); });
  }
  ~FifoWriter() {
    // Unblock an open() that no reader answered (the reader failed before opening): the writer
    // then finds no reader (EPIPE) and stops.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
    thread_.join();
    std::signal(SIGPIPE, ignore_);
  }

 private:
  void run() {
    const int fd = ::open(path_.c_str(), O_WRONLY);
    if (fd < 0) return;
    do {
      std::size_t done = 0;
      while (done < bytes_.size()) {
        const ssize_t w = ::write(fd, bytes_.data() + done, bytes_.size() - done);
        if (w <= 0) {
          ::close(fd);
          return;
        }
        done += static_cast<std::size_t>(w);
      }
    } while (endless_);
    ::close(fd);
  }
  void (*ignore_)(int);  // the SIGPIPE handler before (a writer whose reader went away gets EPIPE)
  std::string path_, bytes_;
  bool endless_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// The memory budget

TEST(MemoryBudget, ParsesSizes) {
  EXPECT_EQ(dgeval::parse_memory_size("512M"), std::int64_t{512} << 20);
  EXPECT_EQ(dgeval::parse_memory_size("4G"), std::int64_t{4} << 30);
  EXPECT_EQ(dgeval::parse_memory_size("1.5G"), std::int64_t{3} << 29);
  EXPECT_EQ(dgeval::parse_memory_size("2KiB"), 2048);
  EXPECT_EQ(dgeval::parse_memory_size("3kb"), 3072);
  EXPECT_EQ(dgeval::parse_memory_size("1T"), std::int64_t{1} << 40);
  EXPECT_EQ(dgeval::parse_memory_size("1000000"), 1000000);
  EXPECT_EQ(dgeval::parse_memory_size("100B"), 100);
  for (const char* bad : {"", "M", "abc", "5X", "-1", "0", "1.2.3", "4GG", "1e9", "9999999999T"}) {
    expect_error([&] { dgeval::parse_memory_size(bad, "--memory-limit"); }, {"--memory-limit", bad});
  }
}

TEST(MemoryBudget, OverrideAndEnvironment) {
  LimitGuard guard;
  ::setenv("DGEVAL_MEMORY_LIMIT", "3M", 1);
  EXPECT_EQ(dgeval::memory_budget().bytes, 3 << 20);
  EXPECT_EQ(dgeval::memory_budget().source, "DGEVAL_MEMORY_LIMIT");
  dgeval::set_memory_limit(5 << 20);  // the flag wins over the environment
  EXPECT_EQ(dgeval::memory_budget().bytes, 5 << 20);
  EXPECT_EQ(dgeval::memory_budget().source, "--memory-limit");
  dgeval::set_memory_limit(-1);
  ::setenv("DGEVAL_MEMORY_LIMIT", "lots", 1);
  expect_error([] { dgeval::memory_budget(); }, {"DGEVAL_MEMORY_LIMIT", "\"lots\" is not a size"});
  ::unsetenv("DGEVAL_MEMORY_LIMIT");
  EXPECT_GT(dgeval::memory_budget().bytes, 0);

  dgeval::set_memory_limit(1000);
  dgeval::check_memory(1000, "x");
  expect_error([] { dgeval::check_memory(1001, "f.npz: array 'a'"); },
               {"f.npz: array 'a': needs 1001 bytes of memory", "budget of 1000 bytes (--memory-limit)",
                "--memory-limit SIZE", "DGEVAL_MEMORY_LIMIT"});
}

TEST(MemoryBudget, DetectsEachLimit) {
  TempDir d;
  const std::string root = d.path().string();
  std::filesystem::create_directories(root + "/v2/a/b");
  std::filesystem::create_directories(root + "/v1/x");
  write_file(d / "meminfo", "MemTotal:       24683772 kB\nMemFree: 1 kB\nMemAvailable:    1000 kB\n");
  write_file(d / "statm", "100 50 0 0 0 0 0\n");
  write_file(d / "mountinfo",
             "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
             "35 31 0:32 / " +
                 root +
                 "/v1 rw,relatime - cgroup cgroup rw,memory\n"
                 "41 31 0:38 / " +
                 root + "/v2 rw,relatime - cgroup2 cgroup2 rw\n");
  write_file(d / "cgroup", "4:memory:/x\n0::/a/b\n");
  dgeval::detail::MemoryProbe probe;
  probe.meminfo = d / "meminfo";
  probe.self_cgroup = d / "cgroup";
  probe.mountinfo = d / "mountinfo";
  probe.statm = d / "statm";
  probe.address_space_limit = -1;

  // MemAvailable alone.
  dgeval::MemoryBudget b = dgeval::detail::detect_memory_budget(probe);
  EXPECT_EQ(b.bytes, 1000 * 1024);
  EXPECT_NE(b.source.find("MemAvailable"), std::string::npos) << b.source;

  // cgroup v2: the parent's memory.max less its memory.current (the leaf says "max").
  write_file(root + "/v2/a/b/memory.max", "max\n");
  write_file(root + "/v2/a/memory.max", "500000\n");
  write_file(root + "/v2/a/memory.current", "100000\n");
  b = dgeval::detail::detect_memory_budget(probe);
  EXPECT_EQ(b.bytes, 400000);
  EXPECT_NE(b.source.find(root + "/v2/a/memory.max"), std::string::npos) << b.source;

  // cgroup v1: memory.limit_in_bytes less memory.usage_in_bytes; "unlimited" (about 2^63) is none.
  write_file(root + "/v1/memory.limit_in_bytes", "9223372036854771712\n");
  write_file(root + "/v1/x/memory.limit_in_bytes", "300000\n");
  write_file(root + "/v1/x/memory.usage_in_bytes", "1000\n");
  b = dgeval::detail::detect_memory_budget(probe);
  EXPECT_EQ(b.bytes, 299000);
  EXPECT_NE(b.source.find("memory.limit_in_bytes"), std::string::npos) << b.source;

  // The address-space limit less the address space in use (statm's first field, in pages).
  probe.address_space_limit = 150 * ::sysconf(_SC_PAGESIZE);
  b = dgeval::detail::detect_memory_budget(probe);
  EXPECT_EQ(b.bytes, 50 * ::sysconf(_SC_PAGESIZE));
  EXPECT_NE(b.source.find("ulimit -v"), std::string::npos) << b.source;

  // Nothing readable: no limit.
  dgeval::detail::MemoryProbe none;
  none.meminfo = none.self_cgroup = none.mountinfo = none.statm = d / "missing";
  none.address_space_limit = -1;
  EXPECT_EQ(dgeval::detail::detect_memory_budget(none).bytes, INT64_MAX);
}

// ---------------------------------------------------------------------------------------------
// Sizes that lie

// A Fortran-order member is read whole: its claimed size (3.5 GB, with the zip directory
// agreeing) used to be allocated from a 300-byte file. Refused now: deflate cannot expand the
// bytes there are to that.
TEST(SizeLies, FortranNpzMemberClaimingGigabytesFromAFewBytes) {
  SKIP_UNDER_SANITIZER();
  TempDir d;
  const std::uint32_t claim = 3500000000u;  // 54687500 games of 2x2, 64 bytes each
  const std::string path = d / "lie.npz";
  const std::string h = npy("<f8", true, "(54687500, 2, 2, 2)", "");
  write_file(path, zip({lying("agents.npy", h, claim, 0), lying("principals.npy", h, claim, 0)}));
  expect_refused(in_child(
                     [&] {
                       auto s = dgeval::open_game_file(path);
                       read_all(*s);
                     },
                     kHeadroom),
                 {path + ": array 'agents'", "inflates from", "to 3500000", "more than deflate can expand"});
}

// The same claim, made possible for deflate by 3.4 MB of junk: refused by the memory budget
// (here the address-space limit), naming the file, the array and the size.
TEST(SizeLies, FortranNpzMemberBeyondTheBudget) {
  SKIP_UNDER_SANITIZER();
  TempDir d;
  const std::uint32_t claim = 3500000000u;
  const std::string h = npy("<f8", true, "(54687500, 2, 2, 2)", "");
  const std::string path = d / "big.npz";
  write_file(path, zip({lying("agents.npy", h, claim, claim / 1000), lying("principals.npy", h, claim, claim / 1000)}));
  expect_refused(in_child(
                     [&] {
                       auto s = dgeval::open_game_file(path);
                       read_all(*s, 1);
                     },
                     kHeadroom),
                 {path + ": array 'agents'", "Fortran order", "needs 3.3 GiB (3500000000 bytes)", "address-space limit",
                  "--memory-limit", "DGEVAL_MEMORY_LIMIT"});
  // With a budget given: the same refusal, naming it.
  expect_refused(in_child(
                     [&] {
                       dgeval::set_memory_limit(std::int64_t{1} << 30);
                       auto s = dgeval::open_game_file(path);
                       s->read(0, 1);
                     },
                     kHeadroom),
                 {"array 'agents'", "budget of 1.0 GiB", "(--memory-limit)"});
}

// A 'dims' array claiming shape (2^28,) (2 GiB), deflate-possible: refused by its shape (it holds
// the players' action counts) before it is loaded.
TEST(SizeLies, DimsArrayClaimingAHugeShape) {
  SKIP_UNDER_SANITIZER();
  TempDir d;
  const std::string path = d / "dims.npz";
  const std::string dims = npy("<i8", false, "(268435456,)", "");
  write_file(path, zip({stored("agents.npy", game_npy(false)), stored("principals.npy", game_npy(true)),
                        lying("dims.npy", dims, 1u << 31, (1u << 31) / 1000)}));
  expect_refused(in_child([&] { dgeval::open_game_file(path); }, kHeadroom),
                 {path + ": array 'dims' has shape (268435456,)", "expected (n,)"});
}

// A correlated strategy claiming 2 GiB next to one 2x2 game: refused by its shape before loading.
TEST(SizeLies, StrategyArrayClaimingGigabytes) {
  SKIP_UNDER_SANITIZER();
  TempDir d;
  const std::string path = d / "strategy.npz";
  const std::string st = npy("<f8", false, "(67108864, 2, 2)", "");
  write_file(path, zip({stored("agents.npy", game_npy(false)), stored("principals.npy", game_npy(true)),
                        lying("strategy_correlated.npy", st, 1u << 31, (1u << 31) / 1000)}));
  expect_refused(in_child(
                     [&] {
                       auto s = dgeval::open_game_file(path);
                       if (!s->has_strategy()) throw std::runtime_error("no strategy");
                       s->strategy();
                     },
                     kHeadroom),
                 {path + ": array 'strategy_correlated'", "shape (67108864, 2, 2) does not fit", "expected (2, 2)"});
  // The same through --strategy FILE.
  expect_refused(in_child(
                     [&] {
                       dgeval::read_strategy_file(path, dgeval::Dims({2, 2}), 1);
                     },
                     kHeadroom),
                 {"array 'strategy_correlated'", "does not fit"});
}

// Directory sizes that disagree with the bytes there are.
TEST(SizeLies, ZipDirectoryChecks) {
  TempDir d;
  // A stored member whose directory size differs from its compressed size.
  Member m = stored("agents.npy", game_npy(false));
  m.size += 64;
  write_file(d / "a.npz", zip({m, stored("principals.npy", game_npy(true))}));
  expect_error([&] { dgeval::open_game_file(d / "a.npz"); },
               {d / "a.npz" + ": array 'agents'", "stored entry", "the archive is corrupt"});
  // A deflated member whose uncompressed size disagrees with its .npy header.
  Member p = deflated("principals.npy", game_npy(true));
  p.size -= 8;
  write_file(d / "b.npz", zip({stored("agents.npy", game_npy(false)), p}));
  expect_error([&] { dgeval::open_game_file(d / "b.npz"); },
               {"array 'principals'", "truncated", "needs 64 data bytes"});
}

// An .nfg of 2,000,000 short strategy labels (6 MB) used to take about 14 times its size as
// strings before the strategy counts were checked; kept compact now, the file is refused (its
// 4,000,000 contingencies cannot follow) within 48 MB.
TEST(SizeLies, NfgStrategyLabelsKeptCompact) {
  SKIP_UNDER_SANITIZER();
  TempDir d;
  std::string text = "NFG 1 R \"labels\" { \"A\" \"B\" }\n{ {";
  text.reserve(6100000);
  for (int j = 0; j < 2000000; ++j) text += " \"\"";
  text += " } { \"x\" \"y\" } }\n";
  const std::string path = d / "labels.nfg";
  write_file(path, text);
  expect_refused(
      in_child([&] { dgeval::read_nfg(path); }, std::int64_t{48} << 20),
      {path, "the header declares 4000000 contingencies", "the file is truncated or the strategy counts are wrong"});
}

// Labels are still read back exactly.
TEST(SizeLies, NfgLabelsRoundTrip) {
  TempDir d;
  const std::string path = d / "l.nfg";
  write_file(path,
             "NFG 1 R \"t\" { \"A\" \"B\" }\n{ { \"\" \"a b\" \"\\\"q\\\"\" } { \"x\" \"\" } }\n\"c\"\n"
             "1 2 3 4 5 6 7 8 9 10 11 12\n");
  const dgeval::NfgGame g = dgeval::read_nfg(path);
  ASSERT_EQ(g.strategies.size(), 2u);
  EXPECT_EQ(g.strategies[0], (std::vector<std::string>{"", "a b", "\"q\""}));
  EXPECT_EQ(g.strategies[1], (std::vector<std::string>{"x", ""}));
  // More label lists than players.
  write_file(path, "NFG 1 R \"t\" { \"A\" \"B\" }\n{ { \"a\" } { \"b\" } { \"c\" } }\n1 2\n");
  expect_error([&] { dgeval::read_nfg(path); }, {path + ":2:19: expected '}' (strategy lists for 2 players)"});
}

// The chunk buffers of a source are within the budget too.
TEST(SizeLies, ChunkBeyondTheBudget) {
  LimitGuard guard;
  TempDir d;
  std::vector<double> v(2 * 8 * 1000, 1.0);
  write_file(d / "g.npy", npy("<f8", false, "(1000, 2, 2, 4)", doubles(v)));
  dgeval::set_memory_limit(4096);
  auto s = dgeval::open_game_file(d / "g.npy");
  expect_error([&] { s->read(0, 1000); }, {d / "g.npy", "needs 125 KiB", "budget of 4.0 KiB"});
  dgeval::set_memory_limit(-1);
  EXPECT_EQ(read_all(*s, 1000), 2 * 16000.0);
}

// ---------------------------------------------------------------------------------------------
// Unbounded reads

// Endless inputs are read in a child process under a memory limit and a time limit, so that a
// reader that does not stop fails the test quickly instead of eating the machine's memory.
#ifdef DGEVAL_NO_RLIMIT_TESTS
constexpr std::int64_t kEndlessHeadroom = -1;
#else
constexpr std::int64_t kEndlessHeadroom = kHeadroom;
#endif

TEST(UnboundedReads, StrategyFromDevZero) {
  expect_refused(in_child(
                     [] {
                       dgeval::read_strategy_file("correlated:/dev/zero", dgeval::Dims({2, 2}), 1);
                     },
                     kEndlessHeadroom, 20),
                 {"/dev/zero:1:1: unexpected byte 0x00", "a strategy file is text"});
}

TEST(UnboundedReads, StrategyFromAnEndlessStreamOfNumbers) {
  TempDir d;
  FifoWriter w(d / "yes", repeat("0\n", 2048), true);  // `yes 0`
  expect_refused(in_child(
                     [&] {
                       dgeval::read_strategy_file("correlated:" + d / "yes", dgeval::Dims({2, 2}), 3);
                     },
                     kEndlessHeadroom, 20),
                 {d / "yes" + ":13:1: more than 12 numbers", "correlated strategy for 3 games 2x2 has 4 or 12"});
}

TEST(UnboundedReads, StrategyFromAnEndlessStreamOfBlankLines) {
  TempDir d;
  FifoWriter w(d / "blank", std::string(4096, '\n'), true);  // `yes ''`
  expect_refused(in_child(
                     [&] {
                       dgeval::read_strategy_file("product:" + d / "blank", dgeval::Dims({2, 2}), 1);
                     },
                     kEndlessHeadroom, 20),
                 {d / "blank" + ": byte 1050624: the file is longer than a strategy for 1 games 2x2 can be"});
}

TEST(UnboundedReads, StrategyTextStillReads) {
  TempDir d;
  write_file(d / "s.txt", "# a comment\ncorrelated 1/4, 0.25\n\t0.25 # more\n 25e-2");
  const dgeval::Strategy s = dgeval::read_strategy_file(d / "s.txt", dgeval::Dims({2, 2}), 1);
  EXPECT_EQ(s.weights, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  write_file(d / "long.txt", "pure " + std::string(500, '1'));
  expect_error(
      [&] {
        dgeval::read_strategy_file(d / "long.txt", dgeval::Dims({2, 2}), 1);
      },
      {d / "long.txt:1:6: a word longer than 400 characters"});
}

// ---------------------------------------------------------------------------------------------
// Pipes and FIFOs

const char kNfg[] = "NFG 1 R \"pipe\" { \"A\" \"B\" } { 2 2 }\n1 -1 2 -2 3 -3 4 -4\n";

TEST(Pipes, NfgFromAFifo) {
  TempDir d;
  const dgeval::NfgGame want = [&] {
    write_file(d / "file.nfg", kNfg);
    return dgeval::read_nfg(d / "file.nfg");
  }();
  {
    FifoWriter w(d / "fifo.nfg", kNfg);
    const dgeval::NfgGame g = dgeval::read_nfg(d / "fifo.nfg");
    EXPECT_EQ(g.payoffs, want.payoffs);
    EXPECT_EQ(g.title, "pipe");
  }
  {
    // No extension: the type is told by the first bytes, peeked (the pipe is read once).
    FifoWriter w(d / "fifo", kNfg);
    auto s = dgeval::open_game_file(d / "fifo");
    EXPECT_EQ(s->dims(), dgeval::Dims({2, 2}));
    EXPECT_EQ(read_all(*s), 0.0 + 2 * (1 - 1 + 2 - 2 + 3 - 3 + 4 - 4));
    ASSERT_NE(s->nfg_labels(1), nullptr);
  }
}

TEST(Pipes, NfgFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    const ssize_t w = ::write(fds[1], kNfg, sizeof kNfg - 1);
    EXPECT_EQ(w, static_cast<ssize_t>(sizeof kNfg - 1));
    ::close(fds[1]);
  });
  const std::string path = "/dev/fd/" + std::to_string(fds[0]);
  dgeval::NfgGame g;
  EXPECT_NO_THROW(g = dgeval::read_nfg(path));
  writer.join();
  ::close(fds[0]);
  EXPECT_EQ(g.payoffs, (std::vector<double>{1, 3, 2, 4, -1, -3, -2, -4}));
}

// A pipe's header may declare anything: only the budget bounds it.
TEST(Pipes, NfgFromAFifoBeyondTheBudget) {
  LimitGuard guard;
  TempDir d;
  FifoWriter w(d / "big.nfg", "NFG 1 R \"big\" { \"A\" \"B\" } { 5000 5000 }\n1 2 3\n");
  dgeval::set_memory_limit(64 << 20);
  expect_error([&] { dgeval::read_nfg(d / "big.nfg"); },
               {d / "big.nfg" + ": the 50000000 payoffs of the game 5000x5000", "needs 381 MiB", "budget of 64 MiB"});
}

// A batch of C- and Fortran-order games, the same values either way.
struct TwoOrders {
  std::string c, f;
  std::vector<double> values;  // C order [B][n][N]
};

TwoOrders two_orders(std::int64_t B, const std::vector<std::int64_t>& k) {
  const dgeval::Dims dims(k);
  const std::int64_t n = dims.players(), N = dims.outcomes();
  TwoOrders t;
  t.values.resize(static_cast<std::size_t>(B * n * N));
  for (std::size_t j = 0; j < t.values.size(); ++j)
    t.values[j] = static_cast<double>(j % 9973) - 0.5 * static_cast<double>(j % 7);
  std::vector<std::int64_t> shape{B, n};
  shape.insert(shape.end(), k.begin(), k.end());
  std::vector<double> f(t.values.size());
  // Fortran: index sum_j idx_j prod_{l<j} shape_l.
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (std::size_t c = 0; c < t.values.size(); ++c) {
    std::int64_t off = 0, stride = 1;
    for (std::size_t j = 0; j < shape.size(); ++j) {
      off += idx[j] * stride;
      stride *= shape[j];
    }
    f[static_cast<std::size_t>(off)] = t.values[c];
    for (std::size_t j = shape.size(); j-- > 0;) {
      if (++idx[j] < shape[j]) break;
      idx[j] = 0;
    }
  }
  std::string text = "(";
  for (std::size_t j = 0; j < shape.size(); ++j) text += (j ? ", " : "") + std::to_string(shape[j]);
  text += ")";
  t.c = npy("<f8", false, text, doubles(t.values));
  t.f = npy("<f8", true, text, doubles(f));
  return t;
}

void expect_values(dgeval::GameSource& s, const std::vector<double>& want, std::int64_t chunk) {
  const std::int64_t per = static_cast<std::int64_t>(want.size()) / s.games();
  for (std::int64_t g = 0; g < s.games(); g += chunk) {
    const std::int64_t count = std::min(chunk, s.games() - g);
    const dgeval::Batch b = dgeval::copy_games(s.read(g, count), 0, count);
    for (std::int64_t j = 0; j < count * per; ++j) {
      ASSERT_EQ(b.agents[static_cast<std::size_t>(j)], want[static_cast<std::size_t>(g * per + j)]) << g << " " << j;
      ASSERT_EQ(b.principals[static_cast<std::size_t>(j)], want[static_cast<std::size_t>(g * per + j)]);
    }
  }
}

TEST(Pipes, NpyFromAFifo) {
  TempDir d;
  const TwoOrders t = two_orders(50, {2, 3});
  for (const std::string* bytes : {&t.c, &t.f}) {
    FifoWriter w(d / "fifo.npy", *bytes);
    auto s = dgeval::open_game_file(d / "fifo.npy");
    ASSERT_EQ(s->games(), 50);
    expect_values(*s, t.values, 7);
    std::filesystem::remove(d / "fifo.npy");
  }
  // Two FIFOs, agents and principals.
  {
    FifoWriter a(d / "a", t.c);
    FifoWriter p(d / "p", t.f);
    auto s = dgeval::open_game_pair(d / "a", d / "p");
    expect_values(*s, t.values, 20);
  }
}

TEST(Pipes, NpyFromAPipeWithBytesAfterTheData) {
  TempDir d;
  const TwoOrders t = two_orders(4, {2, 2});
  FifoWriter w(d / "extra.npy", t.c + "junk");
  auto s = dgeval::open_game_file(d / "extra.npy");
  expect_error([&] { s->read(0, 4); }, {d / "extra.npy" + ": byte", "unexpected bytes after the array data"});
}

TEST(Pipes, NpyFromAPipeEndingEarly) {
  TempDir d;
  const TwoOrders t = two_orders(4, {2, 2});
  FifoWriter w(d / "short.npy", t.c.substr(0, t.c.size() - 10));
  auto s = dgeval::open_game_file(d / "short.npy");
  expect_error([&] { s->read(0, 4); }, {d / "short.npy" + ": byte " + std::to_string(t.c.size() - 10), "truncated"});
}

TEST(Pipes, NpzFromAFifoIsRefused) {
  TempDir d;
  FifoWriter w(d / "games.npz", dgeval_test::read_file(data_dir() + "/games.npz"));
  expect_error([&] { dgeval::open_game_file(d / "games.npz"); },
               {d / "games.npz" + ": an .npz cannot be read from a pipe", "write it to a file first"});
}

// The CLI reads an .nfg and an .npy from a pipe (stdin).
TEST(Pipes, CliReadsStdin) {
  TempDir d;
  write_file(d / "g.nfg", kNfg);
  SKIP_WITHOUT_CLI();
  const std::string cli = dgeval_test::cli();
  const std::string out = d / "out", err = d / "err";
  int rc =
      std::system(("cat '" + d / "g.nfg" + "' | '" + cli + "' evaluate --backend cpu --input /dev/stdin --output '" +
                   d / "r.csv' >'" + out + "' 2>'" + err + "'")
                      .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << dgeval_test::read_file(err);
  EXPECT_TRUE(std::filesystem::exists(d / "r.csv"));
  const TwoOrders t = two_orders(3, {2, 2});
  write_file(d / "g.npy", t.f);
  rc = std::system(("cat '" + d / "g.npy" + "' | '" + cli + "' convert --input /dev/stdin --output '" +
                    d / "c.npy' >'" + out + "' 2>'" + err + "'")
                       .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << dgeval_test::read_file(err);
  auto s = dgeval::open_game_file(d / "c.npy");
  expect_values(*s, t.values, 3);
}

// ---------------------------------------------------------------------------------------------
// Files truncated while being read: an error naming the byte, not a SIGBUS.

void truncate_while_reading(bool fortran) {
  TempDir d;
  const TwoOrders t = two_orders(3000, {2, 2});  // 3000 games of 64 bytes
  const std::string path = d / "g.npy";
  write_file(path, fortran ? t.f : t.c);
  const std::int64_t header = static_cast<std::int64_t>(t.c.size()) - 3000 * 64;
  const std::int64_t cut = header + 1000 * 64 + 10;
  const ChildResult r = in_child(
      [&] {
        auto s = dgeval::open_game_file(path);
        read_all(*s, 0);  // warm: every page seen once
        const dgeval::BatchView first = s->read(0, 1000);
        (void)first;
        std::filesystem::resize_file(path, static_cast<std::uintmax_t>(cut));
        const dgeval::BatchView v = s->read(1000, 1000);
        double sum = 0;
        for (std::int64_t j = 0; j < 1000 * 8; ++j) sum += static_cast<const double*>(v.agents)[j];
        std::printf("%g\n", sum);
      },
      -1, 30);
  expect_refused(r, {path + ": byte " + std::to_string(cut) + ": the file ended while being read (truncated to " +
                     std::to_string(cut) + " bytes"});
  (void)fortran;
}

TEST(Truncation, COrderNpyTruncatedWhileRead) { truncate_while_reading(false); }
TEST(Truncation, FortranOrderNpyTruncatedWhileRead) { truncate_while_reading(true); }

// The Fortran reader gathers runs of games through a window, or run by run when they are far
// apart: every chunk size gives the C-order values.
TEST(Truncation, FortranChunksMatchCOrder) {
  TempDir d;
  const TwoOrders t = two_orders(10000, {2, 2});  // runs 80000 bytes apart
  write_file(d / "c.npy", t.c);
  write_file(d / "f.npy", t.f);
  for (std::int64_t chunk : {1, 7, 5000, 10000}) {
    auto f = dgeval::open_game_file(d / "f.npy");
    expect_values(*f, t.values, chunk);
  }
  const TwoOrders small = two_orders(5, {3, 1, 2});
  write_file(d / "s.npy", small.f);
  for (std::int64_t chunk : {1, 2, 5}) {
    auto f = dgeval::open_game_pair(d / "s.npy", d / "s.npy");
    expect_values(*f, small.values, chunk);
  }
  // The single-game form [n, k..] in Fortran order.
  std::vector<double> c(24), fo(24);
  for (int i = 0; i < 2; ++i)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 4; ++b) {
        const double x = 100 * i + 10 * a + b;
        c[static_cast<std::size_t>((i * 3 + a) * 4 + b)] = x;
        fo[static_cast<std::size_t>(i + 2 * (a + 3 * b))] = x;
      }
  write_file(d / "one.npy", npy("<f8", true, "(2, 3, 4)", doubles(fo)));
  auto one = dgeval::open_game_file(d / "one.npy", dgeval::ShapeRule::single_game);
  expect_values(*one, c, 1);
}

// ---------------------------------------------------------------------------------------------
// The CLI: --memory-limit, DGEVAL_MEMORY_LIMIT, and a size lie under `ulimit -v`.

std::string fortran_npz(const TempDir& d) {
  const TwoOrders t = two_orders(20000, {2, 2});  // 1.25 MB per side
  write_file(d / "f.npz", zip({deflated("agents.npy", t.f), deflated("principals.npy", t.f)}));
  return d / "f.npz";
}

TEST(Cli, MemoryLimitFlag) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string path = fortran_npz(d);
  auto r = dgeval_test::run_cli(
      "evaluate --backend cpu --memory-limit 1M --input '" + path + "' --output '" + d / "r.csv'", d);
  EXPECT_EQ(r.status, 1) << r.err;
  for (const char* part : {"array 'agents'", "Fortran order", "needs 1.2 MiB (1280000 bytes)", "budget of 1.0 MiB",
                           "--memory-limit SIZE"}) {
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err << "\nlacks: " << part;
  }
  r = dgeval_test::run_cli("evaluate --backend cpu --memory-limit 2M --input '" + path + "' --output '" + d / "r.csv'",
                           d);
  EXPECT_EQ(r.status, 0) << r.err;
  r = dgeval_test::run_cli("convert --memory-limit lots --input '" + path + "' --output '" + d / "x.npz'", d);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--memory-limit: \"lots\" is not a size"), std::string::npos) << r.err;
  r = dgeval_test::run_cli("convert --memory-limit 4G --input '" + path + "' --output '" + d / "x.npz'", d);
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Cli, MemoryLimitEnvironment) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string path = fortran_npz(d);
  auto r = dgeval_test::run_cli("convert --input '" + path + "' --output '" + d / "x.npz'", d);
  EXPECT_EQ(r.status, 0) << r.err;
  ::setenv("DGEVAL_MEMORY_LIMIT", "1M", 1);
  r = dgeval_test::run_cli("convert --input '" + path + "' --output '" + d / "y.npz'", d);
  ::unsetenv("DGEVAL_MEMORY_LIMIT");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("(DGEVAL_MEMORY_LIMIT)"), std::string::npos) << r.err;
}

TEST(Cli, SizeLieUnderUlimit) {
  SKIP_UNDER_SANITIZER();
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::uint32_t claim = 3500000000u;
  const std::string h = npy("<f8", true, "(54687500, 2, 2, 2)", "");
  const std::string path = d / "big.npz";
  write_file(path, zip({lying("agents.npy", h, claim, claim / 1000), lying("principals.npy", h, claim, claim / 1000)}));
  // Run under `ulimit -v` (2 GiB of address space).
  const std::string out = d / "o", err = d / "e";
  const int rc = std::system(("ulimit -v 2097152; '" + dgeval_test::cli() + "' evaluate --backend cpu --input '" +
                              path + "' --output '" + d / "r.csv' >'" + out + "' 2>'" + err + "'")
                                 .c_str());
  ASSERT_TRUE(WIFEXITED(rc));
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  const std::string e = dgeval_test::read_file(err);
  for (const char* part : {"array 'agents'", "needs 3.3 GiB", "address-space limit (ulimit -v)", "--memory-limit"}) {
    EXPECT_NE(e.find(part), std::string::npos) << e << "\nlacks: " << part;
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs that once crashed a fuzz target (fuzz/, scripts/fuzz_ci.sh), every one of them also
// through the whole reading path of fuzz_read_games: opened as `--input FILE` is, read whole
// within a 256 MiB budget, and either read or refused.

TEST(FuzzRegressions, ReadGames) {
  LimitGuard guard;
  dgeval::set_memory_limit(std::int64_t{256} << 20);
  TempDir d;
  int inputs = 0;
  for (const char* target : {"nfg", "npy", "npz", "read_games"}) {
    const std::filesystem::path dir = data_dir() + "/fuzz-regressions/" + target;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string copy = d / "input";  // no extension: the type is told by the bytes
      std::filesystem::copy_file(e.path(), copy, std::filesystem::copy_options::overwrite_existing);
      ++inputs;
      try {
        auto s = dgeval::open_game_file(copy);
        read_all(*s);
      } catch (const dgeval::error&) {
      }
      try {
        dgeval::read_strategy_file(copy, dgeval::Dims({2, 3}), 4);
      } catch (const dgeval::error&) {
      }
    }
  }
  EXPECT_GT(inputs, 0);
}

}  // namespace
