// Per-element and per-game math shared by the CPU reference and the CUDA backend
// (docs/MATH.md). Only the loops differ between backends; every rule that
// decides a result — the zero-magnitude convention, the ε-Nash predicate and its rounding,
// the welfare scale, the distances, IA and CA finishing, and the bound formulas — is here once.
#pragma once

#include <math.h>

#include <cmath>
#include <cstdint>

#include "dgeval/detail/hd.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace detail {

/// NaN test that does not depend on <cmath> macros (host and device).
DGEVAL_HD bool is_nan(double x) { return x != x; }

/// Constants of docs/MATH.md §3.4 for a standardisation, plus which norm it uses.
struct StandardisationConstants {
  double z;    ///< largest distance between two standardised vectors, sup ‖ν − ν'‖
  double K;    ///< sup ‖x‖∞ / ‖x‖
  double K_d;  ///< z·K: largest L∞ difference per unit of normalised distance d
  double K_m;  ///< largest max − min of a standardised vector
  bool l2;     ///< true: L2 norm (EPIC); false: L∞ norm (MAX, MAX-range)
};

DGEVAL_HD StandardisationConstants standardisation_constants(Standardisation s) {
  switch (s) {
    case Standardisation::max: return {2.0, 1.0, 2.0, 2.0, false};
    case Standardisation::max_range: return {1.0, 1.0, 1.0, 1.0, false};
    case Standardisation::epic:
    default: return {2.0, 1.0, 2.0, 1.4142135623730951, true};
  }
}

/// Neumaier-compensated running sum (deterministic, order-dependent like any float sum).
struct CompensatedSum {
  double sum = 0.0;
  double c = 0.0;
  DGEVAL_HD void add(double x) {
    const double t = sum + x;
    if (::fabs(sum) >= ::fabs(x)) {
      c += (sum - t) + x;
    } else {
      c += (x - t) + sum;
    }
    sum = t;
  }
  DGEVAL_HD double value() const { return sum + c; }
};

/// Shift c(v) from the vector's sum, length, min and max (docs/MATH.md §3.3, §3.5). A constant vector
/// (lo == hi) gets its value exactly, so it standardises to the zero vector without residue.
DGEVAL_HD double shift_of(Standardisation s, double sum, std::int64_t n, double lo, double hi) {
  if (lo == hi) return lo;
  if (s == Standardisation::epic) return sum / static_cast<double>(n);
  return 0.5 * lo + 0.5 * hi;  // midrange; halves first so ±DBL_MAX cannot overflow
}

/// Magnitude m(v°): EPIC from the centred sum of squares, MAX from the range. 0 iff constant.
DGEVAL_HD double magnitude_of(Standardisation s, double centred_sum_squares, double lo, double hi) {
  if (lo == hi) return 0.0;
  switch (s) {
    case Standardisation::max: return 0.5 * (hi - lo);
    case Standardisation::max_range: return hi - lo;
    case Standardisation::epic:
    default: return ::sqrt(centred_sum_squares);
  }
}

/// ν(v)(s) = (v(s) − c)/m, or 0 when m = 0 (docs/MATH.md §3.5).
DGEVAL_HD double standardised(double v, double shift, double magnitude) {
  return magnitude > 0.0 ? (v - shift) / magnitude : 0.0;
}

/// ν(v)(s) from the reciprocal 1/m, 0 when m = 0: within an ulp of standardised(). The CPU
/// backend's vectorised loops use it, since a multiply costs a fraction of a divide.
DGEVAL_HD double inverse_magnitude_of(double magnitude) { return magnitude > 0.0 ? 1.0 / magnitude : 0.0; }
DGEVAL_HD double standardised_by_inverse(double v, double shift, double inverse_magnitude) {
  return (v - shift) * inverse_magnitude;
}

/// Adds one coordinate difference to a norm accumulator: L2 keeps Σ d², L∞ keeps max |d|.
DGEVAL_HD double accumulate_norm(double acc, double difference, bool l2) {
  return l2 ? acc + difference * difference : ::fmax(acc, ::fabs(difference));
}
/// Combines two partial accumulators of accumulate_norm.
DGEVAL_HD double combine_norm(double a, double b, bool l2) { return l2 ? a + b : ::fmax(a, b); }
/// The norm from a finished accumulator.
DGEVAL_HD double finish_norm(double acc, bool l2) { return l2 ? ::sqrt(acc) : acc; }

/// Standardised distance d = ‖ν_a − ν_b‖ / z ∈ [0, 1].
DGEVAL_HD double distance_from_norm(double norm, const StandardisationConstants& k) {
  return norm / k.z;
}

/// IA = 1 − d, clamped to [0, 1] (its mathematical range; rounding can step outside by an ulp).
DGEVAL_HD double ia_from_distance(double d) {
  const double ia = 1.0 - d;
  return ia < 0.0 ? 0.0 : (ia > 1.0 ? 1.0 : ia);
}

