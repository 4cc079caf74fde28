// The small-game SIMD kernel (backends/cpu/small_games.hpp), compiled once per instruction set by
// Highway's foreach_target and chosen at run time. Each function below mirrors the scalar
// evaluator's pass of the same name (game_evaluator.cpp, lane_sums.hpp with one lane) for one game
// per lane: the same operations in the same order, through the shared definitions with HV (a
// Highway vector of doubles) as the value type.
#include "backends/cpu/small_games.hpp"

#include "backends/cpu/lane_sums.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

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
  HV() : v(hn::Zero(D())) {}
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
DGEVAL_HV_COMPARE(!=, Ne)
#undef DGEVAL_HV_COMPARE

inline HM operator&(const HM& a, const HM& b) { return HM{hn::And(a.m, b.m)}; }
inline HM operator|(const HM& a, const HM& b) { return HM{hn::Or(a.m, b.m)}; }
inline HM operator!(const HM& a) { return HM{hn::Not(a.m)}; }
inline bool any(const HM& a) { return !hn::AllFalse(D(), a.m); }
inline bool all(const HM& a) { return hn::AllTrue(D(), a.m); }

template <class A, class B>
inline HV select(const HM& mask, const A& a, const B& b) {
  return HV(hn::IfThenElse(mask.m, lift(a).v, lift(b).v));
}
inline HM is_nan(const HV& a) { return HM{hn::Ne(a.v, a.v)}; }
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
  HV value, index = HV(-1.0);
  /// The outcome s of value w, where `in` holds: kept when less (Less) or greater than the extremum.
  template <bool Less>
  void take(const HV& w, double s, const HM& in) {
    const HM better = in & ((index < 0.0) | (Less ? (w < value) : (w > value)));
    value = select(better, w, value);
    index = select(better, HV(s), index);
  }
};

int LaneCount() { return static_cast<int>(hn::Lanes(D())); }
std::int64_t TargetBit() { return HWY_TARGET; }

