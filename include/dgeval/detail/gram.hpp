// Alignment from a Gram matrix (docs/MATH.md §4.1, §4.2): IA, CA and the distance matrix of EPIC
// from the cross-products of the centred utility vectors, so that one read of a game's outcomes
// gathers everything the distances need (the CPU backend's fused 2-player path,
// backends/cpu/fused_two_player.hpp; a device kernel may use the same definitions).
//
// Every standardised vector is a multiple of a centred vector, ν_v = inv_v·x̃_v with x̃_v = x_v − c_v
// and inv_v = 1/m_v (0 for a zero magnitude). So a distance between standardised vectors, or between
// one and the weighted mean μ of its side, is the norm of a combination Σ_u k_u·x̃_u, whose square is
// the quadratic form Σ_u Σ_v k_u·k_v·G_uv of the centred Gram matrix G_uv = ⟨x̃_u, x̃_v⟩.
//
// Accuracy. For nearly aligned vectors the quadratic form cancels: ‖ν_a − ν_b‖² = 2 − 2ρ with ρ
// near 1, so an error δ in the Gram entries (relative to m²) becomes an error of about δ/d in the
// distance d. Plain float64 sums (δ ≈ 1e-16·√N) would lose IA to 1e-10 for d near 1e-6. Hence:
//  - the entries are accumulated error-free per element in double-double (DoubleDoubleOf: the
//    exact product by two_prod, the exact sum by two_sum, or per block by Fast2Sum on a biased
//    accumulator: accumulation_bias), around a pivot per vector (its first value) so that a large
//    common offset costs nothing;
//  - G_uv = Σ a_u·a_v − (Σ a_u)(Σ a_v)/N, with a = x − pivot, is formed in double-double;
//  - the quadratic form is evaluated in double-double, so its only error is of order ε² and the
//    distance is accurate to about 1e-16 absolute for any alignment.
// The coefficients k_u are doubles (inv_v, and for CA the weights of μ), rounded once each: an error
// δk_u in a coefficient moves the norm by at most |δk_u|·m_u (the triangle inequality), about ε.
//
// Templated on the value type V (a double, or a batch of doubles: values.hpp) like the other
// shared definitions. vfma must be a true fused multiply-add for two_prod to be exact (it is on the
// device and in C++'s fma; a SIMD target without FMA must supply its own two_prod).
#pragma once

#include <cstdint>
#include <cstring>

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/standardisation.hpp"
#include "dgeval/detail/values.hpp"
#include "dgeval/game.hpp"

