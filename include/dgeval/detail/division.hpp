// a / b for the per-game finishing step without the device's division subroutine (docs/PERFORMANCE.md,
// "Tiny games"). nvcc compiles each float64 division into an inline fast path and a call to a
// slow path (__cuda_sm20_div_rn_f64_full) whose registers must be free at every division site;
// in the finishing step, where many values are live, those sites set the kernels' register peak.
// div_rn gives the same bits as the division (IEEE binary64, round to nearest even) from
// multiplications, fused multiply-adds and integer operations on the bits only, inline: on the
// device it is the function below with a float32 reciprocal as its seed; on the host it is the
// division itself (the CPU backend needs no replacement). tests/test_shared_definitions.cpp runs
// the same function on the host, with seeds of every error it allows, against the division.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#include "dgeval/detail/hd.hpp"

namespace dgeval {
namespace detail {

DGEVAL_HD std::uint64_t bits_of(double x) {
  std::uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
DGEVAL_HD double double_of(std::uint64_t u) {
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/// 2^n for a normal exponent n (−1022 ≤ n ≤ 1023), exactly.
DGEVAL_HD double ldexp_exact(int n) { return double_of(static_cast<std::uint64_t>(n + 1023) << 52); }

/// a / b correctly rounded, from `seed(m)`, any approximation of 1/m for m in [1, 2) with a relative
/// error below 2^-11. The operands' exponents are taken off (subnormals scaled first), so the
/// quotient q of their significands lies in (1/2, 2): three Newton steps make 1/m_b to about an
/// ulp, two corrections make q faithful (within an ulp), so that its residual m_a − m_b·q is
/// exact; the residuals at the midpoints to q's neighbours then round q to nearest, ties to even.
/// The exponent goes back on exactly where the quotient is normal; where it is subnormal the one
/// rounding of the scaling is corrected by the residual's sign (a quotient that lands on a
/// midpoint of the subnormal grid rounds towards the true quotient). Zeros, infinities and NaN as
/// the division gives them (NaN from a NaN operand: a + b).
template <class Seed>
DGEVAL_HD double div_rn_from(double a, double b, const Seed& seed) {
  constexpr std::uint64_t kSign = std::uint64_t{1} << 63, kInf = std::uint64_t{0x7ff} << 52;
  constexpr std::uint64_t kFraction = (std::uint64_t{1} << 52) - 1, kOne = std::uint64_t{1023} << 52;
  std::uint64_t ua = bits_of(a), ub = bits_of(b);
  const std::uint64_t sign = (ua ^ ub) & kSign;
  ua &= ~kSign;
  ub &= ~kSign;
  if (ua > kInf || ub > kInf) return a + b;
  if (ua == kInf || ub == 0) return (ub == kInf || ua == 0) ? NAN : double_of(sign | kInf);
  if (ub == kInf || ua == 0) return double_of(sign);
  int ea = static_cast<int>(ua >> 52), eb = static_cast<int>(ub >> 52);
  if (ea == 0) {  // subnormal: scale by 2^54 (exact)
    ua = bits_of(double_of(ua) * 0x1p54);
    ea = static_cast<int>(ua >> 52) - 54;
  }
  if (eb == 0) {
    ub = bits_of(double_of(ub) * 0x1p54);
    eb = static_cast<int>(ub >> 52) - 54;
  }
  const double ma = double_of((ua & kFraction) | kOne), mb = double_of((ub & kFraction) | kOne);
  const int k = ea - eb;  // |a / b| = (ma / mb)·2^k
  double r = seed(mb);
  r = fma(fma(-mb, r, 1.0), r, r);
  r = fma(fma(-mb, r, 1.0), r, r);
  r = fma(fma(-mb, r, 1.0), r, r);
  double q = ma * r;
  q = fma(fma(-mb, q, ma), r, q);
  q = fma(fma(-mb, q, ma), r, q);
  double e = fma(-mb, q, ma);  // exact: q is faithful
  {
    const std::uint64_t uq = bits_of(q);
    const double up = double_of(uq + 1), down = double_of(uq - 1);
    const double above = e - mb * ((up - q) * 0.5);    // sign of ma − mb·(q + half a step up)
    const double below = e + mb * ((q - down) * 0.5);  // sign of ma − mb·(q − half a step down)
    const bool odd = (uq & 1u) != 0;
    if (above > 0.0 || (above == 0.0 && odd)) {
      q = up;
      e = fma(-mb, q, ma);
    } else if (below < 0.0 || (below == 0.0 && odd)) {
      q = down;
      e = fma(-mb, q, ma);
    }
  }
  // q = RN(ma / mb) in [1/2, 2]; e: the sign of ma / mb − q. Now q·2^k.
  const std::uint64_t uq = bits_of(q);
  const int field = static_cast<int>(uq >> 52) + k;
  if (field >= 2047) return double_of(sign | kInf);
  if (field >= 1) return double_of(sign | (uq + (static_cast<std::uint64_t>(static_cast<std::int64_t>(k)) << 52)));
  if (k < -1080) return double_of(sign);  // below half the least subnormal
  // Subnormal: one rounding of q·2^k (the first product is exact), then the correction where
  // q·2^k was a midpoint of the subnormal grid (then exactly representable in q's precision).
  const double t = (q * ldexp_exact(k + 600)) * 0x1p-600;
  const double back = (t * 0x1p600) * ldexp_exact(-k - 600);  // exact: t·2^−k
  const double d = q - back, half = ldexp_exact(-1075 - k);
  double result = t;
  if (d == half && e > 0.0) result = double_of(bits_of(t) + 1);
  if (d == -half && e < 0.0) result = double_of(bits_of(t) - 1);
  return double_of(sign | bits_of(result));
}

/// a / b, the same bits as the division, with no call on the device (the file comment); the
/// division itself on the host.
DGEVAL_HD double div_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return div_rn_from(a, b, [](double m) {
    float r;
    asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(static_cast<float>(m)));
    return static_cast<double>(r);
  });
#else
  return a / b;
#endif
}
/// A batch of values (values.hpp): its own division.
template <class V>
DGEVAL_HD V div_rn(const V& a, const V& b) {
  return a / b;
}

}  // namespace detail
}  // namespace dgeval
