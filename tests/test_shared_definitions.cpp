// The shared definitions of include/dgeval/detail: expressible for a batch value type (every
// lane of Lanes<W> rounds exactly as the same definition on a double), the same with a player
// count known at compile time, one list of standardisations, one message for non-finite input, and
// one comparison of two evaluations (the CLI's --check and the backend tests').
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "dgeval/compare.hpp"
#include "dgeval/detail/division.hpp"
#include "dgeval/detail/finish.hpp"
#include "dgeval/detail/lanes.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

constexpr int W = 4;
using L = detail::Lanes<W>;

/// The same double up to what IEEE leaves open: a NaN's payload, and the sign of a zero from fmin
/// or fmax of +0 and −0 (a SIMD max may pick either).
bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// Expects lane q of `lanes` to hold the bits of `scalar(q)`.
template <class F>
void expect_lanes(const L& lanes, F&& scalar, const char* what) {
  for (int q = 0; q < W; ++q) {
    const double s = scalar(q);
    EXPECT_TRUE(same_value(lanes.v[q], s)) << what << " lane " << q << ": " << lanes.v[q] << " vs " << s;
  }
}
template <class F>
void expect_mask(const detail::LaneMask<W>& m, F&& scalar, const char* what) {
  for (int q = 0; q < W; ++q) EXPECT_EQ(m.m[q], static_cast<bool>(scalar(q))) << what << " lane " << q;
}

/// Values that reach every branch: ordinary ones, equal pairs, zeros of both signs, NaN, ±Inf,
/// ±DBL_MAX (whose differences overflow).
std::vector<double> awkward_values(std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 3.0);
  const double big = std::numeric_limits<double>::max();
  std::vector<double> v = {0.0, -0.0, 1.0, -1.0, big, -big, NAN, INFINITY, -INFINITY, 0.5, 2.0};
  for (int k = 0; k < 21; ++k) v.push_back(normal(rng));
  return v;
}

L lanes_of(const std::vector<double>& v, std::size_t at) {
  L r;
  for (int q = 0; q < W; ++q) r.v[q] = v[(at + static_cast<std::size_t>(q)) % v.size()];
  return r;
}

