// Properties of the measures on fresh random games (docs/MATH.md §3–§5): invariances, ranges,
// identities, the bounds holding, equilibrium sets against brute force.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dgeval/detail/measures.hpp"
#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

using testing::Naive;
using testing::random_batch;
using testing::side;
using testing::test_sizes;

constexpr double kRel = 1e-9;

const Standardisation kAllStandardisations[] = {Standardisation::epic, Standardisation::max,
                                                Standardisation::max_range};

TEST(Properties, AffineInvarianceOfStandardisation) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> scale(0.1, 10.0), shift(-50.0, 50.0);
  for (const Dims& dims : test_sizes()) {
    for (Standardisation st : kAllStandardisations) {
      SCOPED_TRACE(dims.to_string() + " " + to_string(st));
      const Batch b = random_batch(dims, 3, rng);
      Batch t = b;  // every utility function under its own positive affine map
      const int n = dims.players();
      const std::int64_t N = dims.outcomes();
      std::vector<double> a(static_cast<std::size_t>(3 * 2 * n)), c(a.size());
      for (std::int64_t g = 0; g < 3; ++g) {
        for (int i = 0; i < 2 * n; ++i) {
          const std::size_t k = static_cast<std::size_t>(g * 2 * n + i);
          a[k] = scale(rng);
          c[k] = shift(rng);
          double* v = (i < n ? t.agents.data() + (g * n + i) * N : t.principals.data() + (g * n + i - n) * N);
          for (std::int64_t s = 0; s < N; ++s) v[s] = a[k] * v[s] + c[k];
        }
      }
      Options o = testing::with(st);
      o.distance_matrix = true;
      o.list_equilibria = true;
      // The exact Nash test: the default additive slack (1e-10) is not scale-invariant, so an
      // outcome whose utility lies within 1e-10 of its best reply's in one game and not in the
      // scaled one would change the NE set. Measured over 2·10^5 games of these sizes, such a
      // near-tie flips a set with probability 1.8e-8 per run (the density at 0 of the gap to the
      // best reply, times 1e-10·|1/a − 1|). Without the slack, a positive affine map keeps
      // u ≥ hi (rounding is monotone); it can only merge u < hi into a tie when a·(hi − u) is
      // below 2 ulps of the scaled values (≤ 2.8e-14 for |a u + c| ≤ 100): about 3e-12 per run.
      o.ne_tolerance = 0.0;
      const Results r = evaluate(b.view(), o), q = evaluate(t.view(), o);
      for (std::int64_t g = 0; g < 3; ++g) {
        for (int i = 0; i < n; ++i) {
          const std::size_t k = static_cast<std::size_t>(g * n + i);
          const std::size_t ka = static_cast<std::size_t>(g * 2 * n + i), kp = ka + n;
          EXPECT_NEAR(q.ia[k], r.ia[k], 1e-9);
          EXPECT_TRUE(tolerances::close(q.magnitude_agents[k], a[ka] * r.magnitude_agents[k], kRel));
          EXPECT_TRUE(tolerances::close(q.magnitude_principals[k], a[kp] * r.magnitude_principals[k], kRel));
          EXPECT_TRUE(tolerances::close(q.offset_agents[k], a[ka] * r.offset_agents[k] + c[ka], kRel,
                                        std::fabs(c[ka]) + a[ka]));
        }
        // Every standardised distance is invariant; NE sets are invariant under per-player maps.
        const std::size_t side2 = static_cast<std::size_t>(4 * n * n);
        for (std::size_t j = 0; j < side2; ++j) {
          EXPECT_NEAR(q.distance_matrix[g * side2 + j], r.distance_matrix[g * side2 + j], 1e-9);
        }
        EXPECT_EQ(q.pure_ne[g], r.pure_ne[g]);
      }
    }
  }
}

