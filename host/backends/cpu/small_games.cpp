// The small-game SIMD kernel (backends/cpu/small_games.hpp), compiled once per instruction set by
// Highway's foreach_target and chosen at run time. Each function below mirrors the scalar
// evaluator's pass of the same name (game_evaluator.cpp, lane_sums.hpp with one lane) for one game
// per lane: the same operations in the same order, through the shared definitions with HV (a
// Highway vector of doubles) as the value type.
#include "backends/cpu/small_games.hpp"

#include "backends/cpu/lane_sums.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>

#include "dgeval/detail/dtype.hpp"
#include "dgeval/error.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/small_games.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// (foreach_target.h includes this file again once per instruction set)
#include <hwy/highway.h>

#include "dgeval/detail/alignment.hpp"
#include "dgeval/detail/measures.hpp"

HWY_BEFORE_NAMESPACE();
namespace dgeval {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<double>;
using VecD = hn::Vec<D>;
using MaskD = hn::Mask<D>;

/// One double per game of the block: the value type of the shared definitions (values.hpp).
struct HV {
  VecD v;
  HV() {}  // uninitialised, as a double: arrays of HV cost no stores (the shared code writes V(0.0))
  explicit HV(double x) : v(hn::Set(D(), x)) {}
  HV(VecD x) : v(x) {}  // NOLINT: a Highway vector is an HV
};
struct HM {
  MaskD m;
};

inline HV lift(double x) { return HV(x); }
inline HV lift(const HV& x) { return x; }

#define DGEVAL_HV_BINARY(op, fn)                                                      \
  inline HV operator op(const HV& a, const HV& b) { return HV(hn::fn(a.v, b.v)); }    \
  inline HV operator op(double a, const HV& b) { return HV(hn::fn(lift(a).v, b.v)); } \
  inline HV operator op(const HV& a, double b) { return HV(hn::fn(a.v, lift(b).v)); }
DGEVAL_HV_BINARY(+, Add)
DGEVAL_HV_BINARY(-, Sub)
DGEVAL_HV_BINARY(*, Mul)
DGEVAL_HV_BINARY(/, Div)
#undef DGEVAL_HV_BINARY

#define DGEVAL_HV_COMPARE(op, fn)                                                     \
  inline HM operator op(const HV& a, const HV& b) { return HM{hn::fn(a.v, b.v)}; }    \
  inline HM operator op(double a, const HV& b) { return HM{hn::fn(lift(a).v, b.v)}; } \
  inline HM operator op(const HV& a, double b) { return HM{hn::fn(a.v, lift(b).v)}; }
DGEVAL_HV_COMPARE(<, Lt)
DGEVAL_HV_COMPARE(<=, Le)
DGEVAL_HV_COMPARE(>, Gt)
DGEVAL_HV_COMPARE(>=, Ge)
DGEVAL_HV_COMPARE(==, Eq)
#undef DGEVAL_HV_COMPARE
// a != b as IEEE (and C++) define it, true where either is NaN: Highway's Ne is an ordered compare
// on some targets, so it is written as the negation of Eq.
inline HM operator!=(const HV& a, const HV& b) { return HM{hn::Not(hn::Eq(a.v, b.v))}; }
inline HM operator!=(double a, const HV& b) { return HM{hn::Not(hn::Eq(lift(a).v, b.v))}; }
inline HM operator!=(const HV& a, double b) { return HM{hn::Not(hn::Eq(a.v, lift(b).v))}; }

inline HM operator&(const HM& a, const HM& b) { return HM{hn::And(a.m, b.m)}; }
inline HM operator|(const HM& a, const HM& b) { return HM{hn::Or(a.m, b.m)}; }
inline HM operator!(const HM& a) { return HM{hn::Not(a.m)}; }
inline bool any(const HM& a) { return !hn::AllFalse(D(), a.m); }
inline bool all(const HM& a) { return hn::AllTrue(D(), a.m); }

template <class A, class B>
inline HV select(const HM& mask, const A& a, const B& b) {
  return HV(hn::IfThenElse(mask.m, lift(a).v, lift(b).v));
}
inline HM is_nan(const HV& a) { return HM{hn::IsNaN(a.v)}; }
// The shared code's vmin/vmax (fmin/fmax) only meet non-NaN values here (non-finite games go to the
// scalar path), where Min and Max agree with them.
inline HV vmin(const HV& a, const HV& b) { return HV(hn::Min(a.v, b.v)); }
inline HV vmax(const HV& a, const HV& b) { return HV(hn::Max(a.v, b.v)); }
inline HV vabs(const HV& a) { return HV(hn::Abs(a.v)); }
inline HV vsqrt(const HV& a) { return HV(hn::Sqrt(a.v)); }
inline HV mul_rn(const HV& a, const HV& b) { return a * b; }
inline HV mul_rn(double a, const HV& b) { return a * b; }
/// a·b + c rounded once, as std::fma: the instruction where the target has it, else lane by lane.
template <class A, class B, class C>
inline HV vfma(const A& a, const B& b, const C& c) {
#if HWY_NATIVE_FMA
  return HV(hn::MulAdd(lift(a).v, lift(b).v, lift(c).v));
#else
  const D d;
  HWY_ALIGN double x[hn::MaxLanes(D())], y[hn::MaxLanes(D())], z[hn::MaxLanes(D())];
  hn::Store(lift(a).v, d, x);
  hn::Store(lift(b).v, d, y);
  hn::Store(lift(c).v, d, z);
  for (size_t q = 0; q < hn::Lanes(d); ++q) x[q] = std::fma(x[q], y[q], z[q]);
  return HV(hn::Load(d, x));
#endif
}

/// x < y ? x : y and x > y ? x : y, as the scalar loops write them (the sign of a zero included).
inline HV lesser(const HV& x, const HV& y) { return select(x < y, x, y); }
inline HV greater(const HV& x, const HV& y) { return select(x > y, x, y); }

/// Running extremum with its first outcome, per lane (detail::ArgExt, indices as doubles).
struct ArgV {
  HV value = HV(0.0), index = HV(-1.0);
  /// The outcome s of value w, where `in` holds: kept when less (Less) or greater than the extremum.
  template <bool Less>
  void take(const HV& w, double s, const HM& in) {
    const HM better = in & ((index < 0.0) | (Less ? (w < value) : (w > value)));
    value = select(better, w, value);
    index = select(better, HV(s), index);
  }
};

/// The per-player terms of the bounds (detail::compute_bounds), per lane.
struct LaneBoundTerms {
  const HV* m_;
  const HV* m_hat_;
  const HV* ia_;
  const HV* at_best_;
  const HV* expected_;
  HV m(int i) const { return m_[i]; }
  HV m_hat(int i) const { return m_hat_[i]; }
  HV ia(int i) const { return ia_[i]; }
  HV at_best(int i) const { return at_best_[i]; }
  HV expected(int i) const { return expected_[i]; }
};

/// L partial results combined as lane_sums.hpp's combine_sum and combine_lanes do (L = 1 or 8).
template <int L>
HV combine_sum(const HV* l) {
  static_assert(L == 1 || L == 8, "written for 1 or 8 partial results");
  if (L == 1) return l[0];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}
template <class Norm, int L>
HV combine_norm(const HV* l) {
  static_assert(L == 1 || L == 8, "written for 1 or 8 partial results");
  if (L == 1) return l[0];
  return Norm::combine(Norm::combine(Norm::combine(l[0], l[1]), Norm::combine(l[2], l[3])),
                       Norm::combine(Norm::combine(l[4], l[5]), Norm::combine(l[6], l[7])));
}

int LaneCount() { return static_cast<int>(hn::Lanes(D())); }
std::int64_t TargetBit() { return HWY_TARGET; }

template <class T, class Op, int L>
HWY_FLATTEN void Kernel(SmallBlock& b) {
  using Norm = typename Op::Norm;
  const D d;
  const int W = static_cast<int>(hn::Lanes(d));
  const Options& o = *b.options;
  const Dims& dims = *b.dims;
  const int n = dims.players(), nv = 2 * n;
  const std::int64_t N = dims.outcomes();
  // Scratch: x [nv][N] vectors (the block transposed), w and wh [N], mu_a and mu_p [N], ne and eps
  // [N] (1 or 0). (The standardised values are recomputed where they are read: the same bits.)
  const std::size_t values = static_cast<std::size_t>(nv) * N;
  b.buf->resize((values + 6 * N) * W + 2 * W);
  double* base = b.buf->data();
  base += (reinterpret_cast<std::uintptr_t>(base) / sizeof(double)) % W == 0
              ? 0
              : W - (reinterpret_cast<std::uintptr_t>(base) / sizeof(double)) % W;  // vector-aligned
  double* x = base;
  double* w = x + values * W;
  double* wh = w + N * W;
  double* mu_a = wh + N * W;
  double* mu_p = mu_a + N * W;
  double* ne = mu_p + N * W;
  double* eps = ne + N * W;
  auto at = [&](double* array, std::int64_t row) { return array + row * W; };
  auto load = [&](const double* p) { return HV(hn::Load(d, p)); };
  auto store = [&](const HV& v, double* p) { hn::Store(v.v, d, p); };

  // Transpose: value j of game g0 + q to x[j][q]; lanes past `count` repeat the last game.
  const T* agents = static_cast<const T*>(b.agents);
  const T* principals = static_cast<const T*>(b.principals);
  for (int q = 0; q < W; ++q) {
    const std::int64_t g = std::min(q, b.count - 1);
    const T* a = agents + g * b.per_game;
    const T* p = principals + g * b.per_game;
    for (std::int64_t j = 0; j < b.per_game; ++j) {
      x[j * W + q] = static_cast<double>(a[j]);
      x[(b.per_game + j) * W + q] = static_cast<double>(p[j]);
    }
  }
  auto X = [&](int v, std::int64_t s) { return load(at(x, v * N + s)); };

  // stats: per vector the sum, min, max (sum_min_max<L>) and the moments about the first value
  // (pivoted_moments<L>), outcome s in partial result s mod L, combined as lane_sums.hpp combines
  // them; shift and magnitude (detail::Op).
  HV lo[2 * kMaxPlayers], hi[2 * kMaxPlayers], shift[2 * kMaxPlayers], mag[2 * kMaxPlayers];
  HM finite = HM{hn::Eq(hn::Zero(d), hn::Zero(d))};
  for (int v = 0; v < nv; ++v) {
    HV sum_l[L], l_l[L], h_l[L];
    for (int q = 0; q < L; ++q) sum_l[q] = HV(0.0), l_l[q] = HV(HUGE_VAL), h_l[q] = HV(-HUGE_VAL);
    for (std::int64_t s = 0; s < N; s += L) {
      for (int q = 0; q < L && s + q < N; ++q) {
        const HV y = X(v, s + q);
        sum_l[q] = sum_l[q] + y;
        l_l[q] = lesser(y, l_l[q]);
        h_l[q] = greater(y, h_l[q]);
      }
    }
    const HV sum = combine_sum<L>(sum_l);
    HV l = l_l[0], h = h_l[0];
    for (int q = 1; q < L; ++q) l = lesser(l_l[q], l), h = greater(h_l[q], h);
    finite = finite & HM{hn::IsFinite(sum.v)};
    HV m2(0.0);
    if (Op::centred_squares) {
      const HV pivot = X(v, 0);
      HV part[L];
      for (int q = 0; q < L; ++q) part[q] = HV(0.0);
      for (std::int64_t s = 0; s < N; s += L) {
        for (int q = 0; q < L && s + q < N; ++q) part[q] = part[q] + (X(v, s + q) - pivot);
      }
      const HV mean = combine_sum<L>(part) / static_cast<double>(N);
      for (int q = 0; q < L; ++q) part[q] = HV(0.0);
      for (std::int64_t s = 0; s < N; s += L) {
        for (int q = 0; q < L && s + q < N; ++q) {
          const HV e = (X(v, s + q) - pivot) - mean;
          part[q] = part[q] + e * e;
        }
      }
      m2 = combine_sum<L>(part);
    }
    lo[v] = l, hi[v] = h;
    shift[v] = Op::shift(sum, static_cast<double>(N), l, h);
    mag[v] = Op::magnitude(m2, l, h);
  }
  // Welfare per outcome: players in order, then the welfare scale; its extrema (the first outcome
  // of the extremum, as block_extrema finds it).
  ArgV w_max, w_min, wh_max, wh_min;
  const HM every = finite | !finite;
  for (std::int64_t s = 0; s < N; ++s) {
    HV sa(0.0), sp(0.0);
    for (int i = 0; i < n; ++i) sa = sa + X(i, s), sp = sp + X(n + i, s);
    const HV wa = detail::welfare_of(sa, n, o.welfare), wp = detail::welfare_of(sp, n, o.welfare);
    store(wa, at(w, s));
    store(wp, at(wh, s));
    w_max.take<false>(wa, static_cast<double>(s), every);
    w_min.take<true>(wa, static_cast<double>(s), every);
    wh_max.take<false>(wp, static_cast<double>(s), every);
    wh_min.take<true>(wp, static_cast<double>(s), every);
  }

  // align: standardised values, μ per side (detail::ca_mean), the norms of IA and CA in L partial
  // results (accumulate_differences<Norm, L>, combine_lanes<Norm, L>).
  HV inv[2 * kMaxPlayers];
  HM scaled[2 * kMaxPlayers];
  for (int v = 0; v < nv; ++v) {
    inv[v] = detail::inverse_magnitude_of(mag[v]);
    scaled[v] = inv[v] > 0.0;
  }
  auto NU = [&](int v, std::int64_t s) {
    return select(scaled[v], detail::standardised_by_inverse(X(v, s), shift[v], inv[v]), 0.0);
  };
  const HV* mag_a = mag;
  const HV* mag_p = mag + n;
  const HV inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<HV>(n, mag_a));
  const HV inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<HV>(n, mag_p));
  for (std::int64_t s = 0; s < N; ++s) {
    store(detail::ca_mean<HV>(
              n, mag_a, [&](int i) { return NU(i, s); }, inv_weight_a),
          at(mu_a, s));
    store(detail::ca_mean<HV>(
              n, mag_p, [&](int i) { return NU(n + i, s); }, inv_weight_p),
          at(mu_p, s));
  }
  const detail::StandardisationConstants k = Op::constants();
  HV ia[kMaxPlayers], norm_a[kMaxPlayers], norm_p[kMaxPlayers];
  for (int i = 0; i < n; ++i) {
    HV t_ia[L], t_a[L], t_p[L];
    for (int q = 0; q < L; ++q) t_ia[q] = t_a[q] = t_p[q] = HV(0.0);
    for (std::int64_t s = 0; s < N; s += L) {
      for (int q = 0; q < L && s + q < N; ++q) {
        const HV na = NU(i, s + q), np = NU(n + i, s + q);
        t_ia[q] = Norm::accumulate(t_ia[q], na - np);
        t_a[q] = Norm::accumulate(t_a[q], na - load(at(mu_a, s + q)));
        t_p[q] = Norm::accumulate(t_p[q], np - load(at(mu_p, s + q)));
      }
    }
    ia[i] = detail::ia_from_norm(Norm::finish(combine_norm<Norm, L>(t_ia)), k);
    norm_a[i] = Norm::finish(combine_norm<Norm, L>(t_a));
    norm_p[i] = Norm::finish(combine_norm<Norm, L>(t_p));
  }
  const HV ca_a = detail::collective_alignment<HV>(n, mag_a, [&](int i) { return norm_a[i]; });
  const HV ca_p = detail::collective_alignment<HV>(n, mag_p, [&](int i) { return norm_p[i]; });

  // equilibria: the ε-Nash mask, fiber by fiber (detail::ic_threshold, detail::meets_threshold).
  for (std::int64_t s = 0; s < N; ++s) store(HV(1.0), at(ne, s)), store(HV(1.0), at(eps, s));
  const double tol = o.ne_tolerance;
  for (int i = 0; i < n; ++i) {
    const std::int64_t actions = dims.actions(i), stride = dims.stride(i);
    for (std::int64_t outer = 0; outer < N; outer += actions * stride) {
      for (std::int64_t inner = 0; inner < stride; ++inner) {
        const std::int64_t first = outer + inner;
        HV l(HUGE_VAL), h(-HUGE_VAL);
        for (std::int64_t a = 0; a < actions; ++a) {
          const HV y = X(i, first + a * stride);
          l = lesser(y, l);
          h = greater(y, h);
        }
        const HV t1 = detail::ic_threshold(l, h, 1.0), te = detail::ic_threshold(l, h, b.ic[i]);
        for (std::int64_t a = 0; a < actions; ++a) {
          const std::int64_t s = first + a * stride;
          const HV y = X(i, s);
          store(HV(hn::IfThenElseZero(detail::meets_threshold(y, t1, tol).m, load(at(ne, s)).v)), at(ne, s));
          store(HV(hn::IfThenElseZero(detail::meets_threshold(y, te, tol).m, load(at(eps, s)).v)), at(eps, s));
        }
      }
    }
  }
  // Counts, extrema and (uniform strategies) sums over the sets, outcomes in order.
  const StrategyKind kind = o.strategy.kind;
  const bool sum_ne = kind == StrategyKind::uniform_ne, sum_eps = kind == StrategyKind::uniform_eps_ne;
  HV ne_count(0.0), eps_count(0.0), su[kMaxPlayers], suh[kMaxPlayers];
  for (int i = 0; i < n; ++i) su[i] = suh[i] = HV(0.0);
  ArgV worst_ne, best_ne, worst_eps;
  for (std::int64_t s = 0; s < N; ++s) {
    const HV ne_s = load(at(ne, s)), eps_s = load(at(eps, s)), ws = load(at(w, s));
    const HM in_ne = ne_s != 0.0, in_eps = eps_s != 0.0;
    ne_count = ne_count + ne_s;
    eps_count = eps_count + eps_s;
    worst_ne.take<true>(ws, static_cast<double>(s), in_ne);
    best_ne.take<false>(ws, static_cast<double>(s), in_ne);
    worst_eps.take<true>(ws, static_cast<double>(s), in_eps);
    if (sum_ne || sum_eps) {
      const HM in = sum_ne ? in_ne : in_eps;
      for (int i = 0; i < n; ++i) {
        su[i] = su[i] + select(in, X(i, s), 0.0);  // + 0 is exact: a sum from +0 is never −0
        suh[i] = suh[i] + select(in, X(n + i, s), 0.0);
      }
    }
  }
  // Played: the set of outcomes whose agents' welfare lies in the window (detail::played_window), its
  // size and sums, and the fallback outcome nearest the window's middle (pass_strategy), in order.
  HV played_count(0.0);
  ArgV closest;
  if (kind == StrategyKind::played) {
    HV lo_w, hi_w;
    detail::played_window(o.cc, w_max.value, worst_ne.value, worst_eps.value, o.cc_window, &lo_w, &hi_w);
    const double ptol = o.played_tolerance;
    const HV mid = (lo_w + hi_w) / 2.0, lo_t = lo_w - ptol, hi_t = hi_w + ptol;
    for (std::int64_t s = 0; s < N; ++s) {
      const HV ws = load(at(w, s));
      const HM in = (lo_t < ws) & (ws < hi_t);
      played_count = played_count + select(in, 1.0, 0.0);
      for (int i = 0; i < n; ++i) {
        su[i] = su[i] + select(in, X(i, s), 0.0);
        suh[i] = suh[i] + select(in, X(n + i, s), 0.0);
      }
      closest.take<true>(vabs(ws - mid), static_cast<double>(s), !in);
    }
  }
  // Correlated or product: the σ-weighted sums (pass_strategy), outcomes in order, σ(s) of each
  // lane's game computed as the scalar evaluator does (the product's factors in player order).
  const bool weighted = strategy_has_weights(kind);
  if (weighted) {
    std::int64_t offset[kMaxPlayers], per_strategy = 0;
    for (int i = 0; i < n; ++i) offset[i] = per_strategy, per_strategy += dims.actions(i);
    if (kind == StrategyKind::correlated) per_strategy = N;
    const double* weights[kMaxSimdLanes];
    for (int q = 0; q < W; ++q) {
      const std::int64_t g = b.g0 + std::min(q, b.count - 1);
      weights[q] = o.strategy.weights.data() + (o.strategy.per_game ? g * per_strategy : 0);
    }
    HWY_ALIGN double sigma[hn::MaxLanes(D())];
    for (std::int64_t s = 0; s < N; ++s) {
      for (int q = 0; q < W; ++q) {
        if (kind == StrategyKind::correlated) {
          sigma[q] = weights[q][s];
        } else {
          double p = 1.0;
          for (int i = 0; i < n; ++i) p *= weights[q][offset[i] + (s / dims.stride(i)) % dims.actions(i)];
          sigma[q] = p;
        }
      }
      const HV sg = load(sigma);
      const HM nonzero = sg != 0.0;  // the scalar evaluator skips σ(s) = 0; + 0 is exact, as above
      for (int i = 0; i < n; ++i) {
        su[i] = su[i] + select(nonzero, sg * X(i, s), 0.0);
        suh[i] = suh[i] + select(nonzero, sg * X(n + i, s), 0.0);
      }
    }
  }

  // finish: every column, detail/finish.hpp's finish_game lane by lane (the same shared definitions
  // in the same order, with HV as the value type). A lane whose game holds a non-finite value stores
  // nothing: the caller hands that game to the scalar evaluator.
  HWY_ALIGN double tmp[hn::MaxLanes(D())], fin[hn::MaxLanes(D())];
  hn::Store(hn::IfThenElseZero(finite.m, hn::Set(d, 1.0)), d, fin);
  for (int q = 0; q < b.count; ++q) b.nonfinite[q] = fin[q] == 0.0;
  bool whole = b.count == W;  // every lane a game of the block, every game finite: whole-vector stores
  for (int q = 0; q < W; ++q) whole = whole && fin[q] != 0.0;
  const detail::ColumnPointers& col = *b.out;
  const std::int64_t g0 = b.g0;
  auto put = [&](auto* column, const HV& v) {  // a per-game column
    if (!column) return;
    using C = std::remove_pointer_t<decltype(column)>;
    if constexpr (std::is_same_v<C, double>) {
      if (whole) {
        hn::StoreU(v.v, d, column + g0);
        return;
      }
    }
    hn::Store(v.v, d, tmp);
    for (int q = 0; q < b.count; ++q) {
      if (fin[q] != 0.0) column[g0 + q] = static_cast<C>(tmp[q]);
    }
  };
  auto put_player = [&](double* column, int i, const HV& v) {
    if (!column) return;
    hn::Store(v.v, d, tmp);
    for (int q = 0; q < b.count; ++q) {
      if (fin[q] != 0.0) column[(g0 + q) * n + i] = tmp[q];
    }
  };
  // Vector v at one outcome per lane (idx[q] < 0: NaN), as the scalar step's at(v, s).
  auto gather = [&](int v, const std::int64_t* idx) {
    for (int q = 0; q < W; ++q) tmp[q] = idx[q] >= 0 ? x[(v * N + idx[q]) * W + q] : NAN;
    return HV(hn::Load(d, tmp));
  };
  auto indices = [&](const HV& index, std::int64_t* idx) {
    hn::Store(index.v, d, tmp);
    for (int q = 0; q < W; ++q) idx[q] = static_cast<std::int64_t>(tmp[q]);
  };
  const HV nan(NAN);
  auto value_or_nan = [&](const ArgV& a) { return select(a.index < 0.0, nan, a.value); };  // arg_value_or_nan

  // Standardisation and alignment.
  HM zero_magnitude = HM{hn::Ne(hn::Zero(d), hn::Zero(d))};
  for (int v = 0; v < nv; ++v) zero_magnitude = zero_magnitude | (mag[v] == 0.0);
  for (int i = 0; i < n; ++i) {
    put_player(col.offset_agents, i, shift[i]);
    put_player(col.magnitude_agents, i, mag[i]);
    put_player(col.offset_principals, i, shift[n + i]);
    put_player(col.magnitude_principals, i, mag[n + i]);
    put_player(col.calibration_ratio, i, detail::calibration_ratio_of(mag[n + i], mag[i]));
    put_player(col.ia, i, ia[i]);
  }
  put(col.ca_agents, ca_a);
  put(col.ca_principals, ca_p);
  const HM ca_range = detail::ca_out_of_range(ca_a, ca_p);

  // Welfare.
  const HV w_star = w_max.value, wh_star = wh_max.value;
  const detail::UtopiaPointsOf<HV> up = detail::utopia_points<HV>(lo, hi, n, o.welfare);
  put(col.welfare_agents_max, w_star);
  put(col.welfare_agents_min, w_min.value);
  put(col.welfare_principals_max, wh_star);
  put(col.welfare_principals_min, wh_min.value);
  put(col.welfare_agents_utopia, up.agents_utopia);
  put(col.welfare_agents_dystopia, up.agents_dystopia);
  put(col.welfare_principals_utopia, up.principals_utopia);
  put(col.welfare_principals_dystopia, up.principals_dystopia);
  put(col.ideal_gap, up.principals_utopia - wh_star);

  // Equilibria.
  put(col.pure_ne_count, ne_count);
  put(col.eps_ne_count, eps_count);
  const HV w_zero = value_or_nan(worst_ne), w_eps = value_or_nan(worst_eps);
  put(col.worst_ne_agents_welfare, w_zero);
  put(col.worst_eps_ne_agents_welfare, w_eps);

  // The agents' strategy σ: ū_i (v = i) and E_σ û_i (v = n + i), NaN where undefined.
  HV expected[2 * kMaxPlayers];
  HM defined = finite | !finite;
  HM fallback = !defined;  // played: the set is empty, σ is the outcome nearest the window
  if (weighted) {
    for (int i = 0; i < n; ++i) expected[i] = su[i], expected[n + i] = suh[i];
  } else if (kind == StrategyKind::played) {
    defined = (ne_count > 0.0) & (eps_count > 0.0);
    const HM mean = defined & (played_count > 0.0);
    fallback = defined & !(played_count > 0.0);
    std::int64_t idx[hn::MaxLanes(D())];
    indices(closest.index, idx);
    for (int v = 0; v < nv; ++v) {
      const HV sum = v < n ? su[v] : suh[v - n];
      expected[v] = select(mean, sum / played_count, select(fallback, gather(v, idx), nan));
    }
  } else if (kind == StrategyKind::uniform_ne || kind == StrategyKind::uniform_eps_ne) {
    const HV count = kind == StrategyKind::uniform_ne ? ne_count : eps_count;
    defined = count > 0.0;
    for (int i = 0; i < n; ++i) {
      expected[i] = select(defined, su[i] / count, nan);
      expected[n + i] = select(defined, suh[i] / count, nan);
    }
  } else {
    std::int64_t idx[hn::MaxLanes(D())];
    if (kind == StrategyKind::pure) {
      for (int q = 0; q < W; ++q) {
        const std::int64_t g = g0 + std::min(q, b.count - 1);
        const std::int64_t* act = o.strategy.actions.data() + (o.strategy.per_game ? g * n : 0);
        idx[q] = 0;
        for (int i = 0; i < n; ++i) idx[q] += act[i] * dims.stride(i);
      }
    } else {  // worst-ne, best-ne
      const ArgV& chosen = kind == StrategyKind::worst_ne ? worst_ne : best_ne;
      defined = chosen.index >= 0.0;
      indices(chosen.index, idx);
    }
    for (int v = 0; v < nv; ++v) expected[v] = gather(v, idx);
  }
  HV s_sigma(0.0), sh_sigma(0.0);
  for (int i = 0; i < n; ++i) s_sigma = s_sigma + expected[i], sh_sigma = sh_sigma + expected[n + i];
  const HV w_sigma = detail::welfare_of(s_sigma, n, o.welfare), wh_sigma = detail::welfare_of(sh_sigma, n, o.welfare);
  const HV wr = w_star - w_sigma, pwr = wh_star - wh_sigma;
  put(col.agents_welfare_regret, wr);
  put(col.principals_welfare_regret, pwr);
  put(col.cc_achieved, detail::cc_of(w_sigma, w_star, w_zero, w_eps, o.cc_window));

  // Bounds.
  HV at_best[kMaxPlayers];
  {
    std::int64_t idx[hn::MaxLanes(D())];
    indices(wh_max.index, idx);
    for (int i = 0; i < n; ++i) at_best[i] = gather(i, idx);
  }
  const detail::BoundScalarsOf<HV> in =
      detail::bound_scalars<HV>(n, o.welfare, k, o.cc, w_star, w_zero, w_eps, up, wr, pwr, wh_star, ca_p);
  const LaneBoundTerms terms{mag, mag + n, ia, at_best, expected};
  const detail::BoundOutputsOf<HV> bo = detail::compute_bounds(in, n, terms);
  put(col.bound, bo.bound);
  put(col.bound_r, bo.bound_r);
  put(col.bound_holds, select(defined, select(bo.holds, 1.0, 0.0), nan));  // bound_holds_value
  put(col.ideal_gap_bound, bo.ideal_gap_bound);
  put(col.bound_r3, bo.r3);
  put(col.bound_r4, bo.r4);
  put(col.bound_r6, bo.r6);

  // Flags, lane by lane.
  if (col.flags) {
    std::int64_t flags[hn::MaxLanes(D())] = {};
    auto flag = [&](const HM& m, std::int64_t bit) {
      hn::Store(hn::IfThenElseZero(m.m, hn::Set(d, 1.0)), d, tmp);
      for (int q = 0; q < W; ++q) flags[q] |= tmp[q] != 0.0 ? bit : 0;
    };
    flag(zero_magnitude, flag_zero_magnitude);
    flag(ca_range, flag_ca_out_of_range);
    flag(ne_count == 0.0, flag_no_pure_ne);
    flag(eps_count == 0.0, flag_no_eps_ne);
    flag(!defined, flag_strategy_undefined);
    flag(fallback, flag_played_fallback);
    flag(defined & !bo.holds, flag_bound_violated);
    flag(!bo.ideal_gap_holds, flag_ideal_gap_bound_violated);
    for (int q = 0; q < b.count; ++q) {
      if (fin[q] != 0.0) col.flags[g0 + q] = flags[q];
    }
  }
  if (b.ne_masks) {
    b.ne_masks->resize(static_cast<std::size_t>(N) * W);
    for (std::int64_t s = 0; s < N; ++s) {
      hn::Store(load(at(ne, s)).v, d, tmp);
      for (int q = 0; q < W; ++q) (*b.ne_masks)[static_cast<std::size_t>(s * W + q)] = tmp[q] != 0.0;
    }
  }
}

