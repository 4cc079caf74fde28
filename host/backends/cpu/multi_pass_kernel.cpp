// The multi-pass evaluator's hot loops (backends/cpu/game_evaluator.hpp) on SIMD vectors, compiled
// once per instruction set by Highway's foreach_target and chosen at run time: the stats pass's
// per-vector sums, extrema and pivoted moments and its welfare, the align pass's standardised
// vectors, weighted means and distances (sums of squares for EPIC, maxima of |d| for MAX and
// MAX-range), and the equilibria mask's strided fibers.
//
// Every sum runs in the 8 lanes of lane_sums.hpp (outcome j of a chunk in lane j mod 8) whatever the
// vector width (AVX-512: one vector, AVX2: two, SSE4: four), the tail of a run (fewer than 8 values)
// one value at a time on the same lanes, and every lane does exactly the operations of the scalar
// loops (sum_min_max, pivoted_moments, accumulate_differences, detail::ca_mean, detail::ne_bits), with
// no contraction. So the results are the same bits as the one-lane-at-a-time loops, on every
// instruction set and for any number of threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "backends/cpu/game_evaluator.hpp"
#include "dgeval/detail/dtype.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/multi_pass_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// (foreach_target.h includes this file again once per instruction set)
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "backends/cpu/simd_double-inl.hpp"

#include "dgeval/detail/measures.hpp"
#include "dgeval/detail/standardisation.hpp"

HWY_BEFORE_NAMESPACE();
namespace dgeval {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr std::size_t NL = hn::MaxLanes(FD());
constexpr int G = static_cast<int>(8 / NL);
static_assert(G * NL == 8, "8 lanes in whole vectors");

/// Values ahead of the loads that the first read of a vector prefetches (the game comes from memory).
constexpr std::int64_t kPrefetch = 512;

/// sum_min_max<8> and the first loop of pivoted_moments<8> in one read, for V vectors at once (V
/// independent chains of additions): per lane the sum of the values, their min and max, and the sum of
/// their deviations from the pivot. Lane arrays s, l, h, p: [V][8].
template <int V, class T>
HWY_INLINE void sums_and_extrema(const T* const* x, std::int64_t len, const double* pivot, double* s, double* l,
                                 double* h, double* p) {
  const FD d;
  FV pv[V], vs[V][G], vl[V][G], vh[V][G], vp[V][G];
  for (int t = 0; t < V; ++t) {
    pv[t] = hn::Set(d, pivot[t]);
    for (int g = 0; g < G; ++g) {
      vs[t][g] = hn::Zero(d), vp[t][g] = hn::Zero(d);
      vl[t][g] = hn::Set(d, kInf), vh[t][g] = hn::Set(d, -kInf);
    }
  }
  std::int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    for (int t = 0; t < V; ++t) {
      hwy::Prefetch(x[t] + j + kPrefetch);
      for (int g = 0; g < G; ++g) {
        const FV y = load_as_double(d, x[t] + j + g * static_cast<std::int64_t>(NL));
        vs[t][g] = hn::Add(vs[t][g], y);
        vl[t][g] = hn::Min(vl[t][g], y);
        vh[t][g] = hn::Max(vh[t][g], y);
        vp[t][g] = hn::Add(vp[t][g], hn::Sub(y, pv[t]));
      }
    }
  }
  for (int t = 0; t < V; ++t) {
    for (int g = 0; g < G; ++g) {
      hn::StoreU(vs[t][g], d, s + 8 * t + g * NL), hn::StoreU(vl[t][g], d, l + 8 * t + g * NL);
      hn::StoreU(vh[t][g], d, h + 8 * t + g * NL), hn::StoreU(vp[t][g], d, p + 8 * t + g * NL);
    }
    std::int64_t jt = j;
    for (int q = 8 * t; jt < len; ++jt, ++q) {
      const double y = static_cast<double>(x[t][jt]);
      s[q] += y;
      l[q] = y < l[q] ? y : l[q];
      h[q] = y > h[q] ? y : h[q];
      p[q] += y - pivot[t];
    }
  }
}