TEST(Properties, CaInvariantToIndividualShiftsAndCommonScale) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> shift(-20.0, 20.0);
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 2, rng);
    Batch t = b;
    const double common = 3.7;
    for (int i = 0; i < 2 * dims.players() * 2; ++i) {
      const double c = shift(rng);
      double* v = (i < 2 * dims.players() ? t.agents.data() : t.principals.data()) +
                  (i % (2 * dims.players())) * dims.outcomes();
      for (std::int64_t s = 0; s < dims.outcomes(); ++s) v[s] = common * v[s] + c;
    }
    for (Standardisation st : kAllStandardisations) {
      const Results r = evaluate(b.view(), testing::with(st)), q = evaluate(t.view(), testing::with(st));
      for (int g = 0; g < 2; ++g) {
        EXPECT_NEAR(q.ca_agents[g], r.ca_agents[g], 1e-9) << dims.to_string();
        EXPECT_NEAR(q.ca_principals[g], r.ca_principals[g], 1e-9) << dims.to_string();
      }
    }
  }
}

TEST(Properties, CaChangesWhenOnePlayerIsRescaled) {
  // Deliberately not invariant (docs/MATH.md §4.2): the weights are the magnitudes. With two
  // players CA = 1 − 4 f(x) d, f(x) = x / (1 + x)², x the ratio of the magnitudes, d the
  // distance (TwoPlayerCaIdentity). The principal with the larger magnitude is scaled by 7, so
  // x ≥ 1 grows and f(x) − f(7x) ≥ 0.14/x (x (f(x) − f(7x)) is least at x = 1: 9/64), far above
  // 1e-6 / (4d) for independent random principals. (Scaling the other one could keep the
  // weights' product: 7x² = 1 gives f(x) = f(7x), and a random game came within 1e-6 of that
  // with probability ~3e-9.)
  DGEVAL_SEEDED(rng);
  const Dims dims({4, 5});
  Batch b = random_batch(dims, 1, rng);
  const Results r = evaluate(b.view());
  const int larger = r.magnitude_principals[0] >= r.magnitude_principals[1] ? 0 : 1;
  for (std::int64_t s = 0; s < dims.outcomes(); ++s) b.principals[larger * dims.outcomes() + s] *= 7.0;
  EXPECT_GT(std::fabs(evaluate(b.view()).ca_principals[0] - r.ca_principals[0]), 1e-6);
}

TEST(Properties, RangesOfIaAndCa) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 20, rng);
    for (Standardisation st : kAllStandardisations) {
      const Results r = evaluate(b.view(), testing::with(st));
      for (double ia : r.ia) {
        EXPECT_GE(ia, 0.0);
        EXPECT_LE(ia, 1.0);
      }
      if (st != Standardisation::epic) continue;  // CA under L∞ may be negative (Example E)
      for (std::int64_t g = 0; g < r.games; ++g) {
        EXPECT_GE(r.ca_agents[g], -1e-12);
        EXPECT_LE(r.ca_agents[g], 1 + 1e-12);
        EXPECT_GE(r.ca_principals[g], -1e-12);
        EXPECT_LE(r.ca_principals[g], 1 + 1e-12);
        EXPECT_EQ(r.flags[g] & flag_ca_out_of_range, 0);
      }
    }
  }
}

TEST(Properties, PearsonIdentityForEpic) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : test_sizes()) {
    if (dims.outcomes() < 2) continue;
    const Batch b = random_batch(dims, 5, rng);
    const Results r = evaluate(b.view());
    for (std::int64_t g = 0; g < 5; ++g) {
      for (int i = 0; i < dims.players(); ++i) {
        const double rho = Naive::pearson(side(b, true, g, i), side(b, false, g, i), dims.outcomes());
        EXPECT_NEAR(r.ia[g * dims.players() + i], 1.0 - std::sqrt((1.0 - rho) / 2.0), 1e-9) << dims.to_string();
      }
    }
  }
}