void SmallBlockKernel(SmallBlock& b) {
  detail::visit_standardisation(b.options->standardisation, [&](auto op) {
    // As the scalar evaluator: one partial result per sum below kNarrow outcomes, else kLanes.
    const bool narrow = b.dims->outcomes() < kNarrow;
    detail::visit_dtype(b.float32, [&](auto t) {
      narrow ? Kernel<decltype(t), decltype(op), 1>(b) : Kernel<decltype(t), decltype(op), kLanes>(b);
    });
    return 0;
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace dgeval
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dgeval {
namespace cpu {

HWY_EXPORT(SmallBlockKernel);
HWY_EXPORT(LaneCount);
HWY_EXPORT(TargetBit);

namespace {

std::mutex target_mutex;
bool simd_off = false;
std::atomic<bool> target_initialised{false};  // read without the lock once set (once per block)

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// The instruction sets compiled in and supported by this CPU, best first (before any restriction).
const std::vector<std::int64_t>& all_targets() {
  static const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets;
}

void apply_target(const std::string& name) {
  all_targets();
  if (name.empty()) {
    simd_off = false;
    hwy::SetSupportedTargetsForTest(0);
  } else if (upper(name) == "OFF") {
    simd_off = true;
  } else {
    std::int64_t chosen = 0;
    for (std::int64_t t : all_targets()) {
      if (upper(hwy::TargetName(t)) == upper(name)) chosen = t;
    }
    if (chosen == 0) {
      std::string known;
      for (const std::string& t : simd_targets()) known += " " + t;
      throw error("DGEVAL_SIMD_TARGET: unknown or unsupported instruction set '" + name + "' (this machine:" + known +
                  ", or scalar)");
    }
    std::int64_t mask = 0;
    for (std::int64_t t : all_targets()) {
      if (t >= chosen) mask |= t;  // a larger bit is a lesser instruction set
    }
    simd_off = false;
    hwy::SetSupportedTargetsForTest(mask);
  }
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

/// DGEVAL_SIMD_TARGET, applied once before the first use.
void ensure_target() {
  if (target_initialised.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(target_mutex);
  if (target_initialised.load(std::memory_order_relaxed)) return;
  const char* env = std::getenv("DGEVAL_SIMD_TARGET");
  apply_target(env ? env : "");
  target_initialised.store(true, std::memory_order_release);
}

}  // namespace

std::vector<std::string> simd_targets() {
  std::vector<std::string> names;
  for (std::int64_t t : all_targets()) names.push_back(hwy::TargetName(t));
  return names;
}

void set_simd_target(const std::string& name) {
  ensure_target();
  std::lock_guard<std::mutex> lock(target_mutex);
  apply_target(name.empty() ? std::string(std::getenv("DGEVAL_SIMD_TARGET") ? std::getenv("DGEVAL_SIMD_TARGET") : "")
                            : name);
}

std::string simd_target() {
  ensure_target();
  if (simd_off) return "off";
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetBit)());
}

int simd_lanes() {
  ensure_target();
  return simd_off ? 1 : HWY_DYNAMIC_DISPATCH(LaneCount)();
}

bool small_games_simd(const Options& o, const Dims& dims) {
  ensure_target();
  if (simd_off) return false;
  const StrategyKind k = o.strategy.kind;
  const bool strategy = k == StrategyKind::worst_ne || k == StrategyKind::best_ne || k == StrategyKind::uniform_ne ||
                        k == StrategyKind::uniform_eps_ne || k == StrategyKind::pure || k == StrategyKind::correlated ||
                        k == StrategyKind::product || k == StrategyKind::played;
  // The last player's fibers: below 4·kLanes actions the scalar evaluator bounds them one value at a
  // time, as the kernel does (pass_equilibria_mask).
  const int n = dims.players();
  return strategy && !o.distance_matrix && n <= kMaxPlayers &&
         2 * static_cast<std::int64_t>(n) * dims.outcomes() <= kMaxLaneValues && dims.actions(n - 1) < 4 * kLanes;
}

void evaluate_small_block(SmallBlock& block) { HWY_DYNAMIC_DISPATCH(SmallBlockKernel)(block); }

}  // namespace cpu
}  // namespace dgeval
#endif  // HWY_ONCE
