// The CPU backend against the plain reference (tests/reference/reference.hpp), every column, on fresh
// random games, games with ties and constant utilities, payoffs of many orders of magnitude,
// user-supplied strategies, float32 input and a game large enough to be split into chunks over
// threads. Fresh seeds are printed on failure (DGEVAL_TEST_SEED reproduces a run).
//
// What is compared exactly, and why it may be: the quantities the documents decide by a
// comparison (MEASURES.md), whose inputs both sides round identically by definition: the welfare of
// every outcome (players summed in order, then the welfare scale), hence w*, w_min, ŵ*, ŵ_min;
// the ε-Nash test (exact fiber extrema, the anchored threshold), hence E_0, E(IC), their counts,
// lists and worst welfare; the played window; bound_holds and the flags (see the one exception in
// compare_game). Everything else is a sum or a norm that the two compute in different orders, and
// is compared within a tolerance derived below from the standard bound on the rounding error of
// a float64 sum of N terms, |error| ≤ (N − 1)·u·Σ|x| with u = 2^−53 (Higham, Accuracy and
// Stability of Numerical Algorithms, §4.2), which holds for any order of summation: the bound is
// a worst case, never reached by chance, so no comparison can fail on a correct backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/game_evaluator.hpp"
#include "backends/cpu/small_games.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/dgeval.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

constexpr double kU = 0x1p-53;  // unit roundoff of float64

