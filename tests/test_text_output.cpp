// The text writer's significant digits (evaluate --digits) and the durations of the CLI's
// timing lines.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "dgeval/dgeval.hpp"

namespace dgeval {
namespace {

TEST(TextOutput, Digits) {
  const Example e = make_example("misaligned");
  const Results r = evaluate(e.batch.view(), e.options);
  std::ostringstream exact, three;
  write_results(exact, r, e.batch.dims, OutputFormat::text);
  write_results(three, r, e.batch.dims, OutputFormat::text, 0, true, 1, 3);
  EXPECT_NE(exact.str().find("[1, 0.125410684141"), std::string::npos) << exact.str();
  EXPECT_NE(three.str().find("[1, 0.125]"), std::string::npos) << three.str();
  EXPECT_NE(three.str().find("  bound_holds" + std::string(17, ' ') + "1\n"), std::string::npos);  // not a real
  EXPECT_EQ(format_double(2.0 / 3.0, 3), "0.667");
  EXPECT_EQ(format_double(2.0 / 3.0, 17), "0.66666666666666663");
  EXPECT_EQ(format_double(2.0 / 3.0, 0), format_double(2.0 / 3.0));
  EXPECT_EQ(format_double(NAN, 3), "nan");
  EXPECT_THROW(format_double(1.0, 18), error);
}

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
