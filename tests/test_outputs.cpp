// The CLI's outputs and its one exit path: device targets (/dev/null, /dev/full, /dev/stdout) as
// root in a private /dev (never the real one: a binary with the old bug would replace it), outputs
// that are inputs or each other, directories, every stop signal
// (exit 128 + N, the old output byte-identical, no temporary file left), a second Ctrl-C, a
// failed --summary-output, bad option values (exit 2 everywhere), and escaped messages.
//
// DGEVAL_TEST_CLI (environment) runs these against another dgeval binary, e.g. an older build.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_cli_util.hpp"

using dgeval_test::cli;
using dgeval_test::has;
using dgeval_test::q;
using dgeval_test::read_file;
using dgeval_test::TempDir;
using dgeval_test::write_file;

namespace {

/// Runs a shell command with its stdout and stderr captured (in files outside the test's folder).
dgeval_test::RunResult run_shell(const std::string& command) {
  dgeval_test::RunResult r;
  char out_name[] = "/tmp/dgeval_out_XXXXXX", err_name[] = "/tmp/dgeval_err_XXXXXX";
  const int o = ::mkstemp(out_name), e = ::mkstemp(err_name);
  ::close(o);
  ::close(e);
  const std::string cmd = "{ " + command + "; } >" + out_name + " 2>" + err_name;
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1000 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
  r.out = read_file(out_name);
  r.err = read_file(err_name);
  ::unlink(out_name);
  ::unlink(err_name);
  return r;
}

/// Runs `dgeval ARGS` (shell-quoted).
dgeval_test::RunResult run(const std::string& args) { return run_shell("'" + cli() + "' " + args); }

std::string q(const std::filesystem::path& path) { return dgeval_test::q(path.string()); }

/// Every name in a folder, hidden ones included, sorted.
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

/// A CLI child whose stderr is read through a pipe as it runs.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 2);
      const int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::close(fds[0]);
      ::close(fds[1]);
      for (const std::string& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
      std::vector<char*> argv;
      const std::string path = cli();
      argv.push_back(const_cast<char*>(path.c_str()));
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    err_fd_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  /// Reads stderr until it holds `part` (true) or the child ends or `seconds` pass (false).
  bool wait_for(const std::string& part, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!has(err_, part)) {
      const auto left = std::chrono::duration<double>(end - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{err_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left * 1000) + 1) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(err_fd_, buf, sizeof buf);
      if (n <= 0) return has(err_, part);
      err_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  /// Waits (at most `seconds`, then SIGKILL) and returns the exit status, or 1000 + N when
  /// killed by signal N (a crash or a signal's default action, not an exit through main()).
  int finish(double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int st = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) break;
      if (std::chrono::steady_clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        reaped_ = true;
        return -1;  // hung
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    reaped_ = true;
    wait_for("\x01never", 0.5);  // the rest of stderr
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool reaped_ = false;
  std::string err_;
};

/// Can this process make a private mount namespace with its own /dev (root, CAP_SYS_ADMIN)?
bool private_dev_available() {
  return std::system("unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /dev' >/dev/null 2>&1") == 0;
}

}  // namespace

// ---- device targets ----------------------------------------------------------------------

TEST(Outputs, DevicesAsRootAreWrittenNotReplaced) {
  SKIP_WITHOUT_CLI();
  if (!private_dev_available()) GTEST_SKIP() << "needs root and mount namespaces (unshare -m)";
  TempDir d;
  // A private /dev of our own (a tmpfs in a private mount namespace), so that nothing here can
  // touch the real one, whatever the binary under test does.
  write_file(
      d / "script.sh",
      "set -u\n"
      "mount -t tmpfs tmpfs /dev && cd /dev && mknod -m 666 null c 1 3 && mknod -m 666 full c 1 7 &&\n"
      "mknod -m 666 zero c 1 5 && mknod -m 666 urandom c 1 9 && mknod -m 666 random c 1 8 &&\n"
      "ln -s /proc/self/fd fd && ln -s /proc/self/fd/1 stdout && ln -s /proc/self/fd/2 stderr && cd / || exit 99\n"
      "D='" +
          cli() +
          "'; A='evaluate --example mammoth --format csv -q --backend cpu'\n"
          "$D $A -o /dev/null; echo null=$?\n"
          "$D $A -o /dev/null --summary-output /dev/null --summary json; echo nulls=$?\n"
          "$D $A -o /dev/full 2>'" +
          d / "full.err" +
          "'; echo full=$?\n"
          "$D $A -o /dev/stdout >'" +
          d / "stdout.csv" +
          "'; echo stdout=$?\n"
          "$D $A --format npz -o /dev/full 2>>'" +
          d / "full.err" +
          "'; echo fullnpz=$?\n"
          "stat -c '%n %F' /dev/null /dev/full /dev/stdout; ls -A /dev | tr '\\n' ' '; echo\n");
  const auto r = run_shell("unshare -m --propagation private sh " + q(d / "script.sh"));
  const std::string& o = r.out;
  EXPECT_TRUE(has(o, "null=0")) << o;
  EXPECT_TRUE(has(o, "nulls=0")) << o;  // a character device takes any number of outputs
  EXPECT_TRUE(has(o, "full=1")) << o;
  EXPECT_TRUE(has(o, "stdout=0")) << o;
  EXPECT_TRUE(has(o, "fullnpz=1")) << o;
  EXPECT_TRUE(has(o, "/dev/null character special file")) << o;
  EXPECT_TRUE(has(o, "/dev/full character special file")) << o;
  EXPECT_TRUE(has(o, "/dev/stdout symbolic link")) << o;
  EXPECT_TRUE(has(o, "fd full null random stderr stdout urandom zero \n")) << o;  // no temporary file
  EXPECT_TRUE(has(read_file(d / "full.err"), "No space left on device")) << read_file(d / "full.err");
  EXPECT_TRUE(has(read_file(d / "stdout.csv"), "game,")) << read_file(d / "stdout.csv");
}

TEST(Outputs, DescriptorPathsWriteToTheDescriptor) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  for (const std::string target : {"/proc/self/fd/1", "/dev/fd/1", "-"}) {
    const auto r = run("evaluate --example mammoth --format csv -q --backend cpu -o " + target);
    EXPECT_EQ(r.status, 0) << target << ": " << r.err;
    EXPECT_TRUE(has(r.out, "game,offset_agents_0")) << target;
  }
  // Appending through the shell: the descriptor keeps its offset and mode (no truncation).
  // (/dev/stdout itself only in the private /dev of DevicesAsRootAreWrittenNotReplaced: a binary
  // that replaced it would replace the real one.)
  write_file(d / "log.csv", "before\n");
  const auto r =
      run("evaluate --example mammoth --format csv -q --backend cpu -o /proc/self/fd/1 >>" + q(d / "log.csv"));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(d / "log.csv").rfind("before\ngame,", 0), 0u);
}

