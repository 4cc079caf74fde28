// Per-element and per-game math shared by the CPU reference and the CUDA backend
// (docs/MATH.md). Only the loops differ between backends; every rule that decides a result — the
// zero-magnitude convention, the ε-Nash predicate and its rounding, the welfare scale, the
// distances, IA and CA finishing, and the bound formulas — is defined once, here and in the
// headers it includes (values.hpp: the arithmetic; standardisation.hpp: shifts, magnitudes and
// norms; alignment.hpp: IA and CA; arg_ext.hpp: extrema). The per-game finishing step that
// puts them together is detail/finish.hpp.
//
// Functions are templates over the value type V (a double, or a batch of doubles: see
// values.hpp); branches on values are select()s. Per-game settings (welfare, window, IC levels)
// stay plain scalars.
#pragma once

#include <math.h>

#include <cmath>
#include <cstdint>

#include "dgeval/detail/alignment.hpp"
#include "dgeval/detail/arg_ext.hpp"
#include "dgeval/detail/division.hpp"
#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/standardisation.hpp"
#include "dgeval/detail/values.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace detail {

/// Welfare from the sum of the players' utilities at one outcome (or in expectation):
/// average divides by n, sum returns it. Both backends sum players in order 0..n−1 in
/// float64 and then call this, so welfare ties break identically.
template <class V>
DGEVAL_HD V welfare_of(V utility_sum, int players, Welfare w) {
  return w == Welfare::average ? utility_sum / static_cast<double>(players) : utility_sum;
}

/// Welfare of one side at outcome s: the utilities at(first_vector + i, s) summed over the players
/// in order 0..n−1, then welfare_of. (The CPU backend's pass over all outcomes makes the same sums
/// a block of outcomes at a time.)
template <class V, class P, class At>
DGEVAL_HD V welfare_at(P players, Welfare w, const At& at, int first_vector, std::int64_t s) {
  V a = V(0.0);
  for (int i = 0; i < players_of(players); ++i) a = a + at(first_vector + i, s);
  return welfare_of(a, players_of(players), w);
}

/// A divisor used for many quotients (the player count of average welfare): d and r = 1/d.
struct Divisor {
  double d, r;
};
DGEVAL_HD Divisor divisor_of(double d) { return Divisor{d, 1.0 / d}; }

/// x / d, correctly rounded (the same bits as the division), without a division: q = x·r, then two
/// corrections q + fma(−q, d, x)·r, the residual of each exact. After the first, q is within one
/// ulp of x / d; the second then rounds correctly (Markstein's theorem: r is 1/d correctly rounded,
/// the residual exact). Zero, huge, tiny (where a residual could underflow), infinite and NaN
/// numerators take the division itself. Device loops over outcomes call it with a Divisor made once
/// per game (tests/test_shared_definitions.cpp checks it against x / d for every player count).
DGEVAL_HD double divide(double x, const Divisor& q) {
  const double a = vabs(x);
  if (!(a >= 0x1p-900 && a <= 0x1p1000)) return x / q.d;
  double y = x * q.r;
  y = vfma(vfma(-y, q.d, x), q.r, y);
  return vfma(vfma(-y, q.d, x), q.r, y);
}

/// The scale of a game's welfare made once per game: welfare_of(sum, scale) is welfare_of(sum, n, w)
/// bit for bit, with divide() in place of the division (for loops over outcomes on the device).
struct WelfareScale {
  bool average;
  Divisor n;
};
DGEVAL_HD WelfareScale welfare_scale(int players, Welfare w) {
  return WelfareScale{w == Welfare::average, divisor_of(static_cast<double>(players))};
}
DGEVAL_HD double welfare_of(double utility_sum, const WelfareScale& scale) {
  return scale.average ? divide(utility_sum, scale.n) : utility_sum;
}
/// welfare_at with the game's WelfareScale (the same players' sum, the same bits).
template <class P, class At>
DGEVAL_HD double welfare_at(P players, const WelfareScale& scale, const At& at, int first_vector, std::int64_t s) {
  double a = 0.0;
  for (int i = 0; i < players_of(players); ++i) a = a + at(first_vector + i, s);
  return welfare_of(a, scale);
}