/// The second loop of pivoted_moments<8> for V vectors at once: per lane the sum of
/// ((x − pivot) − mean)², into m2[V].
template <int V, class T>
HWY_INLINE void centred_squares(const T* const* x, std::int64_t len, const double* pivot, const double* mean,
                                double* m2) {
  const FD d;
  FV pv[V], mv[V], acc[V][G];
  for (int t = 0; t < V; ++t) {
    pv[t] = hn::Set(d, pivot[t]), mv[t] = hn::Set(d, mean[t]);
    for (int g = 0; g < G; ++g) acc[t][g] = hn::Zero(d);
  }
  std::int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    for (int t = 0; t < V; ++t) {
      for (int g = 0; g < G; ++g) {
        const FV dv = hn::Sub(hn::Sub(load_as_double(d, x[t] + j + g * static_cast<std::int64_t>(NL)), pv[t]), mv[t]);
        acc[t][g] = hn::Add(acc[t][g], hn::Mul(dv, dv));
      }
    }
  }
  for (int t = 0; t < V; ++t) {
    alignas(64) double s[8];
    for (int g = 0; g < G; ++g) hn::StoreU(acc[t][g], d, s + g * NL);
    std::int64_t jt = j;
    for (int q = 0; jt < len; ++jt, ++q) {
      const double dv = (static_cast<double>(x[t][jt]) - pivot[t]) - mean[t];
      s[q] += dv * dv;
    }
    m2[t] = combine_sum<8>(s);
  }
}

template <class T>
void StatsImpl(const MultiPassChunk& c) {
  const FD d;
  const int n = c.n, nv = 2 * n;
  const std::int64_t len = c.len;
  StatsPass& p = *c.stats;
  p.w_max = p.w_min = p.wh_max = p.wh_min = detail::arg_empty();
  p.nonfinite = false;
  p.count = len;
  const T* X[kMaxVectors];
  for (int v = 0; v < nv; ++v) X[v] = static_cast<const T*>(c.vec[v]) + c.s0;
  // Two vectors at a time (nv is even): two independent chains per loop.
  for (int v = 0; v < nv; v += 2) {
    double pivot[2];
    for (int t = 0; t < 2; ++t) pivot[t] = static_cast<double>(static_cast<const T*>(c.vec[v + t])[0]);
    alignas(64) double s[16], l[16], h[16], dev[16];
    sums_and_extrema<2>(X + v, len, pivot, s, l, h, dev);
    double mean[2];
    bool moments[2];
    for (int t = 0; t < 2; ++t) {
      p.sum[v + t] = combine_sum<8>(s + 8 * t);
      p.lo[v + t] = combine_min<8>(l + 8 * t);
      p.hi[v + t] = combine_max<8>(h + 8 * t);
      if (!std::isfinite(p.sum[v + t])) p.nonfinite = true;
      moments[t] = c.centred && !p.nonfinite;
      mean[t] = combine_sum<8>(dev + 8 * t) / static_cast<double>(len);
      p.moments[v + t] = Moments{};
    }
    double m2[2];
    if (moments[0] && moments[1]) {
      centred_squares<2>(X + v, len, pivot, mean, m2);
    } else if (moments[0]) {
      centred_squares<1>(X + v, len, pivot, mean, m2);
    }
    for (int t = 0; t < 2; ++t) {
      if (moments[t]) p.moments[v + t] = Moments{static_cast<double>(len), mean[t], m2[t]};
    }
  }
  if (p.nonfinite) return;
  // Welfare per outcome: players summed in order 0..n−1 in float64, then welfare_of.
  double* HWY_RESTRICT wa = c.scratch;
  double* HWY_RESTRICT wp = c.scratch + kBlock;
  const double players = static_cast<double>(n);
  const FV pl = hn::Set(d, players);
  for (std::int64_t b0 = 0; b0 < len; b0 += kBlock) {
    const std::int64_t bl = std::min(kBlock, len - b0);
    FV a_lo = hn::Set(d, kInf), a_hi = hn::Set(d, -kInf), p_lo = a_lo, p_hi = a_hi;
    std::int64_t j = 0;
    for (; j + static_cast<std::int64_t>(NL) <= bl; j += static_cast<std::int64_t>(NL)) {
      FV a = hn::Zero(d), b = hn::Zero(d);
      for (int i = 0; i < n; ++i) {
        a = hn::Add(a, load_as_double(d, X[i] + b0 + j));
        b = hn::Add(b, load_as_double(d, X[n + i] + b0 + j));
      }
      if (c.average) a = hn::Div(a, pl), b = hn::Div(b, pl);
      hn::StoreU(a, d, wa + j);
      hn::StoreU(b, d, wp + j);
      a_lo = hn::Min(a_lo, a), a_hi = hn::Max(a_hi, a), p_lo = hn::Min(p_lo, b), p_hi = hn::Max(p_hi, b);
    }
    double extrema[4] = {hn::GetLane(hn::MinOfLanes(d, a_lo)), hn::GetLane(hn::MaxOfLanes(d, a_hi)),
                         hn::GetLane(hn::MinOfLanes(d, p_lo)), hn::GetLane(hn::MaxOfLanes(d, p_hi))};
    for (; j < bl; ++j) {
      double a = 0.0, b = 0.0;
      for (int i = 0; i < n; ++i) {
        a += static_cast<double>(X[i][b0 + j]);
        b += static_cast<double>(X[n + i][b0 + j]);
      }
      wa[j] = c.average ? a / players : a;
      wp[j] = c.average ? b / players : b;
      extrema[0] = wa[j] < extrema[0] ? wa[j] : extrema[0];
      extrema[1] = wa[j] > extrema[1] ? wa[j] : extrema[1];
      extrema[2] = wp[j] < extrema[2] ? wp[j] : extrema[2];
      extrema[3] = wp[j] > extrema[3] ? wp[j] : extrema[3];
    }
    // The first index holding each extremum (as block_extrema: a tie keeps the running one).
    auto take = [&](const double* w, double value, bool better, ArgExt& e) {
      if (!(e.index < 0 || better)) return;
      std::int64_t k = 0;
      while (w[k] != value) ++k;
      e.value = w[k], e.index = c.s0 + b0 + k;
    };
    take(wa, extrema[1], extrema[1] > p.w_max.value, p.w_max);
    take(wa, extrema[0], extrema[0] < p.w_min.value, p.w_min);
    take(wp, extrema[3], extrema[3] > p.wh_max.value, p.wh_max);
    take(wp, extrema[2], extrema[2] < p.wh_min.value, p.wh_min);
  }
}

