// team_evaluate_kernel: small and mid-size games, one team of threads per game, the whole game
// staged in shared memory so the input is read from global memory exactly once.
//
// Mapping: a block stages `games_per_block` consecutive games (both sides, [n][N] each, as T)
// with coalesced loads, then each team evaluates one game out of shared memory:
//   thread     (W = 1)   up to 128 games per block       tiny games (N <= 16, n <= 4): no reductions,
//                        tiny_evaluate_kernel<n, T> (compiled per player count, below)
//   quad team  (W = 4)   32 games per 128-thread block   small games (N <= 32)
//   warp team  (W = 32)  up to 8 games per block         small games (N <= 512)
//   block team           one game per 256-thread block   games up to ~112 KiB staged
// Blocks walk the game groups in a grid-stride loop. The quad, warp and block teams run the passes
// of kernels/team_passes.cuh (stats, align, equilibria, strategy, finish; each a strided loop of
// the team over the outcomes, StagedOutcomes, then an all-reduction), the body the cluster kernel
// (kernels/cluster_evaluate.cu) runs too.
// Shared memory per block: games_per_block x (data_stride + mask_stride + state_stride)
// (host/backends/cuda/cuda_plan.hpp team_geometry; the thread path: data_stride only, the rest of
// a game in registers); the "mask" region holds μ (16 bytes per
// outcome) during align, the ε-Nash mask from equilibria on, and the game's GameSummary at its end
// (kept out of registers). No division per outcome: standardised values multiply by 1/m, welfare
// divides by n through detail::divide (the same bits as the division). Bytes moved: 2·n·N·sizeof(T)
// read per game plus the result columns written (every global access goes through
// kernels/global_memory.cuh, which the tests' CPU emulation counts).
#include <cstdint>
#include <cstring>

#include "backends/cuda/cuda_check.hpp"
#include "device_common.cuh"
#include "team_passes.cuh"