TEST(Properties, IaStaysAccurateNearOne) {
  // Nearly aligned utilities: û = u + δ·noise. 1 − IA = d is tiny and must keep its relative
  // accuracy (a Gram/Pearson formulation would lose it to cancellation).
  DGEVAL_SEEDED(rng);
  const Dims dims({40, 50});
  Batch b = random_batch(dims, 1, rng);
  std::normal_distribution<double> noise(0.0, 1.0);
  const double delta = 1e-7;
  for (std::size_t j = 0; j < b.agents.size(); ++j) b.principals[j] = b.agents[j] + delta * noise(rng);
  Options o;
  const Results r = evaluate(b.view(), o);
  // Reference distance in long double from the explicit standardised vectors.
  for (int i = 0; i < 2; ++i) {
    const double* u = side(b, true, 0, i);
    const double* v = side(b, false, 0, i);
    const std::int64_t N = dims.outcomes();
    long double mu = 0, mv = 0;
    for (std::int64_t s = 0; s < N; ++s) mu += u[s], mv += v[s];
    mu /= N, mv /= N;
    long double nu = 0, nv = 0;
    for (std::int64_t s = 0; s < N; ++s) nu += (u[s] - mu) * (u[s] - mu), nv += (v[s] - mv) * (v[s] - mv);
    nu = std::sqrt(nu), nv = std::sqrt(nv);
    long double d2 = 0;
    for (std::int64_t s = 0; s < N; ++s) {
      const long double x = (u[s] - mu) / nu - (v[s] - mv) / nv;
      d2 += x * x;
    }
    const double d = static_cast<double>(std::sqrt(d2) / 2);
    ASSERT_GT(d, 1e-9);
    EXPECT_NEAR((1.0 - r.ia[i]) / d, 1.0, 1e-6) << "d = " << d;
  }
}

TEST(Properties, TwoPlayerCaIdentity) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : {Dims({3, 3}), Dims({2, 7}), Dims({5, 4}), Dims({1, 9})}) {
    const Batch b = random_batch(dims, 10, rng);
    Options o;
    o.distance_matrix = true;
    const Results r = evaluate(b.view(), o);
    for (std::int64_t g = 0; g < 10; ++g) {
      for (bool agents : {true, false}) {
        const double* m = (agents ? r.magnitude_agents.data() : r.magnitude_principals.data()) + 2 * g;
        const double M = m[0] + m[1];
        const int a = agents ? 0 : 2;
        const double d = r.distance_matrix[g * 16 + a * 4 + a + 1];
        const double ca = agents ? r.ca_agents[g] : r.ca_principals[g];
        EXPECT_NEAR(ca, 1.0 - 4.0 * m[0] * m[1] / (M * M) * d, 1e-9) << dims.to_string();
      }
    }
  }
}

TEST(Properties, ConstantSumGamesHaveZeroCa) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : {Dims({3, 4}), Dims({2, 3, 4})}) {
    Batch b = random_batch(dims, 4, rng);
    const int n = dims.players();
    const std::int64_t N = dims.outcomes();
    for (std::int64_t g = 0; g < 4; ++g) {  // last principal makes the sum constant (= 5)
      double* last = b.principals.data() + (g * n + n - 1) * N;
      for (std::int64_t s = 0; s < N; ++s) {
        double others = 0;
        for (int i = 0; i + 1 < n; ++i) others += b.principals[(g * n + i) * N + s];
        last[s] = 5.0 - others;
      }
    }
    const Results r = evaluate(b.view());
    for (std::int64_t g = 0; g < 4; ++g) EXPECT_NEAR(r.ca_principals[g], 0.0, 1e-9);
  }
}

