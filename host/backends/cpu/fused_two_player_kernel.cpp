// The fused 2-player path's kernel (backends/cpu/fused_two_player.hpp): one chunk of rows, compiled
// once per instruction set by Highway's foreach_target and chosen at run time. Every sum runs in 8
// lanes (outcome j of a row in lane j mod 8) whatever the vector width, each lane doing exactly the
// operations of detail/gram.hpp's biased_accumulate, biased_accumulate_product_fma (on targets with a
// fused multiply-add; biased_accumulate_split_product of two_prod without one) and dd_add, so the
// results are the same bits on every instruction set of the same product form; the tail of a row
// (fewer than 8 values) runs those functions one value at a time on the same lanes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "backends/cpu/fused_two_player.hpp"
#include "dgeval/detail/dtype.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/fused_two_player_kernel.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// (foreach_target.h includes this file again once per instruction set)
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "backends/cpu/simd_double-inl.hpp"

#include "dgeval/detail/gram.hpp"
#include "dgeval/detail/measures.hpp"

HWY_BEFORE_NAMESPACE();
namespace dgeval {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// a·b − p exactly, for p = fl(a·b): one fused multiply-add, or Dekker's split product.
HWY_INLINE FV product_error(FD d, FV a, FV b, FV p) {
#if HWY_NATIVE_FMA
  (void)d;
  return hn::MulSub(a, b, p);
#else
  const FV split = hn::Set(d, 134217729.0);  // 2^27 + 1
  const FV ca = hn::Mul(split, a), cb = hn::Mul(split, b);
  const FV ah = hn::Sub(ca, hn::Sub(ca, a)), bh = hn::Sub(cb, hn::Sub(cb, b));
  const FV al = hn::Sub(a, ah), bl = hn::Sub(b, bh);
  return hn::Add(hn::Add(hn::Add(hn::Sub(hn::Mul(ah, bh), p), hn::Mul(ah, bl)), hn::Mul(al, bh)), hn::Mul(al, bl));
#endif
}

/// detail::dd_add (with detail::two_sum and detail::fast_two_sum), lane by lane: (hi, lo) += (bh, bl).
HWY_INLINE void add_dd(FV& hi, FV& lo, FV bh, FV bl) {
  auto two_sum = [](FV a, FV b, FV& err) HWY_ATTR {
    const FV s = hn::Add(a, b);
    const FV bb = hn::Sub(s, a);
    err = hn::Add(hn::Sub(a, hn::Sub(s, bb)), hn::Sub(b, bb));
    return s;
  };
  auto fast_two_sum = [](FV a, FV b, FV& err) HWY_ATTR {
    const FV s = hn::Add(a, b);
    err = hn::Sub(b, hn::Sub(s, a));
    return s;
  };
  FV s_lo, t_lo, u_lo, r_lo;
  const FV s_hi = two_sum(hi, bh, s_lo);
  const FV t_hi = two_sum(lo, bl, t_lo);
  const FV u_hi = fast_two_sum(s_hi, hn::Add(s_lo, t_hi), u_lo);
  const FV r_hi = fast_two_sum(u_hi, hn::Add(u_lo, t_lo), r_lo);
  hi = r_hi, lo = r_lo;
}

/// (hi[q], lo[q]) += (th[q] − bias, tl[q]) for the 8 lanes q, by add_dd: a segment's biased
/// partial sums folded into the chunk's double-double accumulators.
HWY_INLINE void fold_partials(double* hi, double* lo, const double* th, const double* tl, double bias) {
  const FD d;
  constexpr std::size_t NL = hn::MaxLanes(FD());
  const FV vb = hn::Set(d, bias);
  for (std::size_t g = 0; g < 8; g += NL) {
    FV rh = hn::LoadU(d, hi + g), rl = hn::LoadU(d, lo + g);
    add_dd(rh, rl, hn::Sub(hn::LoadU(d, th + g), vb), hn::LoadU(d, tl + g));
    hn::StoreU(rh, d, hi + g), hn::StoreU(rl, d, lo + g);
  }
}

// Scalar steps of the tail, the same operations as the lanes (hn::Min(a, b) is a < b ? a : b on
// every x86 target, hn::Max(a, b) a > b ? a : b).
inline double lane_min(double a, double b) { return a < b ? a : b; }
inline double lane_max(double a, double b) { return a > b ? a : b; }

/// Running (value, first index) extrema of the segment's welfare values w[0, len) at outcome s0.
inline void segment_extrema(const double* w, std::int64_t len, std::int64_t s0, double seg_hi, double seg_lo,
                            detail::ArgExt& mx, detail::ArgExt& mn) {
  if (mx.index < 0 || seg_hi > mx.value) {
    std::int64_t k = 0;
    while (w[k] != seg_hi) ++k;
    mx.value = w[k], mx.index = s0 + k;
  }
  if (mn.index < 0 || seg_lo < mn.value) {
    std::int64_t k = 0;
    while (w[k] != seg_lo) ++k;
    mn.value = w[k], mn.index = s0 + k;
  }
  (void)len;
}

/// The cross-products' pairs as FusedTwoPlayer sets them (the squares, IA's, CA's, the distance
/// matrix's rest), for the loop that takes them all at once.
constexpr int kPairU[10] = {0, 1, 2, 3, 0, 1, 0, 2, 0, 1};
constexpr int kPairV[10] = {0, 1, 2, 3, 2, 3, 1, 3, 3, 2};

template <class T>
void ChunkImpl(FusedChunk& c) {
  // Each vector is a stream read a segment at a time: prefetch two segments ahead, so the next
  // segments arrive while this one is being worked on (prefetching past the end is harmless).
  constexpr std::int64_t kPrefetch = 2 * kFusedSegment;
  const FD d;
  constexpr std::size_t NL = hn::MaxLanes(FD());
  constexpr int G = static_cast<int>(8 / NL);
  static_assert(G * NL == 8, "8 lanes in whole vectors");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const std::int64_t k1 = c.k1;
  std::vector<double>& scratch = *c.scratch;
  if (scratch.size() < 6 * static_cast<std::size_t>(kFusedSegment)) scratch.resize(6 * kFusedSegment);
  double* dev[4];
  for (int v = 0; v < 4; ++v) dev[v] = scratch.data() + v * kFusedSegment;
  double* wb = scratch.data() + 4 * kFusedSegment;
  double* whb = wb + kFusedSegment;
  for (int v = 0; v < 4; ++v) {
    for (int q = 0; q < 8; ++q) c.sum_hi[v][q] = c.sum_lo[v][q] = 0.0, c.lo[v][q] = kInf, c.hi[v][q] = -kInf;
  }
  for (int e = 0; e < c.entries; ++e) {
    for (int q = 0; q < 8; ++q) c.prod_hi[e][q] = c.prod_lo[e][q] = 0.0;
  }
  c.w_max = c.w_min = c.wh_max = c.wh_min = detail::arg_empty();
  const T* X[4];
  for (int v = 0; v < 4; ++v) X[v] = static_cast<const T*>(c.x[v]);
  bool all_pairs = true;  // the entries are the standard ones (kPairU, kPairV)
  for (int e = 0; e < c.entries; ++e) all_pairs = all_pairs && c.pair_u[e] == kPairU[e] && c.pair_v[e] == kPairV[e];
  const double scale = c.average ? 0.5 : 1.0;  // welfare_of for 2 players: x / 2 is x · 0.5 exactly
  const double tol = c.tolerance;

  for (std::int64_t r = c.r0; r < c.r1; ++r) {
    const std::int64_t base = r * k1;
    alignas(64) double rlo[8], rhi[8];  // player 2's fiber: the row's min and max of u₂, in lanes
    for (int q = 0; q < 8; ++q) rlo[q] = kInf, rhi[q] = -kInf;
    for (std::int64_t j0 = 0; j0 < k1; j0 += kFusedSegment) {
      const std::int64_t len = std::min(kFusedSegment, k1 - j0), vl = len & ~std::int64_t{7};
      // Deviations, their sums, and the extrema of each vector: two vectors per loop (two
      // independent chains of additions).
      const FV zero = hn::Zero(d), sc = hn::Set(d, scale);
      double side_hi[2], side_lo[2];  // the segment's welfare extrema per side (agents, principals)
      for (int v0 = 0; v0 < 4; v0 += 2) {
        const T* HWY_RESTRICT x[2];
        double* HWY_RESTRICT a[2];
        double* mnp[2];
        double* mxp[2];
        FV piv[2], mn[2][G], mx[2][G];
        for (int t = 0; t < 2; ++t) {
          const int v = v0 + t;
          x[t] = X[v] + base + j0;
          a[t] = dev[v];
          mnp[t] = v == 1 ? rlo : c.lo[v];
          mxp[t] = v == 1 ? rhi : c.hi[v];
          piv[t] = hn::Set(d, c.pivot[v]);
          for (int g = 0; g < G; ++g) {
            mn[t][g] = hn::LoadU(d, mnp[t] + g * NL), mx[t][g] = hn::LoadU(d, mxp[t] + g * NL);
          }
        }
        double* HWY_RESTRICT cl = c.col_lo + j0;
        double* HWY_RESTRICT ch = c.col_hi + j0;
        auto step = [&](int t, std::int64_t o, int g) HWY_ATTR {
          hwy::Prefetch(x[t] + o + kPrefetch);
          const FV y = load_as_double(d, x[t] + o);
          const FV dv = hn::Sub(y, piv[t]);
          hn::StoreU(dv, d, a[t] + o);
          mn[t][g] = hn::Min(mn[t][g], y), mx[t][g] = hn::Max(mx[t][g], y);
          return y;
        };
        // The side's welfare (0 + x₁ + x₂) in float64, then welfare_of (as welfare_at), and its extrema.
        double* HWY_RESTRICT wbuf = v0 == 0 ? wb : whb;
        FV wx[G], wn[G];
        for (int g = 0; g < G; ++g) wx[g] = hn::Set(d, -kInf), wn[g] = hn::Set(d, kInf);
        auto welfare = [&](FV y0, FV y1, std::int64_t o, int g) HWY_ATTR {
          const FV w = hn::Mul(hn::Add(hn::Add(zero, y0), y1), sc);
          hn::StoreU(w, d, wbuf + o);
          wx[g] = hn::Max(wx[g], w), wn[g] = hn::Min(wn[g], w);
        };
        if (v0 == 0) {  // u₁: also player 1's running column extrema
          for (std::int64_t j = 0; j < vl; j += 8) {
            for (int g = 0; g < G; ++g) {
              const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
              const FV y = step(0, o, g);
              welfare(y, step(1, o, g), o, g);
              hn::StoreU(hn::Min(hn::LoadU(d, cl + o), y), d, cl + o);
              hn::StoreU(hn::Max(hn::LoadU(d, ch + o), y), d, ch + o);
            }
          }
        } else {
          for (std::int64_t j = 0; j < vl; j += 8) {
            for (int g = 0; g < G; ++g) {
              const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
              const FV y = step(0, o, g);
              welfare(y, step(1, o, g), o, g);
            }
          }
        }
        double& w_hi = side_hi[v0 / 2];
        double& w_lo = side_lo[v0 / 2];
        w_hi = -kInf, w_lo = kInf;
        for (int g = 0; g < G; ++g) {
          w_hi = lane_max(w_hi, hn::GetLane(hn::MaxOfLanes(d, wx[g])));
          w_lo = lane_min(w_lo, hn::GetLane(hn::MinOfLanes(d, wn[g])));
        }
        for (int t = 0; t < 2; ++t) {
          const int v = v0 + t;
          for (int g = 0; g < G; ++g) {
            hn::StoreU(mn[t][g], d, mnp[t] + g * NL), hn::StoreU(mx[t][g], d, mxp[t] + g * NL);
          }
          for (std::int64_t j = vl; j < len; ++j) {
            const int q = static_cast<int>(j & 7);
            const double y = static_cast<double>(x[t][j]);
            a[t][j] = y - c.pivot[v];
            mnp[t][q] = lane_min(mnp[t][q], y), mxp[t][q] = lane_max(mxp[t][q], y);
            if (v == 0) cl[j] = lane_min(cl[j], y), ch[j] = lane_max(ch[j], y);
          }
        }
      }
      // The welfare of the segment's tail, and its extrema (first index, as block_extrema).
      {
        double w_hi = side_hi[0], w_lo = side_lo[0], h_hi = side_hi[1], h_lo = side_lo[1];
        for (std::int64_t j = vl; j < len; ++j) {
          const std::int64_t s = base + j0 + j;
          wb[j] = ((0.0 + static_cast<double>(X[0][s])) + static_cast<double>(X[1][s])) * scale;
          whb[j] = ((0.0 + static_cast<double>(X[2][s])) + static_cast<double>(X[3][s])) * scale;
          w_hi = lane_max(w_hi, wb[j]), w_lo = lane_min(w_lo, wb[j]);
          h_hi = lane_max(h_hi, whb[j]), h_lo = lane_min(h_lo, whb[j]);
        }
        segment_extrema(wb, len, base + j0, w_hi, w_lo, c.w_max, c.w_min);
        segment_extrema(whb, len, base + j0, h_hi, h_lo, c.wh_max, c.wh_min);
      }
      // The cross-products, two entries per loop over the segment (its deviations are in L1; two
      // independent chains of additions). A square loads its vector twice: the same bits. Each
      // segment is accumulated biased (detail::biased_accumulate_split_product: Fast2Sum, exact),
      // with a bias from a bound on the deviations (the running extrema cover the segment), then
      // added to the running double-double lanes (detail::dd_add).
      double bound[4];
      for (int v = 0; v < 4; ++v) {
        const double* lo = v == 1 ? rlo : c.lo[v];
        const double* hi = v == 1 ? rhi : c.hi[v];
        double m = 0.0;
        for (int q = 0; q < 8; ++q) {
          if (!(lo[q] <= hi[q])) continue;  // a lane no value has reached yet (rows shorter than 8)
          m = lane_max(m, lane_max(std::fabs(lo[q] - c.pivot[v]), std::fabs(hi[q] - c.pivot[v])));
        }
        bound[v] = m;
      }
      constexpr double kPerLane = kFusedSegment / 8 + 1;  // products per lane and segment, and one more
      // EB entries per loop over the segment: EB independent chains of accumulation per lane group.
      auto products = [&](auto eb, int e0) HWY_ATTR {
        constexpr int EB = decltype(eb)::value;
        const double* HWY_RESTRICT au[EB];
        const double* HWY_RESTRICT av[EB];
        double bias[EB];
        FV bh[EB][G], bl[EB][G];
        for (int t = 0; t < EB; ++t) {
          const int e = e0 + t;
          au[t] = dev[c.pair_u[e]], av[t] = dev[c.pair_v[e]];
          bias[t] =
              detail::accumulation_bias(kPerLane * (bound[c.pair_u[e]] * 1.000001) * (bound[c.pair_v[e]] * 1.000001));
          for (int g = 0; g < G; ++g) bh[t][g] = hn::Set(d, bias[t]), bl[t][g] = hn::Zero(d);
        }
        for (std::int64_t j = 0; j < vl; j += 8) {
          for (int g = 0; g < G; ++g) {
            const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
            for (int t = 0; t < EB; ++t) {
              const FV a1 = hn::LoadU(d, au[t] + o), b1 = hn::LoadU(d, av[t] + o);
#if HWY_NATIVE_FMA
              // detail::biased_accumulate_product_fma
              const FV s = hn::MulAdd(a1, b1, bh[t][g]);
              const FV z = hn::Sub(s, bh[t][g]);
              bl[t][g] = hn::Add(bl[t][g], hn::MulSub(a1, b1, z));
#else
              // detail::biased_accumulate_split_product of detail::two_prod (Dekker's product)
              const FV p = hn::Mul(a1, b1);
              const FV s = hn::Add(bh[t][g], p);
              const FV z = hn::Sub(s, bh[t][g]);
              bl[t][g] = hn::Add(bl[t][g], hn::Add(hn::Sub(p, z), product_error(d, a1, b1, p)));
#endif
              bh[t][g] = s;
            }
          }
        }
        for (int t = 0; t < EB; ++t) {
          const int e = e0 + t;
          alignas(64) double th[8], tl[8];
          for (int g = 0; g < G; ++g) hn::StoreU(bh[t][g], d, th + g * NL), hn::StoreU(bl[t][g], d, tl + g * NL);
          for (std::int64_t j = vl; j < len; ++j) {
            const int q = static_cast<int>(j & 7);
            detail::DoubleDouble acc{th[q], tl[q]};
#if HWY_NATIVE_FMA
            detail::biased_accumulate_product_fma(acc, au[t][j], av[t][j]);
#else
            const detail::DoubleDouble p = detail::two_prod(au[t][j], av[t][j]);
            detail::biased_accumulate_split_product(acc, p.hi, p.lo);
#endif
            th[q] = acc.hi, tl[q] = acc.lo;
          }
          fold_partials(c.prod_hi[e], c.prod_lo[e], th, tl, bias[t]);
        }
      };
      // Every entry at once (the pairs of kPairU, kPairV), and the deviation sums: see below.
      auto products_all = [&](auto ne) HWY_ATTR {
        constexpr int E = decltype(ne)::value;
        double bias[E], sbias[4];
        FV bh[E], bl[E], sh[4], sl[4];
        for (int v = 0; v < 4; ++v) {
          sbias[v] = detail::accumulation_bias(kPerLane * (bound[v] * 1.000001));
          sh[v] = hn::Set(d, sbias[v]), sl[v] = hn::Zero(d);
        }
        for (int e = 0; e < E; ++e) {
          bias[e] = detail::accumulation_bias(kPerLane * (bound[kPairU[e]] * 1.000001) * (bound[kPairV[e]] * 1.000001));
          bh[e] = hn::Set(d, bias[e]), bl[e] = hn::Zero(d);
        }
        for (std::int64_t j = 0; j < vl; j += 8) {
          FV x[4];
          for (int v = 0; v < 4; ++v) {  // the sums (as in sums below)
            x[v] = hn::LoadU(d, dev[v] + j);
            const FV s = hn::Add(sh[v], x[v]);
            sl[v] = hn::Add(sl[v], hn::Sub(x[v], hn::Sub(s, sh[v])));
            sh[v] = s;
          }
          for (int e = 0; e < E; ++e) {  // detail::biased_accumulate_product_fma
            const FV s = hn::MulAdd(x[kPairU[e]], x[kPairV[e]], bh[e]);
            const FV z = hn::Sub(s, bh[e]);
            bl[e] = hn::Add(bl[e], hn::MulSub(x[kPairU[e]], x[kPairV[e]], z));
            bh[e] = s;
          }
        }
        for (int e = 0; e < E; ++e) {
          alignas(64) double th[8], tl[8];
          hn::Store(bh[e], d, th), hn::Store(bl[e], d, tl);
          for (std::int64_t j = vl; j < len; ++j) {
            const int q = static_cast<int>(j & 7);
            detail::DoubleDouble acc{th[q], tl[q]};
            detail::biased_accumulate_product_fma(acc, dev[kPairU[e]][j], dev[kPairV[e]][j]);
            th[q] = acc.hi, tl[q] = acc.lo;
          }
          fold_partials(c.prod_hi[e], c.prod_lo[e], th, tl, bias[e]);
        }
        for (int v = 0; v < 4; ++v) {
          alignas(64) double th[8], tl[8];
          hn::Store(sh[v], d, th), hn::Store(sl[v], d, tl);
          for (std::int64_t j = vl; j < len; ++j) {
            const int q = static_cast<int>(j & 7);
            detail::DoubleDouble acc{th[q], tl[q]};
            detail::biased_accumulate(acc, dev[v][j]);
            th[q] = acc.hi, tl[q] = acc.lo;
          }
          fold_partials(c.sum_hi[v], c.sum_lo[v], th, tl, sbias[v]);
        }
      };
      // The sums of the deviations, from the segment in L1 as the products: biased, Fast2Sum per step
      // (detail::biased_accumulate: exact, the bias from the same bound), 4 vectors per loop.
      auto sums = [&]() HWY_ATTR {
        double bias[4];
        FV bh[4][G], bl[4][G];
        for (int v = 0; v < 4; ++v) {
          bias[v] = detail::accumulation_bias(kPerLane * (bound[v] * 1.000001));
          for (int g = 0; g < G; ++g) bh[v][g] = hn::Set(d, bias[v]), bl[v][g] = hn::Zero(d);
        }
        for (std::int64_t j = 0; j < vl; j += 8) {
          for (int g = 0; g < G; ++g) {
            const std::int64_t o = j + g * static_cast<std::int64_t>(NL);
            for (int v = 0; v < 4; ++v) {
              const FV x = hn::LoadU(d, dev[v] + o);
              const FV s = hn::Add(bh[v][g], x);
              bl[v][g] = hn::Add(bl[v][g], hn::Sub(x, hn::Sub(s, bh[v][g])));
              bh[v][g] = s;
            }
          }
        }
        for (int v = 0; v < 4; ++v) {
          alignas(64) double th[8], tl[8];
          for (int g = 0; g < G; ++g) hn::StoreU(bh[v][g], d, th + g * NL), hn::StoreU(bl[v][g], d, tl + g * NL);
          for (std::int64_t j = vl; j < len; ++j) {
            const int q = static_cast<int>(j & 7);
            detail::DoubleDouble acc{th[q], tl[q]};
            detail::biased_accumulate(acc, dev[v][j]);
            th[q] = acc.hi, tl[q] = acc.lo;
          }
          fold_partials(c.sum_hi[v], c.sum_lo[v], th, tl, bias[v]);
        }
      };
      // With one vector of 8 lanes (AVX-512) and a fused multiply-add, every entry in one loop: each
      // vector's deviations loaded once, one independent chain per entry (the loop is bound by its
      // loads otherwise). Else EB entries per loop.
      bool done = false;
      (void)products_all;
#if HWY_NATIVE_FMA
      if constexpr (G == 1) {
        if (all_pairs && c.entries == 8) {
          products_all(std::integral_constant<int, 8>());
          done = true;
        } else if (all_pairs && c.entries == 10) {
          products_all(std::integral_constant<int, 10>());
          done = true;
        }
      }
#endif
      if (!done) {
        sums();
        constexpr int kEntriesPerLoop = G == 1 ? 4 : 2;
        int e0 = 0;
        for (; e0 + kEntriesPerLoop <= c.entries; e0 += kEntriesPerLoop) {
          products(std::integral_constant<int, kEntriesPerLoop>(), e0);
        }
        for (; e0 < c.entries; e0 += 2) products(std::integral_constant<int, 2>(), e0);
      }
    }
    // Player 2's thresholds for this row, and the row's test (the row is still in cache).
    double row_lo = kInf, row_hi = -kInf;
    for (int q = 0; q < 8; ++q) {
      row_lo = lane_min(row_lo, rlo[q]), row_hi = lane_max(row_hi, rhi[q]);
      c.lo[1][q] = lane_min(c.lo[1][q], rlo[q]), c.hi[1][q] = lane_max(c.hi[1][q], rhi[q]);
    }
    const double t1 = detail::ic_threshold(row_lo, row_hi, 1.0);
    const double te = detail::ic_threshold(row_lo, row_hi, c.ic);
    const T* HWY_RESTRICT u2 = X[1] + base;
    const FV vte = hn::Set(d, te), vtol = hn::Set(d, tol);
    std::int64_t j = 0;
    auto test = [&](std::int64_t jj) {
      const unsigned bits = detail::ne_bits(static_cast<double>(u2[jj]), t1, te, tol);
      if (bits) c.candidates->push_back(((base + jj) << 2) | static_cast<std::int64_t>(bits));
    };
    for (; j + static_cast<std::int64_t>(NL) <= k1; j += NL) {
      const FV y = load_as_double(d, u2 + j);
      if (!hn::AllFalse(d, hn::Ge(hn::Add(y, vtol), vte))) {
        for (std::int64_t t = 0; t < static_cast<std::int64_t>(NL); ++t) test(j + t);
      }
    }
    for (; j < k1; ++j) test(j);
  }
}

bool ProductsByFmaKernel() { return HWY_NATIVE_FMA != 0; }

void ChunkKernel(FusedChunk& c) {
  detail::visit_dtype(c.float32, [&](auto t) { ChunkImpl<decltype(t)>(c); });
}

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace dgeval
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dgeval {
namespace cpu {

HWY_EXPORT(ChunkKernel);
HWY_EXPORT(ProductsByFmaKernel);

void fused_chunk(FusedChunk& chunk) { HWY_DYNAMIC_DISPATCH(ChunkKernel)(chunk); }

bool fused_products_by_fma() { return HWY_DYNAMIC_DISPATCH(ProductsByFmaKernel)(); }

}  // namespace cpu
}  // namespace dgeval
#endif  // HWY_ONCE