/// The equilibria mask of one player along a strided axis (as the scalar loop of
/// GameEvaluator::pass_equilibria_mask): for `len` consecutive contexts, the fibers' min and max over
/// the k rows, their thresholds, and every outcome's ne_bits ANDed into the mask.
/// The min and max over the k rows of the contexts [j, j + Lanes(d)).
template <class D, class T>
HWY_INLINE void fiber_extrema(D d, const T* HWY_RESTRICT u, std::int64_t stride, std::int64_t k, std::int64_t j,
                              double* HWY_RESTRICT lo, double* HWY_RESTRICT hi) {
  using V = hn::Vec<D>;
  const hn::Rebind<T, D> dt;
  V l = hn::Set(d, kInf), h = hn::Set(d, -kInf);
  for (std::int64_t a = 0; a < k; ++a) {
    V y;
    if constexpr (sizeof(T) == sizeof(float)) {
      y = hn::PromoteTo(d, hn::LoadU(dt, u + a * stride + j));
    } else {
      y = hn::LoadU(d, u + a * stride + j);
    }
    l = hn::Min(l, y), h = hn::Max(h, y);
  }
  hn::StoreU(l, d, lo + j), hn::StoreU(h, d, hi + j);
}

/// One row's test u + tol ≥ threshold (detail::meets_threshold; bit 0 against t1, bit 1 against te) of
/// the contexts [j, j + Lanes(d)), ANDed into the mask.
template <class D, class T>
HWY_INLINE void row_test(D d, const T* HWY_RESTRICT row, std::uint8_t* HWY_RESTRICT m, std::int64_t j,
                         const double* HWY_RESTRICT t1, const double* HWY_RESTRICT te, double tolerance) {
  using V = hn::Vec<D>;
  const hn::Rebind<T, D> dt;
  const hn::Rebind<std::int32_t, D> di;
  const hn::Rebind<std::uint8_t, D> du;
  V y;
  if constexpr (sizeof(T) == sizeof(float)) {
    y = hn::PromoteTo(d, hn::LoadU(dt, row + j));
  } else {
    y = hn::LoadU(d, row + j);
  }
  y = hn::Add(y, hn::Set(d, tolerance));
  const V bits = hn::Add(hn::IfThenElseZero(hn::Ge(y, hn::LoadU(d, t1 + j)), hn::Set(d, 1.0)),
                         hn::IfThenElseZero(hn::Ge(y, hn::LoadU(d, te + j)), hn::Set(d, 2.0)));
  const auto b8 = hn::DemoteTo(du, hn::DemoteTo(di, bits));
  hn::StoreU(hn::And(hn::LoadU(du, m + j), b8), du, m + j);
}