// Options to sweep over for the bound properties: every strategy kind, standardisation and welfare.
std::vector<Options> bound_option_sets(const Dims& dims, std::mt19937_64& rng) {
  std::vector<Options> sets;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (Standardisation st : kAllStandardisations) {
    for (Welfare w : {Welfare::average, Welfare::sum}) {
      for (StrategyKind k :
           {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
            StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
        Options o = testing::with(st, w, k);
        o.ic = {unit(rng)};
        o.cc = unit(rng);
        if (k == StrategyKind::correlated) {
          o.strategy.weights.resize(static_cast<std::size_t>(dims.outcomes()));
          double total = 0;
          for (double& x : o.strategy.weights) total += (x = unit(rng));
          for (double& x : o.strategy.weights) x /= total;
        }
        if (k == StrategyKind::product) {
          for (int i = 0; i < dims.players(); ++i) {
            std::vector<double> p(static_cast<std::size_t>(dims.actions(i)));
            double total = 0;
            for (double& x : p) total += (x = unit(rng));
            for (double& x : p) o.strategy.weights.push_back(x / total);
          }
        }
        sets.push_back(o);
      }
    }
  }
  return sets;
}

TEST(Properties, BoundsR2R4R5R6NeverViolated) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> mag(0.2, 5.0);
  for (const Dims& dims : test_sizes()) {
    Batch b = random_batch(dims, 8, rng, /*grid=*/3);  // coarse grid: many ties, many NEs
    // Miscalibrate: scale each agent by its own factor so the r_i differ.
    const std::int64_t N = dims.outcomes();
    for (std::int64_t v = 0; v < 8 * dims.players(); ++v) {
      const double f = mag(rng);
      for (std::int64_t s = 0; s < N; ++s) b.agents[v * N + s] *= f;
    }
    for (const Options& o : bound_option_sets(dims, rng)) {
      SCOPED_TRACE(dims.to_string() + " " + to_string(o.standardisation) + " " + to_string(o.welfare) + " " +
                   to_string(o.strategy.kind));
      const Results r = evaluate(b.view(), o);
      for (std::int64_t g = 0; g < r.games; ++g) {
        if (r.flags[g] & flag_strategy_undefined) {
          EXPECT_TRUE(std::isnan(r.bound[g]));
          EXPECT_TRUE(std::isnan(r.bound_holds[g]));  // undefined, not false
          continue;
        }
        const double tol = detail::bound_tolerance(r.welfare_principals_utopia[g], r.welfare_principals_dystopia[g]);
        const double pwr = r.principals_welfare_regret[g];
        EXPECT_GE(pwr, -tol);
        EXPECT_GE(r.agents_welfare_regret[g], -tol);
        EXPECT_EQ(r.bound_holds[g], 1.0);
        EXPECT_LE(pwr, r.bound[g] + tol);
        EXPECT_LE(pwr, r.bound_r4[g] + tol);
        EXPECT_LE(r.ideal_gap[g], r.ideal_gap_bound[g] + tol);
        // R6 bounds the total loss against utopia, ŵ⁺ − ŵ(σ) = ideal gap + PWR.
        EXPECT_LE(r.ideal_gap[g] + pwr, r.bound_r6[g] + tol);
        // R8: PWR never exceeds ŵ⁺ − ŵ⁻.
        EXPECT_LE(pwr, r.welfare_principals_utopia[g] - r.welfare_principals_dystopia[g] + tol);
      }
    }
  }
}

TEST(Properties, R2HoldsForEveryGrossRatio) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> ratio(0.0, 6.0);
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 6, rng);
    for (Standardisation st : kAllStandardisations) {
      Options o = testing::with(st, Welfare::average, StrategyKind::uniform_eps_ne);
      o.ic = {0.5};
      const Results r = evaluate(b.view(), o);
      const int n = dims.players();
      for (std::int64_t g = 0; g < r.games; ++g) {
        if (r.flags[g] & flag_strategy_undefined) continue;  // E(IC) empty: no σ to bound
        detail::BoundInputs in{};
        in.players = n;
        in.welfare = Welfare::average;
        in.constants = detail::standardisation_constants(st);
        in.agents_regret = r.agents_welfare_regret[g];
        in.magnitude_agents = r.magnitude_agents.data() + g * n;
        in.magnitude_principals = r.magnitude_principals.data() + g * n;
        in.ia = r.ia.data() + g * n;
        const double tol = detail::bound_tolerance(r.welfare_principals_utopia[g], r.welfare_principals_dystopia[g]);
        double best = INFINITY;
        for (int t = 0; t < 20; ++t) {
          const double v = detail::bound_r2_at(in, ratio(rng));
          EXPECT_LE(r.principals_welfare_regret[g], v + tol);
          best = std::min(best, v);
        }
        // The minimum over {0} ∪ {r_i} is the global minimum (R7): no sampled R beats it.
        EXPECT_LE(std::min(r.bound[g], r.bound_r6[g] - r.ideal_gap_bound[g]), best + tol);
      }
    }
  }
}