namespace dgeval {
namespace cuda {
namespace dev {
namespace {

static_assert(sizeof(EvalParams) + sizeof(DeviceInput) + sizeof(DeviceOutputs) + 16 <= 4096,
              "team kernel parameters must fit the 4 KiB parameter space");

/// 16 bytes of utilities, loaded as one vector (the thread path's staging).
#ifdef DGEVAL_CUDA_EMULATION
struct alignas(16) Vec16 {
  unsigned x, y, z, w;
};
#else
using Vec16 = uint4;
#endif

/// A game staged in shared memory: vector v (agents 0..n−1, principals n..2n−1) at data + v·N.
template <class T>
struct Staged {
  const T* data;
  int N;
  __device__ double operator()(int v, i64 s) const { return static_cast<double>(data[v * N + static_cast<int>(s)]); }
};

/// σ(s) of a correlated or product strategy for game g (strategy_weight, the same loads and
/// products, in 32-bit index arithmetic: a staged game has fewer than 2^31 outcomes), for `players`
/// an int (the teams) or detail::Players<n> (the thread path).
template <class P>
__device__ __forceinline__ double staged_strategy_weight(const EvalParams& p, P players, i64 g, int s) {
  const double* w = p.weights + g * p.strategy_stride;
  if (p.strategy == StrategyKind::correlated) return load<Mem::strategy>(w + s);
  double sigma = 1.0;
  for (int j = 0; j < detail::players_of(players); ++j) {
    const int stride = static_cast<int>(p.stride[j]), k = static_cast<int>(p.k[j]);
    sigma *= load<Mem::strategy>(w + p.product_offset[j] + (s / stride) % k);
  }
  return sigma;
}

/// The quad and warp teams' group indices, one per team of a block (at most 32 quad teams or 8 warp
/// teams), written by team_evaluate_kernel before a team evaluates its game and read back after it:
/// in a register across the game the group index (and the game index made from it) were the first
/// values spilled at 80 registers. Every lane of a team writes the same value; the next write comes
/// after the block's next __syncthreads.
__shared__ unsigned team_group_slots[32];

/// Game g of a quad or warp team, made where it is read from the team's group index in shared
/// memory (a block has W x games-per-block threads), so that no register holds it across the game.
template <int W>
struct HeldGame {
  __device__ i64 operator()() const {
    const unsigned team = threadIdx.x / W;
    return static_cast<i64>(*static_cast<volatile unsigned*>(team_group_slots + team)) * (blockDim.x / W) + team;
  }
};

/// The outcomes of a game staged whole in the team's shared memory (Staged): a member walks
/// outcomes rank, rank + size, ...; each outcome's slot is the outcome itself (team_passes.cuh).
template <class T>
struct StagedOutcomes {
  Staged<T> at;
  template <class F>
  __device__ __forceinline__ void each(int rank, int size, F&& f) const {
    for (int s = rank; s < at.N; s += size) f(s, s);
  }
  template <class F>
  __device__ __forceinline__ void each_word(int rank, int size, F&& f) const {
    const int words = (at.N + 31) / 32;
    for (int wd = rank; wd < words; wd += size) f(wd * 32, wd * 32);
  }
  __device__ Staged<T> by_slot() const { return at; }
  __device__ Staged<T> by_outcome() const { return at; }
  __device__ double weight(const EvalParams& p, i64 g, int s) const { return staged_strategy_weight(p, p.n, g, s); }
  __device__ static constexpr bool writes_results() { return true; }
};

// ---------------------------------------------------------------------------------------------
// The thread path: tiny games (N <= 16, 1 <= n <= 4), one thread per game.

/// The extremum (min, or max with Max) of each vector of a staged game, found again at each read:
/// the finishing step reads each twice at most, and registers are what bounds the thread path.
template <class T, bool Max>
struct TinyExtremum {
  Staged<T> at;
  __device__ double operator[](int v) const {
    double e = Max ? -inf() : inf();
#pragma unroll 1
    for (int s = 0; s < at.N; ++s) {
      const double y = at(v, s);
      e = Max ? (y > e ? y : e) : (y < e ? y : e);
    }
    return e;
  }
};

/// The shift c(v) of each vector of a staged game, found again at each read (the finishing step
/// reads each once).
template <class T>
struct TinyShift {
  Staged<T> at;
  Standardisation standardisation;
  __device__ double operator[](int v) const {
    Stats st = stats_empty();
#pragma unroll 1
    for (int s = 0; s < at.N; ++s) stats_add(st, at(v, s));
    return detail::shift_of(standardisation, st.sum, at.N, st.lo, st.hi);
  }
};

/// The σ-weighted strategy sums of a staged tiny game ([2n] doubles: Σ σ·u_v, agents then
/// principals), in its shared-memory slot after the staged values (TeamGeometry::data_stride; the
/// staged values take a multiple of 8 bytes).
template <class T>
__device__ __forceinline__ double* tiny_weighted_sums(const Staged<T>& at, int n) {
  return reinterpret_cast<double*>(const_cast<T*>(at.data) + 2 * n * at.N);
}

/// Σ u_{first+i} over the strategy's set of a tiny game (the strategy's sums su, suh of
/// detail::GameArrays), each over s in order as the strategy pass of the teams makes it: over the
/// outcomes of `set` (uniform and played strategies), made again at each read from the staged
/// game; or σ-weighted (correlated and product), made once in the strategy pass, which reads each
/// σ(s) once, and kept in shared memory after the staged game (tiny_weighted_sums).
template <int NP, class T>
struct TinyStrategySum {
  Staged<T> at;
  unsigned set;  ///< bit s: outcome s in the set (unused when weighted)
  int first;     ///< 0: the agents' sums su, n: the principals' suh
  bool weighted;
  __device__ double operator[](int i) const {
    if (weighted) return tiny_weighted_sums(at, NP)[first + i];
    double acc = 0.0;
#pragma unroll 1
    for (int s = 0; s < at.N; ++s) {
      if ((set >> s) & 1u) acc += at(first + i, s);
    }
    return acc;
  }
};

/// A tiny game's arrays as detail::finish_game reads them (detail::GameArrays' members, indexable):
/// the magnitudes and IA in registers (arrays of a compile-time size, every index a constant once
/// the loops over players are unrolled), the extrema, shifts and the strategy's sums found again
/// from the staged game where they are read.
template <int NP, class T>
struct TinyArrays {
  TinyExtremum<T, false> lo;
  TinyExtremum<T, true> hi;
  TinyShift<T> shift;
  TinyStrategySum<NP, T> su, suh;
  double mag[2 * NP], ia[NP];
};

/// An extremum of a scan over a game's outcomes in increasing order (index -1: none yet): the
/// first of equal values stays, as detail::arg_min/arg_max decide for a later, larger index. Only
/// the scan holds the value: the summary keeps the index (TinySummary).
struct TinyArg {
  double value = 0.0;
  int index = -1;
  __device__ void min_with(double v, int s) {
    if (index < 0 || v < value) value = v, index = s;
  }
  __device__ void max_with(double v, int s) {
    if (index < 0 || v > value) value = v, index = s;
  }
};

/// What the passes over a tiny game gather, in as few registers as N <= 16 allows: the ε-Nash and
/// played sets as bit masks (bit s: outcome s; the counts are their sizes) and the outcome of each
/// extremum (5 bits each: index + 1, 0 for none), its value found again from the staged game where
/// it is read (the same welfare_at, so the same bits), until the finishing step takes it as a
/// GameSummary.
struct TinySummary {
  enum Field { w_max, w_min, wh_max, wh_min, worst_ne, best_ne, worst_eps, closest };
  unsigned sets = 0u;               ///< the ε-Nash sets: E_0 in bits 0-15, E(IC) in bits 16-31
  unsigned long long indices = 0u;  ///< the extrema (bits 5f to 5f + 4), then the played set (bits 40-55)
  double ca_agents = 0.0, ca_principals = 0.0;
  __device__ void set(Field f, const TinyArg& a) { indices |= static_cast<unsigned long long>(a.index + 1) << (5 * f); }
  __device__ int index(Field f) const { return static_cast<int>((indices >> (5 * f)) & 31u) - 1; }
  /// The value of extremum `f`, the welfare (the agents', or for wh_* the principals') at its
  /// outcome (0 when there is none; closest: unused).
  template <class P, class At>
  __device__ double value(Field f, P players, const detail::WelfareScale& ws, const At& at) const {
    const int s = index(f);
    if (s < 0 || f == closest) return 0.0;
    const int first = (f == wh_max || f == wh_min) ? detail::players_of(players) : 0;
    return detail::welfare_at(players, ws, at, first, s);
  }
};

/// The size of a set of outcomes (bit s: outcome s).
__device__ __forceinline__ int tiny_popc(unsigned set) {
#ifdef __CUDA_ARCH__
  return __popc(set);
#else
  return __builtin_popcount(set);  // the host pass and the tests' CPU emulation
#endif
}

/// The welfare at an extremum's outcome, made when it is read (TinySummaryView): the summary's
/// packed indices are copied, not the index, so that one 64-bit value stays live for all of them.
template <int NP, class T>
struct TinyExtValue {
  Staged<T> at;
  detail::WelfareScale ws;
  unsigned long long indices;  ///< TinySummary::indices
  TinySummary::Field f;
  __device__ int index() const { return static_cast<int>((indices >> (5 * f)) & 31u) - 1; }
  __device__ operator double() const {
    const int first = (f == TinySummary::wh_max || f == TinySummary::wh_min) ? NP : 0;
    return detail::welfare_at(detail::Players<NP>{}, ws, at, first, index());
  }
};

/// An extremum as detail::finish_game reads it: its `value` found again where read, and as an
/// ArgExt (value 0 when there is none, as arg_empty).
template <int NP, class T>
struct TinyExt {
  TinyExtValue<NP, T> value;
  __device__ operator detail::ArgExt() const {
    const int s = value.index();
    return detail::ArgExt{s >= 0 ? static_cast<double>(value) : 0.0, s};
  }
};

/// An extremum whose index the finishing step reads as a member (ŵ*: ŝ*; the played-set fallback).
template <int NP, class T>
struct TinyIndexedExt : TinyExt<NP, T> {
  struct Index {
    unsigned long long indices;
    TinySummary::Field f;
    __device__ operator std::int64_t() const { return static_cast<int>((indices >> (5 * f)) & 31u) - 1; }
  } index;
};

/// The size of a set of outcomes held in 16 bits of `bits` from bit `first`, counted where read.
struct TinyCount {
  unsigned long long bits;
  int first;
  __device__ operator std::int64_t() const { return tiny_popc(static_cast<unsigned>((bits >> first) & 0xffffu)); }
};

/// The summary as detail::finish_game reads it (GameSummary's members under the same names): the
/// counts as the sizes of the sets, the extrema's values found again from the staged game where
/// they are read (TinyExt), so that none is held across the finishing step before its use.
template <int NP, class T>
struct TinySummaryView {
  std::int64_t flags;
  TinyCount ne, eps, played_count;
  TinyExt<NP, T> w_max, w_min, wh_min, worst_ne, best_ne, worst_eps;
  TinyIndexedExt<NP, T> wh_max, closest;  ///< closest: only its index is read
  double ca_agents, ca_principals;
  __device__ TinySummaryView(const TinySummary& S, const detail::WelfareScale& ws, const Staged<T>& at)
      : flags(0),
        ne{S.sets, 0},
        eps{S.sets, 16},
        played_count{S.indices, 40},
        w_max{{at, ws, S.indices, TinySummary::w_max}},
        w_min{{at, ws, S.indices, TinySummary::w_min}},
        wh_min{{at, ws, S.indices, TinySummary::wh_min}},
        worst_ne{{at, ws, S.indices, TinySummary::worst_ne}},
        best_ne{{at, ws, S.indices, TinySummary::best_ne}},
        worst_eps{{at, ws, S.indices, TinySummary::worst_eps}},
        wh_max{{{at, ws, S.indices, TinySummary::wh_max}}, {S.indices, TinySummary::wh_max}},
        closest{{{at, ws, S.indices, TinySummary::closest}}, {S.indices, TinySummary::closest}},
        ca_agents(S.ca_agents),
        ca_principals(S.ca_principals) {}
};

/// The stats of vector v of a staged game: its min, max, shift and magnitude (as
/// evaluate_team_game's stats pass with one member makes them); false if its sum is not finite.
template <class T>
__device__ __forceinline__ bool tiny_vector_stats(const EvalParams& p, const Staged<T>& at, int v, double& lo,
                                                  double& hi, double& shift, double& mag) {
  const int N = at.N;
  Stats st = stats_empty();
  for (int s = 0; s < N; ++s) stats_add(st, at(v, s));
  shift = detail::shift_of(p.standardisation, st.sum, N, st.lo, st.hi);
  double acc = 0.0;
  if (detail::needs_centred_squares(p.standardisation)) {
    for (int s = 0; s < N; ++s) {
      const double d = at(v, s) - shift;
      acc += d * d;
    }
  }
  lo = st.lo;
  hi = st.hi;
  mag = detail::magnitude_of(p.standardisation, acc, st.lo, st.hi);
  return finite(st.sum);
}

/// One tiny game, staged in shared memory at `data` ([2n][N] as T), evaluated by one thread with
/// n = NP known at compile time: the magnitudes, IA, CA and the summary (the ε-Nash and played
/// sets as bit masks, the extrema as packed outcome indices) in registers; what the finishing step
/// reads besides (the extrema, shifts, the strategy's sums, the welfare at each extremum) found
/// again from the staged game where it is read. The same operations in the same order per
/// accumulator as evaluate_team_game with one member (so the same bits as the CPU backend), with
/// loops interchanged where that keeps fewer values live or reads less: the ε-Nash test fiber by
/// fiber (a fiber's extrema once), the welfare extrema after the equilibria. Registers, not shared
/// memory, bound its occupancy: the CA means μ are made again in each player's pass (as the thread
/// path always did) rather than held for every outcome, which takes more registers.
template <int NP, class T>
__device__ __forceinline__ void evaluate_tiny_game(const EvalParams& p, const DeviceOutputs& out, i64 g,
                                                   const T* data) {
  constexpr int n = NP, nv = 2 * NP;
  constexpr detail::Players<NP> players{};
  const int N = static_cast<int>(p.N);
  const Staged<T> at{data, N};
  const detail::AnyNorm norm{p.standardisation};
  double shift[nv], inv[nv], mag[nv] = {}, ia[n];

  // stats: per-vector sum, min, max → shift; magnitudes and their inverses.
  bool nonfinite = false;
#pragma unroll
  for (int v = 0; v < nv; ++v) {
    double lo, hi;
    nonfinite = nonfinite || !tiny_vector_stats(p, at, v, lo, hi, shift[v], mag[v]);
    inv[v] = detail::inverse_magnitude_of(mag[v]);
  }
  if (nonfinite) {
    write_nonfinite_game(p, out, g);
    return;
  }

  // align: per outcome the standardised values ν of every vector and the CA means μ of both sides
  // once, then each player's three norm accumulators (each still summed over s in order).
  TinySummary S;
  {
    const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(players, mag));
    const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(players, mag + n));
    auto nu = [&](int v, int s) { return detail::standardised_by_inverse(at(v, s), shift[v], inv[v]); };
    detail::CaSum<double> ca_a, ca_p;
#pragma unroll
    for (int i = 0; i < n; ++i) {
      double acc_a = 0.0, acc_b = 0.0, acc_c = 0.0;
#pragma unroll 1
      for (int s = 0; s < N; ++s) {
        detail::CaMean<double> mean_a, mean_p;
#pragma unroll
        for (int j = 0; j < n; ++j) {
          mean_a.add(mag[j], nu(j, s));
          mean_p.add(mag[n + j], nu(n + j, s));
        }
        const double a = nu(i, s), b = nu(n + i, s);
        acc_a = norm.accumulate(acc_a, a - b);
        acc_b = norm.accumulate(acc_b, a - mean_a.value(inv_weight_a));
        acc_c = norm.accumulate(acc_c, b - mean_p.value(inv_weight_p));
      }
      ia[i] = detail::ia_from_norm(norm.finish(acc_a), p.constants);
      ca_a.add(mag[i], norm.finish(acc_b));
      ca_p.add(mag[n + i], norm.finish(acc_c));
    }
    S.ca_agents = ca_a.value();
    S.ca_principals = ca_p.value();
  }
  // The distance matrix, while the shifts and inverse magnitudes are at hand.
  if (p.distance_matrix) {
    const Global<Mem::output, double> dm = out.distance_matrix + g * nv * nv;
#pragma unroll
    for (int x = 0; x < nv; ++x) {
      dm.store(x * nv + x, 0.0);
#pragma unroll
      for (int y = x + 1; y < nv; ++y) {
        double acc = 0.0;
        for (int s = 0; s < N; ++s) {
          acc = norm.accumulate(acc, detail::standardised_by_inverse(at(x, s), shift[x], inv[x]) -
                                         detail::standardised_by_inverse(at(y, s), shift[y], inv[y]));
        }
        const double d = detail::distance_from_norm(norm.finish(acc), p.constants);
        dm.store(x * nv + y, d);
        dm.store(y * nv + x, d);
      }
    }
  }