TEST(SharedDefinitions, MeasuresOnLanesRoundAsOnDoubles) {
  DGEVAL_SEEDED(rng);
  const std::vector<double> v = awkward_values(rng);
  for (std::size_t a = 0; a < v.size(); ++a) {
    for (std::size_t b = 0; b < v.size(); b += 3) {
      const L x = lanes_of(v, a), y = lanes_of(v, b), z = lanes_of(v, a + b + 1), w = lanes_of(v, 2 * a + b);
      for (double ic : {0.0, 0.25, 0.5, 0.999, 1.0}) {
        const L t = detail::ic_threshold(x, y, ic);
        expect_lanes(
            t, [&](int q) { return detail::ic_threshold(x.v[q], y.v[q], ic); }, "ic_threshold");
        expect_mask(
            detail::meets_ic(z, x, y, ic, 1e-10),
            [&](int q) { return detail::meets_ic(z.v[q], x.v[q], y.v[q], ic, 1e-10); }, "meets_ic");
      }
      for (CcWindow cw : {CcWindow::code, CcWindow::natural}) {
        expect_lanes(
            detail::cc_of(x, y, z, w, cw), [&](int q) { return detail::cc_of(x.v[q], y.v[q], z.v[q], w.v[q], cw); },
            "cc_of");
        L lo, hi;
        detail::played_window(0.3, x, y, z, cw, &lo, &hi);
        expect_lanes(
            lo,
            [&](int q) {
              double l, h;
              detail::played_window(0.3, x.v[q], y.v[q], z.v[q], cw, &l, &h);
              return l;
            },
            "played lo");
        expect_lanes(
            hi,
            [&](int q) {
              double l, h;
              detail::played_window(0.3, x.v[q], y.v[q], z.v[q], cw, &l, &h);
              return h;
            },
            "played hi");
      }
      for (Welfare wf : {Welfare::average, Welfare::sum}) {
        expect_lanes(
            detail::welfare_of(x, 3, wf), [&](int q) { return detail::welfare_of(x.v[q], 3, wf); }, "welfare_of");
      }
      expect_lanes(
          detail::calibration_ratio_of(x, y), [&](int q) { return detail::calibration_ratio_of(x.v[q], y.v[q]); },
          "calibration_ratio_of");
      expect_lanes(
          detail::ia_from_distance(x), [&](int q) { return detail::ia_from_distance(x.v[q]); }, "ia_from_distance");
      expect_lanes(
          detail::ca_from_sums(x, y), [&](int q) { return detail::ca_from_sums(x.v[q], y.v[q]); }, "ca_from_sums");
      expect_mask(
          detail::ca_out_of_range(x, y), [&](int q) { return detail::ca_out_of_range(x.v[q], y.v[q]); },
          "ca_out_of_range");
      expect_lanes(
          detail::bound_tolerance(x, y), [&](int q) { return detail::bound_tolerance(x.v[q], y.v[q]); },
          "bound_tolerance");
      expect_lanes(
          detail::inverse_magnitude_of(x), [&](int q) { return detail::inverse_magnitude_of(x.v[q]); },
          "inverse_magnitude_of");
      expect_lanes(
          detail::standardised_by_inverse(x, y, z),
          [&](int q) { return detail::standardised_by_inverse(x.v[q], y.v[q], z.v[q]); }, "standardised");
      for (Standardisation s : {Standardisation::epic, Standardisation::max, Standardisation::max_range}) {
        detail::visit_standardisation(s, [&](auto op) {
          using Op = decltype(op);
          using Norm = typename Op::Norm;
          expect_lanes(
              Op::shift(x, 7.0, y, z), [&](int q) { return Op::shift(x.v[q], 7.0, y.v[q], z.v[q]); }, "shift");
          expect_lanes(
              Op::magnitude(x, y, z), [&](int q) { return Op::magnitude(x.v[q], y.v[q], z.v[q]); }, "magnitude");
          expect_lanes(
              Norm::accumulate(x, y), [&](int q) { return Norm::accumulate(x.v[q], y.v[q]); }, "accumulate");
          expect_lanes(
              Norm::combine(x, y), [&](int q) { return Norm::combine(x.v[q], y.v[q]); }, "combine");
          expect_lanes(
              Norm::finish(x), [&](int q) { return Norm::finish(x.v[q]); }, "finish");
          return 0;
        });
      }
    }
  }
}

/// Per-player bound terms as lanes (games side by side), or lane q of them.
struct LanesOf {
  const std::vector<L>* m;
  const std::vector<L>* mh;
  const std::vector<L>* iav;
  const std::vector<L>* at;
  const std::vector<L>* ex;
  L m_at(const std::vector<L>* v, int i) const { return (*v)[static_cast<std::size_t>(i)]; }
  L m_fn(int i) const { return m_at(m, i); }
  L mh_fn(int i) const { return m_at(mh, i); }
  L ia_fn(int i) const { return m_at(iav, i); }
  L at_fn(int i) const { return m_at(at, i); }
  L ex_fn(int i) const { return m_at(ex, i); }
};
struct TermsL {
  LanesOf d;
  L m(int i) const { return d.m_fn(i); }
  L m_hat(int i) const { return d.mh_fn(i); }
  L ia(int i) const { return d.ia_fn(i); }
  L at_best(int i) const { return d.at_fn(i); }
  L expected(int i) const { return d.ex_fn(i); }
};
struct TermsOne {
  LanesOf d;
  int q;
  double m(int i) const { return d.m_fn(i).v[q]; }
  double m_hat(int i) const { return d.mh_fn(i).v[q]; }
  double ia(int i) const { return d.ia_fn(i).v[q]; }
  double at_best(int i) const { return d.at_fn(i).v[q]; }
  double expected(int i) const { return d.ex_fn(i).v[q]; }
};