TEST(Properties, R1DecompositionOfAgentRegret) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 10, rng, 4);
    for (StrategyKind k : {StrategyKind::played, StrategyKind::uniform_eps_ne, StrategyKind::worst_ne}) {
      Options o = testing::with(Standardisation::epic, Welfare::average, k);
      o.ic = {0.5};
      o.cc = 0.3;
      const Results r = evaluate(b.view(), o);
      for (std::int64_t g = 0; g < r.games; ++g) {
        if (std::isnan(r.cc_achieved[g])) continue;  // undefined when w* = w_0 or no NE
        const double w_star = r.welfare_agents_max[g], w0 = r.worst_ne_agents_welfare[g],
                     we = r.worst_eps_ne_agents_welfare[g];
        EXPECT_NEAR(r.agents_welfare_regret[g], (1 - r.cc_achieved[g]) * (w_star - w0) + (w0 - we),
                    1e-9 * (1 + std::fabs(w_star)));
      }
    }
  }
}

TEST(Properties, EquilibriaEqualBruteForce) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : test_sizes()) {
    for (int grid : {1, 2, 8}) {
      const Batch b = random_batch(dims, 6, rng, grid);
      Options o;
      o.list_equilibria = true;
      o.ic = {0.75};  // dyadic, so the grid comparisons are exact
      o.strategy.kind = StrategyKind::uniform_eps_ne;
      const Results r = evaluate(b.view(), o);
      for (std::int64_t g = 0; g < r.games; ++g) {
        const auto ne = Naive::eps_ne(b, g, {1.0});
        const auto eps = Naive::eps_ne(b, g, {0.75});
        EXPECT_EQ(r.pure_ne[g], ne) << dims.to_string();
        EXPECT_EQ(r.pure_ne_count[g], static_cast<std::int64_t>(ne.size()));
        EXPECT_EQ(r.eps_ne_count[g], static_cast<std::int64_t>(eps.size()));
        // The uniform-ε-NE strategy's welfare identifies the set's average; check it too.
        Naive naive(b, g);
        if (eps.empty()) continue;
        double avg = 0, worst = INFINITY;
        for (std::int64_t s : eps) avg += naive.w[s], worst = std::min(worst, naive.w[s]);
        avg /= static_cast<double>(eps.size());
        EXPECT_NEAR(r.agents_welfare_regret[g], r.welfare_agents_max[g] - avg, 1e-12);
        EXPECT_EQ(r.worst_eps_ne_agents_welfare[g], worst);
      }
    }
  }
}

TEST(Properties, EpsilonSetsNestAsEpsilonGrows) {
  DGEVAL_SEEDED(rng);
  const double levels[] = {1.0, 0.875, 0.75, 0.5, 0.25, 0.125, 0.0};  // IC falling = ε growing
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 6, rng, 5);
    std::vector<std::vector<std::int64_t>> previous(6);
    std::vector<std::int64_t> previous_count(6, 0);
    std::vector<double> previous_worst(6, INFINITY);
    for (double ic : levels) {
      Options o;
      o.ic = {ic};
      const Results r = evaluate(b.view(), o);
      for (std::int64_t g = 0; g < 6; ++g) {
        const auto set = Naive::eps_ne(b, g, {ic});
        EXPECT_TRUE(std::includes(set.begin(), set.end(), previous[g].begin(), previous[g].end()));
        EXPECT_EQ(r.eps_ne_count[g], static_cast<std::int64_t>(set.size()));
        EXPECT_GE(r.eps_ne_count[g], previous_count[g]);
        if (r.eps_ne_count[g] > 0) {
          EXPECT_LE(r.worst_eps_ne_agents_welfare[g], previous_worst[g]);
        }
        previous[g] = set;
        previous_count[g] = r.eps_ne_count[g];
        if (r.eps_ne_count[g] > 0) previous_worst[g] = r.worst_eps_ne_agents_welfare[g];
      }
      if (ic == 0.0) {
        for (std::int64_t g = 0; g < 6; ++g) EXPECT_EQ(r.eps_ne_count[g], dims.outcomes());
      }
    }
  }
}