template <class T, class Op>
void Kernel(SmallBlock& b) {
  using Norm = typename Op::Norm;
  const D d;
  const int W = static_cast<int>(hn::Lanes(d));
  const Options& o = *b.options;
  const Dims& dims = *b.dims;
  const int n = dims.players(), nv = 2 * n;
  const std::int64_t N = dims.outcomes();
  // Scratch: x [nv][N] vectors (the block transposed), nu [nv][N], w and wh [N], mu_a and mu_p [N],
  // ne and eps [N] (1 or 0).
  const std::size_t values = static_cast<std::size_t>(nv) * N;
  b.buf->resize((2 * values + 6 * N) * W + 2 * W);
  double* base = b.buf->data();
  base += (reinterpret_cast<std::uintptr_t>(base) / sizeof(double)) % W == 0
              ? 0
              : W - (reinterpret_cast<std::uintptr_t>(base) / sizeof(double)) % W;  // vector-aligned
  double* x = base;
  double* nu = x + values * W;
  double* w = nu + values * W;
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

  // stats: per vector the sum, min, max (sum_min_max<1>) and the moments about the first value
  // (pivoted_moments<1>); shift and magnitude (detail::Op).
  HV lo[2 * kMaxPlayers], hi[2 * kMaxPlayers], shift[2 * kMaxPlayers], mag[2 * kMaxPlayers];
  HM finite = HM{hn::Eq(hn::Zero(d), hn::Zero(d))};
  for (int v = 0; v < nv; ++v) {
    HV sum(0.0), l(HUGE_VAL), h(-HUGE_VAL);
    for (std::int64_t s = 0; s < N; ++s) {
      const HV y = X(v, s);
      sum = sum + y;
      l = lesser(y, l);
      h = greater(y, h);
    }
    finite = finite & HM{hn::IsFinite(sum.v)};
    HV m2(0.0);
    if (Op::centred_squares) {
      const HV pivot = X(v, 0);
      HV dev(0.0);
      for (std::int64_t s = 0; s < N; ++s) dev = dev + (X(v, s) - pivot);
      const HV mean = dev / static_cast<double>(N);
      for (std::int64_t s = 0; s < N; ++s) {
        const HV e = (X(v, s) - pivot) - mean;
        m2 = m2 + e * e;
      }
    }
    lo[v] = l, hi[v] = h;
    shift[v] = Op::shift(sum, static_cast<double>(N), l, h);
    mag[v] = Op::magnitude(m2, l, h);
  }
  // Welfare per outcome: players in order, then the welfare scale; its extrema.
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

  // align: standardised values, μ per side (detail::ca_mean), the norms of IA and CA.
  HV inv[2 * kMaxPlayers];
  for (int v = 0; v < nv; ++v) {
    inv[v] = detail::inverse_magnitude_of(mag[v]);
    const HM scaled = inv[v] > 0.0;
    for (std::int64_t s = 0; s < N; ++s)
      store(select(scaled, detail::standardised_by_inverse(X(v, s), shift[v], inv[v]), 0.0), at(nu, v * N + s));
  }
  const HV* mag_a = mag;
  const HV* mag_p = mag + n;
  const HV inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<HV>(n, mag_a));
  const HV inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<HV>(n, mag_p));
  auto NU = [&](int v, std::int64_t s) { return load(at(nu, v * N + s)); };
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
    HV t_ia(0.0), t_a(0.0), t_p(0.0);
    for (std::int64_t s = 0; s < N; ++s) t_ia = Norm::accumulate(t_ia, NU(i, s) - NU(n + i, s));
    for (std::int64_t s = 0; s < N; ++s) t_a = Norm::accumulate(t_a, NU(i, s) - load(at(mu_a, s)));
    for (std::int64_t s = 0; s < N; ++s) t_p = Norm::accumulate(t_p, NU(n + i, s) - load(at(mu_p, s)));
    ia[i] = detail::ia_from_norm(Norm::finish(t_ia), k);
    norm_a[i] = Norm::finish(t_a);
    norm_p[i] = Norm::finish(t_p);
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

  // Back to one game per lane.
  HWY_ALIGN double tmp[hn::MaxLanes(D())], tmp_index[hn::MaxLanes(D())];
  auto out = [&](const HV& v, auto&& put) {
    hn::Store(v.v, d, tmp);
    for (int q = 0; q < b.count; ++q) put(b.lane[q], tmp[q]);
  };
  auto out_arg = [&](const ArgV& a, detail::ArgExt SmallBlock::Lane::*member) {
    hn::Store(a.value.v, d, tmp);
    hn::Store(a.index.v, d, tmp_index);
    for (int q = 0; q < b.count; ++q)
      b.lane[q].*member = detail::ArgExt{tmp[q], static_cast<std::int64_t>(tmp_index[q])};
  };
  {
    const VecD flag = hn::IfThenElseZero(finite.m, hn::Set(d, 1.0));
    out(HV(flag), [](SmallBlock::Lane& L, double f) { L.nonfinite = f == 0.0; });
  }
  for (int v = 0; v < nv; ++v) {
    out(lo[v], [v](SmallBlock::Lane& L, double y) { L.lo[v] = y; });
    out(hi[v], [v](SmallBlock::Lane& L, double y) { L.hi[v] = y; });
    out(shift[v], [v](SmallBlock::Lane& L, double y) { L.shift[v] = y; });
    out(mag[v], [v](SmallBlock::Lane& L, double y) { L.mag[v] = y; });
  }
  for (int i = 0; i < n; ++i) {
    out(ia[i], [i](SmallBlock::Lane& L, double y) { L.ia[i] = y; });
    out(su[i], [i](SmallBlock::Lane& L, double y) { L.su[i] = y; });
    out(suh[i], [i](SmallBlock::Lane& L, double y) { L.suh[i] = y; });
  }
  out(ca_a, [](SmallBlock::Lane& L, double y) { L.ca_agents = y; });
  out(ca_p, [](SmallBlock::Lane& L, double y) { L.ca_principals = y; });
  out(ne_count, [](SmallBlock::Lane& L, double y) { L.ne = static_cast<std::int64_t>(y); });
  out(eps_count, [](SmallBlock::Lane& L, double y) { L.eps = static_cast<std::int64_t>(y); });
  out_arg(w_max, &SmallBlock::Lane::w_max);
  out_arg(w_min, &SmallBlock::Lane::w_min);
  out_arg(wh_max, &SmallBlock::Lane::wh_max);
  out_arg(wh_min, &SmallBlock::Lane::wh_min);
  out_arg(worst_ne, &SmallBlock::Lane::worst_ne);
  out_arg(best_ne, &SmallBlock::Lane::best_ne);
  out_arg(worst_eps, &SmallBlock::Lane::worst_eps);
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
    if (b.float32) {
      Kernel<float, decltype(op)>(b);
    } else {
      Kernel<double, decltype(op)>(b);
    }
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
bool target_initialised = false;

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
  std::lock_guard<std::mutex> lock(target_mutex);
  if (target_initialised) return;
  target_initialised = true;
  const char* env = std::getenv("DGEVAL_SIMD_TARGET");
  apply_target(env ? env : "");
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
                        k == StrategyKind::uniform_eps_ne || k == StrategyKind::pure;
  return strategy && !o.distance_matrix && dims.outcomes() < kNarrow && dims.players() <= kMaxPlayers;
}

void evaluate_small_block(SmallBlock& block) { HWY_DYNAMIC_DISPATCH(SmallBlockKernel)(block); }

}  // namespace cpu
}  // namespace dgeval
#endif  // HWY_ONCE