TEST(Outputs, DashIsStandardInputAndOutput) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string nfg = dgeval_test::data_dir() + "/asym_payoff.nfg";
  const auto file = run("evaluate --input " + q(nfg) + " --format csv -q --backend cpu");
  const auto piped = run("evaluate --input - -o - --format csv -q --backend cpu <" + q(nfg));
  ASSERT_EQ(file.status, 0) << file.err;
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out, file.out);
  // convert keeps the piped game's names; infer reads an observations CSV.
  EXPECT_EQ(
      run("convert --input - -o " + q(d / "x.nfg") + " <" + q(dgeval_test::data_dir() + "/outcome_labels.nfg")).status,
      0);
  EXPECT_TRUE(has(read_file(d / "x.nfg"), "\"Row\" \"Column\""));
  ASSERT_EQ(run("infer --example common-3x3 --samples 30 --resamples 0 --write-observations " + q(d / "o.csv")).status,
            0);
  const auto a = run("infer --input " + q(d / "o.csv") + " --dims 3x3 --resamples 20 --format csv");
  const auto b = run("infer --input - --dims 3x3 --resamples 20 --format csv <" + q(d / "o.csv"));
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  // Where a file is needed, "-" is refused clearly.
  const auto pair = run("evaluate --agents - --principals " + q(nfg) + " <" + q(nfg));
  EXPECT_EQ(pair.status, 2);
  EXPECT_TRUE(has(pair.err, "standard input is read by --input only")) << pair.err;
}

