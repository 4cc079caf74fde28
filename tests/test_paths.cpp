// The tests' paths to the source tree and the CLI (tests/test_paths.hpp): compiled in, and
// overridden at run time by DGEVAL_SOURCE_DIR and DGEVAL_TEST_CLI, so the test binary built by
// bench/prepare_device.sh finds tests/data in the checkout it runs from on a GPU machine.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace {

/// Sets (or, with null, unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { had_ ? setenv(name_, old_.c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(TestPaths, TheEnvironmentOverridesTheBuiltPaths) {
  {
    ScopedEnv e("DGEVAL_SOURCE_DIR", "/elsewhere/dgeval");
    EXPECT_STREQ(DGEVAL_SOURCE_DIR, "/elsewhere/dgeval");
  }
  {
    ScopedEnv e("DGEVAL_SOURCE_DIR", "");
    EXPECT_STREQ(DGEVAL_SOURCE_DIR, DGEVAL_BUILT_SOURCE_DIR) << "empty: the built path";
  }
  {
    ScopedEnv e("DGEVAL_TEST_CLI", "/elsewhere/dgeval/bin/dgeval");
    EXPECT_STREQ(DGEVAL_CLI_PATH, "/elsewhere/dgeval/bin/dgeval");
  }
  {
    ScopedEnv e("DGEVAL_TEST_CLI", nullptr);
    EXPECT_STREQ(DGEVAL_CLI_PATH, DGEVAL_BUILT_CLI_PATH);
  }
}

TEST(TestPaths, TheTestDataIsFound) {
  struct stat st;
  const std::string data = std::string(DGEVAL_SOURCE_DIR) + "/tests/data";
  ASSERT_EQ(stat(data.c_str(), &st), 0) << data << " (set DGEVAL_SOURCE_DIR to the repository root)";
  EXPECT_TRUE(S_ISDIR(st.st_mode)) << data;
}

}  // namespace