  // equilibria: the ε-Nash masks (bit s: outcome s), counts and worst/best equilibria.
  const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
  // Player by player, fiber by fiber: the extrema of a fiber once, then the test of its k_i
  // outcomes (the same bits per outcome as the test outcome by outcome).
  unsigned ne_mask = (2u << (N - 1)) - 1u, eps_mask = ne_mask;
#pragma unroll
  for (int i = 0; i < n; ++i) {
    const int k = static_cast<int>(p.k[i]);
    if (k < 2) continue;  // a single action always passes: u + tol >= fma(IC, 0, u) = u
    const int stride = static_cast<int>(p.stride[i]), contexts = N / k;
    const double ic = p.ic[i];
    for (int c = 0; c < contexts; ++c) {
      const int base = (c / stride) * stride * k + c % stride;
      double lo = inf(), hi = -inf();
      for (int a = 0; a < k; ++a) {
        const double y = at(i, base + a * stride);
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
      }
      const double t0 = detail::ic_threshold(lo, hi, 1.0), t1 = detail::ic_threshold(lo, hi, ic);
      for (int a = 0; a < k; ++a) {
        const int s = base + a * stride;
        const unsigned bits = detail::ne_bits(at(i, s), t0, t1, p.ne_tolerance);
        ne_mask &= ~((~bits & 1u) << s);
        eps_mask &= ~((~bits >> 1 & 1u) << s);
      }
    }
  }
  S.sets = ne_mask | eps_mask << 16;
  {
    TinyArg worst_ne, best_ne, worst_eps;
    for (int s = 0; s < N; ++s) {
      const unsigned m = ((ne_mask >> s) & 1u) | (((eps_mask >> s) & 1u) << 1);
      if (m != 0u) {
        const double w = detail::welfare_at(players, ws, at, 0, s);
        if (m & 1u) {
          worst_ne.min_with(w, s);
          best_ne.max_with(w, s);
        }
        if (m & 2u) worst_eps.min_with(w, s);
      }
    }
    S.set(TinySummary::worst_ne, worst_ne);
    S.set(TinySummary::best_ne, best_ne);
    S.set(TinySummary::worst_eps, worst_eps);
  }
  if (p.list_equilibria) (out.ne_bits + g * out.ne_words).store(0, static_cast<std::uint32_t>(ne_mask));

