// Standardisations (docs/MATH.md §3), each one small op struct, and the norms they measure
// distances with. This file is the one place a standardisation is defined: its name, its shift and
// magnitude, its norm and the constants of §3.4. The enum dgeval::Standardisation, its names
// (parse_standardisation, to_string), both backends, the inference and the generators follow
// from DGEVAL_STANDARDISATIONS below; a new one is an X(...) line and an op struct here.
//
// A norm is an op in the manner of a distance in cuVS: accumulate(acc, d) adds one coordinate
// difference d to a partial, combine(a, b) joins the partials of disjoint coordinates (lanes,
// threads), finish(acc) gives the norm; fold(state, partial) / folded(state) fold many partials
// (chunks, blocks) in a fixed order in two doubles of state, deterministically.
#pragma once

#include <cstdint>

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/values.hpp"

// X(enumerator, name, op struct, description). The first is the default.
#define DGEVAL_STANDARDISATIONS(X)                                                                  \
  X(epic, "epic", ::dgeval::detail::Epic, "mean shift, L2 scale; distance ‖ν−ν'‖₂/2 (default)")     \
  X(max, "max", ::dgeval::detail::Max, "midrange shift, half-range (L∞) scale; distance ‖ν−ν'‖∞/2") \
  X(max_range, "max-range", ::dgeval::detail::MaxRange, "midrange shift, full-range scale; distance ‖ν−ν'‖∞")