/// Both NaN, or within tol of each other.
::testing::AssertionResult near(double got, double want, double tol) {
  if ((std::isnan(got) && std::isnan(want)) || got == want) return ::testing::AssertionSuccess();
  if (std::fabs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", reference " << want << " (difference "
                                       << std::fabs(got - want) << " > tolerance " << tol << ")";
}
::testing::AssertionResult same(double got, double want) {
  if ((std::isnan(got) && std::isnan(want)) || got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", reference " << want << " (compared exactly)";
}

/// Rounding-error scales of one game (from its input and the reference's columns).
struct Scales {
  double S;        // max |x| over the game's 2nN utilities
  double Sw;       // the welfare scale: S (average welfare) or n·S (sum)
  double nu;       // ε_ν: bound on the error of a standardised value, and the relative error of a magnitude
  double align;    // IA, CA and distances
  double welfare;  // ε_w: a sum over outcomes in the welfare scale (expectations, regrets, offsets)
};

/// The error bounds, step by step (u = 2^−53, N outcomes, n players):
/// - shift: the mean of N values of size ≤ S: error ≤ N·u·S (the sum) + u·S.
/// - magnitude m: EPIC's Σ(x − c)² has relative error ≤ (N + 1)u, and a shift off by δ adds N·δ²,
///   relative ≤ N³u²S²/m² with m ≥ (hi − lo)/√2: relative error ≤ (N + 2)u + √2·N^1.5·u·κ, where
///   κ = max(|lo|, |hi|)/(hi − lo) is the vector's condition (MAX, MAX-range: exact).
/// - ν = (x − c)/m: |x − c|/m ≤ 1 under each standardisation, and S/m ≤ 2κ, so its error is
///   ≤ (relative error of m) + 2κ·(N + 1)u + 2u. All of it is below ε_ν = 4(N + 2)(1 + √N)·u·κ',
///   κ' = max(1, κ over the game's non-constant vectors).
/// - a norm of a difference of standardised vectors (each entry off by ≤ 2ε_ν, the vector of norm
///   ≤ 2): ≤ 2√N·ε_ν (L2) or 2ε_ν (L∞), plus 2N·u for the sum of squares; CA adds μ (off by ≤ ε_ν)
///   and the weights' relative error ε_ν, each distance ≤ 2: tolerance 8√N·ε_ν + 8N·u.
/// - a sum over outcomes in the welfare scale (an expectation under σ, whose weights sum to 1, or a
///   mean over a set): ≤ (N + n + 2)·u·Sw; ε_w = 4(N + n + 4)·u·Sw.
Scales scales_of(const Batch& b, std::int64_t g) {
  const int n = b.dims.players();
  const std::int64_t N = b.dims.outcomes();
  double S = 0.0, kappa = 1.0;
  for (int side = 0; side < 2; ++side) {
    for (int i = 0; i < n; ++i) {
      const double* x = testing::side(b, side == 0, g, i);
      double lo = INFINITY, hi = -INFINITY;
      for (std::int64_t s = 0; s < N; ++s) lo = std::min(lo, x[s]), hi = std::max(hi, x[s]);
      S = std::max({S, std::fabs(lo), std::fabs(hi)});
      if (hi > lo) kappa = std::max(kappa, std::max(std::fabs(lo), std::fabs(hi)) / (hi - lo));
    }
  }
  Scales sc;
  sc.S = S;
  sc.Sw = S * (n);  // covers both welfare scales (average: S)
  const double rootN = std::sqrt(static_cast<double>(N));
  sc.nu = 4.0 * (N + 2) * (1.0 + rootN) * kU * kappa;
  sc.align = 8.0 * rootN * sc.nu + 8.0 * N * kU;
  sc.welfare = 4.0 * (N + n + 4) * kU * sc.Sw;
  return sc;
}

/// Compares every column of game g of `got` with the reference `want`.
void compare_game(const Batch& b, std::int64_t g, const Options& o, const Results& got, const Results& want) {
  SCOPED_TRACE("game " + std::to_string(g));
  const int n = b.dims.players();
  const Scales sc = scales_of(b, g);
  const std::size_t gi = static_cast<std::size_t>(g);

  double r_max = 1.0, sum_m = 0.0, sum_m_hat = 0.0;
  for (int i = 0; i < n; ++i) {
    const std::size_t p = gi * n + i;
    SCOPED_TRACE("player " + std::to_string(i));
    EXPECT_TRUE(near(got.offset_agents[p], want.offset_agents[p], sc.welfare)) << "offset_agents";
    EXPECT_TRUE(near(got.offset_principals[p], want.offset_principals[p], sc.welfare)) << "offset_principals";
    EXPECT_TRUE(near(got.magnitude_agents[p], want.magnitude_agents[p], sc.nu * want.magnitude_agents[p]))
        << "magnitude_agents";
    EXPECT_TRUE(near(got.magnitude_principals[p], want.magnitude_principals[p], sc.nu * want.magnitude_principals[p]))
        << "magnitude_principals";
    // A zero magnitude is exact on both sides (lo == hi).
    EXPECT_EQ(got.magnitude_agents[p] == 0.0, want.magnitude_agents[p] == 0.0);
    EXPECT_TRUE(near(got.ia[p], want.ia[p], sc.align)) << "ia";
    // r = m̂/m: the relative errors of both magnitudes and of the division.
    const double r = want.calibration_ratio[p];
    EXPECT_TRUE(near(got.calibration_ratio[p], r, (2 * sc.nu + 2 * kU) * std::fabs(r))) << "calibration_ratio";
    if (!std::isnan(r)) r_max = std::max(r_max, r);
    sum_m += want.magnitude_agents[p];
    sum_m_hat += want.magnitude_principals[p];
  }
  EXPECT_TRUE(near(got.ca_agents[gi], want.ca_agents[gi], sc.align)) << "ca_agents";
  EXPECT_TRUE(near(got.ca_principals[gi], want.ca_principals[gi], sc.align)) << "ca_principals";
  const int nv = 2 * n;
  for (int x = 0; x < nv * nv; ++x) {
    const std::size_t q = gi * nv * nv + x;
    EXPECT_TRUE(near(got.distance_matrix[q], want.distance_matrix[q], sc.align)) << "distance_matrix " << x;
  }

  // Welfare of outcomes: identical rounding on both sides.
  EXPECT_TRUE(same(got.welfare_agents_max[gi], want.welfare_agents_max[gi])) << "welfare_agents_max";
  EXPECT_TRUE(same(got.welfare_agents_min[gi], want.welfare_agents_min[gi])) << "welfare_agents_min";
  EXPECT_TRUE(same(got.welfare_principals_max[gi], want.welfare_principals_max[gi])) << "welfare_principals_max";
  EXPECT_TRUE(same(got.welfare_principals_min[gi], want.welfare_principals_min[gi])) << "welfare_principals_min";
  // Utopia points: a sum of n extrema (exact values), then the scale: n·u·Sw each.
  const double points = 4.0 * n * kU * sc.Sw;
  EXPECT_TRUE(near(got.welfare_agents_utopia[gi], want.welfare_agents_utopia[gi], points));
  EXPECT_TRUE(near(got.welfare_agents_dystopia[gi], want.welfare_agents_dystopia[gi], points));
  EXPECT_TRUE(near(got.welfare_principals_utopia[gi], want.welfare_principals_utopia[gi], points));
  EXPECT_TRUE(near(got.welfare_principals_dystopia[gi], want.welfare_principals_dystopia[gi], points));
  EXPECT_TRUE(near(got.ideal_gap[gi], want.ideal_gap[gi], 2 * points)) << "ideal_gap";

  // Equilibria: exact.
  EXPECT_EQ(got.pure_ne_count[gi], want.pure_ne_count[gi]);
  EXPECT_EQ(got.eps_ne_count[gi], want.eps_ne_count[gi]);
  EXPECT_EQ(got.pure_ne[gi], want.pure_ne[gi]);
  EXPECT_TRUE(same(got.worst_ne_agents_welfare[gi], want.worst_ne_agents_welfare[gi])) << "worst_ne";
  EXPECT_TRUE(same(got.worst_eps_ne_agents_welfare[gi], want.worst_eps_ne_agents_welfare[gi])) << "worst_eps_ne";

  // Regrets: w* (exact) minus w(σ), a sum over outcomes: ε_w, twice over (both sides' sums).
  const double wr = want.agents_welfare_regret[gi];
  EXPECT_TRUE(near(got.agents_welfare_regret[gi], wr, 2 * sc.welfare)) << "agents_welfare_regret";
  EXPECT_TRUE(near(got.principals_welfare_regret[gi], want.principals_welfare_regret[gi], 2 * sc.welfare))
      << "principals_welfare_regret";
  // CC = (w(σ) − w_ε)/span with span exact: 2ε_w/|span|, and the division's rounding.
  const double span = o.cc_window == CcWindow::code
                          ? want.welfare_agents_max[gi] - want.worst_ne_agents_welfare[gi]
                          : want.welfare_agents_max[gi] - want.worst_eps_ne_agents_welfare[gi];
  const double cc = want.cc_achieved[gi];
  EXPECT_TRUE(near(got.cc_achieved[gi], cc, 2 * sc.welfare / std::fabs(span) + 4 * kU * std::fabs(cc)))
      << "cc_achieved";

  // Bounds: sums of at most 4n + 4 products, each factor a magnitude or ratio (relative error
  // ≤ 2ε_ν), an IA or CA (absolute error ≤ tol_align) or a welfare quantity (≤ 2ε_w); M bounds
  // the sum of the terms' sizes, so the error is ≤ 8(n + 2)(ε_ν + tol_align)·M + 4(1 + R_max)·ε_w.
  const reference::Constants k = reference::constants_of(o.standardisation);
  const double f = o.welfare == Welfare::average ? 1.0 / n : 1.0;
  const double M = (1 + r_max) * (4 * sc.Sw + (std::isnan(wr) ? 0.0 : std::fabs(wr))) + 2 * k.z * k.K * f * sum_m_hat +
                   k.K_m * f * sum_m * 2 * r_max;
  const double bound_tol = 8.0 * (n + 2) * (sc.nu + sc.align) * M + 4 * (1 + r_max) * sc.welfare;
  EXPECT_TRUE(near(got.bound[gi], want.bound[gi], bound_tol)) << "bound";
  EXPECT_TRUE(near(got.ideal_gap_bound[gi], want.ideal_gap_bound[gi], bound_tol)) << "ideal_gap_bound";
  EXPECT_TRUE(near(got.bound_r3[gi], want.bound_r3[gi], bound_tol)) << "bound_r3";
  EXPECT_TRUE(near(got.bound_r4[gi], want.bound_r4[gi], bound_tol)) << "bound_r4";
  EXPECT_TRUE(near(got.bound_r6[gi], want.bound_r6[gi], bound_tol)) << "bound_r6";
  // bound_r: the same candidate, or one whose R2 ties the reference's minimum within the tolerance
  // (two candidates that close may be ordered either way by rounding).
  const double R = got.bound_r[gi], R_ref = want.bound_r[gi];
  if (!near(R, R_ref, (2 * sc.nu + 2 * kU) * std::fabs(R_ref))) {
    EXPECT_TRUE(near(reference::bound_r2_at(want, g, o, R), reference::bound_r2_at(want, g, o, R_ref), bound_tol))
        << "bound_r " << R << " is not the reference's " << R_ref << " and does not tie its R2";
  }
  EXPECT_TRUE(same(got.bound_holds[gi], want.bound_holds[gi])) << "bound_holds";

  // Flags: exact, but for ca_out_of_range where a CA lies within the CA tolerance of the flag's
  // edges (−1e-12, 1 + 1e-12): there the flag is decided by rounding.
  std::int64_t mask = ~std::int64_t{0};
  for (double ca : {want.ca_agents[gi], want.ca_principals[gi]}) {
    if (std::fabs(ca + 1e-12) <= sc.align || std::fabs(ca - (1 + 1e-12)) <= sc.align)
      mask &= ~std::int64_t{flag_ca_out_of_range};
  }
  EXPECT_EQ(got.flags[gi] & mask, want.flags[gi] & mask) << "flags";
}

/// The CPU backend on `b` (float64, or float32 when `as_float` holds: b's values must then be
/// floats) against the reference, every game.
void expect_matches_reference(const Batch& b, Options o, int threads = 1, bool as_float = false) {
  o.list_equilibria = true;
  o.distance_matrix = true;
  Results got;
  auto backend = make_cpu_backend(threads);
  std::vector<float> a, p;
  backend->evaluate(testing::view_as(b, as_float, a, p), o, got);
  const Results want = reference::evaluate(b, o);
  for (std::int64_t g = 0; g < b.games; ++g) compare_game(b, g, o, got, want);
}

/// Options drawn at random: standardisation, welfare, IC levels (1, dyadic or any), CC, window.
Options random_options(std::mt19937_64& rng, int players, StrategyKind kind) {
  Options o;
  const Standardisation st[] = {Standardisation::epic, Standardisation::max, Standardisation::max_range};
  o.standardisation = st[std::uniform_int_distribution<int>(0, 2)(rng)];
  o.welfare = std::bernoulli_distribution(0.5)(rng) ? Welfare::average : Welfare::sum;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < players; ++i) {
    const int pick = std::uniform_int_distribution<int>(0, 3)(rng);
    o.ic.push_back(pick == 0 ? 1.0 : pick == 1 ? 0.5 : pick == 2 ? 0.75 : unit(rng));
  }
  o.cc = std::bernoulli_distribution(0.3)(rng) ? 0.0 : unit(rng);
  o.cc_window = std::bernoulli_distribution(0.5)(rng) ? CcWindow::code : CcWindow::natural;
  o.strategy.kind = kind;
  return o;
}

const StrategyKind kBuiltIn[] = {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne,
                                 StrategyKind::uniform_eps_ne, StrategyKind::played};

std::vector<Dims> shapes() {
  return {
      Dims({3, 3}), Dims({5, 5}),       Dims({2, 3, 5}), Dims({5, 5, 4}),    Dims({3, 3, 3}), Dims({1, 7}),
      Dims({13}),   Dims({2, 2, 2, 2}), Dims({8, 8}),    Dims({6, 7, 4, 6}), Dims({70, 60})};  // 4200 outcomes: the
                                                                                               // backend's lanes (64
                                                                                               // outcomes and more)
}

TEST(Reference, RandomGamesEveryColumn) {
  DGEVAL_SEEDED(rng);
  for (const Dims& d : shapes()) {
    SCOPED_TRACE(d.to_string());
    for (StrategyKind kind : kBuiltIn) {
      SCOPED_TRACE(to_string(kind));
      const Options o = random_options(rng, d.players(), kind);
      const Batch b = testing::random_batch(d, d.outcomes() > 1000 ? 2 : 12, rng);
      expect_matches_reference(b, o);
    }
  }
}

TEST(Reference, TiesAndConstantUtilities) {
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({2, 2}), Dims({3, 3}), Dims({1, 3}), Dims({4, 1, 3}), Dims({5, 5, 4}), Dims({3, 3, 3})}) {
    SCOPED_TRACE(d.to_string());
    for (StrategyKind kind : kBuiltIn) {
      for (double tol : {0.0, 1e-10}) {
        SCOPED_TRACE(std::string(to_string(kind)) + " ne_tolerance " + std::to_string(tol));
        Options o = random_options(rng, d.players(), kind);
        o.ne_tolerance = tol;
        // Integers in [−2, 2] / 64: every welfare and threshold exact, ties everywhere.
        Batch b = testing::random_batch(d, 16, rng, 2);
        const std::int64_t N = d.outcomes();
        const int n = d.players();
        // Game 0: a constant utility on each side; game 1: principals = agents (IA = 1); game 2:
        // principals = −agents (IA = 0); game 3: every utility 0.
        for (std::int64_t s = 0; s < N; ++s) {
          b.agents[s] = 0.25;
          b.principals[(n - 1) * N + s] = -0.5;
          for (int i = 0; i < n; ++i) {
            b.principals[(n + i) * N + s] = b.agents[(n + i) * N + s];
            b.principals[(2 * n + i) * N + s] = -b.agents[(2 * n + i) * N + s];
            b.agents[(3 * n + i) * N + s] = b.principals[(3 * n + i) * N + s] = 0.0;
          }
        }
        expect_matches_reference(b, o);
      }
    }
  }
}