TEST(Properties, WelfareExtremaMatchNaive) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : test_sizes()) {
    const Batch b = random_batch(dims, 5, rng);
    for (Welfare w : {Welfare::average, Welfare::sum}) {
      const Results r = evaluate(b.view(), testing::with(Standardisation::epic, w));
      for (std::int64_t g = 0; g < 5; ++g) {
        Naive naive(b, g, w);
        EXPECT_EQ(r.welfare_agents_max[g], *std::max_element(naive.w.begin(), naive.w.end()));
        EXPECT_EQ(r.welfare_agents_min[g], *std::min_element(naive.w.begin(), naive.w.end()));
        EXPECT_EQ(r.welfare_principals_max[g], *std::max_element(naive.wh.begin(), naive.wh.end()));
        EXPECT_EQ(r.welfare_principals_min[g], *std::min_element(naive.wh.begin(), naive.wh.end()));
        double up = 0, down = 0;
        for (int i = 0; i < dims.players(); ++i) {
          const double* u = side(b, false, g, i);
          up += *std::max_element(u, u + dims.outcomes());
          down += *std::min_element(u, u + dims.outcomes());
        }
        const double f = w == Welfare::average ? dims.players() : 1.0;
        EXPECT_NEAR(r.welfare_principals_utopia[g], up / f, 1e-12);
        EXPECT_NEAR(r.welfare_principals_dystopia[g], down / f, 1e-12);
        EXPECT_GE(r.ideal_gap[g], 0.0);
      }
    }
  }
}

TEST(Properties, NashThresholdIsAnchoredAtTheBestReply) {
  // docs/MATH.md §1.4: IC = 1 gives exactly hi and IC = 0 exactly lo, for payoffs of any range;
  // between them the threshold lies in [lo, hi] and within two roundings (of 1 − IC and of the
  // result) of the long-double value hi − (1 − IC)(hi − lo).
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> u(-1.0, 1.0), level(0.0, 1.0);
  std::uniform_int_distribution<int> e(-300, 300);
  for (int k = 0; k < 100000; ++k) {
    double lo = std::ldexp(u(rng), e(rng)), hi = std::ldexp(u(rng), e(rng));
    if (lo > hi) std::swap(lo, hi);
    ASSERT_EQ(detail::ic_threshold(lo, hi, 1.0), hi) << lo << " " << hi;
    ASSERT_EQ(detail::ic_threshold(lo, hi, 0.0), lo) << lo << " " << hi;
    const double ic = level(rng), t = detail::ic_threshold(lo, hi, ic);
    ASSERT_GE(t, lo) << lo << " " << hi << " " << ic;
    ASSERT_LE(t, hi) << lo << " " << hi << " " << ic;
    const long double ref =
        static_cast<long double>(hi) - (1.0L - static_cast<long double>(ic)) * (static_cast<long double>(hi) - lo);
    const long double scale = std::max(std::fabs(lo), std::fabs(hi)) + (static_cast<long double>(hi) - lo);
    ASSERT_LE(std::fabs(static_cast<long double>(t) - ref), 0x1p-52L * scale) << lo << " " << hi << " " << ic;
  }
}

