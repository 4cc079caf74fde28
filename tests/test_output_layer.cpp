// The output layer (dgeval/output.hpp) on its own: how each kind of target is written, what a
// replaced file keeps, staging that leaves nothing behind, commits that are all or nothing, the
// stop flag, the fallbacks for file systems without O_TMPFILE, and printable().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/format.hpp"
#include "dgeval/io.hpp"
#include "dgeval/output.hpp"
#include "test_cli_util.hpp"

using dgeval_test::read_file;
using dgeval_test::TempDir;
using dgeval_test::write_file;

namespace {

struct stat stat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

/// The names in a folder, sorted (to see that nothing was left behind, hidden names included).
std::vector<std::string> names_in(const TempDir& d) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(d.path())) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

/// Resets the process-wide state a test may change.
struct Reset {
  ~Reset() {
    dgeval::clear_stop_requests();
    dgeval::detail::set_output_fallbacks(false, false);
    dgeval::detail::set_npz_pack_hook(nullptr);
  }
};

/// A character device made with mknod (major, minor) in `d`, or "" without the privilege (or on
/// a file system mounted nodev, where it cannot be opened).
std::string make_device(const TempDir& d, const std::string& name, unsigned major, unsigned minor) {
  const std::string p = d / name;
  if (::mknod(p.c_str(), S_IFCHR | 0666, makedev(major, minor)) != 0) return "";
  const int fd = ::open(p.c_str(), O_WRONLY);
  if (fd < 0) return "";
  ::close(fd);
  return p;
}

}  // namespace

TEST(OutputLayer, NewFileGetsTheUmaskDefault) {
  TempDir d;
  const mode_t old = ::umask(027);
  dgeval::write_file_atomically(d / "new.txt", [](std::ostream& o) { o << "hello\n"; });
  ::umask(old);
  EXPECT_EQ(read_file(d / "new.txt"), "hello\n");
  EXPECT_EQ(stat_of(d / "new.txt").st_mode & 07777, 0640u);
  EXPECT_EQ(names_in(d), std::vector<std::string>{"new.txt"});
}

TEST(OutputLayer, ReplacedFileKeepsItsPermissionsAndOwner) {
  TempDir d;
  write_file(d / "old.csv", "old\n");
  ASSERT_EQ(::chmod((d / "old.csv").c_str(), 0604), 0);
  const bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::chown((d / "old.csv").c_str(), 1234, 5678), 0);
  }
  dgeval::write_file_atomically(d / "old.csv", [](std::ostream& o) { o << "new\n"; });
  EXPECT_EQ(read_file(d / "old.csv"), "new\n");
  const struct stat st = stat_of(d / "old.csv");
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  if (root) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  }
}

TEST(OutputLayer, SymlinkIsWrittenThroughAndStaysALink) {
  TempDir d;
  std::filesystem::create_directory(d / "real");
  write_file(d / "real/target.csv", "old\n");
  std::filesystem::create_symlink("real/target.csv", d / "link.csv");
  dgeval::write_file_atomically(d / "link.csv", [](std::ostream& o) { o << "new\n"; });
  EXPECT_TRUE(S_ISLNK(stat_of(d / "link.csv").st_mode));
  EXPECT_EQ(read_file(d / "real/target.csv"), "new\n");
  // A dangling link: its target is created.
  std::filesystem::create_symlink("real/later.csv", d / "dangling.csv");
  dgeval::write_file_atomically(d / "dangling.csv", [](std::ostream& o) { o << "x\n"; });
  EXPECT_TRUE(S_ISLNK(stat_of(d / "dangling.csv").st_mode));
  EXPECT_EQ(read_file(d / "real/later.csv"), "x\n");
  EXPECT_EQ(names_in(d), (std::vector<std::string>{"dangling.csv", "link.csv", "real"}));
}

TEST(OutputLayer, ClassifiesTargets) {
  TempDir d;
  EXPECT_THROW(dgeval::classify_output(d.path().string()), dgeval::unusable_output);
  EXPECT_THROW(dgeval::classify_output(""), dgeval::unusable_output);
  dgeval_test::expect_error([&] { dgeval::classify_output(d / "no/such/folder/x.csv"); }, {"does not exist"});
  EXPECT_EQ(dgeval::classify_output("-").kind, dgeval::OutputKind::standard_output);
  EXPECT_EQ(dgeval::classify_output("/dev/stdout").kind, dgeval::OutputKind::descriptor);
  EXPECT_EQ(dgeval::classify_output("/proc/self/fd/2").descriptor, 2);
  EXPECT_EQ(dgeval::classify_output(d / "new.csv").kind, dgeval::OutputKind::regular);
  EXPECT_FALSE(dgeval::classify_output(d / "new.csv").exists);
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(dgeval::classify_output(d / "fifo").kind, dgeval::OutputKind::stream);
  EXPECT_EQ(dgeval::classify_output("/dev/null").kind, dgeval::OutputKind::stream);
}