TEST(Reference, PayoffsOfManyOrdersOfMagnitude) {
  DGEVAL_SEEDED(rng);
  // Entries ±10^[−6, 6], the whole game scaled by 10^[−140, 140]: up to 292 orders of magnitude
  // across games, 12 within one. (EPIC's magnitude squares the payoffs: past 1e154 the square
  // overflows float64 in any implementation, below 1e−154 it leaves the normal range.)
  std::uniform_real_distribution<double> exponent(-6.0, 6.0), game_exponent(-140.0, 140.0);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5}), Dims({5, 5, 4}), Dims({2, 3, 5}), Dims({70, 60})}) {
    SCOPED_TRACE(d.to_string());
    for (StrategyKind kind : kBuiltIn) {
      SCOPED_TRACE(to_string(kind));
      Options o = random_options(rng, d.players(), kind);
      o.ne_tolerance = 0.0;  // exact equilibria at any scale
      Batch b(d, d.outcomes() > 1000 ? 2 : 8);
      const std::int64_t per_game = d.players() * d.outcomes();
      for (std::int64_t g = 0; g < b.games; ++g) {
        const double scale = std::pow(10.0, game_exponent(rng));
        for (std::int64_t j = 0; j < per_game; ++j) {
          const double sa = std::bernoulli_distribution(0.5)(rng) ? 1.0 : -1.0;
          const double sp = std::bernoulli_distribution(0.5)(rng) ? 1.0 : -1.0;
          b.agents[g * per_game + j] = sa * std::pow(10.0, exponent(rng)) * scale;
          b.principals[g * per_game + j] = sp * std::pow(10.0, exponent(rng)) * scale;
        }
      }
      expect_matches_reference(b, o);
    }
  }
}