TEST(Properties, NashThresholdWhenTheSpanOverflows) {
  // hi − lo = +inf: the threshold is still finite, inside [lo, hi], and exact at IC 0 and 1.
  const double lo = -1.5e308, hi = 1.6e308;
  ASSERT_TRUE(std::isinf(hi - lo));
  EXPECT_EQ(detail::ic_threshold(lo, hi, 1.0), hi);
  EXPECT_EQ(detail::ic_threshold(lo, hi, 0.0), lo);
  for (double ic : {0.25, 0.5, 0.9, 0.999}) {
    const double t = detail::ic_threshold(lo, hi, ic);
    ASSERT_TRUE(std::isfinite(t)) << ic;
    EXPECT_GE(t, lo);
    EXPECT_LE(t, hi);
    const long double ref = static_cast<long double>(hi) - (1.0L - ic) * (static_cast<long double>(hi) - lo);
    EXPECT_LE(std::fabs(static_cast<long double>(t) - ref), 1e-15L * 3.1e308L) << ic;
  }
  // A game with such payoffs: the best reply is the only NE of its fiber.
  Batch b(Dims({2, 1}), 1);
  b.agents = {lo, hi, 0.0, 0.0};
  b.principals = b.agents;
  Options o;
  o.ne_tolerance = 0.0;
  const Results r = evaluate(b.view(), o, 1);
  EXPECT_EQ(r.pure_ne_count[0], 1);
}

TEST(Properties, ExactNashForPayoffsOfAnyRange) {
  // --ne-tolerance 0: the IC = 1 set is exactly the pure Nash set (u_i(s) = max over i's
  // deviations), whatever the payoffs' range: magnitudes spread over 10^±20 with random signs,
  // and ties (payoffs drawn from a few values). Checked against brute force on both the
  // batched (3x3, 2x3x2) and large-game (40x60) paths.
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> mant(0.5, 1.0);
  std::uniform_int_distribution<int> ex(-66, 66), coin(0, 1), few(0, 3);
  const double pool[4] = {-2.7, 0.6, 1e20, -1e-20};
  for (const Dims& dims : {Dims({3, 3}), Dims({2, 3, 2}), Dims({40, 60})}) {
    for (int ties = 0; ties < 2; ++ties) {
      const std::int64_t games = dims.outcomes() > 1000 ? 4 : 2000;
      Batch b(dims, games);
      for (double& x : b.agents) x = ties ? pool[few(rng)] : (coin(rng) ? -1 : 1) * std::ldexp(mant(rng), ex(rng));
      b.principals = b.agents;
      Options o;
      o.ne_tolerance = 0.0;
      const Results r = evaluate(b.view(), o, 2);
      const int n = dims.players();
      const std::int64_t N = dims.outcomes();
      for (std::int64_t g = 0; g < games; ++g) {
        std::int64_t count = 0;
        for (std::int64_t s = 0; s < N; ++s) {
          bool ne = true;
          for (int i = 0; i < n && ne; ++i) {
            const double* ui = side(b, true, g, i);
            const std::int64_t stride = dims.stride(i), k = dims.actions(i);
            const std::int64_t base = s - ((s / stride) % k) * stride;
            for (std::int64_t a = 0; a < k; ++a) ne = ne && ui[base + a * stride] <= ui[s];
          }
          count += ne;
        }
        ASSERT_EQ(r.pure_ne_count[g], count) << "game " << g << " of " << dims.to_string() << " ties " << ties;
      }
    }
  }
}

TEST(Properties, ExactNashAgainstANegativeBestReply) {
  // The case the lo-anchored form got wrong: 0.6 against −2.7 gives 0.6000000000000001 as
  // lo + 1·(hi − lo), so the best reply 0.6 failed an exact Nash test.
  Batch b(Dims({2, 1}), 1);
  b.agents = {0.6, -2.7, 0.0, 0.0};
  b.principals = b.agents;
  Options o;
  o.ne_tolerance = 0.0;
  const Results r = evaluate(b.view(), o, 1);
  EXPECT_EQ(r.pure_ne_count[0], 1);
  EXPECT_EQ(detail::ic_threshold(-2.7, 0.6, 1.0), 0.6);
}