/// 1/n for average welfare, 1 for sum: the factor in front of the per-player terms of §5.
DGEVAL_HD double welfare_factor(int players, Welfare w) {
  return w == Welfare::average ? 1.0 / static_cast<double>(players) : 1.0;
}

/// Threshold of the range-normalised ε-Nash test of docs/MATH.md §1.4 for one context s_{-i} whose
/// fiber has minimum lo and maximum hi, anchored at the best reply: hi − (1 − IC)·(hi − lo).
/// - IC = 1 gives exactly hi, so the IC = 1 set with tolerance 0 is exactly the pure Nash set,
///   for any payoff range (the authors' form lo + IC·(hi − lo) is not hi in floating point
///   when |lo| ≫ |hi|). IC = 0 gives exactly lo: every outcome passes.
/// - Otherwise one fused multiply-add on both backends, so g++ and nvcc round it identically.
/// - If hi − lo overflows to infinity (payoffs beyond ±DBL_MAX/2 of opposite signs), the
///   threshold is computed from the halved payoffs, which is exact in scale: the result is
///   finite and lies in [lo, hi]. NaN payoffs give a NaN threshold (no outcome passes).
template <class V>
DGEVAL_HD V ic_threshold(V lo, V hi, double ic) {
  if (ic >= 1.0) return hi;
  if (ic <= 0.0) return lo;
  const double eps = 1.0 - ic;
  const V span = hi - lo;
  const Mask<V> finite_span = span <= 1.7976931348623157e308;
  if (all(finite_span)) return vfma(-eps, span, hi);
  const V half_hi = 0.5 * hi;
  return select(finite_span, vfma(-eps, span, hi), 2.0 * vfma(-eps, half_hi - 0.5 * lo, half_hi));
}

/// The ε-Nash test of one utility u against its context's threshold: u + tol ≥ threshold.
template <class V>
DGEVAL_HD Mask<V> meets_threshold(V u, V threshold, double tolerance) {
  return u + tolerance >= threshold;
}

/// Range-normalised ε-Nash test for one player at one outcome (docs/MATH.md §1.4):
/// u + tol ≥ hi − (1 − IC)·(hi − lo). IC = 1 gives the Nash test. A loop over one context may
/// compute ic_threshold once and call meets_threshold per outcome: the same test.
template <class V>
DGEVAL_HD Mask<V> meets_ic(V u, V lo, V hi, double ic, double tolerance) {
  return meets_threshold(u, ic_threshold(lo, hi, ic), tolerance);
}

/// The ε-Nash mask of a player's utility u at one outcome, from its context's thresholds
/// t_ne = ic_threshold(lo, hi, 1) and t_eps = ic_threshold(lo, hi, IC_i): bit 0 the Nash test,
/// bit 1 the ε-Nash test. An outcome's mask is the AND over the players.
DGEVAL_HD unsigned ne_bits(double u, double t_ne, double t_eps, double tolerance) {
  return (meets_threshold(u, t_ne, tolerance) ? 1u : 0u) | (meets_threshold(u, t_eps, tolerance) ? 2u : 0u);
}

/// Collective capability of a strategy of welfare w_sigma (docs/MATH.md §4.4; NaN if undefined).
template <class V>
DGEVAL_HD V cc_of(V w_sigma, V w_star, V w_zero, V w_eps, CcWindow window) {
  const V span = window == CcWindow::code ? w_star - w_zero : w_star - w_eps;
  return select(span != 0.0, (w_sigma - w_eps) / span, V(NAN));
}

/// Played-set window [lo, hi] of docs/MATH.md §4.4 (code) or §11.3 (natural). The membership test
/// compares welfare values with these bounds, so they are computed without contraction.
template <class V>
DGEVAL_HD void played_window(double cc, V w_star, V w_zero, V w_eps, CcWindow window, V* lo, V* hi) {
  if (window == CcWindow::code) {
    *lo = w_eps + mul_rn(cc, w_star - w_zero);
    *hi = w_eps + (w_star - w_zero);
  } else {
    *lo = w_eps + mul_rn(cc, w_star - w_eps);
    *hi = w_star;
  }
}