/// CA = 1 − Σ m_i ‖ν_i − μ‖ / Σ m_i (docs/MATH.md §4.2, no z), with CA := 1 when every weight is 0.
DGEVAL_HD double ca_from_sums(double weighted_distance_sum, double weight_sum) {
  return weight_sum > 0.0 ? 1.0 - weighted_distance_sum / weight_sum : 1.0;
}

/// Welfare from the sum of the players' utilities at one outcome (or in expectation):
/// average divides by n, sum returns it. Both backends sum players in order 0..n−1 in
/// float64 and then call this, so welfare ties break identically.
DGEVAL_HD double welfare_of(double utility_sum, int players, Welfare w) {
  return w == Welfare::average ? utility_sum / static_cast<double>(players) : utility_sum;
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
DGEVAL_HD double ic_threshold(double lo, double hi, double ic) {
  if (ic >= 1.0) return hi;
  if (ic <= 0.0) return lo;
  const double eps = 1.0 - ic;
  const double span = hi - lo;
  if (span <= 1.7976931348623157e308) return ::fma(-eps, span, hi);
  const double half_hi = 0.5 * hi;
  return 2.0 * ::fma(-eps, half_hi - 0.5 * lo, half_hi);
}

/// The ε-Nash test of one utility u against its context's threshold: u + tol ≥ threshold.
DGEVAL_HD bool meets_threshold(double u, double threshold, double tolerance) {
  return u + tolerance >= threshold;
}

/// Range-normalised ε-Nash test for one player at one outcome (docs/MATH.md §1.4):
/// u + tol ≥ hi − (1 − IC)·(hi − lo). IC = 1 gives the Nash test. A loop over one context may
/// compute ic_threshold once and call meets_threshold per outcome: the same test.
DGEVAL_HD bool meets_ic(double u, double lo, double hi, double ic, double tolerance) {
  return meets_threshold(u, ic_threshold(lo, hi, ic), tolerance);
}

/// Collective capability of a strategy of welfare w_sigma (docs/MATH.md §4.4; NaN if undefined).
DGEVAL_HD double cc_of(double w_sigma, double w_star, double w_zero, double w_eps, CcWindow window) {
  const double span = window == CcWindow::code ? w_star - w_zero : w_star - w_eps;
  return span != 0.0 ? (w_sigma - w_eps) / span : NAN;
}

/// a·b rounded on its own. nvcc contracts `c + a*b` into one fused multiply-add by default and
/// g++ (ISO C++ mode) does not; a product that feeds an exact comparison goes through this so
/// both backends round it identically.
DGEVAL_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

/// Played-set window [lo, hi] of docs/MATH.md §4.4 (code) or §11.3 (natural). The membership test
/// compares welfare values with these bounds, so they are computed without contraction.
DGEVAL_HD void played_window(double cc, double w_star, double w_zero, double w_eps, CcWindow window,
                             double* lo, double* hi) {
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
struct UtopiaPoints {
  double agents_utopia, agents_dystopia, principals_utopia, principals_dystopia;
};
DGEVAL_HD UtopiaPoints utopia_points(const double* lo, const double* hi, int n, Welfare w) {
  double u_max = 0.0, u_min = 0.0, uh_max = 0.0, uh_min = 0.0;
  for (int i = 0; i < n; ++i) {
    u_max += hi[i];
    u_min += lo[i];
    uh_max += hi[n + i];
    uh_min += lo[n + i];
  }
  return {welfare_of(u_max, n, w), welfare_of(u_min, n, w), welfare_of(uh_max, n, w), welfare_of(uh_min, n, w)};
}

/// Whether a computed CA lies outside [0, 1] beyond rounding (possible under MAX, docs/MATH.md §4.2).
DGEVAL_HD bool ca_out_of_range(double ca_agents, double ca_principals) {
  constexpr double kSlack = 1e-12;
  return ca_agents < -kSlack || ca_agents > 1 + kSlack || ca_principals < -kSlack || ca_principals > 1 + kSlack;
}

/// Per-game quantities the bounds of docs/MATH.md §5 need. Per-player arrays have `players` entries.
struct BoundInputs {
  int players;
  Welfare welfare;
  StandardisationConstants constants;
  double cc_target;          ///< the CC level of the options (R3 uses the target, as the code does)
  double w_star, w_zero, w_eps;
  double w_utopia, w_dystopia;            ///< w⁺, w⁻
  double agents_regret, principals_regret;  ///< WR(σ), PWR(σ)
  double principals_utopia, principals_dystopia;  ///< ŵ⁺, ŵ⁻ (tolerance scale)
  double principals_max;                          ///< ŵ* (the ideal gap ŵ⁺ − ŵ* checked against R5)
  double ca_principals;
  const double* magnitude_agents;      ///< m_i
  const double* magnitude_principals;  ///< m̂_i
  const double* ia;                    ///< IA_i
  const double* agents_at_best_principal_outcome;  ///< u_i(ŝ*)
  const double* agents_expected;       ///< ū_i = E_σ u_i
};

struct BoundOutputs {
  double bound, bound_r, ideal_gap_bound, r3, r4, r6;
  bool holds;            ///< PWR(σ) ≤ bound (up to rounding); false when PWR is NaN
  bool ideal_gap_holds;  ///< ŵ⁺ − ŵ* ≤ R5 (up to rounding); true when either side is NaN
};

/// Tolerance for "bound holds": the computed PWR carries rounding of the welfare values'
/// size, so the slack scales with them.
DGEVAL_HD double bound_tolerance(double principals_utopia, double principals_dystopia) {
  return 1e-9 * (1.0 + ::fmax(::fabs(principals_utopia), ::fabs(principals_dystopia)));
}

/// The bound_holds column: 1 (PWR(σ) ≤ bound) or 0, or NaN (undefined) when the strategy is
/// undefined (flag_strategy_undefined: PWR and the bound are NaN, nothing to check).
DGEVAL_HD double bound_holds_value(bool strategy_defined, bool holds) {
  return strategy_defined ? (holds ? 1.0 : 0.0) : NAN;
}

/// Calibration ratio r_i = m̂_i / m_i; NaN when the agent's magnitude is 0 (docs/MATH.md §3.5).
DGEVAL_HD double calibration_ratio_of(double m_hat, double m) { return m > 0.0 ? m_hat / m : NAN; }

/// R2 (constant form) at gross ratio R: R·WR + 2zK·f·TM + K_m·f·C(R), with f the welfare
/// factor, TM = Σ m̂_i(1 − IA_i) and C(R) = Σ_{m_i>0} m_i|R − r_i| (docs/MATH.md §5.2, §4.5).
DGEVAL_HD double bound_r2_at(const BoundInputs& in, double R) {
  const double f = welfare_factor(in.players, in.welfare);
  double tm = 0.0, c = 0.0;
  for (int i = 0; i < in.players; ++i) {
    tm += in.magnitude_principals[i] * (1.0 - in.ia[i]);
    if (in.magnitude_agents[i] > 0.0) {
      const double r = in.magnitude_principals[i] / in.magnitude_agents[i];
      c += in.magnitude_agents[i] * ::fabs(R - r);
    }
  }
  return R * in.agents_regret + 2.0 * in.constants.z * in.constants.K * f * tm +
         in.constants.K_m * f * c;
}

/// Every bound of docs/MATH.md §5 for one game.
DGEVAL_HD BoundOutputs compute_bounds(const BoundInputs& in) {
  const int n = in.players;
  const double f = welfare_factor(n, in.welfare);
  const StandardisationConstants& k = in.constants;
  BoundOutputs out;

  // R2 minimised over R ∈ {0} ∪ {r_i} (R7); first minimum in that order.
  double best = bound_r2_at(in, 0.0);
  double best_r = 0.0;
  double tm = 0.0, sum_m_hat = 0.0, calib_exact = 0.0, calib_max = 0.0;
  for (int i = 0; i < n; ++i) {
    const double m = in.magnitude_agents[i], mh = in.magnitude_principals[i];
    tm += mh * (1.0 - in.ia[i]);
    sum_m_hat += mh;
    if (m > 0.0) {
      const double r = mh / m;
      const double v = bound_r2_at(in, r);
      if (v < best) {
        best = v;
        best_r = r;
      }
      calib_exact += (r - 1.0) * (in.agents_at_best_principal_outcome[i] - in.agents_expected[i]);
      calib_max = ::fmax(calib_max, ::fabs(r - 1.0));
    }
  }
  const double misalignment = 2.0 * k.z * k.K * f * tm;
  const double cap = k.K_m * f * sum_m_hat;  // R8
  out.bound = is_nan(best) ? NAN : ::fmin(best, cap);
  out.bound_r = is_nan(best) ? NAN : best_r;
  out.ideal_gap_bound = k.K * f * (1.0 - in.ca_principals) * sum_m_hat;  // R5
  out.r3 = (1.0 - in.cc_target) * (in.w_star - in.w_zero) + (in.w_zero - in.w_eps) + misalignment +
           f * calib_exact;
  out.r4 = in.agents_regret + misalignment + calib_max * (in.w_utopia - in.w_dystopia);
  out.r6 = out.ideal_gap_bound + best;
  const double tol = bound_tolerance(in.principals_utopia, in.principals_dystopia);
  out.holds = in.principals_regret <= out.bound + tol;
  out.ideal_gap_holds = !(in.principals_utopia - in.principals_max > out.ideal_gap_bound + tol);
  return out;
}

}  // namespace detail
}  // namespace dgeval