TEST(Properties, MultiChunkGameMatchesLongDoubleReference) {
  // 40 x 1000 = 40,000 outcomes: three of the CPU backend's chunks (its per-chunk sums and
  // centred squares are merged with Chan's formula) and two column runs per context of
  // player 0's fibers. Utilities sit on a large offset, so a naive Σx² − (Σx)²/N would lose
  // every digit; the magnitudes, IA, CA and welfare extrema must match a long-double reference.
  DGEVAL_SEEDED(rng);
  const Dims dims({40, 1000});
  const std::int64_t N = dims.outcomes();
  for (int grid : {0, 8}) {
    Batch b = random_batch(dims, 2, rng, grid);
    for (double& x : b.agents) x += 1e6;
    Options o;
    o.ic = {0.75};  // dyadic: the ε-thresholds of grid payoffs are exact
    const Results r = evaluate(b.view(), o, 2);
    for (std::int64_t g = 0; g < 2; ++g) {
      long double shift[4], mag[4];
      for (int v = 0; v < 4; ++v) {
        const double* x = side(b, v < 2, g, v % 2);
        long double m = 0, c = 0;
        for (std::int64_t s = 0; s < N; ++s) m += x[s];
        m /= N;
        for (std::int64_t s = 0; s < N; ++s) c += (x[s] - m) * (x[s] - m);
        shift[v] = m, mag[v] = std::sqrt(c);
      }
      auto nu = [&](int v, std::int64_t s) { return (side(b, v < 2, g, v % 2)[s] - shift[v]) / mag[v]; };
      long double ca_num = 0;
      for (int i = 0; i < 2; ++i) {
        EXPECT_NEAR(r.offset_agents[2 * g + i], static_cast<double>(shift[i]), 1e-15 * 1e6);
        EXPECT_NEAR(r.magnitude_agents[2 * g + i] / static_cast<double>(mag[i]), 1.0, 1e-12);
        EXPECT_NEAR(r.magnitude_principals[2 * g + i] / static_cast<double>(mag[2 + i]), 1.0, 1e-12);
        long double d2 = 0, c2 = 0;
        for (std::int64_t s = 0; s < N; ++s) {
          const long double d = nu(i, s) - nu(2 + i, s);
          const long double mu = (mag[2] * nu(2, s) + mag[3] * nu(3, s)) / (mag[2] + mag[3]);
          const long double c = nu(2 + i, s) - mu;
          d2 += d * d, c2 += c * c;
        }
        EXPECT_NEAR(r.ia[2 * g + i], static_cast<double>(1 - std::sqrt(d2) / 2), 1e-13);
        ca_num += mag[2 + i] * std::sqrt(c2);
      }
      EXPECT_NEAR(r.ca_principals[g], static_cast<double>(1 - ca_num / (mag[2] + mag[3])), 1e-13);
      Naive naive(b, g);
      EXPECT_EQ(r.welfare_agents_max[g], *std::max_element(naive.w.begin(), naive.w.end()));
      EXPECT_EQ(r.welfare_principals_min[g], *std::min_element(naive.wh.begin(), naive.wh.end()));
      if (grid > 0) {
        EXPECT_EQ(r.pure_ne_count[g], static_cast<std::int64_t>(Naive::eps_ne(b, g, {1.0}).size()));
        EXPECT_EQ(r.eps_ne_count[g], static_cast<std::int64_t>(Naive::eps_ne(b, g, {0.75}).size()));
      }
    }
  }
}

TEST(Properties, PaperSizesIncludingSixPlayers) {
  // The paper's largest size, 15x7x3x7x9x5 (99,225 outcomes), two games: bounds hold and the
  // NE count matches brute force.
  DGEVAL_SEEDED(rng);
  const Dims dims({15, 7, 3, 7, 9, 5});
  const Batch b = random_batch(dims, 2, rng, 6);
  Options o;
  o.list_equilibria = true;
  const Results r = evaluate(b.view(), o);
  for (std::int64_t g = 0; g < 2; ++g) {
    EXPECT_EQ(r.pure_ne[g], Naive::eps_ne(b, g, {1.0}));
    if (r.flags[g] & flag_strategy_undefined) {
      EXPECT_TRUE(std::isnan(r.bound_holds[g]));
    } else {
      EXPECT_EQ(r.bound_holds[g], 1.0);
    }
  }
}

}  // namespace
}  // namespace dgeval