// detail::divide (the device's welfare without a division per outcome) gives the bits of x / d
// for every player count, on random values of every scale and on the awkward ones.
TEST(SharedDefinitions, DivisionByReciprocalIsTheDivision) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> exponent(-1074, 1023);
  const std::vector<double> awkward = testing::awkward_doubles();
  for (int n = 1; n <= kMaxPlayers; ++n) {
    const detail::Divisor d = detail::divisor_of(static_cast<double>(n));
    auto check = [&](double x) {
      const double want = x / static_cast<double>(n), got = detail::divide(x, d);
      ASSERT_EQ(std::memcmp(&want, &got, sizeof want), 0)
          << std::hexfloat << x << " / " << n << ": " << got << " vs " << want;
    };
    for (double x : awkward) check(x);
    check(std::numeric_limits<double>::quiet_NaN());
    for (int q = 0; q < 200000; ++q) check(std::ldexp(unit(rng), q % 4 == 0 ? exponent(rng) : q % 64 - 32));
    // Sums of a few utilities, as welfare_at makes them.
    for (int q = 0; q < 50000; ++q) check(unit(rng) + unit(rng) + unit(rng));
    for (Welfare w : {Welfare::average, Welfare::sum}) {
      const detail::WelfareScale scale = detail::welfare_scale(n, w);
      for (int q = 0; q < 1000; ++q) {
        const double x = unit(rng) * 1e3, want = detail::welfare_of(x, n, w), got = detail::welfare_of(x, scale);
        ASSERT_EQ(std::memcmp(&want, &got, sizeof want), 0);
      }
    }
  }
}

// detail::div_rn_from (the device's division in the teams' bounds, with no call: div_rn) gives
// the bits of a / b for every seed within the error it allows (2^-11): the float32 reciprocal the
// device takes, and that reciprocal off by up to 2^-12 either way. Every class of operand: zeros,
// infinities, NaN, subnormals, quotients that overflow, that are subnormal (ties on the subnormal
// grid included) or underflow to zero, exact quotients and ties, and random bit patterns.
TEST(SharedDefinitions, DivisionWithoutDivideIsTheDivision) {
  DGEVAL_SEEDED(rng);  // fresh operands each run: a mismatch is a bug of div_rn_from, never chance
  const testing::DivisionOperands o = testing::division_operands(rng, 100000);
  ASSERT_GT(o.a.size(), 600000u);
  for (const double error : {0.0, 0x1p-12, -0x1p-12, 0x1p-13}) {
    const auto reciprocal = [error](double m) {
      return static_cast<double>(1.0f / static_cast<float>(m)) * (1.0 + error);
    };
    for (std::size_t i = 0; i < o.a.size(); ++i) {
      const double a = o.a[i], b = o.b[i], want = a / b, got = detail::div_rn_from(a, b, reciprocal);
      ASSERT_TRUE(testing::same_quotient(want, got))
          << std::hexfloat << a << " / " << b << ": " << got << " vs " << want << " (error " << error << ")";
    }
  }
}