/// w⁺, w⁻, ŵ⁺, ŵ⁻ (docs/MATH.md §2): the welfare of every agent's (principal's) own maximum and minimum,
/// from the per-vector extrema lo, hi [2n] (agents 0..n−1, then principals).
template <class V>
struct UtopiaPointsOf {
  V agents_utopia, agents_dystopia, principals_utopia, principals_dystopia;
};
using UtopiaPoints = UtopiaPointsOf<double>;
template <class V, class P, class Lo, class Hi>
DGEVAL_HD UtopiaPointsOf<V> utopia_points(const Lo& lo, const Hi& hi, P players, Welfare w) {
  const int n = players_of(players);
  V u_max = V(0.0), u_min = V(0.0), uh_max = V(0.0), uh_min = V(0.0);
  for (int i = 0; i < players_of(players); ++i) {
    u_max = u_max + hi[i];
    u_min = u_min + lo[i];
    uh_max = uh_max + hi[n + i];
    uh_min = uh_min + lo[n + i];
  }
  return {welfare_of(u_max, n, w), welfare_of(u_min, n, w), welfare_of(uh_max, n, w), welfare_of(uh_min, n, w)};
}
DGEVAL_HD UtopiaPoints utopia_points(const double* lo, const double* hi, int n, Welfare w) {
  return utopia_points<double>(lo, hi, n, w);
}

/// Whether a computed CA lies outside [0, 1] beyond rounding (possible under MAX, docs/MATH.md §4.2).
template <class V>
DGEVAL_HD Mask<V> ca_out_of_range(V ca_agents, V ca_principals) {
  constexpr double kSlack = 1e-12;
  return (ca_agents < -kSlack) | (ca_agents > 1 + kSlack) | (ca_principals < -kSlack) | (ca_principals > 1 + kSlack);
}

/// Calibration ratio r_i = m̂_i / m_i; NaN when the agent's magnitude is 0 (docs/MATH.md §3.5).
template <class V>
DGEVAL_HD V calibration_ratio_of(V m_hat, V m) {
  return select(m > 0.0, m_hat / m, V(NAN));
}

/// A player count known at run time, for a finishing step whose bounds divide with div_rn: inline,
/// with no call on the device. The division's subroutine needs registers of its own at each of
/// its sites, and the bounds are where the finishing step holds the most; the quad, warp and block
/// teams' kernels count their players so (docs/PERFORMANCE.md, "Tiny games"). Where a kernel's
/// registers are bound elsewhere the division's smaller code serves better: an int, or Players<N>.
struct PlayersDividingInline {
  int n;
};
DGEVAL_HD int players_of(PlayersDividingInline p) { return p.n; }

/// m̂_i / m_i where the bounds divide (each candidate R, each term of C(R)): the same bits whichever
/// way `players` asks for (PlayersDividingInline).
template <class V, class P>
DGEVAL_HD V magnitude_ratio(P, V m_hat, V m) {
  return m_hat / m;
}
template <class V>
DGEVAL_HD V magnitude_ratio(PlayersDividingInline, V m_hat, V m) {
  return div_rn(m_hat, m);
}

// ---------------------------------------------------------------------------------------------
// Bounds (docs/MATH.md §5).

/// Per-game quantities the bounds need, besides the per-player terms.
template <class V>
struct BoundScalarsOf {
  int players;
  Welfare welfare;
  StandardisationConstants constants;
  double cc_target;  ///< the CC level of the options (R3 uses the target, as the code does)
  V w_star, w_zero, w_eps;
  V w_utopia, w_dystopia;                    ///< w⁺, w⁻
  V agents_regret, principals_regret;        ///< WR(σ), PWR(σ)
  V principals_utopia, principals_dystopia;  ///< ŵ⁺, ŵ⁻ (tolerance scale)
  V principals_max;                          ///< ŵ* (the ideal gap ŵ⁺ − ŵ* checked against R5)
  V ca_principals;
};