  // welfare extrema (only the strategy and the finishing step read them).
  {
    TinyArg w_max, w_min, wh_max, wh_min;
    for (int s = 0; s < N; ++s) {
      const double w = detail::welfare_at(players, ws, at, 0, s), wh = detail::welfare_at(players, ws, at, n, s);
      w_max.max_with(w, s);
      w_min.min_with(w, s);
      wh_max.max_with(wh, s);
      wh_min.min_with(wh, s);
    }
    S.set(TinySummary::w_max, w_max);
    S.set(TinySummary::w_min, w_min);
    S.set(TinySummary::wh_max, wh_max);
    S.set(TinySummary::wh_min, wh_min);
  }

  // strategy: the set the strategy's sums run over (the sums are made where the finishing step
  // reads them: TinyStrategySum).
  const StrategyKind kind = p.strategy;
  unsigned set = 0u;
  if (kind == StrategyKind::uniform_ne || kind == StrategyKind::uniform_eps_ne) {
    set = kind == StrategyKind::uniform_ne ? ne_mask : eps_mask;
  } else if (kind == StrategyKind::played) {
    if (ne_mask != 0u && eps_mask != 0u) {
      double lo, hi;
      detail::played_window(p.cc, S.value(TinySummary::w_max, players, ws, at),
                            S.value(TinySummary::worst_ne, players, ws, at),
                            S.value(TinySummary::worst_eps, players, ws, at), p.cc_window, &lo, &hi);
      const double tol = p.played_tolerance;
      const double mid = (lo + hi) / 2;
      TinyArg closest;
      for (int s = 0; s < N; ++s) {
        const double w = detail::welfare_at(players, ws, at, 0, s);
        if (lo - tol < w && w < hi + tol) {
          set |= 1u << s;
        } else {
          closest.min_with(fabs(w - mid), s);
        }
      }
      S.indices |= static_cast<unsigned long long>(set) << 40;
      S.set(TinySummary::closest, closest);
    }
  }
  const bool weighted = strategy_has_weights(kind);
  if (weighted) {
    double su[n], suh[n];
#pragma unroll
    for (int i = 0; i < n; ++i) su[i] = suh[i] = 0.0;
    for (int s = 0; s < N; ++s) {
      const double sigma = staged_strategy_weight(p, players, g, s);
      if (sigma == 0.0) continue;
#pragma unroll
      for (int i = 0; i < n; ++i) {
        su[i] += sigma * at(i, s);
        suh[i] += sigma * at(n + i, s);
      }
    }
    double* sums = tiny_weighted_sums(at, n);
#pragma unroll
    for (int i = 0; i < n; ++i) sums[i] = su[i], sums[n + i] = suh[i];
  }
  TinyArrays<NP, T> A{{at}, {at}, {at, p.standardisation}, {at, set, 0, weighted}, {at, set, n, weighted}, {}, {}};
#pragma unroll
  for (int v = 0; v < nv; ++v) A.mag[v] = mag[v];
#pragma unroll
  for (int i = 0; i < n; ++i) A.ia[i] = ia[i];