TEST(SharedDefinitions, BoundsAndAlignmentOnLanesAndFixedPlayerCounts) {
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 2.0);
  constexpr int n = 3;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<L> m(n), mh(n), ia(n), at(n), ex(n), nu(n);
    for (int i = 0; i < n; ++i) {
      for (int q = 0; q < W; ++q) {
        m[i].v[q] = unit(rng) < 0.2 ? 0.0 : 3.0 * unit(rng);  // zero magnitudes too
        mh[i].v[q] = unit(rng) < 0.2 ? 0.0 : 3.0 * unit(rng);
        ia[i].v[q] = unit(rng);
        at[i].v[q] = normal(rng);
        ex[i].v[q] = unit(rng) < 0.1 ? NAN : normal(rng);  // an undefined strategy
        nu[i].v[q] = normal(rng);
      }
    }
    detail::BoundScalarsOf<L> in;
    detail::BoundScalarsOf<double> one[W];
    in.players = n;
    in.welfare = trial % 2 ? Welfare::sum : Welfare::average;
    in.constants = detail::standardisation_constants(trial % 3 == 0 ? Standardisation::epic : Standardisation::max);
    in.cc_target = unit(rng);
    for (L* x :
         {&in.w_star, &in.w_zero, &in.w_eps, &in.w_utopia, &in.w_dystopia, &in.agents_regret, &in.principals_regret,
          &in.principals_utopia, &in.principals_dystopia, &in.principals_max, &in.ca_principals}) {
      for (int q = 0; q < W; ++q) x->v[q] = normal(rng);
    }
    for (int q = 0; q < W; ++q) {
      one[q].players = in.players;
      one[q].welfare = in.welfare;
      one[q].constants = in.constants;
      one[q].cc_target = in.cc_target;
      one[q].w_star = in.w_star.v[q], one[q].w_zero = in.w_zero.v[q], one[q].w_eps = in.w_eps.v[q];
      one[q].w_utopia = in.w_utopia.v[q], one[q].w_dystopia = in.w_dystopia.v[q];
      one[q].agents_regret = in.agents_regret.v[q], one[q].principals_regret = in.principals_regret.v[q];
      one[q].principals_utopia = in.principals_utopia.v[q], one[q].principals_dystopia = in.principals_dystopia.v[q];
      one[q].principals_max = in.principals_max.v[q], one[q].ca_principals = in.ca_principals.v[q];
    }
    const LanesOf d{&m, &mh, &ia, &at, &ex};
    const detail::BoundOutputsOf<L> b = detail::compute_bounds(in, n, TermsL{d});
    for (int q = 0; q < W; ++q) {
      const detail::BoundOutputs s = detail::compute_bounds(one[q], n, TermsOne{d, q});
      const detail::BoundOutputs f = detail::compute_bounds(one[q], detail::Players<n>{}, TermsOne{d, q});
      for (const detail::BoundOutputs* r : {&s, &f}) {
        EXPECT_TRUE(same_value(b.bound.v[q], r->bound)) << q;
        EXPECT_TRUE(same_value(b.bound_r.v[q], r->bound_r)) << q;
        EXPECT_TRUE(same_value(b.ideal_gap_bound.v[q], r->ideal_gap_bound)) << q;
        EXPECT_TRUE(same_value(b.r3.v[q], r->r3)) << q;
        EXPECT_TRUE(same_value(b.r4.v[q], r->r4)) << q;
        EXPECT_TRUE(same_value(b.r6.v[q], r->r6)) << q;
        EXPECT_EQ(b.holds.m[q], r->holds) << q;
        EXPECT_EQ(b.ideal_gap_holds.m[q], r->ideal_gap_holds) << q;
      }
    }
    // CA's weight, mean and value; utopia points.
    std::vector<double> mq(n);
    for (int q = 0; q < W; ++q) {
      for (int i = 0; i < n; ++i) mq[i] = m[i].v[q];
      const double inv = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mq.data()));
      const L mean = detail::ca_mean<L>(
          n, mq.data(), [&](int i) { return nu[i]; }, inv);
      const double scalar = detail::ca_mean<double>(
          n, mq.data(), [&](int i) { return nu[i].v[q]; }, inv);
      EXPECT_TRUE(same_value(mean.v[q], scalar));
      EXPECT_TRUE(same_value(scalar, detail::ca_mean<double>(
                                         detail::Players<n>{}, mq.data(), [&](int i) { return nu[i].v[q]; }, inv)));
      const auto norm = [&](int i) { return std::fabs(nu[i].v[q]); };
      EXPECT_TRUE(same_value(detail::collective_alignment<double>(n, mq.data(), norm),
                             detail::collective_alignment<double>(detail::Players<n>{}, mq.data(), norm)));
    }
    const std::vector<L> lo = {m[0], m[1], m[2], mh[0], mh[1], mh[2]}, hi = {at[0], at[1], at[2], nu[0], nu[1], nu[2]};
    const detail::UtopiaPointsOf<L> u = detail::utopia_points<L>(lo, hi, n, in.welfare);
    for (int q = 0; q < W; ++q) {
      double l[2 * n], h[2 * n];
      for (int v = 0; v < 2 * n; ++v) l[v] = lo[v].v[q], h[v] = hi[v].v[q];
      const detail::UtopiaPoints s = detail::utopia_points(l, h, n, in.welfare);
      EXPECT_TRUE(same_value(u.agents_utopia.v[q], s.agents_utopia));
      EXPECT_TRUE(same_value(u.principals_dystopia.v[q], s.principals_dystopia));
    }
  }
}