/// The bound scalars of one game from what the finishing step has made (docs/MATH.md §5): the one
/// assembly of BoundScalarsOf, for the finishing step (detail/finish.hpp) and the CPU backend's
/// small-games path (V a batch of games, one per lane).
template <class V>
DGEVAL_HD BoundScalarsOf<V> bound_scalars(int players, Welfare welfare, const StandardisationConstants& constants,
                                          double cc_target, V w_star, V w_zero, V w_eps, const UtopiaPointsOf<V>& up,
                                          V agents_regret, V principals_regret, V principals_max, V ca_principals) {
  BoundScalarsOf<V> in;
  in.players = players;
  in.welfare = welfare;
  in.constants = constants;
  in.cc_target = cc_target;
  in.w_star = w_star;
  in.w_zero = w_zero;
  in.w_eps = w_eps;
  in.w_utopia = up.agents_utopia;
  in.w_dystopia = up.agents_dystopia;
  in.agents_regret = agents_regret;
  in.principals_regret = principals_regret;
  in.principals_utopia = up.principals_utopia;
  in.principals_dystopia = up.principals_dystopia;
  in.principals_max = principals_max;
  in.ca_principals = ca_principals;
  return in;
}

/// The per-player terms the bounds read, as arrays of `players` entries. Any type with the same
/// five member functions serves (the finishing step reads u_i(ŝ*) and ū_i where they are).
struct BoundPlayerArrays {
  const double* magnitude_agents;                  ///< m_i
  const double* magnitude_principals;              ///< m̂_i
  const double* ia_values;                         ///< IA_i
  const double* agents_at_best_principal_outcome;  ///< u_i(ŝ*)
  const double* agents_expected;                   ///< ū_i = E_σ u_i
  DGEVAL_HD double m(int i) const { return magnitude_agents[i]; }
  DGEVAL_HD double m_hat(int i) const { return magnitude_principals[i]; }
  DGEVAL_HD double ia(int i) const { return ia_values[i]; }
  DGEVAL_HD double at_best(int i) const { return agents_at_best_principal_outcome[i]; }
  DGEVAL_HD double expected(int i) const { return agents_expected[i]; }
};

/// Everything for the bounds of one game as arrays (tests and callers that hold arrays).
struct BoundInputs : BoundScalarsOf<double> {
  const double* magnitude_agents;
  const double* magnitude_principals;
  const double* ia;
  const double* agents_at_best_principal_outcome;
  const double* agents_expected;
  DGEVAL_HD BoundPlayerArrays terms() const {
    return {magnitude_agents, magnitude_principals, ia, agents_at_best_principal_outcome, agents_expected};
  }
};

template <class V>
struct BoundOutputsOf {
  V bound, bound_r, ideal_gap_bound, r3, r4, r6;
  Mask<V> holds;            ///< PWR(σ) ≤ bound (up to rounding); false when PWR is NaN
  Mask<V> ideal_gap_holds;  ///< ŵ⁺ − ŵ* ≤ R5 (up to rounding); true when either side is NaN
};
using BoundOutputs = BoundOutputsOf<double>;

/// Tolerance for "bound holds": the computed PWR carries rounding of the welfare values'
/// size, so the slack scales with them.
template <class V>
DGEVAL_HD V bound_tolerance(V principals_utopia, V principals_dystopia) {
  return 1e-9 * (1.0 + vmax(vabs(principals_utopia), vabs(principals_dystopia)));
}

/// The bound_holds column: 1 (PWR(σ) ≤ bound) or 0, or NaN (undefined) when the strategy is
/// undefined (flag_strategy_undefined: PWR and the bound are NaN, nothing to check).
DGEVAL_HD double bound_holds_value(bool strategy_defined, bool holds) {
  return strategy_defined ? (holds ? 1.0 : 0.0) : NAN;
}

/// TM = Σ m̂_i(1 − IA_i), players in order (docs/MATH.md §5.2): made once per game, read by R2 at
/// every candidate R and by the misalignment term of R3 and R4.
template <class V, class P, class Terms>
DGEVAL_HD V bound_tm(P players, const Terms& t) {
  V tm = V(0.0);
  for (int i = 0; i < players_of(players); ++i) tm = tm + t.m_hat(i) * (1.0 - t.ia(i));
  return tm;
}