TEST(Reference, UserStrategies) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({2, 3, 5}), Dims({70, 60})}) {
    SCOPED_TRACE(d.to_string());
    const std::int64_t games = d.outcomes() > 1000 ? 2 : 10;
    const int n = d.players();
    const Batch b = testing::random_batch(d, games, rng);
    for (StrategyKind kind : {StrategyKind::pure, StrategyKind::correlated, StrategyKind::product}) {
      SCOPED_TRACE(to_string(kind));
      Options o = random_options(rng, n, kind);
      o.strategy.per_game = true;
      for (std::int64_t g = 0; g < games; ++g) {
        if (kind == StrategyKind::pure) {
          for (int i = 0; i < n; ++i)
            o.strategy.actions.push_back(std::uniform_int_distribution<std::int64_t>(0, d.actions(i) - 1)(rng));
          continue;
        }
        // Weights normalised in float64 (their sum is 1 within a few ulps); some exactly 0.
        auto distribution = [&](std::int64_t size) {
          std::vector<double> w(static_cast<std::size_t>(size));
          double sum = 0.0;
          for (double& x : w) x = unit(rng) < 0.2 ? 0.0 : unit(rng), sum += x;
          if (sum == 0.0) w[0] = sum = 1.0;
          for (double& x : w) o.strategy.weights.push_back(x / sum);
        };
        if (kind == StrategyKind::correlated) {
          distribution(d.outcomes());
        } else {
          for (int i = 0; i < n; ++i) distribution(d.actions(i));
        }
      }
      expect_matches_reference(b, o);
    }
  }
}