TEST(Outputs, FifoTargetIsWrittenDirectly) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  ASSERT_EQ(::mkfifo((d / "pipe.csv").c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read_file(d / "pipe.csv"); });
  const auto r = run("evaluate --example mammoth -q --backend cpu -o " + q(d / "pipe.csv"));
  reader.join();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(got, "game,")) << got;
  struct stat st;
  ASSERT_EQ(::lstat((d / "pipe.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"pipe.csv"});
}

// ---- outputs that would destroy an input, or each other -----------------------------------

TEST(Outputs, AnOutputThatIsAnInputOrAnotherOutputIsRefused) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  ASSERT_EQ(run("generate --dims 3x3 --games 5 -q -o " + q(d / "g.npz")).status, 0);
  ASSERT_EQ(run("convert --input " + q(d / "g.npz") + " --game 0 --agents-output " + q(d / "a.nfg") +
                " --principals-output " + q(d / "p.nfg"))
                .status,
            0);
  ASSERT_EQ(
      run("infer --example common-3x3 --samples 20 --resamples 0 --write-observations " + q(d / "obs.csv")).status, 0);
  write_file(d / "s.txt", "pure 0 0\n");
  std::filesystem::create_symlink(d / "g.npz", d / "link.npz");
  std::filesystem::create_hard_link(d / "g.npz", d / "hard.npz");
  const std::string g = read_file(d / "g.npz"), a = read_file(d / "a.nfg"), obs = read_file(d / "obs.csv");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "g.npz"), "is the same file as the input --input"},
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "link.npz"), "same file as the input"},
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "hard.npz"), "same file as the input"},
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "r.csv") + " --summary-output " + q(d / "g.npz"),
       "--summary-output"},
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "x.csv") + " --summary-output " + q(d / "x.csv"),
       "are the same file"},
      {"evaluate --input " + q(d / "g.npz") + " -o " + q(d / "sub/../x.csv") + " --summary-output " + q(d / "x.csv"),
       "are the same file"},
      {"evaluate --format csv --agents " + q(d / "a.nfg") + " --principals " + q(d / "p.nfg") + " -o " + q(d / "a.nfg"),
       "--agents"},
      {"evaluate --input " + q(d / "g.npz") + " --strategy " + q(d / "s.txt") + " -o " + q(d / "s.txt"), "--strategy"},
      {"generate --dims 3x3 --agents " + q(d / "n.npy") + " --principals " + q(d / "n.npy"), "are the same file"},
      {"convert --input " + q(d / "g.npz") + " -o " + q(d / "g.npz"), "same file as the input"},
      {"convert --input " + q(d / "g.npz") + " --game 0 --agents-output " + q(d / "x.nfg") + " --principals-output " +
           q(d / "x.nfg"),
       "are the same file"},
      {"convert --agents " + q(d / "a.nfg") + " --principals " + q(d / "p.nfg") + " -o " + q(d / "a.nfg"),
       "same file as the input"},
      {"infer --input " + q(d / "obs.csv") + " -o " + q(d / "obs.csv"), "same file as the input"},
      {"infer --example common-3x3 --write-observations " + q(d / "o.csv") + " -o " + q(d / "o.csv"),
       "are the same file"},
      {"infer --game " + q(d / "g.npz") + " --write-observations " + q(d / "g.npz"), "same file as the input"},
      {"infer --example common-3x3 --write-observations " + q(d / "obs.npz"), "observations are written as CSV"},
      {"experiment inference --games 1 --sizes 3x3 -o " + q(d / "c.csv") + " --per-game " + q(d / "c.csv"),
       "are the same file"},
      {"experiment bound-surface --games 10 -o " + q(d / "s.csv") + " --points " + q(d / "s.csv"), "are the same file"},
  };
  std::filesystem::create_directory(d / "sub");
  for (const auto& [args, part] : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(has(r.err, part)) << args << "\n" << r.err;
    EXPECT_EQ(read_file(d / "g.npz"), g) << args;
    EXPECT_EQ(read_file(d / "a.nfg"), a) << args;
    EXPECT_EQ(read_file(d / "obs.csv"), obs) << args;
    for (const char* never : {"x.csv", "r.csv", "n.npy", "x.nfg", "o.csv", "c.csv", "s.csv"}) {
      EXPECT_FALSE(std::filesystem::exists(d / never)) << args << ": " << never;
    }
  }
}