TEST(OutputLayer, SameFileThroughLinksAndPaths) {
  TempDir d;
  write_file(d / "in.npz", "x");
  std::filesystem::create_hard_link(d / "in.npz", d / "hard.npz");
  std::filesystem::create_symlink(d / "in.npz", d / "soft.npz");
  const auto in = dgeval::classify_output(d / "in.npz");
  EXPECT_TRUE(dgeval::same_file(d / "hard.npz", true, in));
  EXPECT_TRUE(dgeval::same_file(d / "soft.npz", true, in));
  EXPECT_FALSE(dgeval::same_file(d / "other.npz", true, in));
  // New files: the same path spelt two ways.
  std::filesystem::create_directory(d / "sub");
  const auto a = dgeval::classify_output(d / "sub/../new.csv");
  const auto b = dgeval::classify_output(d / "new.csv");
  EXPECT_TRUE(dgeval::same_file(a, b));
  // Character devices take any number of outputs.
  EXPECT_FALSE(dgeval::same_file(dgeval::classify_output("/dev/null"), dgeval::classify_output("/dev/null")));
}

TEST(OutputLayer, DiscardLeavesEverythingAsItWas) {
  Reset reset;
  TempDir d;
  write_file(d / "a.csv", "old a\n");
  for (bool named : {false, true}) {
    dgeval::detail::set_output_fallbacks(named, false);
    {
      dgeval::OutputSet set;
      set.add(d / "a.csv").stream() << "new a\n";
      set.add(d / "b.csv").stream() << "new b\n";
      if (named) {
        // The fallback's hidden staging names exist now, and only they.
        EXPECT_EQ(names_in(d).size(), 3u);
      } else {
        EXPECT_EQ(names_in(d), std::vector<std::string>{"a.csv"});  // O_TMPFILE: nothing visible
      }
    }
    EXPECT_EQ(read_file(d / "a.csv"), "old a\n");
    EXPECT_EQ(names_in(d), std::vector<std::string>{"a.csv"}) << "named staging " << named;
  }
}

TEST(OutputLayer, CommitReplacesEveryOutputTogether) {
  Reset reset;
  TempDir d;
  for (int variant = 0; variant < 3; ++variant) {
    dgeval::detail::set_output_fallbacks(variant == 1, variant == 2);
    write_file(d / "a.csv", "old a\n");
    ASSERT_EQ(::chmod((d / "a.csv").c_str(), 0640), 0);
    dgeval::OutputSet set;
    set.add(d / "a.csv").stream() << "new a " << variant << "\n";
    set.add(d / "b.csv").stream() << "new b " << variant << "\n";
    EXPECT_EQ(read_file(d / "a.csv"), "old a\n");
    set.commit();
    EXPECT_EQ(read_file(d / "a.csv"), "new a " + std::to_string(variant) + "\n");
    EXPECT_EQ(read_file(d / "b.csv"), "new b " + std::to_string(variant) + "\n");
    EXPECT_EQ(stat_of(d / "a.csv").st_mode & 07777, 0640u) << "variant " << variant;
    EXPECT_EQ(names_in(d), (std::vector<std::string>{"a.csv", "b.csv"})) << "variant " << variant;
  }
}

TEST(OutputLayer, StopBeforeTheRenamesCommitsNothing) {
  Reset reset;
  TempDir d;
  write_file(d / "a.csv", "old\n");
  {
    dgeval::OutputSet set;
    set.add(d / "a.csv").stream() << "new\n";
    set.add(d / "b.csv").stream() << "new\n";
    dgeval::request_stop(2);
    EXPECT_THROW(set.commit(), dgeval::cancelled);
    EXPECT_FALSE(set.committed());
  }
  EXPECT_EQ(read_file(d / "a.csv"), "old\n");
  EXPECT_EQ(names_in(d), std::vector<std::string>{"a.csv"});
  EXPECT_EQ(dgeval::stop_signal(), 2);
  EXPECT_THROW(dgeval::throw_if_stop_requested(), dgeval::cancelled);
}

TEST(OutputLayer, SignalHandlerRemovesTemporaryNames) {
  Reset reset;
  TempDir d;
  dgeval::detail::set_output_fallbacks(true, false);  // staging with names
  dgeval::OutputSet set;
  set.add(d / "a.csv").stream() << "x\n";
  ASSERT_EQ(names_in(d).size(), 1u);
  dgeval::remove_temporary_names();  // what the second-signal path of the CLI runs before _exit
  EXPECT_TRUE(names_in(d).empty());
}

TEST(OutputLayer, FifoIsWrittenDirectly) {
  TempDir d;
  const std::string fifo = d / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read_file(fifo); });
  dgeval::write_file_atomically(fifo, [](std::ostream& o) { o << "through the pipe\n"; });
  reader.join();
  EXPECT_EQ(got, "through the pipe\n");
  EXPECT_TRUE(S_ISFIFO(stat_of(fifo).st_mode));
  EXPECT_EQ(names_in(d), std::vector<std::string>{"fifo"});
}