TEST(Reference, Float32Input) {
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({70, 60})}) {
    SCOPED_TRACE(d.to_string());
    Batch b = testing::random_batch(d, d.outcomes() > 1000 ? 2 : 12, rng);
    for (double& x : b.agents) x = static_cast<float>(x);  // the values float32 input holds
    for (double& x : b.principals) x = static_cast<float>(x);
    for (StrategyKind kind : kBuiltIn) {
      SCOPED_TRACE(to_string(kind));
      expect_matches_reference(b, random_options(rng, d.players(), kind), 1, true);
    }
  }
}

TEST(Reference, LargeGameSplitOverThreads) {
  DGEVAL_SEEDED(rng);
  // 150 × 120 = 18,000 outcomes, more than one chunk of 16,384: two games on two threads take the
  // path that spreads each pass over the threads; on one thread, chunk by chunk.
  const Batch b = testing::random_batch(Dims({150, 120}), 2, rng);
  for (StrategyKind kind : kBuiltIn) {
    SCOPED_TRACE(to_string(kind));
    const Options o = random_options(rng, 2, kind);
    expect_matches_reference(b, o, 2);
    expect_matches_reference(b, o, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// The small-game SIMD path (host/backends/cpu/small_games.hpp) on every instruction set this
// machine has (at least two on x86-64: SSE4 and AVX2, and AVX-512 where present), forced through
// set_simd_target as DGEVAL_SIMD_TARGET would: bit for bit the scalar path's results (which it
// reproduces operation by operation), for one and two threads, and the reference's within the
// tolerances above.
namespace simd_test {

/// Restores the default instruction set when a test ends, whatever happens.
struct TargetGuard {
  ~TargetGuard() { cpu::set_simd_target(""); }
};

Results run(const Batch& b, const Options& o, int threads, bool as_float) {
  Results r;
  auto backend = make_cpu_backend(threads);
  std::vector<float> fa, fp;
  backend->evaluate(testing::view_as(b, as_float, fa, fp), o, r);
  return r;
}

/// The batch on the scalar path and on every instruction set; each against the reference.
void expect_every_target_matches(const Batch& b, Options o, bool as_float = false) {
  TargetGuard guard;
  o.list_equilibria = true;
  ASSERT_TRUE(cpu::small_games_simd(o, b.dims)) << "the case must take the SIMD path";
  cpu::set_simd_target("off");
  ASSERT_EQ(cpu::simd_target(), "off");
  const Results scalar = run(b, o, 1, as_float);
  Options with_matrix = o;
  with_matrix.distance_matrix = true;  // (the reference fills it; compare_game reads it)
  const Results want = reference::evaluate(b, with_matrix);
  for (const std::string& target : cpu::simd_targets()) {
    SCOPED_TRACE("instruction set " + target);
    cpu::set_simd_target(target);
    ASSERT_EQ(cpu::simd_target(), target);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      Results got = run(b, o, threads, as_float);
      testing::expect_identical_results(got, scalar);
      got.distance_matrix = want.distance_matrix;  // not computed on this path
      for (std::int64_t g = 0; g < b.games; ++g) compare_game(b, g, o, got, want);
    }
  }
}

const StrategyKind kSimdKinds[] = {StrategyKind::worst_ne,       StrategyKind::best_ne, StrategyKind::uniform_ne,
                                   StrategyKind::uniform_eps_ne, StrategyKind::pure,    StrategyKind::correlated,
                                   StrategyKind::product,        StrategyKind::played};

Options simd_options(std::mt19937_64& rng, const Dims& d, StrategyKind kind, std::int64_t games) {
  Options o = random_options(rng, d.players(), kind);
  if (kind == StrategyKind::pure) {
    o.strategy.per_game = true;
    for (std::int64_t g = 0; g < games; ++g) {
      for (int i = 0; i < d.players(); ++i)
        o.strategy.actions.push_back(std::uniform_int_distribution<std::int64_t>(0, d.actions(i) - 1)(rng));
    }
  }
  if (kind == StrategyKind::correlated || kind == StrategyKind::product) {
    // Per game (or, one time in three, one σ for the batch), normalised in float64, some weights 0.
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    o.strategy.per_game = std::uniform_int_distribution<int>(0, 2)(rng) != 0;
    auto distribution = [&](std::int64_t size) {
      std::vector<double> w(static_cast<std::size_t>(size));
      double sum = 0.0;
      for (double& x : w) x = unit(rng) < 0.2 ? 0.0 : unit(rng), sum += x;
      if (sum == 0.0) w[0] = sum = 1.0;
      for (double& x : w) o.strategy.weights.push_back(x / sum);
    };
    for (std::int64_t g = 0; g < (o.strategy.per_game ? games : 1); ++g) {
      if (kind == StrategyKind::correlated) {
        distribution(d.outcomes());
      } else {
        for (int i = 0; i < d.players(); ++i) distribution(d.actions(i));
      }
    }
  }
  return o;
}

std::vector<Dims> small_shapes() {
  // Below 64 outcomes (one partial result per sum), and from 64 (8 partial results, as the scalar
  // evaluator's kLanes: 64, 91 and 100 outcomes, a tail of 3, and 6x7x4x6 at the path's limit).
  return {Dims({3, 3}), Dims({5, 5}),  Dims({7, 9}),          Dims({2, 3, 5}),   Dims({3, 3, 3}),
          Dims({1, 7}), Dims({13}),    Dims({2, 2, 2, 2, 2}), Dims({4, 1, 3}),   Dims({31, 2}),
          Dims({8, 8}), Dims({7, 13}), Dims({5, 5, 4}),       Dims({6, 7, 4, 6})};
}

}  // namespace simd_test

TEST(SmallGamesSimd, SeveralInstructionSetsOnX86) {
#if defined(__x86_64__)
  // SSE4 and AVX2 on any x86-64 machine of the last decade, AVX-512 where present.
  EXPECT_GE(cpu::simd_targets().size(), 2u);
#endif
  EXPECT_FALSE(cpu::simd_targets().empty());
}

TEST(SmallGamesSimd, RandomGamesOnEveryInstructionSet) {
  DGEVAL_SEEDED(rng);
  for (const Dims& d : simd_test::small_shapes()) {
    SCOPED_TRACE(d.to_string());
    for (StrategyKind kind : simd_test::kSimdKinds) {
      SCOPED_TRACE(to_string(kind));
      const std::int64_t games = 21;  // not a multiple of any vector's lanes: a partial last block
      const Batch b = testing::random_batch(d, games, rng);
      simd_test::expect_every_target_matches(b, simd_test::simd_options(rng, d, kind, games));
    }
  }
}

TEST(SmallGamesSimd, TiesWideRangesAndFloat32OnEveryInstructionSet) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> exponent(-6.0, 6.0), game_exponent(-140.0, 140.0);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5}), Dims({2, 3, 5}), Dims({1, 3}), Dims({9, 8}), Dims({5, 5, 4})}) {
    SCOPED_TRACE(d.to_string());
    for (StrategyKind kind : simd_test::kSimdKinds) {
      SCOPED_TRACE(to_string(kind));
      const std::int64_t games = 19;
      Options o = simd_test::simd_options(rng, d, kind, games);
      // Ties: integers in [−2, 2] / 64, with and without the NE tolerance.
      const Batch ties = testing::random_batch(d, games, rng, 2);
      o.ne_tolerance = 0.0;
      simd_test::expect_every_target_matches(ties, o);
      o.ne_tolerance = 1e-10;
      simd_test::expect_every_target_matches(ties, o);
      // Wide ranges, as in Reference.PayoffsOfManyOrdersOfMagnitude.
      Batch wide(d, games);
      const std::int64_t per_game = d.players() * d.outcomes();
      for (std::int64_t g = 0; g < games; ++g) {
        const double scale = std::pow(10.0, game_exponent(rng));
        for (std::int64_t j = 0; j < per_game; ++j) {
          wide.agents[g * per_game + j] = (j % 3 ? 1 : -1) * std::pow(10.0, exponent(rng)) * scale;
          wide.principals[g * per_game + j] = (j % 2 ? 1 : -1) * std::pow(10.0, exponent(rng)) * scale;
        }
      }
      o.ne_tolerance = 0.0;
      simd_test::expect_every_target_matches(wide, o);
      // float32 input: the values a float holds.
      Batch floats = testing::random_batch(d, games, rng);
      for (double& x : floats.agents) x = static_cast<float>(x);
      for (double& x : floats.principals) x = static_cast<float>(x);
      simd_test::expect_every_target_matches(floats, o, true);
    }
  }
}