  // finish: detail/finish.hpp's finishing step (the CPU backend's).
  {
    const detail::FinishSettings cfg{p.n, p.welfare, p.constants, p.cc, p.cc_window, p.strategy};
    i64 pure_outcome = 0;
    if (p.strategy == StrategyKind::pure) {
      const i64* act = p.actions + g * p.strategy_stride;
#pragma unroll
      for (int i = 0; i < n; ++i) pure_outcome += load<Mem::strategy>(act + i) * p.stride[i];
    }
    detail::finish_game(cfg, players, g, pure_outcome, TinySummaryView<NP, T>(S, ws, at), A, at, out);
  }
}

/// Stages `count` consecutive tiny games (both sides, [n][N] each, as T) into shared memory at
/// `data_stride` bytes per game with coalesced 16-byte loads; a run not aligned to 16 bytes (or
/// its tail) takes a scalar loop. The block's threads, then a barrier.
template <class T>
__device__ __forceinline__ void stage_tiny_games(unsigned char* smem, const T* ga, const T* gp, unsigned total,
                                                 unsigned nN, unsigned data_stride) {
  constexpr unsigned kPer = sizeof(Vec16) / sizeof(T);
  const bool aligned = ((reinterpret_cast<std::uintptr_t>(ga) | reinterpret_cast<std::uintptr_t>(gp)) & 15u) == 0;
  const unsigned vectors = aligned ? total / kPer : 0u;
  for (unsigned v = threadIdx.x; v < vectors; v += blockDim.x) {
    const Vec16 va = load<Mem::input>(reinterpret_cast<const Vec16*>(ga) + v);
    const Vec16 vp = load<Mem::input>(reinterpret_cast<const Vec16*>(gp) + v);
    T ea[kPer], ep[kPer];
    memcpy(ea, &va, sizeof(Vec16));
    memcpy(ep, &vp, sizeof(Vec16));
#pragma unroll
    for (unsigned e = 0; e < kPer; ++e) {
      const unsigned idx = v * kPer + e, j = idx / nN, r = idx - j * nN;
      T* dst = reinterpret_cast<T*>(smem + static_cast<size_t>(j) * data_stride);
      dst[r] = ea[e];
      dst[nN + r] = ep[e];
    }
  }
  for (unsigned idx = vectors * kPer + threadIdx.x; idx < total; idx += blockDim.x) {
    const unsigned j = idx / nN, r = idx - j * nN;
    T* dst = reinterpret_cast<T*>(smem + static_cast<size_t>(j) * data_stride);
    dst[r] = load<Mem::input>(ga + idx);
    dst[nN + r] = load<Mem::input>(gp + idx);
  }
}

/// The thread path's kernel: blocks of up to 128 threads, one game each, walk the groups of
/// `games_per_block` games in a grid-stride loop; each group is staged into shared memory (the
/// only shared memory: `data_stride` bytes per game), then each thread evaluates its game.
/// Launch bounds: the most blocks of 128 threads per SM at which ptxas (sm_90) needs no spill and
/// no stack: 8 for 1 player (at most 64 registers: 50% occupancy), 6 for 2 (at most 80: 37.5%), 4
/// for 3 and 4 (128 registers at most; 102 for 3, 124/126 for 4: 25%; at 5 blocks the 3-player
/// kernel spills 16 bytes). At 64 registers (50%) the 2-player kernel spills (docs/PERFORMANCE.md,
/// "Tiny games").
template <int NP>
struct TinyMinBlocks {
  static constexpr int value = NP == 1 ? 8 : NP == 2 ? 6 : 4;
};

template <int NP, class T>
__global__ void __launch_bounds__(128, TinyMinBlocks<NP>::value)
    tiny_evaluate_kernel(EvalParams p, DeviceInput in, DeviceOutputs out, int games_per_block, unsigned data_stride) {
  DGEVAL_DYNAMIC_SHARED(smem);
  const unsigned nN = static_cast<unsigned>(NP) * static_cast<unsigned>(p.N);
  const T* agents = static_cast<const T*>(in.agents);
  const T* principals = static_cast<const T*>(in.principals);
  // Groups walked by their first game (no 64-bit division for their count).
  const i64 step = static_cast<i64>(gridDim.x) * games_per_block;
  for (i64 g0 = static_cast<i64>(blockIdx.x) * games_per_block; g0 < in.games; g0 += step) {
    const int count = static_cast<int>(in.games - g0 < games_per_block ? in.games - g0 : games_per_block);
    __syncthreads();  // every thread is done with the previous group's games
    stage_tiny_games(smem, agents + g0 * nN, principals + g0 * nN, static_cast<unsigned>(count) * nN, nN, data_stride);
    __syncthreads();
    const int t = static_cast<int>(threadIdx.x);
    if (t < count) {
      evaluate_tiny_game<NP>(p, out, g0 + t, reinterpret_cast<const T*>(smem + static_cast<size_t>(t) * data_stride));
    }
  }
}

template <int NP, class T>
void launch_tiny(const TeamGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                 cudaStream_t stream) {
  const i64 groups = (in.games + geo.games_per_block - 1) / geo.games_per_block;
  const unsigned grid = static_cast<unsigned>(groups < (i64{1} << 30) ? groups : (i64{1} << 30));
  auto kernel = tiny_evaluate_kernel<NP, T>;
  DGEVAL_LAUNCH(kernel, grid, static_cast<unsigned>(geo.threads), geo.shared_bytes, stream)
  (p, in, out, geo.games_per_block, static_cast<unsigned>(geo.data_stride));
  DGEVAL_CUDA_CHECK_LAUNCH();
}

/// W = 4 or 32: sub-warp / warp teams; W = 0: one block team per game (the thread path, W = 1, is
/// tiny_evaluate_kernel above).
/// Register targets (ptxas, sm_90): 80 for the quad and warp teams (6 blocks of 128, 3 of 256
/// threads per SM); the block team unbounded. Without a bound ptxas gives the warp team 107
/// registers; below 80 it spills more (docs/PERFORMANCE.md). Blocks walk the groups by their
/// first game, as the thread path does: no 64-bit division for the group count, and fewer values
/// live across the game's evaluation (each one a spill at 80 registers).
template <int W, class T>
__global__ void __launch_bounds__(W == 4 ? 128 : 256, W == 4    ? 6
                                                      : W == 32 ? 3
                                                                : 1)
    team_evaluate_kernel(EvalParams p, DeviceInput in, DeviceOutputs out, int games_per_block, unsigned data_stride,
                         unsigned mask_stride, unsigned state_stride) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char reduce_scratch[W == 0 ? 32 * kMaxPayload : 16];
  const unsigned nN = static_cast<unsigned>(p.n) * static_cast<unsigned>(p.N);
  const T* agents = static_cast<const T*>(in.agents);
  const T* principals = static_cast<const T*>(in.principals);
  // Groups walked by a 32-bit index (one register held across a game, where the 64-bit first
  // game spilled; no 64-bit division for their count): the grid has fewer than 2^31 blocks and a
  // chunk fewer than 2^31 groups.
  for (unsigned group = blockIdx.x;; group += gridDim.x) {
    const i64 g0 = static_cast<i64>(group) * games_per_block;
    if (g0 >= in.games) break;
    const int count = static_cast<int>(in.games - g0 < games_per_block ? in.games - g0 : games_per_block);
    __syncthreads();  // every team is done with the previous group's shared memory
    const T* ga = agents + g0 * nN;
    const T* gp = principals + g0 * nN;
    const unsigned total = static_cast<unsigned>(count) * nN;
    for (unsigned idx = threadIdx.x; idx < total; idx += blockDim.x) {
      const unsigned j = idx / nN, r = idx - j * nN;
      T* dst = reinterpret_cast<T*>(smem + static_cast<size_t>(j) * data_stride);
      dst[r] = load<Mem::input>(ga + idx);
      dst[nN + r] = load<Mem::input>(gp + idx);
    }
    __syncthreads();
    const int team_index = W == 0 ? 0 : static_cast<int>(threadIdx.x) / (W == 0 ? 1 : W);
    if (team_index < count) {
      const T* data = reinterpret_cast<const T*>(smem + static_cast<size_t>(team_index) * data_stride);
      // The mask and state regions' bases made here from the parameters (not held across the
      // loop: at 80 registers they spilled).
      const unsigned mask_base = static_cast<unsigned>(games_per_block) * data_stride;
      const unsigned state_base = mask_base + static_cast<unsigned>(games_per_block) * mask_stride;
      unsigned char* scratch = smem + mask_base + static_cast<unsigned>(team_index) * mask_stride;
      GameSummary* summary = reinterpret_cast<GameSummary*>(scratch + mask_stride - sizeof(GameSummary));
      double* state = reinterpret_cast<double*>(smem + state_base + static_cast<unsigned>(team_index) * state_stride);
      const StagedOutcomes<T> outcomes{{data, static_cast<int>(p.N)}};
      if constexpr (W == 0) {
        BlockTeam team{reduce_scratch};
        evaluate_team_game(team, outcomes, p, out, FixedGame{g0}, scratch, summary, state);
      } else {
        volatile unsigned* held = team_group_slots + team_index;
        *held = group;
        WarpTeam<W> team;
        evaluate_team_game(team, outcomes, p, out, HeldGame<W>(), scratch, summary, state);
        group = *held;
      }
    }
  }
}

template <int W, class T>
void launch(const TeamGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
            cudaStream_t stream) {
  const i64 groups = (in.games + geo.games_per_block - 1) / geo.games_per_block;
  const unsigned grid = static_cast<unsigned>(groups < (i64{1} << 30) ? groups : (i64{1} << 30));
  auto kernel = team_evaluate_kernel<W, T>;
  DGEVAL_LAUNCH(kernel, grid, static_cast<unsigned>(geo.threads), geo.shared_bytes, stream)
  (p, in, out, geo.games_per_block, static_cast<unsigned>(geo.data_stride), static_cast<unsigned>(geo.mask_stride),
   static_cast<unsigned>(geo.state_stride));
  DGEVAL_CUDA_CHECK_LAUNCH();
}

template <int W>
cudaError_t raise_team_shared_limit(int bytes) {
  cudaError_t e = raise_shared_limit(team_evaluate_kernel<W, float>, bytes);
  return e == cudaSuccess ? raise_shared_limit(team_evaluate_kernel<W, double>, bytes) : e;
}

template <int NP>
cudaError_t raise_tiny_shared_limit(int bytes) {
  cudaError_t e = raise_shared_limit(tiny_evaluate_kernel<NP, float>, bytes);
  return e == cudaSuccess ? raise_shared_limit(tiny_evaluate_kernel<NP, double>, bytes) : e;
}

template <class T>
void launch_tiny_for(const TeamGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                     cudaStream_t stream) {
  switch (p.n) {
    case 1:
      return launch_tiny<1, T>(geo, p, in, out, stream);
    case 2:
      return launch_tiny<2, T>(geo, p, in, out, stream);
    case 3:
      return launch_tiny<3, T>(geo, p, in, out, stream);
    case 4:
      return launch_tiny<4, T>(geo, p, in, out, stream);
    default:
      throw error("launch_team_evaluate: the thread path takes 1 to 4 players");
  }
}

}  // namespace

