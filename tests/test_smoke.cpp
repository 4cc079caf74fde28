#include <gtest/gtest.h>
#include "dgeval/dgeval.hpp"
TEST(Smoke, Mammoth) {
  auto e = dgeval::make_example("mammoth");
  auto r = dgeval::evaluate(e.batch.view(), e.options);
  EXPECT_EQ(r.pure_ne_count[0], 2);
}