TEST(SmallGamesSimd, PlayedFallbackOnEveryInstructionSet) {
  // CC = 1 in the code window: the window is one welfare value, usually held by no outcome, so σ
  // is the outcome nearest it (flag_played_fallback).
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4})}) {
    SCOPED_TRACE(d.to_string());
    // IC 0.5 for every player: the ε-NE set is then wider than the NE set (at IC = 1 they are the
    // same, the window is w*, and w*'s outcome lies in it). Fallbacks are about 1 game in 6 for
    // 3x3 and 1 in 2 for 5x5x4, so 200 games hold some whatever the seed.
    Options o = simd_test::simd_options(rng, d, StrategyKind::played, 200);
    o.cc = 1.0;
    o.cc_window = CcWindow::code;
    o.ic.assign(static_cast<std::size_t>(d.players()), 0.5);
    const Batch b = testing::random_batch(d, 200, rng);
    {
      simd_test::TargetGuard guard;
      cpu::set_simd_target("off");
      const Results scalar = simd_test::run(b, o, 1, false);
      std::int64_t fallbacks = 0;
      for (std::int64_t f : scalar.flags) fallbacks += (f & flag_played_fallback) != 0;
      EXPECT_GT(fallbacks, 0) << "the case must exercise the fallback";
    }
    simd_test::expect_every_target_matches(b, o);
  }
}