namespace dgeval {

/// Shift/scale pair of docs/MATH.md §3.3 (DGEVAL_STANDARDISATIONS).
enum class Standardisation {
#define DGEVAL_STANDARDISATION_ENUM(e, name, op, desc) e,
  DGEVAL_STANDARDISATIONS(DGEVAL_STANDARDISATION_ENUM)
#undef DGEVAL_STANDARDISATION_ENUM
};

namespace detail {

/// Constants of docs/MATH.md §3.4 for a standardisation.
struct StandardisationConstants {
  double z;    ///< largest distance between two standardised vectors, sup ‖ν − ν'‖
  double K;    ///< sup ‖x‖∞ / ‖x‖
  double K_d;  ///< z·K: largest L∞ difference per unit of normalised distance d
  double K_m;  ///< largest max − min of a standardised vector
};

// ---------------------------------------------------------------------------------------------
// Norms.

/// ‖·‖₂: partials are sums of squares, folded with compensation.
struct L2Norm {
  template <class V>
  DGEVAL_HD static V accumulate(V acc, V d) {
    return acc + d * d;
  }
  template <class V>
  DGEVAL_HD static V combine(V a, V b) {
    return a + b;
  }
  template <class V>
  DGEVAL_HD static V finish(V acc) {
    return vsqrt(acc);
  }
  DGEVAL_HD static void fold(double* state, double partial) {
    CompensatedSum c;
    c.sum = state[0];
    c.c = state[1];
    c.add(partial);
    state[0] = c.sum;
    state[1] = c.c;
  }
  DGEVAL_HD static double folded(const double* state) { return state[0] + state[1]; }
};

/// ‖·‖∞: partials are maxima of |d|.
struct LInfNorm {
  template <class V>
  DGEVAL_HD static V accumulate(V acc, V d) {
    return vmax(acc, vabs(d));
  }
  template <class V>
  DGEVAL_HD static V combine(V a, V b) {
    return vmax(a, b);
  }
  template <class V>
  DGEVAL_HD static V finish(V acc) {
    return acc;
  }
  DGEVAL_HD static void fold(double* state, double partial) { state[0] = vmax(state[0], partial); }
  DGEVAL_HD static double folded(const double* state) { return state[0]; }
};

// ---------------------------------------------------------------------------------------------
// Standardisations: shift c(v) and magnitude m(v°) from a vector's sum, length, min, max and (for
// those that ask for it) its centred sum of squares. A constant vector (lo == hi) gets its value as
// shift, exactly, and magnitude 0, so it standardises to the zero vector (docs/MATH.md §3.5).

/// EPIC: mean shift, L2 magnitude.
struct Epic {
  using Norm = L2Norm;
  static constexpr bool centred_squares = true;  ///< its magnitude needs Σ (v − mean)²
  DGEVAL_HD static StandardisationConstants constants() { return {2.0, 1.0, 2.0, 1.4142135623730951}; }
  template <class V>
  DGEVAL_HD static V shift(V sum, double count, V lo, V hi) {
    return select(lo == hi, lo, sum / count);
  }
  template <class V>
  DGEVAL_HD static V magnitude(V centred_sum_squares, V lo, V hi) {
    return select(lo == hi, V(0.0), vsqrt(centred_sum_squares));
  }
};

/// MAX: midrange shift, half-range magnitude.
struct Max {
  using Norm = LInfNorm;
  static constexpr bool centred_squares = false;
  DGEVAL_HD static StandardisationConstants constants() { return {2.0, 1.0, 2.0, 2.0}; }
  template <class V>
  DGEVAL_HD static V shift(V, double, V lo, V hi) {
    return select(lo == hi, lo, 0.5 * lo + 0.5 * hi);  // halves first so ±DBL_MAX cannot overflow
  }
  template <class V>
  DGEVAL_HD static V magnitude(V, V lo, V hi) {
    return select(lo == hi, V(0.0), 0.5 * (hi - lo));
  }
};

/// MAX-range: midrange shift, full-range magnitude.
struct MaxRange {
  using Norm = LInfNorm;
  static constexpr bool centred_squares = false;
  DGEVAL_HD static StandardisationConstants constants() { return {1.0, 1.0, 1.0, 1.0}; }
  template <class V>
  DGEVAL_HD static V shift(V sum, double count, V lo, V hi) {
    return Max::shift(sum, count, lo, hi);
  }
  template <class V>
  DGEVAL_HD static V magnitude(V, V lo, V hi) {
    return select(lo == hi, V(0.0), hi - lo);
  }
};

/// f(Op{}) for the op struct of s. Code that loops over outcomes calls it once, outside the loop,
/// and runs the loop with the standardisation known at compile time.
template <class F>
DGEVAL_HD auto visit_standardisation(Standardisation s, F&& f) {
  switch (s) {
#define DGEVAL_STANDARDISATION_CASE(e, name, op, desc) \
  case Standardisation::e:                             \
    return f(op{});
    DGEVAL_STANDARDISATIONS(DGEVAL_STANDARDISATION_CASE)
#undef DGEVAL_STANDARDISATION_CASE
  }
  return f(Epic{});
}

// ---------------------------------------------------------------------------------------------
// The same, chosen at run time, for per-game code and for device kernels (one instantiation serves
// every standardisation; each call dispatches on a value that is the same for the whole launch).

DGEVAL_HD StandardisationConstants standardisation_constants(Standardisation s) {
  return visit_standardisation(s, [](auto op) { return decltype(op)::constants(); });
}
/// Whether the magnitude of s needs the centred sum of squares (a second look at the values).
DGEVAL_HD bool needs_centred_squares(Standardisation s) {
  return visit_standardisation(s, [](auto op) { return decltype(op)::centred_squares; });
}
/// Shift c(v) from the vector's sum, length n, min and max (docs/MATH.md §3.3, §3.5).
DGEVAL_HD double shift_of(Standardisation s, double sum, std::int64_t n, double lo, double hi) {
  return visit_standardisation(s, [&](auto op) { return decltype(op)::shift(sum, static_cast<double>(n), lo, hi); });
}
/// Magnitude m(v°), 0 iff the vector is constant.
DGEVAL_HD double magnitude_of(Standardisation s, double centred_sum_squares, double lo, double hi) {
  return visit_standardisation(s, [&](auto op) { return decltype(op)::magnitude(centred_sum_squares, lo, hi); });
}

/// The norm of a standardisation chosen at run time.
struct AnyNorm {
  Standardisation s;
  template <class V>
  DGEVAL_HD V accumulate(V acc, V d) const {
    return visit_standardisation(s, [&](auto op) { return decltype(op)::Norm::accumulate(acc, d); });
  }
  template <class V>
  DGEVAL_HD V combine(V a, V b) const {
    return visit_standardisation(s, [&](auto op) { return decltype(op)::Norm::combine(a, b); });
  }
  template <class V>
  DGEVAL_HD V finish(V acc) const {
    return visit_standardisation(s, [&](auto op) { return decltype(op)::Norm::finish(acc); });
  }
  DGEVAL_HD void fold(double* state, double partial) const {
    visit_standardisation(s, [&](auto op) {
      decltype(op)::Norm::fold(state, partial);
      return 0;
    });
  }
  DGEVAL_HD double folded(const double* state) const {
    return visit_standardisation(s, [&](auto op) { return decltype(op)::Norm::folded(state); });
  }
};

// ---------------------------------------------------------------------------------------------
// Standardised values and distances.

/// 1/m, or 0 when m = 0: the factor every standardised value is multiplied by.
template <class V>
DGEVAL_HD V inverse_magnitude_of(V magnitude) {
  return select(magnitude > 0.0, 1.0 / magnitude, V(0.0));
}
/// ν(v)(s) = (v(s) − c)·(1/m), the zero vector when m = 0 (docs/MATH.md §3.5): one rounding of the
/// difference and one of the product, no division per element, on every backend.
template <class V>
DGEVAL_HD V standardised_by_inverse(V v, V shift, V inverse_magnitude) {
  return (v - shift) * inverse_magnitude;
}

/// Standardised distance d = ‖ν_a − ν_b‖ / z ∈ [0, 1].
template <class V>
DGEVAL_HD V distance_from_norm(V norm, const StandardisationConstants& k) {
  return norm / k.z;
}

}  // namespace detail
}  // namespace dgeval
