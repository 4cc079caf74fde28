// The text writer's significant digits (evaluate --digits) and the durations of the CLI's
// timing lines.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "dgeval/dgeval.hpp"

namespace dgeval {
namespace {

TEST(TextOutput, DurationText) {
  EXPECT_EQ(duration_text(0.0), "0 \u00b5s");
  EXPECT_EQ(duration_text(2.5e-7), "0.25 \u00b5s");
  EXPECT_EQ(duration_text(123.4e-6), "123 \u00b5s");
  EXPECT_EQ(duration_text(1.234e-3), "1.23 ms");
  EXPECT_EQ(duration_text(0.5), "500 ms");
  EXPECT_EQ(duration_text(0.99999), "1 s");  // not "1e+03 ms"
  EXPECT_EQ(duration_text(12.345), "12.3 s");
  EXPECT_EQ(duration_text(99.99), "100 s");
  EXPECT_EQ(duration_text(1234.4), "1234 s");  // not "1.23e+03 s"
  EXPECT_EQ(duration_text(-1.0), "0 \u00b5s");
}

}  // namespace
}  // namespace dgeval