/// Runs f(d, j) over [0, len) with the widest vectors, then narrower ones (4 and 2 lanes) for the
/// tail, then one value at a time (g(j)); every step is elementwise, so the width does not matter.
template <class F, class Gs>
HWY_INLINE void by_width(std::int64_t len, const F& f, const Gs& g) {
  const FD d;
  const hn::CappedTag<double, 4> d4;
  const hn::CappedTag<double, 2> d2;
  const std::int64_t n8 = static_cast<std::int64_t>(hn::Lanes(d)), n4 = static_cast<std::int64_t>(hn::Lanes(d4)),
                     n2 = static_cast<std::int64_t>(hn::Lanes(d2));
  std::int64_t j = 0;
  for (; j + n8 <= len; j += n8) f(d, j);
  if (n4 < n8) {
    for (; j + n4 <= len; j += n4) f(d4, j);
  }
  if (n2 < n4) {
    for (; j + n2 <= len; j += n2) f(d2, j);
  }
  for (; j < len; ++j) g(j);
}

template <class T>
void MaskRowsImpl(const MaskRows& r) {
  const std::int64_t len = r.len, k = r.k, stride = r.stride;
  double* HWY_RESTRICT lo = r.ctx;
  double* HWY_RESTRICT hi = lo + len;
  double* HWY_RESTRICT t1 = hi + len;
  double* HWY_RESTRICT te = t1 + len;
  for (std::int64_t o = 0; o < r.outers; ++o) {
    const T* HWY_RESTRICT u = static_cast<const T*>(r.u) + r.base + o * stride * k;
    std::uint8_t* HWY_RESTRICT mask = r.mask + r.base + o * stride * k;
    by_width(
        len, [&](auto d, std::int64_t j) HWY_ATTR { fiber_extrema(d, u, stride, k, j, lo, hi); },
        [&](std::int64_t j) {
          double l = kInf, h = -kInf;
          for (std::int64_t a = 0; a < k; ++a) {
            const double y = static_cast<double>(u[a * stride + j]);
            l = y < l ? y : l;
            h = y > h ? y : h;
          }
          lo[j] = l, hi[j] = h;
        });
    for (std::int64_t j = 0; j < len; ++j) {
      t1[j] = detail::ic_threshold(lo[j], hi[j], 1.0);
      te[j] = detail::ic_threshold(lo[j], hi[j], r.ic);
    }
    for (std::int64_t a = 0; a < k; ++a) {
      const T* HWY_RESTRICT row = u + a * stride;
      std::uint8_t* HWY_RESTRICT m = mask + a * stride;
      by_width(
          len, [&](auto d, std::int64_t j) HWY_ATTR { row_test(d, row, m, j, t1, te, r.tolerance); },
          [&](std::int64_t j) {
            m[j] &= static_cast<std::uint8_t>(detail::ne_bits(static_cast<double>(row[j]), t1[j], te[j], r.tolerance));
          });
    }
  }
}

/// The equilibria mask of the last player (stride 1): fibers of k contiguous outcomes, in blocks of
/// about kFiberBlock outcomes. The fibers' min and max come NL fibers at a time from gathers (short
/// fibers) or along each fiber's contiguous values (the rest), their thresholds are spread over the
/// block's outcomes, and the test runs along the outcomes (row_test).
constexpr std::int64_t kFiberBlock = 512;