namespace dgeval {
namespace detail {

/// An unevaluated sum hi + lo with |lo| ≤ ulp(hi)/2 (after normalisation): about 106 bits.
template <class V>
struct DoubleDoubleOf {
  V hi, lo;
};
using DoubleDouble = DoubleDoubleOf<double>;

template <class V>
DGEVAL_HD DoubleDoubleOf<V> dd_zero() {
  return {V(0.0), V(0.0)};
}

/// a + b exactly, as a rounded sum and its error (Knuth's TwoSum, any magnitudes).
template <class V>
DGEVAL_HD DoubleDoubleOf<V> two_sum(V a, V b) {
  const V s = a + b;
  const V bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}
/// a + b exactly when |a| ≥ |b| (or a = 0) (Dekker's Fast2Sum).
template <class V>
DGEVAL_HD DoubleDoubleOf<V> fast_two_sum(V a, V b) {
  const V s = a + b;
  return {s, b - (s - a)};
}
/// a·b exactly, as the rounded product and its error (one fused multiply-add).
DGEVAL_HD DoubleDouble two_prod(double a, double b) {
  const double p = mul_rn(a, b);
  return {p, vfma(a, b, -p)};
}

/// acc += x: the rounded sum goes to hi, its exact error is added to lo. The per-element step of
/// the fused pass (a SIMD loop repeats it lane by lane, operation for operation).
template <class V>
DGEVAL_HD void dd_accumulate(DoubleDoubleOf<V>& acc, V x) {
  const V s = acc.hi + x;
  const V bb = s - acc.hi;
  const V err = (acc.hi - (s - bb)) + (x - bb);
  acc.lo = acc.lo + err;
  acc.hi = s;
}
/// acc += p + e for a product split exactly into p = fl(a·b) and e = a·b − p (two_prod): hi += p
/// exactly as dd_accumulate, lo += (its error + e).
template <class V>
DGEVAL_HD void dd_accumulate_split_product(DoubleDoubleOf<V>& acc, V p, V e) {
  const V s = acc.hi + p;
  const V bb = s - acc.hi;
  const V err = (acc.hi - (s - bb)) + (p - bb);
  acc.lo = acc.lo + (err + e);
  acc.hi = s;
}
/// acc += a·b exactly (two_prod, then dd_accumulate_split_product).
DGEVAL_HD void dd_accumulate_product(DoubleDouble& acc, double a, double b) {
  const DoubleDouble p = two_prod(a, b);
  dd_accumulate_split_product(acc, p.hi, p.lo);
}

/// Biased accumulation of a block of products (the fused pass's inner loop, cheaper than
/// dd_accumulate_split_product): acc starts at {bias, 0}, with bias = accumulation_bias(cap) for a cap
/// on |Σ p| + max |p| over the block; then every step hi + p is split exactly by Fast2Sum (|hi| ≥
/// 3·bias/4 ≥ |p|), and at the end hi − bias is exact (Sterbenz: hi lies in [3·bias/4, 5·bias/4]), so
/// biased_value is the block's exact sum but for the rounding of lo (a sum of terms below
/// ulp(bias)), of relative order ε²·(block length)².
DGEVAL_HD double accumulation_bias(double cap) {
  // 8·2^⌊log₂ cap⌋ ≥ 4·cap, from the exponent bits (no libm call: once per block and product pair);
  // 2^-900 for 0 and subnormal caps, 2^900 for huge or non-finite ones.
  std::uint64_t bits;
  memcpy(&bits, &cap, sizeof bits);
  std::int64_t e = static_cast<std::int64_t>((bits >> 52) & 0x7ff) + 3;
  e = e < 1023 - 900 ? 1023 - 900 : (e > 1023 + 900 ? 1023 + 900 : e);
  bits = static_cast<std::uint64_t>(e) << 52;
  double bias;
  memcpy(&bias, &bits, sizeof bias);
  return bias;
}
template <class V>
DGEVAL_HD void biased_accumulate_split_product(DoubleDoubleOf<V>& acc, V p, V e) {
  const V s = acc.hi + p;
  const V z = s - acc.hi;
  acc.lo = acc.lo + ((p - z) + e);
  acc.hi = s;
}
/// acc += a·b on a biased accumulator as biased_accumulate_split_product, with two fused
/// multiply-adds instead of a product split: hi' = fl(hi + a·b) (one rounding), the step hi' − hi is
/// exact (Sterbenz: both lie in [3·bias/4, 5·bias/4]), and lo += fl(a·b − (hi' − hi)), the step's
/// error rounded once (below ulp(bias), as the sum of the split's two parts is). The same accuracy in 4
/// operations instead of 7; vfma must be a true fused multiply-add (targets without one keep
/// biased_accumulate_split_product, whose bits differ).
template <class V>
DGEVAL_HD void biased_accumulate_product_fma(DoubleDoubleOf<V>& acc, V a, V b) {
  const V s = vfma(a, b, acc.hi);
  const V z = s - acc.hi;
  acc.lo = acc.lo + vfma(a, b, -z);
  acc.hi = s;
}
/// acc += x on a biased accumulator (bias = accumulation_bias(cap), cap ≥ |Σ x| + max |x| over the
/// block): Fast2Sum, exact as biased_accumulate_split_product is (the deviation sums of the fused pass).
template <class V>
DGEVAL_HD void biased_accumulate(DoubleDoubleOf<V>& acc, V x) {
  const V s = acc.hi + x;
  acc.lo = acc.lo + (x - (s - acc.hi));
  acc.hi = s;
}
template <class V>
DGEVAL_HD DoubleDoubleOf<V> biased_value(const DoubleDoubleOf<V>& acc, V bias) {
  return {acc.hi - bias, acc.lo};
}

/// a + b for two double-double values (partials of disjoint outcomes: lanes, chunks).
template <class V>
DGEVAL_HD DoubleDoubleOf<V> dd_add(const DoubleDoubleOf<V>& a, const DoubleDoubleOf<V>& b) {
  const DoubleDoubleOf<V> s = two_sum(a.hi, b.hi);
  const DoubleDoubleOf<V> t = two_sum(a.lo, b.lo);
  const DoubleDoubleOf<V> u = fast_two_sum(s.hi, s.lo + t.hi);
  return fast_two_sum(u.hi, u.lo + t.lo);
}
template <class V>
DGEVAL_HD DoubleDoubleOf<V> dd_neg(const DoubleDoubleOf<V>& a) {
  return {-a.hi, -a.lo};
}
/// a·b for two double-double values (relative error about 4ε²).
DGEVAL_HD DoubleDouble dd_mul(const DoubleDouble& a, const DoubleDouble& b) {
  DoubleDouble p = two_prod(a.hi, b.hi);
  p.lo = p.lo + (mul_rn(a.hi, b.lo) + mul_rn(a.lo, b.hi));
  return fast_two_sum(p.hi, p.lo);
}
/// a / b for a double-double a and a double b ≠ 0.
DGEVAL_HD DoubleDouble dd_div(const DoubleDouble& a, double b) {
  const double q1 = a.hi / b;
  const DoubleDouble p = two_prod(q1, b);
  const DoubleDouble r = two_sum(a.hi, -p.hi);
  const double q2 = ((r.hi + r.lo) - p.lo + a.lo) / b;
  return fast_two_sum(q1, q2);
}
template <class V>
DGEVAL_HD V dd_value(const DoubleDoubleOf<V>& a) {
  return a.hi + a.lo;
}

/// Eight lanes of partials (outcome j in lane j mod 8) combined in a fixed tree, as lane_sums.hpp's
/// combine_sum does for plain sums.
DGEVAL_HD DoubleDouble dd_combine8(const double* hi, const double* lo) {
  DoubleDouble l[8];
  for (int q = 0; q < 8; ++q) l[q] = {hi[q], lo[q]};
  return dd_add(dd_add(dd_add(l[0], l[1]), dd_add(l[2], l[3])), dd_add(dd_add(l[4], l[5]), dd_add(l[6], l[7])));
}

// ---------------------------------------------------------------------------------------------
// From the pivoted sums to the centred Gram matrix, the shifts and the magnitudes.

/// The centred cross-product G_uv = Σ a_u·a_v − (Σ a_u)(Σ a_v)/N, with a = x − pivot per vector,
/// from the double-double sums of the products and of the deviations over N outcomes.
DGEVAL_HD DoubleDouble centred_product(const DoubleDouble& sum_products, const DoubleDouble& sum_u,
                                       const DoubleDouble& sum_v, double count) {
  return dd_add(sum_products, dd_neg(dd_div(dd_mul(sum_u, sum_v), count)));
}

/// The mean of a vector from its pivot and the double-double sum of its deviations from it: pivot +
/// Σ a / N, rounded once. (EPIC's shift, before the zero-magnitude rule of Epic::shift.)
DGEVAL_HD double pivoted_mean(double pivot, const DoubleDouble& sum_deviations, double count) {
  return dd_value(dd_add(DoubleDouble{pivot, 0.0}, dd_div(sum_deviations, count)));
}

/// EPIC's centred sum of squares Σ x̃² from the diagonal entry G_vv (never below 0).
DGEVAL_HD double centred_sum_squares(const DoubleDouble& g_vv) { return vmax(dd_value(g_vv), 0.0); }

// ---------------------------------------------------------------------------------------------
// Norms of combinations of the centred vectors.

/// ‖Σ_u k_u·x̃_u‖ over the vectors u in [0, count) of `vectors` (indices into the Gram matrix),
/// from the coefficients k(u) and the Gram entries gram(u, v) (double-double, u ≤ v), the quadratic
/// form evaluated in double-double: Σ_u k_u²·G_uu + 2·Σ_{u<v} k_u·k_v·G_uv.
template <class Gram, class Coef>
DGEVAL_HD double combination_norm(int count, const int* vectors, const Coef& k, const Gram& gram) {
  DoubleDouble q = dd_zero<double>();
  for (int x = 0; x < count; ++x) {
    const double kx = k(x);
    if (kx == 0.0) continue;
    for (int y = x; y < count; ++y) {
      const double ky = k(y);
      if (ky == 0.0) continue;
      DoubleDouble kk = two_prod(kx, ky);
      if (y != x) kk = {2.0 * kk.hi, 2.0 * kk.lo};  // exact
      const int u = vectors[x] < vectors[y] ? vectors[x] : vectors[y];
      const int v = vectors[x] < vectors[y] ? vectors[y] : vectors[x];
      q = dd_add(q, dd_mul(kk, gram(u, v)));
    }
  }
  return vsqrt(vmax(dd_value(q), 0.0));
}

/// ‖ν_a − ν_b‖ = ‖inv_a·x̃_a − inv_b·x̃_b‖ (IA's norm, and the distance matrix's before distance_from_norm).
template <class Gram>
DGEVAL_HD double gram_difference_norm(const Gram& gram, int a, int b, double inv_a, double inv_b) {
  const int vectors[2] = {a, b};
  return combination_norm(
      2, vectors, [&](int x) { return x == 0 ? inv_a : -inv_b; }, gram);
}

/// ‖ν_i − μ‖ for player i of one side, the side's n vectors at the Gram indices vectors[0 .. n − 1],
/// with magnitudes mag and inverses inv (per player of the side) and inverse_weight =
/// inverse_magnitude_of(W), W = ca_weight(n, mag): μ = (Σ_j m_j·ν_j)·(1/W) (alignment.hpp's ca_mean),
/// so the coefficient of x̃_j is [j = i]·inv_i − (m_j·inv_j)·(1/W).
template <class Gram, class M, class Inv>
DGEVAL_HD double gram_ca_norm_of(const Gram& gram, int n, const int* vectors, int i, const M& mag, const Inv& inv,
                                 double inverse_weight) {
  return combination_norm(
      n, vectors,
      [&](int j) {
        const double w = mul_rn(mul_rn(mag[j], inv[j]), inverse_weight);
        return j == i ? inv[j] - w : -w;
      },
      gram);
}

/// gram_ca_norm_of for the side's vectors at Gram indices first .. first + n − 1. n ≤ kMaxPlayers.
template <class Gram, class M, class Inv>
DGEVAL_HD double gram_ca_norm(const Gram& gram, int n, int first, int i, const M& mag, const Inv& inv,
                              double inverse_weight) {
  int vectors[kMaxPlayers];
  for (int j = 0; j < n; ++j) vectors[j] = first + j;
  return gram_ca_norm_of(gram, n, vectors, i, mag, inv, inverse_weight);
}

}  // namespace detail
}  // namespace dgeval