TEST(SmallGamesSimd, NonFiniteGamesInABlockGoToTheScalarPath) {
  DGEVAL_SEEDED(rng);
  simd_test::TargetGuard guard;
  Batch b = testing::random_batch(Dims({3, 3}), 11, rng);
  b.agents[2 * 2 * 9 + 4] = NAN;            // game 2
  b.principals[5 * 2 * 9 + 17] = INFINITY;  // game 5
  Options o;
  o.allow_nonfinite = true;
  cpu::set_simd_target("off");
  const Results scalar = simd_test::run(b, o, 1, false);
  EXPECT_EQ(scalar.flags[2], std::int64_t{flag_nonfinite});
  for (const std::string& target : cpu::simd_targets()) {
    SCOPED_TRACE(target);
    cpu::set_simd_target(target);
    testing::expect_identical_results(simd_test::run(b, o, 2, false), scalar);
  }
  // Refused by default, naming the first such game, on either path.
  o.allow_nonfinite = false;
  EXPECT_THROW(simd_test::run(b, o, 1, false), error);
}

// The multi-pass evaluator's loops on SIMD vectors (host/backends/cpu/multi_pass_kernel.cpp: the
// stats pass, the align pass for every standardisation, the equilibria mask's strided fibers) against the same loops
// one value at a time (DGEVAL_MULTI_PASS_SIMD=off, set_multi_pass_simd(0)): bit for bit on every
// instruction set and for one and two threads, and the reference's within the tolerances above.
// Games of 2 to 6 players with the distance matrix (so none takes the small-games path), tails of
// every length modulo 8, games of several chunks; ties, payoffs of many orders of magnitude, a large
// offset, a constant vector; float32 and float64 input; every standardisation and strategy kind.
namespace multi_pass_test {

/// Restores the default modes when a test ends, whatever happens.
struct ModeGuard {
  ~ModeGuard() {
    cpu::set_multi_pass_simd(-1);
    cpu::set_simd_target("");
  }
};

enum class Payoffs { normal, ties, wide, offset, constant };

/// Random games of `dims`, every vector of one kind of payoffs (float-rounded for float32 input).
Batch make_batch(const Dims& dims, std::int64_t games, Payoffs kind, bool as_float, std::mt19937_64& rng) {
  Batch b = testing::random_batch(dims, games, rng, kind == Payoffs::ties ? 3 : 0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const std::int64_t N = dims.outcomes();
  if (kind == Payoffs::wide) {  // magnitudes from 1e-6 to 1e6, either sign
    for (std::vector<double>* v : {&b.agents, &b.principals}) {
      for (double& x : *v) x = (unit(rng) < 0.5 ? -1 : 1) * std::pow(10.0, 12 * unit(rng) - 6);
    }
  }
  for (std::int64_t g = 0; g < games; ++g) {
    double* first = b.agents.data() + g * dims.players() * N;  // agent 0 of game g
    if (kind == Payoffs::offset) {
      for (std::int64_t s = 0; s < N; ++s) first[s] += 1e6;
    }
    if (kind == Payoffs::constant) {
      for (std::int64_t s = 0; s < N; ++s) first[N + s] = 0.625;  // agent 1
    }
  }
  if (as_float) {
    for (double& x : b.agents) x = static_cast<float>(x);
    for (double& x : b.principals) x = static_cast<float>(x);
  }
  return b;
}

/// The batch with the SIMD loops on every instruction set and 1 and 2 threads against the scalar
/// loops (bit for bit), and the scalar loops against the reference.
void expect_simd_matches_scalar(const Batch& b, Options o, bool as_float) {
  ModeGuard guard;
  o.list_equilibria = true;
  o.distance_matrix = true;
  ASSERT_FALSE(cpu::small_games_simd(o, b.dims)) << "the case must take the multi-pass path";
  cpu::set_multi_pass_simd(0);
  const Results scalar = simd_test::run(b, o, 1, as_float);
  const Results want = reference::evaluate(b, o);
  for (std::int64_t g = 0; g < b.games; ++g) compare_game(b, g, o, scalar, want);
  cpu::set_multi_pass_simd(1);
  for (const std::string& target : cpu::simd_targets()) {
    SCOPED_TRACE("instruction set " + target);
    cpu::set_simd_target(target);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      const Results got = simd_test::run(b, o, threads, as_float);
      testing::expect_identical_results(got, scalar);
    }
  }
}

std::vector<Dims> shapes() {
  // Outcomes: 105 (1 past a multiple of 8), 216, 420 (4 past), 1,295 (7 past), 10,080 (the bench's
  // 7x3x8x5x12), 16,605 (two chunks; strided runs with tails), and a 2-player game of 1,073 outcomes
  // (1 past; 2-player games under MAX and MAX-range take the multi-pass path at any size), and last
  // players of 70 and 131 actions (fibers longer than the gathers take, with tails).
  return {Dims({3, 5, 7}),      Dims({2, 3, 2, 3, 2, 3}), Dims({5, 4, 3, 7}), Dims({5, 7, 37}), Dims({7, 3, 8, 5, 12}),
          Dims({3, 41, 3, 45}), Dims({37, 29}),           Dims({5, 70}),      Dims({3, 2, 131})};
}

}  // namespace multi_pass_test