template <class T>
void MaskFibersImpl(const MaskFibers& r) {
  const FD d;
  const hn::Rebind<T, FD> dt;
  const hn::RebindToSigned<decltype(dt)> di;
  using TI = hn::TFromD<decltype(di)>;
  constexpr std::int64_t nl = static_cast<std::int64_t>(NL);
  const std::int64_t k = r.k;
  const std::int64_t B = std::max<std::int64_t>(1, kFiberBlock / k);
  double* HWY_RESTRICT lo = r.ctx;
  double* HWY_RESTRICT hi = lo + B;
  double* HWY_RESTRICT t1 = hi + B;
  double* HWY_RESTRICT te = t1 + B;
  double* HWY_RESTRICT x1 = te + B;           // [B · k + NL] t1 per outcome
  double* HWY_RESTRICT xe = x1 + B * k + nl;  // [B · k + NL] te per outcome
  alignas(64) TI offsets[8];
  for (std::int64_t l = 0; l < nl; ++l) offsets[l] = static_cast<TI>(l * k);
  const auto index = hn::LoadU(di, offsets);
  for (std::int64_t fb = 0; fb < r.fibers; fb += B) {
    const std::int64_t nb = std::min(B, r.fibers - fb);
    const T* HWY_RESTRICT u = static_cast<const T*>(r.u) + (r.f0 + fb) * k;
    std::uint8_t* HWY_RESTRICT m = r.mask + (r.f0 + fb) * k;
    std::int64_t f = 0;
    for (; f + nl <= nb; f += nl) {
      FV l = hn::Set(d, kInf), h = hn::Set(d, -kInf);
      for (std::int64_t a = 0; a < k; ++a) {
        FV y;
        if constexpr (sizeof(T) == sizeof(float)) {
          y = hn::PromoteTo(d, hn::GatherIndex(dt, u + f * k + a, index));
        } else {
          y = hn::GatherIndex(dt, u + f * k + a, index);
        }
        l = hn::Min(l, y), h = hn::Max(h, y);
      }
      hn::StoreU(l, d, lo + f), hn::StoreU(h, d, hi + f);
    }
    for (; f < nb; ++f) {
      // (A long fiber, k ≥ NL: its contiguous values on vectors, then the lanes; min and max are
      // exact, so the order does not change the thresholds' comparisons.)
      FV lv = hn::Set(d, kInf), hv = hn::Set(d, -kInf);
      std::int64_t a = 0;
      for (; a + nl <= k; a += nl) {
        const FV y = load_as_double(d, u + f * k + a);
        lv = hn::Min(lv, y), hv = hn::Max(hv, y);
      }
      double l = hn::GetLane(hn::MinOfLanes(d, lv)), h = hn::GetLane(hn::MaxOfLanes(d, hv));
      for (; a < k; ++a) {
        const double y = static_cast<double>(u[f * k + a]);
        l = y < l ? y : l;
        h = y > h ? y : h;
      }
      lo[f] = l, hi[f] = h;
    }
    for (f = 0; f < nb; ++f) {
      t1[f] = detail::ic_threshold(lo[f], hi[f], 1.0);
      te[f] = detail::ic_threshold(lo[f], hi[f], r.ic);
      // Spread over the fiber's outcomes (a store may run into the next fiber's, written next).
      const FV v1 = hn::Set(d, t1[f]), ve = hn::Set(d, te[f]);
      for (std::int64_t a = 0; a < k; a += nl) hn::StoreU(v1, d, x1 + f * k + a), hn::StoreU(ve, d, xe + f * k + a);
    }
    by_width(
        nb * k, [&](auto dd, std::int64_t j) HWY_ATTR { row_test(dd, u, m, j, x1, xe, r.tolerance); },
        [&](std::int64_t j) {
          m[j] &= static_cast<std::uint8_t>(detail::ne_bits(static_cast<double>(u[j]), x1[j], xe[j], r.tolerance));
        });
  }
}

void MaskFibersKernel(const MaskFibers& r) {
  detail::visit_dtype(r.float32, [&](auto t) { MaskFibersImpl<decltype(t)>(r); });
}

void MaskRowsKernel(const MaskRows& r) {
  detail::visit_dtype(r.float32, [&](auto t) { MaskRowsImpl<decltype(t)>(r); });
}

/// One step of a distance's accumulation, as the norm's accumulate (detail/standardisation.hpp):
/// L2: t + d·d (EPIC); L∞ (Inf): max(t, |d|) (MAX, MAX-range), exact in any order.
template <bool Inf>
HWY_INLINE FV accumulate_step(FV t, FV dv) {
  if (Inf) return hn::Max(t, hn::Abs(dv));
  return hn::Add(t, hn::Mul(dv, dv));
}
template <bool Inf>
HWY_INLINE double accumulate_step(double t, double dv) {
  return Inf ? detail::LInfNorm::accumulate(t, dv) : t + dv * dv;
}