TEST(Outputs, AFolderAsOutputIsRefusedBeforeTheRun) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  std::filesystem::create_directory(d / "dir");
  for (const std::string& args :
       {"evaluate --random 1000 --dims 3x3 --backend cpu --format csv -o " + q(d / "dir"),
        "evaluate --random 1000 --dims 3x3 --backend cpu -o " + q(d / "r.csv") + " --summary-output " + q(d / "dir"),
        "generate --dims 3x3 --games 100 -o " + q(d / "dir/"),
        "experiment grid-scan --scale 1 --backend cpu -o " + q(d / "dir"),
        "infer --example common-3x3 --samples 10 -o " + q(d / "dir")}) {
    const auto r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(has(r.err, "is a directory; expected a file name")) << args << "\n" << r.err;
    EXPECT_FALSE(has(r.err, "games on the cpu backend")) << args << ": the run went ahead";
    EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"dir"}) << args;
    EXPECT_TRUE(std::filesystem::is_empty(d / "dir")) << args;
  }
}

TEST(Outputs, AFailedSummaryOutputLeavesTheMainOutputAlone) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  write_file(d / "r.csv", "old\n");
  // A summary that cannot be written once the run is over: a device that is full.
  const std::string full = d / "full";
  const bool device =
      ::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0 && ::access(full.c_str(), W_OK) == 0 && [&] {
        const int fd = ::open(full.c_str(), O_WRONLY);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
      }();
  if (device) {
    const auto r =
        run("evaluate --random 100 --dims 3x3 --backend cpu -q -o " + q(d / "r.csv") + " --summary-output " + q(full));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_TRUE(has(r.err, "No space left on device")) << r.err;
    EXPECT_EQ(read_file(d / "r.csv"), "old\n");
    struct stat st;
    ASSERT_EQ(::lstat(full.c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    std::filesystem::remove(full);
  }
  // One that cannot be written at all: refused before the run, the main output untouched.
  const auto r = run("evaluate --random 100 --dims 3x3 --backend cpu -q -o " + q(d / "r.csv") + " --summary-output " +
                     q(d / "no/such/folder/s.json"));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "does not exist")) << r.err;
  EXPECT_EQ(read_file(d / "r.csv"), "old\n");
  EXPECT_EQ(names_in(d.path()), std::vector<std::string>{"r.csv"});
}