TEST(MultiPassSimd, RandomGamesEveryStandardisationAndPayoffKind) {
  DGEVAL_SEEDED(rng);
  using multi_pass_test::Payoffs;
  const Standardisation st[] = {Standardisation::epic, Standardisation::max, Standardisation::max_range};
  int index = 0;
  for (const Dims& dims : multi_pass_test::shapes()) {
    for (Payoffs kind : {Payoffs::normal, Payoffs::ties, Payoffs::wide, Payoffs::offset, Payoffs::constant}) {
      // float32 in a checkerboard; EPIC every other case, MAX and MAX-range between.
      const bool as_float = ((index / 5 + index % 5) % 2) == 1;
      const Standardisation s = index % 2 == 0 ? Standardisation::epic : st[1 + (index / 2) % 2];
      ++index;
      SCOPED_TRACE(dims.to_string() + " payoffs " + std::to_string(static_cast<int>(kind)) +
                   (as_float ? " float32" : " float64"));
      const std::int64_t games = dims.outcomes() > 5000 ? 1 : 3;
      const Batch b = multi_pass_test::make_batch(dims, games, kind, as_float, rng);
      Options o = random_options(rng, dims.players(), kBuiltIn[std::uniform_int_distribution<int>(0, 4)(rng)]);
      o.standardisation = s;
      multi_pass_test::expect_simd_matches_scalar(b, o, as_float);
    }
  }
}

TEST(MultiPassSimd, SwitchReadsTheEnvironment) {
  multi_pass_test::ModeGuard guard;
  cpu::set_multi_pass_simd(0);
  EXPECT_FALSE(cpu::multi_pass_simd());
  cpu::set_multi_pass_simd(1);
  EXPECT_TRUE(cpu::multi_pass_simd());
  ::setenv("DGEVAL_MULTI_PASS_SIMD", "off", 1);
  cpu::set_multi_pass_simd(-1);
  EXPECT_FALSE(cpu::multi_pass_simd());
  ::setenv("DGEVAL_MULTI_PASS_SIMD", "sometimes", 1);
  EXPECT_THROW(cpu::set_multi_pass_simd(-1), error);
  ::unsetenv("DGEVAL_MULTI_PASS_SIMD");
  cpu::set_multi_pass_simd(-1);
  EXPECT_TRUE(cpu::multi_pass_simd());
}

}  // namespace
}  // namespace dgeval
