// `dgeval evaluate --example mammoth` prints the docs/MATH.md §8 values (issue: core library, "done when").
#include <gtest/gtest.h>

#include <string>

#include "test_cli_util.hpp"

namespace {

// The CLI's standard output for `args` (its status in `status`).
std::string run_cli(const std::string& args, int* status) {
  const dgeval_test::TempDir d;
  const dgeval_test::RunResult r = dgeval_test::run_cli(args, d);
  *status = r.status;
  return r.out;
}

// The value printed on the line of `column` in the text format.
std::string value_of(const std::string& text, const std::string& column) {
  const std::size_t at = text.find("  " + column + " ");
  if (at == std::string::npos) return "<missing>";
  const std::size_t start = text.find_first_not_of(' ', at + 2 + column.size());
  return text.substr(start, text.find('\n', start) - start);
}

TEST(ExampleOutput, MammothPrintsTheSpecValues) {
  SKIP_WITHOUT_CLI();
  int status = -1;
  const std::string out = run_cli("evaluate --example mammoth", &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(value_of(out, "offset_agents"), "[3.5, 3.5]");
  EXPECT_EQ(value_of(out, "magnitude_agents").substr(0, 13), "[7.5498344352");
  EXPECT_EQ(value_of(out, "ia"), "[1, 1]");
  EXPECT_EQ(value_of(out, "ca_principals"), "1");
  EXPECT_EQ(value_of(out, "pure_ne_count"), "2");
  EXPECT_EQ(value_of(out, "worst_ne_agents_welfare"), "2");
  EXPECT_EQ(value_of(out, "welfare_agents_max"), "10");
  EXPECT_EQ(value_of(out, "agents_welfare_regret"), "8");
  EXPECT_EQ(value_of(out, "principals_welfare_regret"), "8");
  EXPECT_EQ(value_of(out, "bound_r3"), "8");
  EXPECT_EQ(value_of(out, "ideal_gap"), "0");
  EXPECT_EQ(value_of(out, "bound_holds"), "1");
}

TEST(ExampleOutput, MisalignedPrintsExampleB) {
  SKIP_WITHOUT_CLI();
  int status = -1;
  const std::string out = run_cli("evaluate --example misaligned", &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(value_of(out, "ia").substr(0, 18), "[1, 0.125410684141");
  EXPECT_EQ(value_of(out, "ca_agents").substr(0, 12), "0.6386848457");
  EXPECT_EQ(value_of(out, "bound_r3").substr(0, 13), "13.4310918495");
}

TEST(ExampleOutput, UnknownExampleFailsWithTheList) {
  SKIP_WITHOUT_CLI();
  int status = 0;
  run_cli("evaluate --example nosuch", &status);
  EXPECT_NE(status, 0);
}

}  // namespace
