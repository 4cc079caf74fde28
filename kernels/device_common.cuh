// Device building blocks shared by the team kernels (kernels/team_evaluate.cu) and the tiled
// kernels (kernels/tiled_evaluate.cu): teams of threads with all-reductions, the reduction
// payloads, the ε-Nash fiber test, and the call of the finishing step (detail/finish.hpp, the
// same definition the CPU backend calls) that turns a game's gathered quantities into every
// result column.
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

#include "dgeval/detail/finish.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/results.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {
namespace dev {

using i64 = std::int64_t;

__device__ __forceinline__ double inf() { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ double nan() { return __longlong_as_double(0x7ff8000000000000LL); }

__device__ __forceinline__ bool finite(double x) { return isfinite(x); }
/// Shared-memory regions are aligned to 128 bytes (host/backends/cuda/cuda_plan.hpp reserves the slack).
__device__ __forceinline__ size_t round_up_dev(size_t x) { return (x + 127) / 128 * 128; }
__device__ __forceinline__ int distance_pairs_dev(int n) { return n * (2 * n - 1); }

// ---------------------------------------------------------------------------------------------
// Arg-extrema (detail/arg_ext.hpp: the first, smallest, outcome index wins ties).

using detail::arg_empty;
using detail::arg_max;
using detail::arg_min;
using detail::arg_value_or_nan;

/// ArgExt stored as two doubles in a partial buffer of the tiled path's scratch (the index
/// bit-cast, so it is exact).
__device__ __forceinline__ void store_arg(Global<Mem::scratch, double> p, const ArgExt& a) {
  p.store(0, a.value);
  p.store(1, __longlong_as_double(static_cast<long long>(a.index)));
}
__device__ __forceinline__ ArgExt load_arg(Global<Mem::scratch, double> p) {
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
  /// Tallies outcome s of agents' welfare w and principals' welfare wh (first index on ties).
  __device__ __forceinline__ void add(double w, double wh, i64 s) {
    w_max = arg_max(w_max, ArgExt{w, s});
    w_min = arg_min(w_min, ArgExt{w, s});
    wh_max = arg_max(wh_max, ArgExt{wh, s});
    wh_min = arg_min(wh_min, ArgExt{wh, s});
  }
  /// The game's welfare extrema into its summary.
  __device__ __forceinline__ void to_summary(detail::GameSummary& S) const {
    S.w_max = w_max;
    S.w_min = w_min;
    S.wh_max = wh_max;
    S.wh_min = wh_min;
  }
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
/// Norm partials (detail/standardisation.hpp), combined by the standardisation's norm.
struct NormOp3 {
  detail::AnyNorm norm;
  __device__ Acc3 operator()(const Acc3& x, const Acc3& y) const {
    return Acc3{norm.combine(x.a, y.a), norm.combine(x.b, y.b), norm.combine(x.c, y.c)};
  }
};
struct NormOp1 {
  detail::AnyNorm norm;
  __device__ double operator()(double x, double y) const { return norm.combine(x, y); }
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
  /// Tallies outcome s of welfare w whose ε-Nash bits are m (bit 0: NE, bit 1: ε-NE), as every
  /// path does (the CPU's EquilibriaPass::add likewise).
  __device__ __forceinline__ void add(unsigned m, double w, i64 s) {
    if (m & 1u) {
      ++ne;
      worst_ne = arg_min(worst_ne, ArgExt{w, s});
      best_ne = arg_max(best_ne, ArgExt{w, s});
    }
    if (m & 2u) {
      ++eps;
      worst_eps = arg_min(worst_eps, ArgExt{w, s});
    }
  }
  /// The game's equilibria into its summary.
  __device__ __forceinline__ void to_summary(detail::GameSummary& S) const {
    S.ne = ne;
    S.eps = eps;
    S.worst_ne = worst_ne;
    S.best_ne = best_ne;
    S.worst_eps = worst_eps;
  }
};
struct NeOp {
  __device__ NeExt operator()(const NeExt& a, const NeExt& b) const {
    return NeExt{a.ne + b.ne, a.eps + b.eps, arg_min(a.worst_ne, b.worst_ne), arg_max(a.best_ne, b.best_ne),
                 arg_min(a.worst_eps, b.worst_eps)};
  }
};
__device__ __forceinline__ NeExt ne_empty() { return NeExt{0, 0, arg_empty(), arg_empty(), arg_empty()}; }
/// A block's NeExt in its partial, 8 doubles at `out` (the counts as int64 bits).
__device__ __forceinline__ void store_ne(const Global<Mem::scratch, double>& out, const NeExt& e) {
  out.store(0, int_bits(e.ne));
  out.store(1, int_bits(e.eps));
  store_arg(out + 2, e.worst_ne);
  store_arg(out + 4, e.best_ne);
  store_arg(out + 6, e.worst_eps);
}
/// The NeExt that store_ne wrote at `q`.
__device__ __forceinline__ NeExt load_ne(const Global<Mem::scratch, double>& q) {
  return NeExt{bits_int(q[0]), bits_int(q[1]), load_arg(q + 2), load_arg(q + 4), load_arg(q + 6)};
}

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

/// One thread evaluating one game (the thread path): every reduction is the thread's own value, and
/// the thread reads back only what it wrote itself, so no barrier is needed.
struct ThreadTeam {
  __device__ int rank() const { return 0; }
  __device__ int size() const { return 1; }
  __device__ void sync() const {}
  template <class T, class Op>
  __device__ T reduce(T v, Op) const {
    return v;
  }
};

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

/// A block's stream compaction in thread order (the sweep path's candidates and survivors, the
/// two-player path's candidates of a row): appends the flagged entries of each thread (`mine` of
/// them, found again by `emit`) after `count` (every thread's same value) and returns the new
/// total, every thread the same. A warp's lanes by an xor-shuffle prefix sum, then the warps in
/// order; `emit(at)` writes the thread's entries from position `at`. Uses warp_count [32] (shared
/// memory); ends with a barrier, so it may be called again at once.
template <class Emit>
__device__ i64 append_in_order(i64* warp_count, i64 count, i64 mine, const Emit& emit) {
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int warps = static_cast<int>(blockDim.x >> 5);
  i64 before = 0, total = mine;
  for (int m = 1; m < 32; m <<= 1) {
    const i64 other = shfl_xor_any(0xffffffffu, total, m, 32);
    if (lane & m) before += other;
    total += other;
  }
  if (lane == 0) warp_count[warp] = total;
  __syncthreads();
  i64 at = count, all = 0;
  for (int w = 0; w < warps; ++w) {
    if (w < warp) at += warp_count[w];
    all += warp_count[w];
  }
  if (mine > 0) emit(at + before);
  __syncthreads();
  return count + all;
}

// ---------------------------------------------------------------------------------------------
// Per-game state arrays (shared memory on the team path, global memory on the tiled path).

using detail::summary_empty;

/// A game's arrays on the device: detail::GameArrays (what the finishing step reads) and the
/// inverse magnitudes 1/m [2n] the alignment passes multiply by. In shared memory (team path).
struct GameArrays : detail::GameArrays {
  double* inv;
};

/// The same arrays in global memory (the tiled path's scratch): a[i] loads, a.store(i, v) stores.
struct GlobalGameArrays {
  using P = Global<Mem::scratch, double>;
  P lo, hi, shift, mag, inv, ia, su, suh;
};

/// The arrays of one game carved from state_doubles(n) doubles at `base` (one layout for both):
/// GameArrays from a double*, GlobalGameArrays from global scratch.
template <class Arrays, class P>
__device__ __forceinline__ Arrays carve_game_arrays(P base, int n) {
  Arrays a;
  a.lo = base;
  a.hi = base + 2 * n;
  a.shift = base + 4 * n;
  a.mag = base + 6 * n;
  a.inv = base + 8 * n;
  a.ia = base + 10 * n;
  a.su = base + 11 * n;
  a.suh = base + 12 * n;
  return a;
}
__device__ __forceinline__ GameArrays game_arrays_at(double* base, int n) {
  return carve_game_arrays<GameArrays>(base, n);
}
__device__ __forceinline__ GlobalGameArrays game_arrays_at(Global<Mem::scratch, double> base, int n) {
  return carve_game_arrays<GlobalGameArrays>(base, n);
}

/// A game's utilities in global memory: vector v < n is agent v's, v ≥ n principal (v − n)'s (the
/// sweep path's read, the tiled path's finish).
template <class T>
struct Utilities {
  const T* agents;
  const T* principals;
  i64 N;
  int n;
  __device__ const T* vec(int v) const { return v < n ? agents + v * N : principals + (v - n) * N; }
  __device__ double operator()(int v, i64 s) const { return static_cast<double>(load<Mem::input>(vec(v) + s)); }
};

/// Welfare of one side at one outcome (detail::welfare_at; the tiled kernels).
template <class At>
__device__ __forceinline__ double welfare_at(const EvalParams& p, const At& at, int first_vector, i64 s) {
  return detail::welfare_at<double>(p.n, p.welfare, at, first_vector, s);
}
/// The same with the game's scale made once (the team kernels:
/// detail::welfare_scale(p.n, p.welfare), no division per outcome).
template <class At>
__device__ __forceinline__ double welfare_at(const EvalParams& p, const detail::WelfareScale& scale, const At& at,
                                             int first_vector, i64 s) {
  return detail::welfare_at(p.n, scale, at, first_vector, s);
}

/// σ(s) of a correlated or product strategy for game g (chunk-local).
__device__ __forceinline__ double strategy_weight(const EvalParams& p, i64 g, i64 s) {
  const double* w = p.weights + g * p.strategy_stride;
  if (p.strategy == StrategyKind::correlated) return load<Mem::strategy>(w + s);
  double sigma = 1.0;
  for (int j = 0; j < p.n; ++j) sigma *= load<Mem::strategy>(w + p.product_offset[j] + (s / p.stride[j]) % p.k[j]);
  return sigma;
}

/// Bit 0: s passes the Nash test for player i; bit 1: the ε-Nash test at IC_i (docs/MATH.md §1.4).
__device__ __forceinline__ unsigned ne_bits_for(const EvalParams& p, int i, double y, double lo, double hi) {
  return detail::ne_bits(y, detail::ic_threshold(lo, hi, 1.0), detail::ic_threshold(lo, hi, p.ic[i]), p.ne_tolerance);
}

/// Writes game g as a non-finite game (detail::finish_nonfinite_game, and a NaN distance matrix).
/// One thread.
__device__ inline void write_nonfinite_game(const EvalParams& p, const DeviceOutputs& out, i64 g) {
  detail::finish_nonfinite_game(p.n, out, g);
  if (p.distance_matrix) {
    const i64 side = 2 * p.n;
    for (i64 q = 0; q < side * side; ++q) out.distance_matrix.store(g * side * side + q, nan());
  }
}

/// Everything after the data passes, for a finite game (one thread): detail::finish_game, the
/// definition the CPU backend calls, reading the device's arrays A (GameArrays in shared memory,
/// GlobalGameArrays in global memory) and utilities `at(v, s)` (agents 0..n−1, principals
/// n..2n−1) and writing the device's column pointers. InlineDivision: the bounds divide with
/// detail::div_rn (players counted as detail::PlayersDividingInline: the teams' kernels).
template <bool InlineDivision = false, class Arrays, class At>
__device__ void finish_game(const EvalParams& p, const DeviceOutputs& out, i64 g, const GameSummary& S, const Arrays& A,
                            const At& at) {
  const detail::FinishSettings cfg{p.n, p.welfare, p.constants, p.cc, p.cc_window, p.strategy};
  i64 pure_outcome = 0;
  if (p.strategy == StrategyKind::pure) {
    const i64* act = p.actions + g * p.strategy_stride;
    for (int i = 0; i < p.n; ++i) pure_outcome += load<Mem::strategy>(act + i) * p.stride[i];
  }
  if constexpr (InlineDivision) {
    detail::finish_game(cfg, detail::PlayersDividingInline{p.n}, g, pure_outcome, S, A, at, out);
  } else {
    detail::finish_game(cfg, p.n, g, pure_outcome, S, A, at, out);
  }
}

/// Lets `kernel` (a kernel or its address) take up to `bytes` of shared memory per block, its static
/// shared memory included: the dynamic part's limit is raised to the rest.
template <class K>
cudaError_t raise_shared_limit(K kernel, int bytes) {
  cudaFuncAttributes a;
  cudaError_t e = cudaFuncGetAttributes(&a, kernel);
  if (e != cudaSuccess) return e;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              bytes - static_cast<int>(a.sharedSizeBytes));
}

}  // namespace dev
}  // namespace cuda
}  // namespace dgeval