TEST(Outputs, ReplacedOutputKeepsItsModeAndALinkStaysALink) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  std::filesystem::create_directory(d / "real");
  write_file(d / "real/r.csv", "old\n");
  ASSERT_EQ(::chmod((d / "real/r.csv").c_str(), 0600), 0);
  std::filesystem::create_symlink("real/r.csv", d / "r.csv");
  const auto r = run("evaluate --example mammoth --backend cpu -q --format csv -o " + q(d / "r.csv"));
  ASSERT_EQ(r.status, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::lstat((d / "r.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::stat((d / "real/r.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(has(read_file(d / "real/r.csv"), "game,"));
  EXPECT_EQ(names_in(d / "real"), std::vector<std::string>{"r.csv"});
}

// ---- signals: one exit path ---------------------------------------------------------------

namespace {

struct SignalCase {
  std::string name;
  std::vector<std::string> args;       // {OUT} and {DIR} replaced
  std::vector<std::string> outputs;    // files in DIR that exist before and must stay unchanged
  std::string progress;                // what the child writes to stderr once it runs
  std::vector<std::string> kept = {};  // what a stop keeps besides: the journal of a resumable run
};

void run_signal_case(const SignalCase& c, int sig, const std::vector<std::string>& env = {}, int signals = 1) {
  TempDir d;
  const std::string dir = d.path().string();
  for (const std::string& o : c.outputs) write_file(dir + "/" + o, "old " + o + "\n");
  std::vector<std::string> args;
  for (std::string a : c.args) {
    const auto at = a.find("{DIR}");
    if (at != std::string::npos) a.replace(at, 5, dir);
    args.push_back(a);
  }
  Child child(args, env);
  ASSERT_TRUE(child.wait_for(c.progress, 60)) << c.name << ": no progress; stderr:\n" << child.err();
  if (!env.empty()) {  // named staging: the hidden staging files are there while the run goes
    EXPECT_GT(names_in(dir).size(), c.outputs.size()) << c.name;
  }
  for (int k = 0; k < signals; ++k) child.signal(sig);
  const int status = child.finish(60);
  EXPECT_EQ(status, 128 + sig) << c.name << " signal " << sig << " (1000 + N: killed by N; -1: hung)\n" << child.err();
  const std::string name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGQUIT";
  // On a fresh line: "dgeval <command>: interrupted by ..." or, when a second signal arrives
  // before the run has seen the first, "dgeval: stopped at once by a second signal (...)".
  EXPECT_TRUE(has(child.err(), "\ndgeval") && has(child.err(), name)) << c.name << "\n" << child.err();
  for (const std::string& o : c.outputs) {
    EXPECT_EQ(read_file(dir + "/" + o), "old " + o + "\n") << c.name << " signal " << sig << ": " << o << " changed";
  }
  std::vector<std::string> expected = c.outputs;
  expected.insert(expected.end(), c.kept.begin(), c.kept.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names_in(dir), expected) << c.name << " signal " << sig << ": something was left behind";
}

const char kEvaluateProgress[] = "evaluate: ";

}  // namespace

TEST(OutputSignals, EverySignalStopsEvaluateAndKeepsTheOldFiles) {
  SKIP_WITHOUT_CLI();
  const SignalCase c{"evaluate csv + summary",
                     {"evaluate", "--random", "2000000000", "--dims", "6x7x4x6", "--backend", "cpu", "--threads", "1",
                      "--chunk-games", "2000", "-o", "{DIR}/r.csv", "--summary-output", "{DIR}/s.json"},
                     {"r.csv", "s.json"},
                     kEvaluateProgress,
                     {"r.csv.dgeval-journal"}};
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) run_signal_case(c, sig);
}

TEST(OutputSignals, CtrlCStopsEveryLongCommand) {
  SKIP_WITHOUT_CLI();
  const std::vector<SignalCase> cases = {
      {"evaluate npz",
       {"evaluate", "--random", "2000000000", "--dims", "3x3", "--backend", "cpu", "--threads", "1", "-o",
        "{DIR}/r.npz"},
       {"r.npz"},
       kEvaluateProgress,
       {"r.npz.dgeval-journal"}},
      {"generate npz",
       {"generate", "--dims", "4x4", "--games", "2000000000", "--generator", "delegation", "--ia", "0.5", "--backend",
        "cpu", "--threads", "1", "-o", "{DIR}/g.npz"},
       {"g.npz"},
       "generate: ",
       {"g.npz.dgeval-journal"}},
      {"generate npy",
       {"generate", "--dims", "4x4", "--games", "2000000000", "--generator", "delegation", "--ia", "0.5", "--backend",
        "cpu", "--threads", "1", "--agents", "{DIR}/a.npy", "--principals", "{DIR}/p.npy"},
       {"a.npy", "p.npy"},
       "generate: ",
       {"a.npy.dgeval-journal"}},
      {"grid-scan",
       {"experiment", "grid-scan", "--scale", "1000000", "--backend", "cpu", "--threads", "1", "-o", "{DIR}/grid.csv"},
       {"grid.csv"},
       "grid-scan: "},
      {"bound-surface",
       {"experiment", "bound-surface", "--games", "4000000000", "--backend", "cpu", "--threads", "1", "-o",
        "{DIR}/s.csv", "--points", "{DIR}/p.csv"},
       {"p.csv", "s.csv"},
       "bound-surface: ",
       {"s.csv.dgeval-journal"}},
      {"experiment inference",
       {"experiment", "inference", "--games", "1000000", "--sizes", "5x5x4", "--backend", "cpu", "--threads", "1", "-o",
        "{DIR}/c.csv", "--per-game", "{DIR}/g.csv"},
       {"c.csv", "g.csv"},
       "experiment inference: "},
  };
  for (const SignalCase& c : cases) run_signal_case(c, SIGINT);
}

TEST(OutputSignals, CtrlCWhileTheNpzIsPackedKeepsTheOldFile) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  for (int sig : {SIGINT, SIGTERM}) {
    write_file(d / "r.npz", "old");
    write_file(d / "s.json", "old");
    const auto r = run_shell("DGEVAL_TEST_SIGNAL_WHEN_PACKING=" + std::to_string(sig) + " '" + cli() +
                             "' evaluate --random 20000 --dims 3x3 --backend cpu -q -o " + q(d / "r.npz") +
                             " --summary-output " + q(d / "s.json"));
    EXPECT_EQ(r.status, 128 + sig) << r.err;
    EXPECT_TRUE(has(r.err, "interrupted by")) << r.err;
    EXPECT_EQ(read_file(d / "r.npz"), "old");
    EXPECT_EQ(read_file(d / "s.json"), "old");
    EXPECT_EQ(names_in(d.path()), (std::vector<std::string>{"r.npz", "s.json"}));
  }
}

