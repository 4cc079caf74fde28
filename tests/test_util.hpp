// Helpers for the tests: fresh seeds, random games (continuous or on a grid), and a naive,
// independently written brute-force reference for the quantities the properties check.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/experiments.hpp"

namespace dgeval {
namespace testing {

/// A fresh seed per call (from std::random_device), or DGEVAL_TEST_SEED to reproduce a run.
/// The seed is recorded in the test's XML properties and printed on failure via SCOPED_TRACE.
inline std::uint64_t fresh_seed() {
  if (const char* s = std::getenv("DGEVAL_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

#define DGEVAL_SEEDED(rng_name)                                                    \
  const std::uint64_t rng_name##_seed = ::dgeval::testing::fresh_seed();           \
  SCOPED_TRACE("seed " + std::to_string(rng_name##_seed) + " (DGEVAL_TEST_SEED)"); \
  std::mt19937_64 rng_name(rng_name##_seed)

/// Fills a batch with random utilities: continuous normal values, or (grid > 0) integers in
/// [−grid, grid] divided by 64 so every comparison of the NE test is exact and ties occur.
inline Batch random_batch(const Dims& dims, std::int64_t games, std::mt19937_64& rng, int grid = 0) {
  Batch b(dims, games);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> integer(-grid, grid);
  auto draw = [&]() { return grid > 0 ? integer(rng) / 64.0 : normal(rng); };
  for (double& x : b.agents) x = draw();
  for (double& x : b.principals) x = draw();
  return b;
}

/// Pointer to player i's utility vector of game g on one side.
inline const double* side(const Batch& b, bool agents, std::int64_t g, int i) {
  const std::int64_t N = b.dims.outcomes();
  const std::vector<double>& v = agents ? b.agents : b.principals;
  return v.data() + (g * b.dims.players() + i) * N;
}

/// Naive reference for one game, written independently of the backends.
struct Naive {
  int n;
  std::int64_t N;
  std::vector<double> w, wh;  // welfare per outcome (average)

  Naive(const Batch& b, std::int64_t g, Welfare welfare = Welfare::average)
      : n(b.dims.players()), N(b.dims.outcomes()) {
    w.assign(N, 0.0);
    wh.assign(N, 0.0);
    for (std::int64_t s = 0; s < N; ++s) {
      for (int i = 0; i < n; ++i) {
        w[s] += side(b, true, g, i)[s];
        wh[s] += side(b, false, g, i)[s];
      }
      if (welfare == Welfare::average) w[s] /= n, wh[s] /= n;
    }
  }

  /// Pointwise IC of player i at pure outcome s (docs/MATH.md §1.4), computed by enumerating deviations.
  static double pointwise_ic(const Batch& b, std::int64_t g, int i, std::int64_t s) {
    const double* u = side(b, true, g, i);
    const std::int64_t stride = b.dims.stride(i), k = b.dims.actions(i);
    const std::int64_t a_now = (s / stride) % k;
    const std::int64_t base = s - a_now * stride;
    double lo = INFINITY, hi = -INFINITY;
    for (std::int64_t a = 0; a < k; ++a) {
      lo = std::min(lo, u[base + a * stride]);
      hi = std::max(hi, u[base + a * stride]);
    }
    return hi == lo ? 1.0 : (u[s] - lo) / (hi - lo);
  }

  /// The pure ε-NE set at levels ic (exact when payoffs are on a grid and ic is a dyadic level).
  static std::vector<std::int64_t> eps_ne(const Batch& b, std::int64_t g, const std::vector<double>& ic) {
    std::vector<std::int64_t> out;
    for (std::int64_t s = 0; s < b.dims.outcomes(); ++s) {
      bool ok = true;
      for (int i = 0; i < b.dims.players() && ok; ++i) {
        const double* u = side(b, true, g, i);
        const std::int64_t stride = b.dims.stride(i), k = b.dims.actions(i);
        const std::int64_t base = s - ((s / stride) % k) * stride;
        double lo = INFINITY, hi = -INFINITY;
        for (std::int64_t a = 0; a < k; ++a) {
          lo = std::min(lo, u[base + a * stride]);
          hi = std::max(hi, u[base + a * stride]);
        }
        const double level = ic.size() == 1 ? ic[0] : ic[static_cast<std::size_t>(i)];
        ok = u[s] + 1e-10 >= hi - (1.0 - level) * (hi - lo);  // docs/MATH.md §1.4
      }
      if (ok) out.push_back(s);
    }
    return out;
  }

  /// Pearson correlation of two vectors.
  static double pearson(const double* x, const double* y, std::int64_t N) {
    double mx = 0, my = 0;
    for (std::int64_t s = 0; s < N; ++s) mx += x[s], my += y[s];
    mx /= N, my /= N;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::int64_t s = 0; s < N; ++s) {
      sxy += (x[s] - mx) * (y[s] - my);
      sxx += (x[s] - mx) * (x[s] - mx);
      syy += (y[s] - my) * (y[s] - my);
    }
    return sxy / std::sqrt(sxx * syy);
  }
};

/// A view of `batch` as float64, or as float32 through the buffers a32 / p32 (kept by the caller).
inline BatchView view_as(const Batch& batch, bool float32, std::vector<float>& a32, std::vector<float>& p32) {
  BatchView view = batch.view();
  if (float32) {
    a32.assign(batch.agents.begin(), batch.agents.end());
    p32.assign(batch.principals.begin(), batch.principals.end());
    view.dtype = DType::float32;
    view.agents = a32.data();
    view.principals = p32.data();
  }
  return view;
}

/// Options with one standardisation / welfare / strategy changed.
inline Options with(Standardisation s, Welfare w = Welfare::average, StrategyKind k = StrategyKind::worst_ne) {
  Options o;
  o.standardisation = s;
  o.welfare = w;
  o.strategy.kind = k;
  return o;
}

/// The paper's game sizes (docs/MATH.md §7.1) without the 6-player one, plus awkward shapes.
inline std::vector<Dims> test_sizes() {
  return {Dims({3, 3}),    Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({1, 7}), Dims({7, 1}),
          Dims({2, 3, 5}), Dims({11, 3}),   Dims({2, 2, 2, 2}), Dims({13}),   Dims({3, 3, 3})};
}

/// Doubles at the edges of every class, for the division tests: signed zeros, ±1, 3 and 1/3
/// (an inexact quotient), the smallest normal and subnormals, powers of two far out, the largest
/// finite values and ones just below a power of two, and the infinities (NaN is added apart).
inline std::vector<double> awkward_doubles() {
  const double inf = std::numeric_limits<double>::infinity();
  return {0.0,
          -0.0,
          1.0,
          -1.0,
          3.0,
          1.0 / 3.0,
          0x1p-1022,
          0x1p-1074,
          0x1.8p-1074,
          0x1p-900,
          0x1p1000,
          0x1p1023,
          0x1.fffffffffffffp999,
          0x1.fffffffffffffp1023,
          -0x1.fffffffffffffp1023,
          0x1.fffffffffffffp-1023,
          inf,
          -inf};
}

/// Operand pairs (a[i], b[i]) for a float64 division of every class: zeros, infinities, NaN,
/// subnormals, quotients that overflow, that are subnormal (ties on the subnormal grid included)
/// or underflow to zero, exact quotients and ties, and random bit patterns; `rounds` rounds of the
/// random classes after every pair of awkward values.
struct DivisionOperands {
  std::vector<double> a, b;
  void add(double x, double y) {
    a.push_back(x);
    b.push_back(y);
  }
};
inline DivisionOperands division_operands(std::mt19937_64& rng, int rounds) {
  std::uniform_int_distribution<std::uint64_t> any;
  std::uniform_real_distribution<double> unit(1.0, 2.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> awkward = awkward_doubles();
  auto bits = [](std::uint64_t u) {
    double x;
    std::memcpy(&x, &u, sizeof x);
    return x;
  };
  DivisionOperands o;
  for (double x : awkward) {
    for (double y : awkward) o.add(x, y);
    o.add(x, nan);
    o.add(nan, x);
  }
  for (int q = 0; q < rounds; ++q) {
    o.add(bits(any(rng)), bits(any(rng)));
    const int ea = static_cast<int>(any(rng) % 2200) - 1100, eb = static_cast<int>(any(rng) % 2200) - 1100;
    o.add(std::ldexp(unit(rng), ea), -std::ldexp(unit(rng), eb));
    // Few-bit significands: exact quotients and ties, on the normal and the subnormal grid.
    const double sa = static_cast<double>(any(rng) % 64 + 1), sb = static_cast<double>(any(rng) % 16 + 1);
    o.add(std::ldexp(sa, static_cast<int>(any(rng) % 120) - 1100), std::ldexp(sb, static_cast<int>(any(rng) % 60)));
    o.add(std::ldexp(sa, static_cast<int>(any(rng) % 60) - 30), std::ldexp(sb, static_cast<int>(any(rng) % 60) - 30));
    o.add(bits(any(rng) % 100000), static_cast<double>(any(rng) % 9 + 1));
    o.add(std::ldexp(1.0 + static_cast<double>(any(rng) % 1024) * 0x1p-52, -1022 - static_cast<int>(any(rng) % 52)),
          std::ldexp(1.0 - static_cast<double>(any(rng) % 4) * 0x1p-53, static_cast<int>(any(rng) % 60)));
  }
  return o;
}

/// The same bits, or both NaN (a NaN's payload is the hardware's).
inline bool same_quotient(double want, double got) {
  return std::memcmp(&want, &got, sizeof want) == 0 || (std::isnan(want) && std::isnan(got));
}

/// Bitwise equality of n bytes (memcmp, whose pointers must not be null even for n = 0: an empty
/// column or distance matrix has a null data()).
inline bool same_bytes(const void* a, const void* b, std::size_t n) { return n == 0 || std::memcmp(a, b, n) == 0; }

/// Two evaluations with the same results bit for bit: every column (NaN payloads included), the
/// pure-NE lists and the distance matrices.
inline void expect_identical_results(const Results& a, const Results& b) {
  ASSERT_EQ(a.games, b.games);
  for (const ColumnInfo& c : result_columns()) {
    SCOPED_TRACE(c.name);
    const std::size_t len = static_cast<std::size_t>(c.kind == ColumnKind::player_real ? a.games * a.players : a.games);
    if (stored_as_double(c.kind)) {
      const double* x = a.real_column(c.name);
      const double* y = b.real_column(c.name);
      ASSERT_EQ(x == nullptr, y == nullptr);
      if (x) {
        EXPECT_TRUE(same_bytes(x, y, len * sizeof(double)));
      }
    } else {
      const std::int64_t* x = a.integer_column(c.name);
      const std::int64_t* y = b.integer_column(c.name);
      ASSERT_EQ(x == nullptr, y == nullptr);
      if (x) {
        EXPECT_TRUE(same_bytes(x, y, len * sizeof(std::int64_t)));
      }
    }
  }
  EXPECT_EQ(a.pure_ne, b.pure_ne);
  ASSERT_EQ(a.distance_matrix.size(), b.distance_matrix.size());
  EXPECT_TRUE(
      same_bytes(a.distance_matrix.data(), b.distance_matrix.data(), a.distance_matrix.size() * sizeof(double)));
}

/// Two bound-surface runs with the same bins, bit for bit (counts, mean and max PWR, checks).
inline void expect_identical_bins(const BoundSurfaceResult& a, const BoundSurfaceResult& b) {
  ASSERT_EQ(a.bins.size(), b.bins.size());
  for (std::size_t j = 0; j < a.bins.size(); ++j) {
    EXPECT_EQ(a.bins[j].count, b.bins[j].count) << j;
    EXPECT_EQ(std::memcmp(&a.bins[j].pwr_mean, &b.bins[j].pwr_mean, sizeof(double)), 0) << j;
    EXPECT_EQ(std::memcmp(&a.bins[j].pwr_max, &b.bins[j].pwr_max, sizeof(double)), 0) << j;
    EXPECT_EQ(a.bins[j].above_simple, b.bins[j].above_simple) << j;
    EXPECT_EQ(a.bins[j].above_bound, b.bins[j].above_bound) << j;
  }
}

/// Two bound-surface runs of the same games with the same kept points, to `tolerance`.
inline void expect_points_near(const BoundSurfaceResult& a, const BoundSurfaceResult& b, double tolerance) {
  ASSERT_EQ(a.points.size(), b.points.size());
  for (std::size_t j = 0; j < a.points.size(); ++j) {
    EXPECT_NEAR(a.points[j].wr, b.points[j].wr, tolerance) << j;
    EXPECT_NEAR(a.points[j].tm, b.points[j].tm, tolerance) << j;
    EXPECT_NEAR(a.points[j].pwr, b.points[j].pwr, tolerance) << j;
    EXPECT_NEAR(a.points[j].bound, b.points[j].bound, tolerance) << j;
  }
}

}  // namespace testing
}  // namespace dgeval
