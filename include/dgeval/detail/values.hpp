// The arithmetic the shared measure definitions may use, for any value type V: a double, or a
// batch of doubles holding several games (a SIMD type supplying the same overloads). Shared code
// writes +, −, ×, ÷ and the functions below, never a branch on a value: a comparison gives a mask
// (bool for a double) and select(mask, a, b) picks per element. Host and device.
#pragma once

#include <math.h>

#include "dgeval/detail/hd.hpp"

namespace dgeval {
namespace detail {

/// The mask type of comparisons between values of type V (bool for double).
template <class V>
struct MaskOf {
  using type = decltype(V() < V());
};
template <class V>
using Mask = typename MaskOf<V>::type;

/// a where mask holds, else b (both are evaluated).
DGEVAL_HD double select(bool mask, double a, double b) { return mask ? a : b; }

/// NaN test that does not depend on <cmath> macros (host and device).
DGEVAL_HD bool is_nan(double x) { return x != x; }

/// IEEE fmin / fmax: a NaN operand gives the other operand.
DGEVAL_HD double vmin(double a, double b) { return ::fmin(a, b); }
DGEVAL_HD double vmax(double a, double b) { return ::fmax(a, b); }
DGEVAL_HD double vabs(double x) { return ::fabs(x); }
DGEVAL_HD double vsqrt(double x) { return ::sqrt(x); }
/// a·b + c rounded once, on both backends.
DGEVAL_HD double vfma(double a, double b, double c) { return ::fma(a, b, c); }

/// a·b rounded on its own. nvcc contracts `c + a*b` into one fused multiply-add by default and
/// g++ (ISO C++ mode) does not; a product that feeds a sum goes through this wherever host and
/// device must round identically (exact comparisons, the generators' bit-for-bit games, and the
/// measures both backends compute from the same values).
DGEVAL_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
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

/// Whether any / every element of a mask holds (a bool is its own single element).
DGEVAL_HD bool any(bool mask) { return mask; }
DGEVAL_HD bool all(bool mask) { return mask; }

}  // namespace detail
}  // namespace dgeval