TEST(OutputSignals, SecondCtrlCLeavesNoTemporaryFile) {
  SKIP_WITHOUT_CLI();
  // Staging under hidden names (as on a file system without O_TMPFILE): the names exist while
  // the run goes, and two quick Ctrl-Cs must still remove them.
  const SignalCase c{"evaluate, named staging",
                     {"evaluate", "--random", "2000000000", "--dims", "6x7x4x6", "--backend", "cpu", "--threads", "1",
                      "--chunk-games", "2000", "-o", "{DIR}/r.csv", "--summary-output", "{DIR}/s.json"},
                     {"r.csv", "s.json"},
                     kEvaluateProgress,
                     {"r.csv.dgeval-journal"}};
  run_signal_case(c, SIGINT, {"DGEVAL_TEST_NAMED_STAGING=1"}, 2);
  run_signal_case(c, SIGTERM, {"DGEVAL_TEST_NAMED_STAGING=1"}, 1);
}

// ---- consistency: bad option values, messages ---------------------------------------------

TEST(Outputs, BadOptionValuesExit2Everywhere) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string e = "evaluate --random 10 --dims 3x3 --backend cpu -q --format csv ";
  const std::vector<std::string> cases = {
      e + "--threads -5",
      e + "--device -1",
      e + "--cc 2",
      e + "--ic 1.5",
      e + "--ne-tolerance -1",
      e + "--standardisation nonesuch",
      e + "--welfare nonesuch",
      e + "--cc-window nonesuch",
      "evaluate --random 10 --dims 3x0 -q",
      "evaluate --random 0 --dims 3x3 -q",
      "evaluate --example nonesuch -q",
      "evaluate --random 10 --dims 3x3 -q -o " + q(d / "r.xyz"),
      "evaluate --random 10 --dims 3x3 -q --format nonesuch",
      "evaluate --random 10 --dims 3x3 -q --ic 1,1,1",
      "generate --dims 3x3 --threads -5 -o " + q(d / "g.npz"),
      "generate --dims 3x0 -o " + q(d / "g.npz"),
      "generate --dims 3x3 --games 0 -o " + q(d / "g.npz"),
      "generate --dims 3x3 --lo nan -o " + q(d / "g.npz"),
      "bench --threads -1",
      "bench --dims 0x3",
      "bench --backend nonesuch",
      "experiment grid-scan --threads -3",
      "experiment grid-scan --increments 0",
      "experiment grid-scan --others 2",
      "experiment grid-scan --sizes 3x0",
      "experiment grid-scan --device -2",
      "experiment bound-surface --players 0",
      "experiment bound-surface --outcomes 2",
      "experiment bound-surface --calibration -1",
      "experiment bound-surface --calibration 1,2 --players 3",
      "experiment bound-surface --keep-points -1 --points " + q(d / "p.csv"),
      "experiment bound-surface --threads -1",
      "experiment throughput --threads -2",
      "experiment throughput --sizes 0x3",
      "experiment inference --threads -1",
      "experiment inference --sizes 0x3",
      "infer --example common-3x3 --threads -1",
      "infer --example common-3x3 --cc 3",
      "infer --example common-3x3 --ic 2",
      "infer --example common-3x3 --ic 1,1,1",
      "infer --example common-3x3 --sample nonesuch",
      "infer --example nonesuch",
      "infer --input " + q(d / "x.csv") + " --dims 3x0",
      "infer --game " + q(d / "x.npz") + " --game-index -1",
  };
  for (const std::string& args : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.err;
    EXPECT_TRUE(has(r.err, "(see `dgeval ")) << args << "\n" << r.err;
  }
  EXPECT_TRUE(std::filesystem::is_empty(d.path()));
}