/// acc[lane] accumulates a[j] − b[j] over j in [0, len), lane = j mod 8
/// (accumulate_differences<L2Norm or LInfNorm, 8>).
template <bool Inf>
HWY_INLINE void accumulate_squares(const double* HWY_RESTRICT a, const double* HWY_RESTRICT b, std::int64_t len,
                                   double* HWY_RESTRICT acc) {
  const FD d;
  FV t[G];
  for (int g = 0; g < G; ++g) t[g] = hn::LoadU(d, acc + g * NL);
  std::int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    for (int g = 0; g < G; ++g) {
      const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
      t[g] = accumulate_step<Inf>(t[g], hn::Sub(hn::LoadU(d, a + o), hn::LoadU(d, b + o)));
    }
  }
  for (int g = 0; g < G; ++g) hn::StoreU(t[g], d, acc + g * NL);
  for (int q = 0; j < len; ++j, ++q) acc[q] = accumulate_step<Inf>(acc[q], a[j] - b[j]);
}

/// The three distances of player i (IA: ν_i − ν̂_i; CA: ν_i − μ and ν̂_i − μ̂) in one read, each as
/// accumulate_squares.
template <bool Inf>
HWY_INLINE void accumulate_player(const double* HWY_RESTRICT na, const double* HWY_RESTRICT np,
                                  const double* HWY_RESTRICT mu_a, const double* HWY_RESTRICT mu_p, std::int64_t len,
                                  double* HWY_RESTRICT ia, double* HWY_RESTRICT ca, double* HWY_RESTRICT cp) {
  const FD d;
  FV t0[G], t1[G], t2[G];
  for (int g = 0; g < G; ++g) {
    t0[g] = hn::LoadU(d, ia + g * NL), t1[g] = hn::LoadU(d, ca + g * NL), t2[g] = hn::LoadU(d, cp + g * NL);
  }
  std::int64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    for (int g = 0; g < G; ++g) {
      const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
      const FV a = hn::LoadU(d, na + o), p = hn::LoadU(d, np + o);
      t0[g] = accumulate_step<Inf>(t0[g], hn::Sub(a, p));
      t1[g] = accumulate_step<Inf>(t1[g], hn::Sub(a, hn::LoadU(d, mu_a + o)));
      t2[g] = accumulate_step<Inf>(t2[g], hn::Sub(p, hn::LoadU(d, mu_p + o)));
    }
  }
  for (int g = 0; g < G; ++g) {
    hn::StoreU(t0[g], d, ia + g * NL), hn::StoreU(t1[g], d, ca + g * NL), hn::StoreU(t2[g], d, cp + g * NL);
  }
  for (int q = 0; j < len; ++j, ++q) {
    ia[q] = accumulate_step<Inf>(ia[q], na[j] - np[j]);
    ca[q] = accumulate_step<Inf>(ca[q], na[j] - mu_a[j]);
    cp[q] = accumulate_step<Inf>(cp[q], np[j] - mu_p[j]);
  }
}

/// The weighted mean μ of one side (detail::ca_mean: Σ_i m_i·ν_i in player order, times 1/W).
HWY_INLINE void side_mean(int n, const double* nu, const double* mag, double inverse_weight, std::int64_t len,
                          double* HWY_RESTRICT mu) {
  const FD d;
  constexpr std::int64_t nl = static_cast<std::int64_t>(NL);
  const FV iw = hn::Set(d, inverse_weight);
  std::int64_t j = 0;
  for (; j + nl <= len; j += nl) {
    FV acc = hn::Zero(d);
    for (int i = 0; i < n; ++i) acc = hn::Add(acc, hn::Mul(hn::Set(d, mag[i]), hn::LoadU(d, nu + i * kBlock + j)));
    hn::StoreU(hn::Mul(acc, iw), d, mu + j);
  }
  for (; j < len; ++j) {
    double acc = 0.0;
    for (int i = 0; i < n; ++i) acc = acc + mag[i] * nu[i * kBlock + j];
    mu[j] = acc * inverse_weight;
  }
}