// DGEVAL_STANDARDISATIONS is the one list: names, parsing, the op structs and the run-time norm
// agree for every entry.
TEST(SharedDefinitions, EveryStandardisationFromTheOneList) {
  int count = 0;
#define DGEVAL_CHECK_STANDARDISATION(e, name, op, desc)                                                 \
  {                                                                                                     \
    ++count;                                                                                            \
    EXPECT_STREQ(to_string(Standardisation::e), name);                                                  \
    EXPECT_EQ(parse_standardisation(name), Standardisation::e);                                         \
    const detail::StandardisationConstants k = detail::standardisation_constants(Standardisation::e);   \
    EXPECT_EQ(k.z, op::constants().z);                                                                  \
    EXPECT_EQ(k.K_m, op::constants().K_m);                                                              \
    EXPECT_EQ(detail::needs_centred_squares(Standardisation::e), op::centred_squares);                  \
    const detail::AnyNorm any{Standardisation::e};                                                      \
    for (double a : {0.0, 0.5, 2.0}) {                                                                  \
      for (double d : {-1.5, 0.0, 0.25}) {                                                              \
        EXPECT_EQ(any.accumulate(a, d), op::Norm::accumulate(a, d));                                    \
        EXPECT_EQ(any.combine(a, d), op::Norm::combine(a, d));                                          \
      }                                                                                                 \
      EXPECT_EQ(any.finish(a), op::Norm::finish(a));                                                    \
    }                                                                                                   \
    EXPECT_EQ(detail::shift_of(Standardisation::e, 3.0, 4, -1.0, 2.0), op::shift(3.0, 4.0, -1.0, 2.0)); \
    EXPECT_EQ(detail::magnitude_of(Standardisation::e, 9.0, -1.0, 2.0), op::magnitude(9.0, -1.0, 2.0)); \
    EXPECT_EQ(op::magnitude(9.0, 2.0, 2.0), 0.0) << "a constant vector has magnitude 0";                \
    EXPECT_EQ(op::shift(8.0, 4.0, 2.0, 2.0), 2.0) << "and its value as shift";                          \
  }
  DGEVAL_STANDARDISATIONS(DGEVAL_CHECK_STANDARDISATION)
#undef DGEVAL_CHECK_STANDARDISATION
  EXPECT_EQ(count, 3);
  EXPECT_EQ(parse_standardisation("max_range"), Standardisation::max_range);
  try {
    parse_standardisation("l3");
    FAIL() << "unknown name accepted";
  } catch (const error& e) {
    EXPECT_STREQ(e.what(), "unknown standardisation \"l3\"; expected one of: epic, max, max-range");
  }
}