/// R2 (constant form) at gross ratio R with TM given: R·WR + 2zK·f·TM + K_m·f·C(R), with f the
/// welfare factor and C(R) = Σ_{m_i>0} m_i|R − r_i| (docs/MATH.md §5.2, §4.5).
template <class V, class P, class Terms>
DGEVAL_HD V bound_r2_with_tm(const BoundScalarsOf<V>& in, P players, const Terms& t, V R, V tm) {
  const double f = welfare_factor(in.players, in.welfare);
  V c = V(0.0);
  for (int i = 0; i < players_of(players); ++i) {
    const V m = t.m(i), mh = t.m_hat(i);
    c = c + select(m > 0.0, m * vabs(R - magnitude_ratio(players, mh, m)), V(0.0));
  }
  return R * in.agents_regret + 2.0 * in.constants.z * in.constants.K * f * tm + in.constants.K_m * f * c;
}

/// R2 (constant form) at gross ratio R: bound_r2_with_tm with TM = bound_tm.
template <class V, class P, class Terms>
DGEVAL_HD V bound_r2_at(const BoundScalarsOf<V>& in, P players, const Terms& t, V R) {
  return bound_r2_with_tm(in, players, t, R, bound_tm<V>(players, t));
}
DGEVAL_HD double bound_r2_at(const BoundInputs& in, double R) { return bound_r2_at(in, in.players, in.terms(), R); }

/// Every bound of docs/MATH.md §5 for one game. TM is made once (bound_tm) and handed to R2 at each
/// candidate R (the same bits as bound_r2_at, which makes it again): the device's finishing step
/// runs in one thread's registers, and fewer values live across the minimisation spill less.
template <class V, class P, class Terms>
DGEVAL_HD BoundOutputsOf<V> compute_bounds(const BoundScalarsOf<V>& in, P players, const Terms& t) {
  const double f = welfare_factor(in.players, in.welfare);
  const StandardisationConstants& k = in.constants;
  BoundOutputsOf<V> out;
  // The parts of r3, r4 and the tests that do not depend on the minimisation, made first (the same
  // operations in the same order), so that fewer scalars stay live across it (the device's thread
  // path).
  const V r3_head = (1.0 - in.cc_target) * (in.w_star - in.w_zero) + (in.w_zero - in.w_eps);
  const V welfare_span = in.w_utopia - in.w_dystopia;
  const V tol = bound_tolerance(in.principals_utopia, in.principals_dystopia);
  const V ideal_gap = in.principals_utopia - in.principals_max;
  const V tm = bound_tm<V>(players, t);

  // R2 minimised over R ∈ {0} ∪ {r_i} (R7); first minimum in that order.
  V best = bound_r2_with_tm(in, players, t, V(0.0), tm);
  V best_r = V(0.0);
  V sum_m_hat = V(0.0), calib_exact = V(0.0), calib_max = V(0.0);
  for (int i = 0; i < players_of(players); ++i) {
    const V m = t.m(i), mh = t.m_hat(i);
    sum_m_hat = sum_m_hat + mh;
    const Mask<V> positive = m > 0.0;
    if (any(positive)) {
      const V r = magnitude_ratio(players, mh, m);
      const V v = bound_r2_with_tm(in, players, t, r, tm);
      const Mask<V> better = positive & (v < best);
      best = select(better, v, best);
      best_r = select(better, r, best_r);
      calib_exact = select(positive, calib_exact + (r - 1.0) * (t.at_best(i) - t.expected(i)), calib_exact);
      calib_max = select(positive, vmax(calib_max, vabs(r - 1.0)), calib_max);
    }
  }
  const V misalignment = 2.0 * k.z * k.K * f * tm;
  const V cap = k.K_m * f * sum_m_hat;  // R8
  out.bound = select(is_nan(best), V(NAN), vmin(best, cap));
  out.bound_r = select(is_nan(best), V(NAN), best_r);
  out.ideal_gap_bound = k.K * f * (1.0 - in.ca_principals) * sum_m_hat;  // R5
  out.r3 = r3_head + misalignment + f * calib_exact;
  out.r4 = in.agents_regret + misalignment + calib_max * welfare_span;
  out.r6 = out.ideal_gap_bound + best;
  out.holds = in.principals_regret <= out.bound + tol;
  out.ideal_gap_holds = !(ideal_gap > out.ideal_gap_bound + tol);
  return out;
}
DGEVAL_HD BoundOutputs compute_bounds(const BoundInputs& in) { return compute_bounds(in, in.players, in.terms()); }

}  // namespace detail
}  // namespace dgeval
