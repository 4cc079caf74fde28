// Device building blocks shared by the team kernels (kernels/team_evaluate.cu) and the tiled
// kernels (kernels/tiled_evaluate.cu): teams of threads with all-reductions, the reduction
// payloads, the ε-Nash fiber test, and the finishing step that turns a game's gathered
// quantities into every result column exactly as host/cpu_backend.cpp defines them.
//
// Reductions are all-reductions: every member of a team gets the same bits. Within a warp this is
// an xor butterfly (partners combine the same two operands in swapped order, and every combining
// operation here is commutative, so all lanes compute the same expression tree); across warps every
// thread folds the per-warp values in warp order. CUB's WarpReduce/BlockReduce leave the result in
// one thread only and need a broadcast through shared memory on top, so they are not used here.
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime.h>
/// The block's dynamic shared memory (a macro so the CPU emulation can provide it).
#define DGEVAL_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
#endif

#include <cstdint>
#include <cstring>

#include "dgeval/detail/measures.hpp"
#include "dgeval/results.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {
namespace dev {

using i64 = std::int64_t;

__device__ __forceinline__ double inf() { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ double nan() { return __longlong_as_double(0x7ff8000000000000LL); }

/// Stores v at p[i] when the column is selected (Options::columns); unselected columns have no
/// device storage and a null pointer.
template <class T, class V>
__device__ __forceinline__ void put(T* p, i64 i, V v) {
  if (p) p[i] = static_cast<T>(v);
}
__device__ __forceinline__ bool finite(double x) { return isfinite(x); }
/// Shared-memory regions are aligned to 128 bytes (host/cuda_plan.hpp reserves the slack).
__device__ __forceinline__ size_t round_up_dev(size_t x) { return (x + 127) / 128 * 128; }
__device__ __forceinline__ int distance_pairs_dev(int n) { return n * (2 * n - 1); }

// ---------------------------------------------------------------------------------------------
// Arg-extrema with the CPU's tie rule: the first (smallest) outcome index wins. Both are
// commutative and associative for non-NaN values.

__device__ __forceinline__ ArgExt arg_empty() { return ArgExt{0.0, -1}; }
__device__ __forceinline__ ArgExt arg_min(const ArgExt& a, const ArgExt& b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  return (b.value < a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}
__device__ __forceinline__ ArgExt arg_max(const ArgExt& a, const ArgExt& b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}
__device__ __forceinline__ double arg_value_or_nan(const ArgExt& a) { return a.index >= 0 ? a.value : nan(); }

/// ArgExt stored as two doubles in a partial buffer (the index bit-cast, so it is exact).
__device__ __forceinline__ void store_arg(double* p, const ArgExt& a) {
  p[0] = a.value;
  p[1] = __longlong_as_double(static_cast<long long>(a.index));
}
__device__ __forceinline__ ArgExt load_arg(const double* p) {
  return ArgExt{p[0], static_cast<i64>(__double_as_longlong(p[1]))};
}
__device__ __forceinline__ double int_bits(i64 x) { return __longlong_as_double(static_cast<long long>(x)); }
__device__ __forceinline__ i64 bits_int(double x) { return static_cast<i64>(__double_as_longlong(x)); }

// ---------------------------------------------------------------------------------------------
// Reduction payloads and their (commutative) combining operations.

struct Stats {
  double sum, lo, hi;
};
struct StatsOp {
  __device__ Stats operator()(const Stats& a, const Stats& b) const {
    return Stats{a.sum + b.sum, b.lo < a.lo ? b.lo : a.lo, b.hi > a.hi ? b.hi : a.hi};
  }
};
__device__ __forceinline__ Stats stats_empty() { return Stats{0.0, inf(), -inf()}; }
__device__ __forceinline__ void stats_add(Stats& st, double y) {
  st.sum += y;
  st.lo = y < st.lo ? y : st.lo;
  st.hi = y > st.hi ? y : st.hi;
}

struct WelfareExt {
  ArgExt w_max, w_min, wh_max, wh_min;
};
struct WelfareOp {
  __device__ WelfareExt operator()(const WelfareExt& a, const WelfareExt& b) const {
    return WelfareExt{arg_max(a.w_max, b.w_max), arg_min(a.w_min, b.w_min), arg_max(a.wh_max, b.wh_max),
                      arg_min(a.wh_min, b.wh_min)};
  }
};
__device__ __forceinline__ WelfareExt welfare_empty() {
  return WelfareExt{arg_empty(), arg_empty(), arg_empty(), arg_empty()};
}

struct Acc3 {
  double a, b, c;
};
/// Norm accumulators: sums of squares (L2) or maxima (L∞).
struct NormOp3 {
  bool l2;
  __device__ Acc3 operator()(const Acc3& x, const Acc3& y) const {
    return Acc3{detail::combine_norm(x.a, y.a, l2), detail::combine_norm(x.b, y.b, l2), detail::combine_norm(x.c, y.c, l2)};
  }
};
struct NormOp1 {
  bool l2;
  __device__ double operator()(double x, double y) const { return detail::combine_norm(x, y, l2); }
};
struct PlusOp {
  __device__ double operator()(double x, double y) const { return x + y; }
};

struct Acc2 {
  double a, b;
};
struct Plus2Op {
  __device__ Acc2 operator()(const Acc2& x, const Acc2& y) const { return Acc2{x.a + y.a, x.b + y.b}; }
};

struct NeExt {
  i64 ne, eps;
  ArgExt worst_ne, best_ne, worst_eps;
};
struct NeOp {
  __device__ NeExt operator()(const NeExt& a, const NeExt& b) const {
    return NeExt{a.ne + b.ne, a.eps + b.eps, arg_min(a.worst_ne, b.worst_ne), arg_max(a.best_ne, b.best_ne),
                 arg_min(a.worst_eps, b.worst_eps)};
  }
};
__device__ __forceinline__ NeExt ne_empty() { return NeExt{0, 0, arg_empty(), arg_empty(), arg_empty()}; }

struct PlayedExt {
  i64 count;
  ArgExt closest;
};
struct PlayedOp {
  __device__ PlayedExt operator()(const PlayedExt& a, const PlayedExt& b) const {
    return PlayedExt{a.count + b.count, arg_min(a.closest, b.closest)};
  }
};

/// Largest payload a block reduction carries (bytes), for the per-warp scratch.
constexpr int kMaxPayload = 64;
static_assert(sizeof(NeExt) <= kMaxPayload && sizeof(WelfareExt) <= kMaxPayload, "payload too large");

// ---------------------------------------------------------------------------------------------
// Teams.

/// Shuffle of any trivially copyable value in 32-bit pieces.
template <class T>
__device__ __forceinline__ T shfl_xor_any(unsigned member_mask, const T& v, int lane_mask, int width) {
  static_assert(sizeof(T) % 4 == 0, "shuffled payloads are made of 4-byte words");
  constexpr int kWords = static_cast<int>(sizeof(T) / 4);
  int in[kWords], out[kWords];
  memcpy(in, &v, sizeof(T));
#pragma unroll
  for (int j = 0; j < kWords; ++j) out[j] = __shfl_xor_sync(member_mask, in[j], lane_mask, width);
  T r;
  memcpy(&r, out, sizeof(T));
  return r;
}

/// W consecutive lanes of a warp (W = 4 or 32) evaluating one game.
template <int W>
struct WarpTeam {
  static_assert(W >= 2 && W <= 32 && (W & (W - 1)) == 0, "team width must be a power of two in [2, 32]");
  unsigned member_mask;
  int lane_rank;
  __device__ WarpTeam() {
    const int lane = static_cast<int>(threadIdx.x & 31u);
    lane_rank = lane & (W - 1);
    member_mask = W == 32 ? 0xffffffffu : (((1u << W) - 1u) << (lane & ~(W - 1)));
  }
  __device__ int rank() const { return lane_rank; }
  __device__ int size() const { return W; }
  __device__ void sync() const { __syncwarp(member_mask); }
  template <class T, class Op>
  __device__ T reduce(T v, Op op) const {
#pragma unroll
    for (int m = W / 2; m > 0; m >>= 1) v = op(v, shfl_xor_any(member_mask, v, m, W));
    return v;
  }
};

/// The whole thread block (blockDim.x a multiple of 32) evaluating one game or one tile.
/// `scratch` is shared memory of 32 * kMaxPayload bytes. Every reduce ends with __syncthreads,
/// so shared memory written before it is visible after it and may be reused.
struct BlockTeam {
  unsigned char* scratch;
  __device__ int rank() const { return static_cast<int>(threadIdx.x); }
  __device__ int size() const { return static_cast<int>(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
  template <class T, class Op>
  __device__ T reduce(T v, Op op) const {
    static_assert(sizeof(T) <= kMaxPayload, "payload too large for the block scratch");
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) v = op(v, shfl_xor_any(0xffffffffu, v, m, 32));
    T* s = reinterpret_cast<T*>(scratch);
    const int warp = static_cast<int>(threadIdx.x >> 5), warps = static_cast<int>(blockDim.x >> 5);
    if ((threadIdx.x & 31u) == 0) s[warp] = v;
    __syncthreads();
    T r = s[0];
    for (int w = 1; w < warps; ++w) r = op(r, s[w]);
    __syncthreads();
    return r;
  }
};

// ---------------------------------------------------------------------------------------------
// Per-game state arrays (shared memory on the team path, global memory on the tiled path).

struct GameArrays {
  double* lo;     ///< [2n] min of each utility vector
  double* hi;     ///< [2n] max
  double* shift;  ///< [2n] c(v)
  double* mag;    ///< [2n] m(v°)
  double* ia;     ///< [n]
  double* eu;     ///< [n] E_σ u_i (strategies gathered by a pass)
  double* euh;    ///< [n] E_σ û_i
  __device__ static GameArrays at(double* base, int n) {
    GameArrays a;
    a.lo = base;
    a.hi = base + 2 * n;
    a.shift = base + 4 * n;
    a.mag = base + 6 * n;
    a.ia = base + 8 * n;
    a.eu = base + 9 * n;
    a.euh = base + 10 * n;
    return a;
  }
};

__device__ __forceinline__ GameSummary summary_empty() {
  GameSummary s;
  s.flags = 0;
  s.nonfinite = 0;
  s.strategy_defined = 0;
  s.ne = s.eps = s.played_count = 0;
  s.w_max = s.w_min = s.wh_max = s.wh_min = arg_empty();
  s.worst_ne = s.best_ne = s.worst_eps = s.closest = arg_empty();
  s.ca_agents = s.ca_principals = 0.0;
  return s;
}

/// Welfare of one side at one outcome: players summed in order 0..n−1 in float64 (as the CPU).
template <class At>
__device__ __forceinline__ double welfare_at(const EvalParams& p, const At& at, int first_vector, i64 s) {
  double a = 0.0;
  for (int i = 0; i < p.n; ++i) a += at(first_vector + i, s);
  return detail::welfare_of(a, p.n, p.welfare);
}

/// σ(s) of a correlated or product strategy for game g (chunk-local).
__device__ __forceinline__ double strategy_weight(const EvalParams& p, i64 g, i64 s) {
  const double* w = p.weights + g * p.strategy_stride;
  if (p.strategy == StrategyKind::correlated) return w[s];
  double sigma = 1.0;
  for (int j = 0; j < p.n; ++j) sigma *= w[p.product_offset[j] + (s / p.stride[j]) % p.k[j]];
  return sigma;
}

/// Bit 0: s passes the Nash test for player i; bit 1: the ε-Nash test at IC_i (docs/MATH.md §1.4).
__device__ __forceinline__ unsigned ne_bits_for(const EvalParams& p, int i, double y, double lo, double hi) {
  return (detail::meets_ic(y, lo, hi, 1.0, p.ne_tolerance) ? 1u : 0u) |
         (detail::meets_ic(y, lo, hi, p.ic[i], p.ne_tolerance) ? 2u : 0u);
}

/// Writes game g as a non-finite game: every real and boolean column NaN, every count 0, flags = nonfinite
/// (what the CPU backend leaves for such a game). One thread.
__device__ inline void write_nonfinite_game(const EvalParams& p, const DeviceOutputs& out, i64 g) {
  const int n = p.n;
#define DGEVAL_NF_player_real(name) \
  for (int i = 0; i < n; ++i) put(out.name, g * n + i, nan());
#define DGEVAL_NF_real(name) put(out.name, g, nan());
#define DGEVAL_NF_integer(name) put(out.name, g, 0);
#define DGEVAL_NF_boolean(name) put(out.name, g, nan());
#define DGEVAL_NF(name, kind, desc) DGEVAL_NF_##kind(name)
  DGEVAL_RESULT_COLUMNS(DGEVAL_NF)
#undef DGEVAL_NF
#undef DGEVAL_NF_player_real
#undef DGEVAL_NF_real
#undef DGEVAL_NF_integer
#undef DGEVAL_NF_boolean
  put(out.flags, g, flag_nonfinite);
  if (p.distance_matrix) {
    const i64 side = 2 * n;
    for (i64 q = 0; q < side * side; ++q) out.distance_matrix[g * side * side + q] = nan();
  }
}

/// Everything after the data passes, for a finite game (one thread): the strategy's expectations
/// where they come from single outcomes, regrets, CC, bounds, flags, and every result column
/// (host/cpu_backend.cpp GameEvaluator::evaluate, from "Standardisation" on).
/// `at(v, s)` reads utility vector v (agents 0..n−1, principals n..2n−1) at outcome s.
template <class At>
__device__ void finish_game(const EvalParams& p, const DeviceOutputs& out, i64 g, const GameSummary& S,
                            const GameArrays& A, const At& at) {
  const int n = p.n;
  i64 flags = S.flags;

  for (int v = 0; v < 2 * n; ++v) {
    if (A.mag[v] == 0.0) flags |= flag_zero_magnitude;
  }
  for (int i = 0; i < n; ++i) {
    put(out.offset_agents, g * n + i, A.shift[i]);
    put(out.magnitude_agents, g * n + i, A.mag[i]);
    put(out.offset_principals, g * n + i, A.shift[n + i]);
    put(out.magnitude_principals, g * n + i, A.mag[n + i]);
    put(out.calibration_ratio, g * n + i, detail::calibration_ratio_of(A.mag[n + i], A.mag[i]));
    put(out.ia, g * n + i, A.ia[i]);
  }
  put(out.ca_agents, g, S.ca_agents);
  put(out.ca_principals, g, S.ca_principals);
  if (detail::ca_out_of_range(S.ca_agents, S.ca_principals)) flags |= flag_ca_out_of_range;

  // Welfare (docs/MATH.md §2).
  const double w_star = S.w_max.value, wh_star = S.wh_max.value;
  const detail::UtopiaPoints up = detail::utopia_points(A.lo, A.hi, n, p.welfare);
  const double w_utopia = up.agents_utopia, w_dystopia = up.agents_dystopia;
  const double wh_utopia = up.principals_utopia, wh_dystopia = up.principals_dystopia;
  put(out.welfare_agents_max, g, w_star);
  put(out.welfare_agents_min, g, S.w_min.value);
  put(out.welfare_principals_max, g, wh_star);
  put(out.welfare_principals_min, g, S.wh_min.value);
  put(out.welfare_agents_utopia, g, w_utopia);
  put(out.welfare_agents_dystopia, g, w_dystopia);
  put(out.welfare_principals_utopia, g, wh_utopia);
  put(out.welfare_principals_dystopia, g, wh_dystopia);
  put(out.ideal_gap, g, wh_utopia - wh_star);

  // Equilibria.
  put(out.pure_ne_count, g, S.ne);
  put(out.eps_ne_count, g, S.eps);
  const double w_zero = arg_value_or_nan(S.worst_ne);
  const double w_eps = arg_value_or_nan(S.worst_eps);
  put(out.worst_ne_agents_welfare, g, w_zero);
  put(out.worst_eps_ne_agents_welfare, g, w_eps);
  if (S.ne == 0) flags |= flag_no_pure_ne;
  if (S.eps == 0) flags |= flag_no_eps_ne;

  // The agents' strategy σ.
  double eu[kMaxPlayers], euh[kMaxPlayers];
  bool defined = true;
  auto at_outcome = [&](i64 s) {
    for (int i = 0; i < n; ++i) {
      eu[i] = at(i, s);
      euh[i] = at(n + i, s);
    }
  };
  auto gathered = [&]() {
    for (int i = 0; i < n; ++i) {
      eu[i] = A.eu[i];
      euh[i] = A.euh[i];
    }
  };
  switch (p.strategy) {
    case StrategyKind::worst_ne:
    case StrategyKind::best_ne: {
      const ArgExt x = p.strategy == StrategyKind::worst_ne ? S.worst_ne : S.best_ne;
      defined = x.index >= 0;
      if (defined) at_outcome(x.index);
      break;
    }
    case StrategyKind::pure: {
      const i64* act = p.actions + g * p.strategy_stride;
      i64 s = 0;
      for (int i = 0; i < n; ++i) s += act[i] * p.stride[i];
      at_outcome(s);
      break;
    }
    case StrategyKind::played:
      defined = S.strategy_defined != 0;
      if (defined) {
        if (S.played_count > 0) {
          gathered();
        } else {
          flags |= flag_played_fallback;
          at_outcome(S.closest.index);
        }
      }
      break;
    default:  // uniform_ne, uniform_eps_ne, correlated, product: gathered by a pass
      defined = S.strategy_defined != 0;
      if (defined) gathered();
  }
  if (!defined) {
    flags |= flag_strategy_undefined;
    for (int i = 0; i < n; ++i) eu[i] = euh[i] = nan();
  }
  double su = 0.0, suh = 0.0;
  for (int i = 0; i < n; ++i) su += eu[i], suh += euh[i];
  const double w_sigma = detail::welfare_of(su, n, p.welfare);
  const double wh_sigma = detail::welfare_of(suh, n, p.welfare);
  const double wr = w_star - w_sigma;
  const double pwr = wh_star - wh_sigma;
  put(out.agents_welfare_regret, g, wr);
  put(out.principals_welfare_regret, g, pwr);
  put(out.cc_achieved, g, detail::cc_of(w_sigma, w_star, w_zero, w_eps, p.cc_window));

  // Bounds (docs/MATH.md §5).
  double at_best[kMaxPlayers];
  for (int i = 0; i < n; ++i) at_best[i] = at(i, S.wh_max.index);
  detail::BoundInputs in;
  in.players = n;
  in.welfare = p.welfare;
  in.constants = p.constants;
  in.cc_target = p.cc;
  in.w_star = w_star;
  in.w_zero = w_zero;
  in.w_eps = w_eps;
  in.w_utopia = w_utopia;
  in.w_dystopia = w_dystopia;
  in.agents_regret = wr;
  in.principals_regret = pwr;
  in.principals_utopia = wh_utopia;
  in.principals_dystopia = wh_dystopia;
  in.principals_max = wh_star;
  in.ca_principals = S.ca_principals;
  in.magnitude_agents = A.mag;
  in.magnitude_principals = A.mag + n;
  in.ia = A.ia;
  in.agents_at_best_principal_outcome = at_best;
  in.agents_expected = eu;
  const detail::BoundOutputs b = detail::compute_bounds(in);
  put(out.bound, g, b.bound);
  put(out.bound_r, g, b.bound_r);
  put(out.bound_holds, g, detail::bound_holds_value(!(flags & flag_strategy_undefined), b.holds));
  put(out.ideal_gap_bound, g, b.ideal_gap_bound);
  put(out.bound_r3, g, b.r3);
  put(out.bound_r4, g, b.r4);
  put(out.bound_r6, g, b.r6);
  if (!(flags & flag_strategy_undefined) && !b.holds) flags |= flag_bound_violated;
  if (!b.ideal_gap_holds) flags |= flag_ideal_gap_bound_violated;
  put(out.flags, g, flags);
}

}  // namespace dev
}  // namespace cuda
}  // namespace dgeval