cudaError_t prepare_team_kernels(int max_dynamic_shared_bytes) {
  cudaError_t e = raise_tiny_shared_limit<1>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_tiny_shared_limit<2>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_tiny_shared_limit<3>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_tiny_shared_limit<4>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_team_shared_limit<4>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_team_shared_limit<32>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_team_shared_limit<0>(max_dynamic_shared_bytes);
  return e;
}

}  // namespace dev

void launch_team_evaluate(const TeamGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                          cudaStream_t stream) {
  if (in.games <= 0) return;
  switch (geo.path) {
    case Path::thread_game:
      in.float32 ? dev::launch_tiny_for<float>(geo, p, in, out, stream)
                 : dev::launch_tiny_for<double>(geo, p, in, out, stream);
      break;
    case Path::quad_team:
      in.float32 ? dev::launch<4, float>(geo, p, in, out, stream) : dev::launch<4, double>(geo, p, in, out, stream);
      break;
    case Path::warp_team:
      in.float32 ? dev::launch<32, float>(geo, p, in, out, stream) : dev::launch<32, double>(geo, p, in, out, stream);
      break;
    case Path::block_team:
      in.float32 ? dev::launch<0, float>(geo, p, in, out, stream) : dev::launch<0, double>(geo, p, in, out, stream);
      break;
    default:
      throw error("launch_team_evaluate: not a team path");
  }
}

}  // namespace cuda
}  // namespace dgeval
