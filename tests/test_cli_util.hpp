// Helpers for the file-format and CLI tests: temporary folders, files, running the CLI.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>

#include "dgeval/error.hpp"

namespace dgeval_test {

/// A fresh folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("dgeval_" + std::string(info ? info->name() : "test") + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  /// Number of entries in the folder (to check that nothing was left behind).
  int entries() const {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(path_)) (void)e, ++n;
    return n;
  }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::string data_dir() { return std::string(DGEVAL_SOURCE_DIR) + "/tests/data"; }
inline std::string gambit_dir() { return std::string(DGEVAL_SOURCE_DIR) + "/../shared/data/gambit-nfg"; }

/// Runs `f`, expects a dgeval::error whose message holds every one of `parts`.
inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no dgeval::error thrown";
  } catch (const dgeval::error& e) {
    const std::string m = e.what();
    for (const std::string& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
  }
}

/// The CLI under test: $DGEVAL_TEST_CLI when set, else the one this build made (empty when the
/// build made none).
inline std::string cli() {
  const char* other = std::getenv("DGEVAL_TEST_CLI");
  return other && *other ? other : DGEVAL_CLI_PATH;
}

/// Skips the test when there is no CLI to run.
#define SKIP_WITHOUT_CLI() \
  if (::dgeval_test::cli().empty()) GTEST_SKIP() << "the CLI is not built"

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// `s` in single quotes, for a shell command line (the tests' paths hold no quote).
inline std::string q(const std::string& s) { return "'" + s + "'"; }

struct RunResult {
  int status = -1;
  std::string out, err;
};

/// Runs the dgeval CLI with `args` (a shell-quoted string).
inline RunResult run_cli(const std::string& args, const TempDir& dir) {
  RunResult r;
  const std::string out = dir / "_stdout", err = dir / "_stderr";
  const std::string cmd = "'" + cli() + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
  r.out = read_file(out);
  r.err = read_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace dgeval_test