template <class T, bool Inf>
void AlignImpl(const MultiPassChunk& c) {
  const FD d;
  constexpr std::int64_t nl = static_cast<std::int64_t>(NL);
  const int n = c.n, nv = 2 * n;
  const T* X[kMaxVectors];
  for (int v = 0; v < nv; ++v) X[v] = static_cast<const T*>(c.vec[v]) + c.s0;
  double* nu = c.scratch;                                            // [nv][kBlock]
  double* mu_a = c.scratch + static_cast<std::size_t>(nv) * kBlock;  // [kBlock]
  double* mu_p = mu_a + kBlock;                                      // [kBlock]
  double* acc = c.acc;
  for (std::size_t q = 0; q < c.accumulators * 8; ++q) acc[q] = 0.0;
  for (std::int64_t b0 = 0; b0 < c.len; b0 += kBlock) {
    const std::int64_t bl = std::min(kBlock, c.len - b0);
    for (int v = 0; v < nv; ++v) {
      const T* HWY_RESTRICT x = X[v] + b0;
      double* HWY_RESTRICT out = nu + static_cast<std::size_t>(v) * kBlock;
      const double sh = c.shift[v], inv = detail::inverse_magnitude_of(c.mag[v]);
      if (inv > 0.0) {
        // detail::standardised_by_inverse
        const FV shv = hn::Set(d, sh), invv = hn::Set(d, inv);
        std::int64_t j = 0;
        for (; j + nl <= bl; j += nl) {
          hwy::Prefetch(x + j + kBlock);  // the next block (the game is read from L3 or memory here)
          hn::StoreU(hn::Mul(hn::Sub(load_as_double(d, x + j), shv), invv), d, out + j);
        }
        for (; j < bl; ++j) out[j] = detail::standardised_by_inverse(static_cast<double>(x[j]), sh, inv);
      } else {
        for (std::int64_t j = 0; j < bl; ++j) out[j] = 0.0;
      }
    }
    side_mean(n, nu, c.mag, c.inverse_weight[0], bl, mu_a);
    side_mean(n, nu + static_cast<std::size_t>(n) * kBlock, c.mag + n, c.inverse_weight[1], bl, mu_p);
    for (int i = 0; i < n; ++i) {
      accumulate_player<Inf>(nu + static_cast<std::size_t>(i) * kBlock, nu + static_cast<std::size_t>(n + i) * kBlock,
                             mu_a, mu_p, bl, acc + static_cast<std::size_t>(i) * 8,
                             acc + static_cast<std::size_t>(n + i) * 8, acc + static_cast<std::size_t>(2 * n + i) * 8);
    }
    if (c.pairs) {
      std::size_t q = 3 * static_cast<std::size_t>(n);
      for (int a = 0; a < nv; ++a) {
        for (int b = a + 1; b < nv; ++b, ++q) {
          accumulate_squares<Inf>(nu + static_cast<std::size_t>(a) * kBlock, nu + static_cast<std::size_t>(b) * kBlock,
                                  bl, acc + q * 8);
        }
      }
    }
  }
}

void AlignKernel(const MultiPassChunk& c) {
  detail::visit_dtype(c.float32,
                      [&](auto t) { c.max_norm ? AlignImpl<decltype(t), true>(c) : AlignImpl<decltype(t), false>(c); });
}

void StatsKernel(const MultiPassChunk& c) {
  detail::visit_dtype(c.float32, [&](auto t) { StatsImpl<decltype(t)>(c); });
}

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace dgeval
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dgeval {
namespace cpu {

HWY_EXPORT(StatsKernel);
HWY_EXPORT(MaskRowsKernel);
HWY_EXPORT(MaskFibersKernel);
HWY_EXPORT(AlignKernel);

void multi_pass_stats(const MultiPassChunk& chunk) { HWY_DYNAMIC_DISPATCH(StatsKernel)(chunk); }
void multi_pass_align(const MultiPassChunk& chunk) { HWY_DYNAMIC_DISPATCH(AlignKernel)(chunk); }
void multi_pass_mask_rows(const MaskRows& rows) { HWY_DYNAMIC_DISPATCH(MaskRowsKernel)(rows); }
void multi_pass_mask_fibers(const MaskFibers& fibers) { HWY_DYNAMIC_DISPATCH(MaskFibersKernel)(fibers); }

}  // namespace cpu
}  // namespace dgeval
#endif  // HWY_ONCE