// The one message for a non-finite utility: the CPU backend's error, find_nonfinite (the CLI's
// check before evaluating) and nonfinite_utility_message say the same.
TEST(SharedDefinitions, OneMessageForNonFiniteInput) {
  Batch b(Dims({2, 3}), 4);
  const std::int64_t per = b.view().values_per_game();
  b.principals[static_cast<std::size_t>(2 * per + 1 * 6 + 4)] = INFINITY;  // game 2, principal 1, outcome (1,1)
  const std::string m = nonfinite_utility_message(b.view(), 2);
  EXPECT_EQ(m,
            "game 2, principal 1, outcome (1,1): utility is inf; utilities must be finite (allow_nonfinite, "
            "--allow-nonfinite, propagates NaN instead)");
  EXPECT_EQ(nonfinite_game_message(b.view(), 2), m);
  EXPECT_EQ(nonfinite_utility_message(b.view(), 1), "");
  EXPECT_EQ(find_nonfinite(b.view(), 0), m);
  EXPECT_EQ(find_nonfinite(b.view(), 10), nonfinite_utility_message(b.view(), 2, 10));
  try {
    evaluate(b.view(), Options{}, 1);
    FAIL() << "non-finite input accepted";
  } catch (const error& e) {
    EXPECT_EQ(std::string(e.what()), m);
  }
  // Finite utilities whose sum overflows: the same function names the cause.
  Batch big(Dims({2, 2}), 1);
  for (double& x : big.agents) x = std::numeric_limits<double>::max();
  EXPECT_EQ(nonfinite_utility_message(big.view(), 0), "");
  EXPECT_EQ(nonfinite_game_message(big.view(), 0),
            "game 0: utilities are finite but their sum overflows float64; rescale the game");
  try {
    evaluate(big.view(), Options{}, 1);
    FAIL() << "overflowing input accepted";
  } catch (const error& e) {
    EXPECT_EQ(std::string(e.what()), nonfinite_game_message(big.view(), 0));
  }
}

// compare_results: the scale floor is the game's welfare size whatever columns were kept, values
// beyond tolerance are counted and reported, and games can be matched through an index.
TEST(SharedDefinitions, ComparisonOfTwoEvaluations) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({3, 4}), 12, rng, 0);
  for (Welfare wf : {Welfare::average, Welfare::sum}) {
    Options o;
    o.welfare = wf;
    o.list_equilibria = true;
    o.distance_matrix = true;
    const Results r = evaluate(b.view(), o, 1);
    for (std::int64_t g = 0; g < r.games; ++g) {
      const double want =
          std::max({1.0, std::fabs(r.welfare_agents_utopia[g]), std::fabs(r.welfare_agents_dystopia[g]),
                    std::fabs(r.welfare_principals_utopia[g]), std::fabs(r.welfare_principals_dystopia[g])});
      EXPECT_EQ(comparison_scale(b.view(), g, wf), want) << g;
    }
    Comparison c = compare_results(r, r, b.view(), o, 0.0);
    EXPECT_EQ(c.beyond(), 0);
    EXPECT_TRUE(c.mismatches.empty());
    std::int64_t compared = 0;
    for (const ColumnComparison& col : c.columns) compared += col.compared;
    EXPECT_GT(compared, 0);

    Results other = r;
    const double s3 = comparison_scale(b.view(), 3, wf);
    // (columns that are finite in every game)
    other.welfare_agents_max[3] += 0.5e-9 * std::max(std::fabs(r.welfare_agents_max[3]), s3);             // within
    other.ideal_gap[5] += 4e-9 * std::max(std::fabs(r.ideal_gap[5]), comparison_scale(b.view(), 5, wf));  // beyond
    other.eps_ne_count[7] += 1;
    other.distance_matrix[9 * 16 + 2] += 1e-3;
    c = compare_results(r, other, b.view(), o, tolerances::float64_relative);
    EXPECT_EQ(c.beyond(), 3);
    ASSERT_EQ(c.mismatches.size(), 3u);
    EXPECT_EQ(c.mismatches[0].column, "eps_ne_count");
    EXPECT_EQ(c.mismatches[0].game, 7);
    EXPECT_EQ(c.mismatches[1].column, "ideal_gap");
    EXPECT_EQ(c.mismatches[1].game, 5);
    EXPECT_EQ(c.mismatches[2].column, "distance_matrix");
    EXPECT_EQ(c.mismatches[2].entry, 2);
    EXPECT_EQ(compare_results(r, other, b.view(), o, tolerances::float64_relative, nullptr, 1).mismatches.size(), 1u);

    // A column kept by one result only is not compared; the reference's game j against game index[j].
    Results lean = r;
    lean.keep_columns(parse_columns("ia,bound"));
    c = compare_results(r, lean, b.view(), o, 0.0);
    for (const ColumnComparison& col : c.columns) {
      const bool kept = col.column == "ia" || col.column == "bound" || col.column == "flags" ||
                        col.column == "distance_matrix" || col.column == "pure_ne";
      EXPECT_EQ(col.compared > 0, kept) << col.column;
    }
    const Batch two = copy_games(b.view(), 4, 2);
    const Results r2 = evaluate(two.view(), o, 1);
    const std::int64_t index[2] = {4, 5};
    EXPECT_EQ(compare_results(r2, r, two.view(), o, 0.0, index).beyond(), 0);
    const std::int64_t wrong[2] = {5, 4};
    EXPECT_GT(compare_results(r2, r, two.view(), o, 0.0, wrong).beyond(), 0);
  }
}