TEST(Outputs, MessagesEscapeBinaryFileContent) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  // A NUL byte in a token used to end the message there; an escape sequence reached the terminal.
  write_file(d / "bad.nfg", std::string("NFG 1 R \"t\" { \"A\" \"B\" } { 1 1 }\n1\0\x01garbage 2 3 4\n", 49));
  auto r = run("evaluate --input " + q(d / "bad.nfg"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "bad.nfg:2:1: expected a payoff")) << r.err;
  EXPECT_TRUE(has(r.err, "found \"1\\x00\\x01garbage\"\n")) << r.err;
  write_file(d / "s.txt", std::string("correlated 0.5 \0\x01x\n", 19));
  r = run("evaluate --example mammoth --strategy " + q(d / "s.txt"));
  EXPECT_EQ(r.status, 1);
  // The strategy reader refuses a control byte where it stands, naming it in hex.
  EXPECT_TRUE(has(r.err, "s.txt:1:16: unexpected byte 0x00")) << r.err;
  EXPECT_EQ(r.err.find('\0'), std::string::npos) << r.err;
  write_file(d / "obs.csv", "action_0,action_1,agent_0,agent_1,principal_0,principal_1\n0,0,1\x1b[31mred,1,1,1\n");
  r = run("infer --input " + q(d / "obs.csv"));
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "\"1\\x1b[31mred\" is not a number")) << r.err;
  EXPECT_FALSE(has(r.err, "\x1b")) << r.err;
}

TEST(Outputs, MessagesEscapeBinaryInPaths) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  // A path with a newline and an escape byte in it, given to an output that cannot be made.
  const auto r = run("evaluate --example mammoth -q -o \"$(printf '%s/no\\nsuch\\033dir/r.csv' " + q(d.path()) + ")\"");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "no\\x0asuch\\x1bdir")) << r.err;
  EXPECT_FALSE(has(r.err, "\x1b")) << r.err;
}