TEST(OutputLayer, NpzToAFifoIsStagedThenCopied) {
  TempDir d;
  const std::string fifo = d / "fifo.npz";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read_file(fifo); });
  {
    dgeval::NpzWriter z(fifo);
    const double v[3] = {1, 2, 3};
    z.add("x", {3}, "<f8", v);
    z.commit();
  }
  reader.join();
  dgeval::NpzReader r(got.data(), got.size(), "fifo.npz");
  EXPECT_EQ(r.load("x").values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(names_in(d), std::vector<std::string>{"fifo.npz"});
}

TEST(OutputLayer, CharacterDevicesAreWrittenAndFullOnesReported) {
  TempDir d;
  const std::string null = make_device(d, "null", 1, 3), full = make_device(d, "full", 1, 7);
  if (null.empty() || full.empty()) GTEST_SKIP() << "no privilege to make and open character devices here";
  dgeval::write_file_atomically(null, [](std::ostream& o) { o << "gone\n"; });
  EXPECT_TRUE(S_ISCHR(stat_of(null).st_mode));
  dgeval_test::expect_error([&] { dgeval::write_file_atomically(full, [](std::ostream& o) { o << "x\n"; }); },
                            {"full", "No space left on device"});
  EXPECT_TRUE(S_ISCHR(stat_of(full).st_mode));
  dgeval_test::expect_error(
      [&] {
        dgeval::NpzWriter z(full);
        const double v[1] = {1};
        z.add("x", {1}, "<f8", v);
        z.commit();
      },
      {"full", "No space left on device"});
  EXPECT_EQ(names_in(d), (std::vector<std::string>{"full", "null"}));
}

TEST(OutputLayer, NpzWriterStagesNothingWithAName) {
  TempDir d;
  write_file(d / "r.npz", "old");
  {
    dgeval::NpzWriter z(d / "r.npz");
    dgeval::NpyStreamWriter& w = z.begin("big", "<f8");
    std::vector<double> chunk(1 << 16, 0.5);
    w.append(chunk.data(), chunk.size() * 8);
    EXPECT_EQ(names_in(d), std::vector<std::string>{"r.npz"});  // was: r.npz.tmp.*.big.npy beside it
    w.finish({1 << 16});
  }  // destroyed without commit
  EXPECT_EQ(read_file(d / "r.npz"), "old");
  EXPECT_EQ(names_in(d), std::vector<std::string>{"r.npz"});
}

TEST(OutputLayer, StopWhileNpzIsPackedKeepsTheOldFile) {
  Reset reset;
  TempDir d;
  write_file(d / "r.npz", "old");
  dgeval::detail::set_npz_pack_hook([] { dgeval::request_stop(2); });  // Ctrl-C as packing starts
  {
    dgeval::NpzWriter z(d / "r.npz");
    std::vector<double> v(1 << 16, 0.25);
    z.add("a", {static_cast<std::int64_t>(v.size())}, "<f8", v.data());
    z.add("b", {static_cast<std::int64_t>(v.size())}, "<f8", v.data());
    EXPECT_THROW(z.commit(), dgeval::cancelled);
  }
  EXPECT_EQ(read_file(d / "r.npz"), "old");
  EXPECT_EQ(names_in(d), std::vector<std::string>{"r.npz"});
}

TEST(OutputLayer, NpzRoundTripThroughTheStagedWriter) {
  TempDir d;
  for (bool compress : {false, true}) {
    std::filesystem::remove(d / "r.npz");
    dgeval::OutputSet set;
    dgeval::NpzWriter z(set.add(d / "r.npz"), compress);
    std::vector<double> v(1000);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) / 7;
    z.add("v", {10, 100}, "<f8", v.data());
    z.commit();
    EXPECT_FALSE(std::filesystem::exists(d / "r.npz"));  // complete, but not yet committed
    set.commit();
    dgeval::NpzReader r(d / "r.npz");
    EXPECT_EQ(r.load("v").values, v);
    EXPECT_EQ(names_in(d), std::vector<std::string>{"r.npz"});
  }
}

TEST(OutputLayer, PrintableEscapesBinaryAndKeepsUtf8) {
  EXPECT_EQ(dgeval::printable("plain text: ok"), "plain text: ok");
  EXPECT_EQ(dgeval::printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(dgeval::printable("line\nnext\ttab\x1b[31m"), "line\\x0anext\\x09tab\\x1b[31m");
  EXPECT_EQ(dgeval::printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(dgeval::printable("\x93NUMPY\xff\xc3"), "\\x93NUMPY\\xff\\xc3");
  EXPECT_EQ(dgeval::printable("\xc0\xaf \xed\xa0\x80 \x7f"), "\\xc0\\xaf \\xed\\xa0\\x80 \\x7f");
}