// bound_r is the argmin of R2 over {0} ∪ {r_i}: another candidate is as right where it attains the
// same minimum (bound_r6, the uncapped minimum plus R5, agrees), and wrong otherwise.
TEST(SharedDefinitions, ComparisonAcceptsAnotherArgminOfTheSameMinimum) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({3, 4}), 12, rng, 0);
  const Options o;
  const Results r = evaluate(b.view(), o, 1);
  const int n = r.players;
  std::int64_t g = -1;
  int player = -1;
  for (std::int64_t j = 0; j < r.games && g < 0; ++j) {
    for (int i = 0; i < n; ++i) {
      const double ri = r.calibration_ratio[static_cast<std::size_t>(j * n + i)];
      if (std::isfinite(ri) && std::fabs(ri - r.bound_r[static_cast<std::size_t>(j)]) > 1e-3) {
        g = j;
        player = i;
        break;
      }
    }
  }
  ASSERT_GE(g, 0) << "no game whose minimising R differs from a ratio (12 random games)";
  const auto at = static_cast<std::size_t>(g);
  Results other = r;
  other.bound_r[at] = r.calibration_ratio[static_cast<std::size_t>(g * n + player)];  // another candidate
  EXPECT_EQ(compare_results(r, other, b.view(), o, tolerances::float64_relative).beyond(), 0);
  // Not a candidate: 1 above every candidate and above bound_r, so no tolerance can match it. (The
  // value once used, (bound_r + 0.25)/2, came within 1e-9 of a ratio r_j, and was accepted, with
  // probability 2e-10 per run, measured as the density at 0 of that distance over 2·10^5 runs.)
  double beyond_candidates = r.bound_r[at];
  for (int i = 0; i < n; ++i) {
    const double ri = r.calibration_ratio[static_cast<std::size_t>(g * n + i)];
    if (std::isfinite(ri)) beyond_candidates = std::max(beyond_candidates, ri);
  }
  other.bound_r[at] = beyond_candidates + 1.0;
  Comparison c = compare_results(r, other, b.view(), o, tolerances::float64_relative);
  ASSERT_EQ(c.beyond(), 1);
  EXPECT_EQ(c.mismatches[0].column, "bound_r");
  other.bound_r[at] = r.calibration_ratio[static_cast<std::size_t>(g * n + player)];
  other.bound_r6[at] += 1e-3 * std::max(1.0, std::fabs(r.bound_r6[at]));  // a larger minimum
  c = compare_results(r, other, b.view(), o, tolerances::float64_relative);
  EXPECT_EQ(c.beyond(), 2);  // bound_r and bound_r6
}

}  // namespace
}  // namespace dgeval
