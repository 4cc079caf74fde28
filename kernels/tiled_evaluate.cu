// The tiled path: games too large to stage whole in shared memory (mid-size games with many
// outcomes, one huge game, games past 2^31 outcomes). All outcome indices are 64-bit.
//
// Mapping: `games_per_pass` games at a time (sized so a pass's input stays in L2 where it fits);
// each pass kernel runs on a (blocks_per_game, games_per_pass) grid; block b of a game walks the
// tiles [b·tiles_per_block, (b+1)·tiles_per_block) in order, stages each tile of `tile` outcomes
// (the utility vectors it needs) in shared memory, reduces the tile with the whole block, and
// folds the result into block accumulators (compensated sums). It writes one partial per block;
// a combine kernel (one block per game) folds the partials in block order, so results do not
// depend on scheduling. Passes (reads of the input in brackets, n players, 2n vectors):
//   stats    [2n]  per-vector sum/min/max, centred sums of squares (EPIC), welfare extrema → shift, m
//   align    [2n]  IA and CA distances per player, distance matrix → IA, CA
//   fibers   [n]   per player with k_i ≥ 2: min and max of u_i over each context s_{-i}
//                  (thread per context; one launch for every player whose k_i actions are whole,
//                  a launch and a combine per player whose actions are split into segments)
//   mask     [n]   ε-Nash test per outcome against the fibers: counts, worst/best NE, NE bitmask,
//                  sums over the NE / ε-NE set for the uniform strategies (+[n] principals then)
//   strategy [2n]  played set, correlated or product strategies (only those strategies)
//   finish         one thread per game: every result column (detail/finish.hpp, as the CPU backend)
// Shared memory of a pass block: tile · (2n·sizeof(T) + 1) + block accumulators
// (host/backends/cuda/cuda_plan.hpp tiled_geometry).
#include "backends/cuda/cuda_check.hpp"
#include "device_common.cuh"
#include "dgeval/detail/dtype.hpp"

namespace dgeval {
namespace cuda {
namespace dev {
namespace {

#ifndef DGEVAL_TILED_THREADS
#define DGEVAL_TILED_THREADS 256  // TiledGeometry::threads; the CPU emulation of the tests uses fewer
#endif
constexpr int kThreads = DGEVAL_TILED_THREADS;

struct PassArgs {
  EvalParams p;
  DeviceInput in;
  DeviceOutputs out;
  TiledScratch sc;
  i64 first_game;  ///< chunk-local index of the pass's game 0
  i64 tile, tiles, tiles_per_block, blocks_per_game;
  int partial_width;
  i64 fiber_values_per_game;
  i64 fiber_offset[kMaxPlayers];
  i64 fiber_contexts[kMaxPlayers];
  int fiber_segments[kMaxPlayers];
};

// Kernel parameters are limited to 4 KiB.
static_assert(sizeof(PassArgs) <= 4096, "PassArgs must fit the kernel parameter space");

/// Compensated accumulator stored as two doubles (sum, compensation) in shared memory.
__device__ __forceinline__ void comp_add(double* acc, double x) {
  detail::CompensatedSum c;
  c.sum = acc[0];
  c.c = acc[1];
  c.add(x);
  acc[0] = c.sum;
  acc[1] = c.c;
}
__device__ __forceinline__ double comp_value(const double* acc) { return acc[0] + acc[1]; }

template <class T>
__device__ __forceinline__ const T* side_ptr(const PassArgs& a, i64 g, bool agents) {
  const i64 per_game = static_cast<i64>(a.p.n) * a.p.N;
  return static_cast<const T*>(agents ? a.in.agents : a.in.principals) + g * per_game;
}

/// The block's game (chunk-local), its slot in the pass, and its tile range. Returns false when
/// the game is non-finite (known after the stats pass): the block then has nothing to do.
struct BlockWork {
  i64 slot, game, t_begin, t_end;
};
__device__ __forceinline__ BlockWork block_work(const PassArgs& a) {
  BlockWork w;
  w.slot = blockIdx.y;
  w.game = a.first_game + w.slot;
  w.t_begin = static_cast<i64>(blockIdx.x) * a.tiles_per_block;
  w.t_end = w.t_begin + a.tiles_per_block < a.tiles ? w.t_begin + a.tiles_per_block : a.tiles;
  return w;
}

/// Stages vectors [v0, v0 + count) of the tile starting at t0 (len outcomes) into tile[v][L].
/// Vectors v < n come from the agents, v >= n from the principals.
template <class T>
__device__ void stage_tile(const PassArgs& a, i64 g, int v0, int count, i64 t0, int len, T* tile) {
  const int n = a.p.n;
  const i64 N = a.p.N;
  const int L = static_cast<int>(a.tile);
  for (int v = v0; v < v0 + count; ++v) {
    const T* src = side_ptr<T>(a, g, v < n) + static_cast<i64>(v < n ? v : v - n) * N + t0;
    T* dst = tile + static_cast<i64>(v) * L;
    for (int j = threadIdx.x; j < len; j += blockDim.x) dst[j] = load<Mem::input>(src + j);
  }
}

/// Walks the block's tiles in order: stages vectors [0, count) of each tile into `tile`, between
/// barriers, then runs body(t0, len) on it (t0 its first outcome, len its outcomes).
template <class T, class Body>
__device__ __forceinline__ void for_each_tile(const PassArgs& a, const BlockWork& w, int count, T* tile, Body body) {
  for (i64 t = w.t_begin; t < w.t_end; ++t) {
    const i64 t0 = t * a.tile;
    const int len = static_cast<int>(a.p.N - t0 < a.tile ? a.p.N - t0 : a.tile);
    __syncthreads();
    stage_tile(a, w.game, 0, count, t0, len, tile);
    __syncthreads();
    body(t0, len);
  }
}

/// Staged tile accessor: vector v at outcome t0 + j is tile[v·L + j].
template <class T>
struct TileAt {
  const T* tile;
  int L;
  __device__ double operator()(int v, int j) const { return static_cast<double>(tile[v * L + j]); }
};

/// The partials of the pass's game `slot`: its blocks' one after the other, partial_width each.
__device__ __forceinline__ Global<Mem::scratch, double> game_partials(const PassArgs& a, i64 slot) {
  return a.sc.partials + slot * a.blocks_per_game * a.partial_width;
}
/// The partial of the block (block_work's game, blockIdx.x the block).
__device__ __forceinline__ Global<Mem::scratch, double> block_partial(const PassArgs& a, const BlockWork& w) {
  return game_partials(a, w.slot) + static_cast<i64>(blockIdx.x) * a.partial_width;
}

// ---------------------------------------------------------------------------------------------
// stats: per-vector sum/min/max, the centred sum of squares (EPIC), and welfare extrema.
// Each tile's squares are centred on the tile's own mean; tiles, then blocks, are merged with
// Chan's pairwise formula M2 = M2_a + M2_b + δ²·n_a·n_b/(n_a + n_b), δ = mean_b − mean_a, which
// needs no second pass over the input and stays accurate (no large-sum cancellation).
// Partial: [4v] sum, [4v+1] min, [4v+2] max, [4v+3] M2 for v < 2n; then w_max, w_min, wh_max,
// wh_min (2 each).

/// Merges a part of n_b values with sum sum_b and centred sum of squares m2_b into the running
/// (sum (compensated, 2 doubles), m2, count) at acc[0..3]. One thread, in order: deterministic.
__device__ __forceinline__ void chan_merge(double* acc, double n_b, double sum_b, double m2_b) {
  const double n_a = acc[3];
  if (n_a > 0.0) {
    const double delta = sum_b / n_b - comp_value(acc) / n_a;
    acc[2] = acc[2] + m2_b + delta * delta * (n_a * n_b / (n_a + n_b));
  } else {
    acc[2] = m2_b;
  }
  comp_add(acc, sum_b);
  acc[3] = n_a + n_b;
}

template <class T>
__global__ void __launch_bounds__(kThreads) tiled_stats_kernel(PassArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  const BlockTeam team{scratch};
  const BlockWork w = block_work(a);
  const int n = a.p.n, nv = 2 * n, L = static_cast<int>(a.tile);
  T* tile = reinterpret_cast<T*>(smem);
  double* acc = reinterpret_cast<double*>(smem + round_up_dev(static_cast<size_t>(nv) * L * sizeof(T)));
  // acc: [6v] sum, [6v+1] compensation, [6v+2] M2, [6v+3] count, [6v+4] min, [6v+5] max;
  // then 4 ArgExt (8 doubles).
  WelfareExt* wacc = reinterpret_cast<WelfareExt*>(acc + 6 * nv);
  const bool centred = detail::needs_centred_squares(a.p.standardisation);
  if (threadIdx.x == 0) {
    for (int v = 0; v < nv; ++v) {
      acc[6 * v] = acc[6 * v + 1] = acc[6 * v + 2] = acc[6 * v + 3] = 0.0;
      acc[6 * v + 4] = inf();
      acc[6 * v + 5] = -inf();
    }
    *wacc = welfare_empty();
  }
  const TileAt<T> at{tile, L};
  for_each_tile(a, w, nv, tile, [&](i64 t0, int len) {
    for (int v = 0; v < nv; ++v) {
      Stats st = stats_empty();
      for (int j = threadIdx.x; j < len; j += blockDim.x) stats_add(st, at(v, j));
      st = team.reduce(st, StatsOp());
      double m2 = 0.0;
      if (centred) {  // the tile is in shared memory: centring on its mean costs no global read
        const double mean = st.sum / static_cast<double>(len);
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
          const double d = at(v, j) - mean;
          m2 += d * d;
        }
        m2 = team.reduce(m2, PlusOp());
      }
      if (threadIdx.x == 0) {
        chan_merge(acc + 6 * v, static_cast<double>(len), st.sum, m2);
        acc[6 * v + 4] = st.lo < acc[6 * v + 4] ? st.lo : acc[6 * v + 4];
        acc[6 * v + 5] = st.hi > acc[6 * v + 5] ? st.hi : acc[6 * v + 5];
      }
    }
    WelfareExt we = welfare_empty();
    for (int j = threadIdx.x; j < len; j += blockDim.x) {
      const i64 s = t0 + j;
      const double wa = welfare_at(a.p, at, 0, j), wp = welfare_at(a.p, at, n, j);
      we.add(wa, wp, s);
    }
    we = team.reduce(we, WelfareOp());
    if (threadIdx.x == 0) *wacc = WelfareOp()(*wacc, we);
  });
  if (threadIdx.x == 0) {
    const Global<Mem::scratch, double> out = block_partial(a, w);
    for (int v = 0; v < nv; ++v) {
      out.store(4 * v, comp_value(acc + 6 * v));
      out.store(4 * v + 1, acc[6 * v + 4]);
      out.store(4 * v + 2, acc[6 * v + 5]);
      out.store(4 * v + 3, acc[6 * v + 2]);
    }
    store_arg(out + 8 * n, wacc->w_max);
    store_arg(out + 8 * n + 2, wacc->w_min);
    store_arg(out + 8 * n + 4, wacc->wh_max);
    store_arg(out + 8 * n + 6, wacc->wh_min);
  }
}

/// One block (64 threads) per game: thread v folds vector v's partials in block order.
__global__ void __launch_bounds__(64) tiled_stats_combine_kernel(PassArgs a) {
  const int n = a.p.n, nv = 2 * n;
  const i64 slot = blockIdx.x;
  const Global<Mem::scratch, double> part = game_partials(a, slot);
  const GlobalGameArrays A = game_arrays_at(a.sc.arrays + slot * state_doubles(n), n);
  const int v = threadIdx.x;
  bool nonfinite = false;
  if (v < nv) {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};  // sum, compensation, M2, count
    double lo = inf(), hi = -inf();
    const i64 per_block = a.tiles_per_block * a.tile;
    for (i64 b = 0; b < a.blocks_per_game; ++b) {
      const Global<Mem::scratch, double> q = part + b * a.partial_width + 4 * v;
      if (!finite(q[0])) nonfinite = true;
      const i64 first = b * per_block, last = first + per_block < a.p.N ? first + per_block : a.p.N;
      chan_merge(acc, static_cast<double>(last - first), q[0], q[3]);
      lo = q[1] < lo ? q[1] : lo;
      hi = q[2] > hi ? q[2] : hi;
    }
    const double sum = comp_value(acc);
    if (!finite(sum)) nonfinite = true;
    A.lo.store(v, lo);
    A.hi.store(v, hi);
    A.shift.store(v, detail::shift_of(a.p.standardisation, sum, a.p.N, lo, hi));
    A.mag.store(v, detail::magnitude_of(a.p.standardisation, acc[2], lo, hi));
    A.inv.store(v, detail::inverse_magnitude_of(A.mag[v]));
  }
  nonfinite = __syncthreads_or(nonfinite) != 0;
  if (threadIdx.x == 0) {
    GameSummary S = summary_empty();
    S.nonfinite = nonfinite ? 1 : 0;
    WelfareExt we = welfare_empty();
    for (i64 b = 0; b < a.blocks_per_game; ++b) {
      const Global<Mem::scratch, double> q = part + b * a.partial_width + 8 * n;
      we = WelfareOp()(we, WelfareExt{load_arg(q), load_arg(q + 2), load_arg(q + 4), load_arg(q + 6)});
    }
    we.to_summary(S);
    store<Mem::scratch>(a.sc.summaries + slot, S);
  }
}

// ---------------------------------------------------------------------------------------------
// align: per player the IA, CA(agents), CA(principals) norm accumulators, then the distance-matrix
// pairs (x < y in row order). Partial: [3i], [3i+1], [3i+2] for i < n; [3n + q] for pair q.

template <class T>
__global__ void __launch_bounds__(kThreads) tiled_align_kernel(PassArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  const BlockTeam team{scratch};
  const BlockWork w = block_work(a);
  if (load<Mem::scratch>(&a.sc.summaries[w.slot].nonfinite)) return;
  const int n = a.p.n, nv = 2 * n, L = static_cast<int>(a.tile);
  const detail::AnyNorm norm{a.p.standardisation};
  const int items = 3 * n + (a.p.distance_matrix ? distance_pairs_dev(n) : 0);
  T* tile = reinterpret_cast<T*>(smem);
  double* acc = reinterpret_cast<double*>(smem + round_up_dev(static_cast<size_t>(nv) * L * sizeof(T)));
  const GlobalGameArrays A = game_arrays_at(a.sc.arrays + w.slot * state_doubles(n), n);
  if (threadIdx.x == 0) {
    for (int q = 0; q < 2 * items; ++q) acc[q] = 0.0;
  }
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, A.mag));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, A.mag + n));
  const TileAt<T> at{tile, L};
  auto nu = [&](int v, int j) { return detail::standardised_by_inverse(at(v, j), A.shift[v], A.inv[v]); };
  auto fold = [&](int q, double x) { norm.fold(acc + 2 * q, x); };  // thread 0 only
  for_each_tile(a, w, nv, tile, [&](i64 /*t0*/, int len) {
    for (int i = 0; i < n; ++i) {
      Acc3 x{0.0, 0.0, 0.0};
      for (int j = threadIdx.x; j < len; j += blockDim.x) {
        const double mu_a = detail::ca_mean<double>(
            n, A.mag, [&](int m) { return nu(m, j); }, inv_weight_a);
        const double mu_p = detail::ca_mean<double>(
            n, A.mag + n, [&](int m) { return nu(n + m, j); }, inv_weight_p);
        const double u = nu(i, j), uh = nu(n + i, j);
        x.a = norm.accumulate(x.a, u - uh);
        x.b = norm.accumulate(x.b, u - mu_a);
        x.c = norm.accumulate(x.c, uh - mu_p);
      }
      x = team.reduce(x, NormOp3{norm});
      if (threadIdx.x == 0) {
        fold(3 * i, x.a);
        fold(3 * i + 1, x.b);
        fold(3 * i + 2, x.c);
      }
    }
    if (a.p.distance_matrix) {
      int q = 3 * n;
      for (int x = 0; x < nv; ++x) {
        for (int y = x + 1; y < nv; ++y, ++q) {
          double d = 0.0;
          for (int j = threadIdx.x; j < len; j += blockDim.x) d = norm.accumulate(d, nu(x, j) - nu(y, j));
          d = team.reduce(d, NormOp1{norm});
          if (threadIdx.x == 0) fold(q, d);
        }
      }
    }
  });
  if (threadIdx.x == 0) {
    const Global<Mem::scratch, double> out = block_partial(a, w);
    for (int q = 0; q < items; ++q) out.store(q, norm.folded(acc + 2 * q));
  }
}

/// One block per game: thread q folds item q's partials; thread 0 finishes IA and CA in player order.
__global__ void __launch_bounds__(kThreads) tiled_align_combine_kernel(PassArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  const int n = a.p.n, nv = 2 * n;
  const i64 slot = blockIdx.x;
  const i64 g = a.first_game + slot;
  if (load<Mem::scratch>(&a.sc.summaries[slot].nonfinite)) return;
  const detail::AnyNorm norm{a.p.standardisation};
  const int items = 3 * n + (a.p.distance_matrix ? distance_pairs_dev(n) : 0);
  double* norms = reinterpret_cast<double*>(smem);  // [items]
  const Global<Mem::scratch, double> part = game_partials(a, slot);
  for (int q = threadIdx.x; q < items; q += blockDim.x) {
    double state[2] = {0.0, 0.0};
    for (i64 b = 0; b < a.blocks_per_game; ++b) norm.fold(state, part[b * a.partial_width + q]);
    norms[q] = norm.finish(norm.folded(state));
  }
  __syncthreads();
  if (a.p.distance_matrix) {
    const Global<Mem::output, double> dm = a.out.distance_matrix + g * nv * nv;
    for (int x = threadIdx.x; x < nv; x += blockDim.x) {
      dm.store(x * nv + x, 0.0);
      // pair (x, y), y > x, has index 3n + x·nv − x(x+1)/2 + (y − x − 1)
      const int row = 3 * n + x * nv - x * (x + 1) / 2;
      for (int y = x + 1; y < nv; ++y) {
        const double d = detail::distance_from_norm(norms[row + (y - x - 1)], a.p.constants);
        dm.store(x * nv + y, d);
        dm.store(y * nv + x, d);
      }
    }
  }
  if (threadIdx.x == 0) {
    const GlobalGameArrays A = game_arrays_at(a.sc.arrays + slot * state_doubles(n), n);
    for (int i = 0; i < n; ++i) A.ia.store(i, detail::ia_from_norm(norms[3 * i], a.p.constants));
    GameSummary& S = a.sc.summaries[slot];
    store<Mem::scratch>(&S.ca_agents,
                        detail::collective_alignment<double>(n, A.mag, [&](int i) { return norms[3 * i + 1]; }));
    store<Mem::scratch>(&S.ca_principals,
                        detail::collective_alignment<double>(n, A.mag + n, [&](int i) { return norms[3 * i + 2]; }));
  }
}

// ---------------------------------------------------------------------------------------------
// fibers: for player i, context c = (outer, inner) with outer = c / stride_i and
// inner = c % stride_i; its outcomes are outer·stride_i·k_i + a·stride_i + inner, a < k_i.
// Consecutive threads take consecutive contexts, so reads are coalesced when stride_i > 1.
// Grid: (context blocks, segments, games). Segment j covers actions [j·len, (j+1)·len).
// Output: with one segment, fibers[slot][off_i + c] = min, [off_i + C_i + c] = max; otherwise
// segments[(slot·S + j)·2·C_i + c] and [... + C_i + c], folded by tiled_fiber_combine_kernel.

template <class T>
__device__ __forceinline__ void fiber_extrema(const PassArgs& a, int player, int segments) {
  const i64 C = a.fiber_contexts[player];
  const i64 k = a.p.k[player], stride = a.p.stride[player];
  const i64 slot = blockIdx.z;
  const T* u = side_ptr<T>(a, a.first_game + slot, true) + static_cast<i64>(player) * a.p.N;
  const i64 seg_len = (k + segments - 1) / segments;
  const i64 a0 = static_cast<i64>(blockIdx.y) * seg_len;
  const i64 a1 = a0 + seg_len < k ? a0 + seg_len : k;
  T* lo_out;
  T* hi_out;
  if (segments == 1) {
    lo_out = static_cast<T*>(a.sc.fibers) + slot * a.fiber_values_per_game + a.fiber_offset[player];
  } else {
    lo_out = static_cast<T*>(a.sc.segments) + (slot * segments + blockIdx.y) * 2 * C;
  }
  hi_out = lo_out + C;
  for (i64 c = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; c < C;
       c += static_cast<i64>(gridDim.x) * blockDim.x) {
    if (a0 >= a1) {  // an empty segment (the planner avoids them): the identities of min and max
      store<Mem::scratch>(lo_out + c, static_cast<T>(inf()));
      store<Mem::scratch>(hi_out + c, static_cast<T>(-inf()));
      continue;
    }
    const i64 outer = c / stride, inner = c - outer * stride;
    const T* f = u + outer * stride * k + inner;
    T lo = load<Mem::input>(f + a0 * stride), hi = lo;
    for (i64 x = a0 + 1; x < a1; ++x) {
      const T y = load<Mem::input>(f + x * stride);
      lo = y < lo ? y : lo;
      hi = y > hi ? y : hi;
    }
    store<Mem::scratch>(lo_out + c, lo);
    store<Mem::scratch>(hi_out + c, hi);
  }
}

/// One player's fibers (split into `segments` segments of its actions, blockIdx.y the segment).
template <class T>
__global__ void __launch_bounds__(kThreads) tiled_fiber_kernel(PassArgs a, int player, int segments) {
  fiber_extrema<T>(a, player, segments);
}

/// The fibers of every player whose fibers are not split into segments, in one launch (the
/// players one after the other in each block; blockIdx.y is 0).
template <class T>
__global__ void __launch_bounds__(kThreads) tiled_fibers_kernel(PassArgs a) {
  for (int i = 0; i < a.p.n; ++i) {
    if (a.fiber_offset[i] >= 0 && a.fiber_segments[i] == 1) fiber_extrema<T>(a, i, 1);
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads) tiled_fiber_combine_kernel(PassArgs a, int player, int segments) {
  const i64 C = a.fiber_contexts[player];
  const i64 slot = blockIdx.y;
  const T* seg = static_cast<const T*>(a.sc.segments) + slot * segments * 2 * C;
  T* lo_out = static_cast<T*>(a.sc.fibers) + slot * a.fiber_values_per_game + a.fiber_offset[player];
  T* hi_out = lo_out + C;
  for (i64 c = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; c < C;
       c += static_cast<i64>(gridDim.x) * blockDim.x) {
    T lo = load<Mem::scratch>(seg + c), hi = load<Mem::scratch>(seg + C + c);
    for (int j = 1; j < segments; ++j) {
      const T l = load<Mem::scratch>(seg + static_cast<i64>(j) * 2 * C + c);
      const T h = load<Mem::scratch>(seg + static_cast<i64>(j) * 2 * C + C + c);
      lo = l < lo ? l : lo;
      hi = h > hi ? h : hi;
    }
    store<Mem::scratch>(lo_out + c, lo);
    store<Mem::scratch>(hi_out + c, hi);
  }
}

// ---------------------------------------------------------------------------------------------
// mask: the ε-Nash test of every outcome against the fibers.
// Partial: [0] NE count, [1] ε-NE count (int64 bits), [2..7] worst NE, best NE, worst ε-NE,
// [8 + 2i], [9 + 2i]: Σ u_i, Σ û_i over the NE set (uniform-ne) or the ε-NE set (uniform-eps-ne).

/// Adds a tile's Σ_j σ_j·u_i(j) and Σ_j σ_j·u_{n+i}(j) (agent i's and principal i's staged values)
/// to the block's compensated sums, 4 doubles per player at `sums` (thread 0's). σ_j = weight(j):
/// 1 or 0 for a set's indicator (the uniform strategies, the played set), a correlated or product
/// strategy's weight otherwise; an outcome of weight 0 is skipped. Ends with the reduction's barrier.
template <class T, class Weight>
__device__ inline void add_strategy_sums(const BlockTeam& team, const TileAt<T>& at, int n, int len, double* sums,
                                         Weight weight) {
  for (int i = 0; i < n; ++i) {
    Acc2 x{0.0, 0.0};
    for (int j = threadIdx.x; j < len; j += blockDim.x) {
      const double sigma = weight(j);
      if (sigma == 0.0) continue;
      x.a += sigma * at(i, j);
      x.b += sigma * at(n + i, j);
    }
    x = team.reduce(x, Plus2Op());
    if (threadIdx.x == 0) {
      comp_add(sums + 4 * i, x.a);
      comp_add(sums + 4 * i + 2, x.b);
    }
  }
}

/// Player i's sums folded over the game's blocks' partials (`part`: the first block's Σ σ u_i at
/// [2i], Σ σ u_{n+i} at [2i + 1]), into the game's su and suh arrays.
__device__ __forceinline__ void fold_strategy_sums(const PassArgs& a, i64 slot, Global<Mem::scratch, double> part,
                                                   int i) {
  const GlobalGameArrays A = game_arrays_at(a.sc.arrays + slot * state_doubles(a.p.n), a.p.n);
  detail::CompensatedSum su, suh;
  for (i64 b = 0; b < a.blocks_per_game; ++b) {
    su.add(part[b * a.partial_width + 2 * i]);
    suh.add(part[b * a.partial_width + 2 * i + 1]);
  }
  A.su.store(i, su.value());
  A.suh.store(i, suh.value());
}

/// The block's sums (add_strategy_sums's, at `sums`) into its partial `out` from `first`: Σ σ u_i
/// at [first + 2i], Σ σ u_{n+i} at [first + 2i + 1], as fold_strategy_sums reads them.
__device__ __forceinline__ void store_strategy_sums(const Global<Mem::scratch, double>& out, int first,
                                                    const double* sums, int n) {
  for (int i = 0; i < n; ++i) {
    out.store(first + 2 * i, comp_value(sums + 4 * i));
    out.store(first + 2 * i + 1, comp_value(sums + 4 * i + 2));
  }
}

/// Context of outcome s for player i (index into the player's fiber arrays).
template <class I>
__device__ __forceinline__ I context_of(I s, I stride, I k) {
  const I block = stride * k;
  const I outer = s / block;
  return outer * stride + (s - outer * block) % stride;
}

template <class T>
__global__ void __launch_bounds__(kThreads) tiled_mask_kernel(PassArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  const BlockTeam team{scratch};
  const BlockWork w = block_work(a);
  if (load<Mem::scratch>(&a.sc.summaries[w.slot].nonfinite)) return;
  const EvalParams& p = a.p;
  const int n = p.n, nv = 2 * n, L = static_cast<int>(a.tile);
  const bool uniform = p.strategy == StrategyKind::uniform_ne || p.strategy == StrategyKind::uniform_eps_ne;
  const unsigned want = p.strategy == StrategyKind::uniform_ne ? 1u : 2u;
  T* tile = reinterpret_cast<T*>(smem);
  unsigned char* mask = smem + static_cast<size_t>(nv) * L * sizeof(T);
  double* acc = reinterpret_cast<double*>(smem + round_up_dev(static_cast<size_t>(nv) * L * sizeof(T)) +
                                          round_up_dev(static_cast<size_t>(L)));
  // acc: NeExt (8 doubles) then compensated sums [2i], [2i+1] pairs for u and û (4 doubles each).
  NeExt* eacc = reinterpret_cast<NeExt*>(acc);
  double* sums = acc + 8;
  if (threadIdx.x == 0) {
    *eacc = ne_empty();
    for (int q = 0; q < 4 * n; ++q) sums[q] = 0.0;
  }
  const T* fib = static_cast<const T*>(a.sc.fibers) + w.slot * a.fiber_values_per_game;
  const bool narrow = p.N <= 0xffffffffLL;
  const TileAt<T> at{tile, L};
  for_each_tile(a, w, uniform ? nv : n, tile, [&](i64 t0, int len) {
    NeExt e = ne_empty();
    for (int j = threadIdx.x; j < len; j += blockDim.x) {
      const i64 s = t0 + j;
      unsigned m = 3u;
      for (int i = 0; i < n && m != 0u; ++i) {
        if (a.fiber_offset[i] < 0) continue;  // k_i = 1 always passes
        const i64 c =
            narrow ? static_cast<i64>(context_of<unsigned>(static_cast<unsigned>(s), static_cast<unsigned>(p.stride[i]),
                                                           static_cast<unsigned>(p.k[i])))
                   : context_of<i64>(s, p.stride[i], p.k[i]);
        const T* f = fib + a.fiber_offset[i];
        m &= ne_bits_for(p, i, at(i, j), static_cast<double>(load<Mem::scratch>(f + c)),
                         static_cast<double>(load<Mem::scratch>(f + a.fiber_contexts[i] + c)));
      }
      mask[j] = static_cast<unsigned char>(m);
      if (m != 0u) {
        e.add(m, welfare_at(p, at, 0, j), s);
      }
    }
    e = team.reduce(e, NeOp());  // ends with __syncthreads: the tile's mask is complete
    if (threadIdx.x == 0) *eacc = NeOp()(*eacc, e);
    if (p.list_equilibria) {
      const Global<Mem::output, std::uint32_t> bits =
          a.out.ne_bits + w.game * a.out.ne_words + t0 / 32;  // t0: a multiple of 32
      const int words = (len + 31) / 32;
      for (int wd = threadIdx.x; wd < words; wd += blockDim.x) {
        std::uint32_t word = 0u;
        for (int b = 0; b < 32; ++b) {
          const int j = wd * 32 + b;
          if (j < len && (mask[j] & 1u)) word |= 1u << b;
        }
        bits.store(wd, word);
      }
    }
    if (uniform) {
      add_strategy_sums(team, at, n, len, sums, [mask, want](int j) { return (mask[j] & want) ? 1.0 : 0.0; });
    }
  });
  if (threadIdx.x == 0) {
    const Global<Mem::scratch, double> out = block_partial(a, w);
    store_ne(out, *eacc);
    store_strategy_sums(out, 8, sums, n);
  }
}

__global__ void __launch_bounds__(64) tiled_mask_combine_kernel(PassArgs a) {
  const int n = a.p.n;
  const i64 slot = blockIdx.x;
  GameSummary& S = a.sc.summaries[slot];
  if (load<Mem::scratch>(&S.nonfinite)) return;
  const Global<Mem::scratch, double> part = game_partials(a, slot);
  __shared__ i64 count_sh;
  if (threadIdx.x == 0) {
    NeExt e = ne_empty();
    for (i64 b = 0; b < a.blocks_per_game; ++b) {
      const Global<Mem::scratch, double> q = part + b * a.partial_width;
      e = NeOp()(e, load_ne(q));
    }
    store<Mem::scratch>(&S.ne, e.ne);
    store<Mem::scratch>(&S.eps, e.eps);
    store<Mem::scratch>(&S.worst_ne, e.worst_ne);
    store<Mem::scratch>(&S.best_ne, e.best_ne);
    store<Mem::scratch>(&S.worst_eps, e.worst_eps);
    const StrategyKind kind = a.p.strategy;
    if (kind == StrategyKind::uniform_ne || kind == StrategyKind::uniform_eps_ne) {
      count_sh = kind == StrategyKind::uniform_ne ? e.ne : e.eps;
      store<Mem::scratch>(&S.strategy_defined, count_sh > 0);
    } else {
      count_sh = 0;
      if (kind == StrategyKind::played) store<Mem::scratch>(&S.strategy_defined, e.ne > 0 && e.eps > 0);
      if (strategy_has_weights(kind)) store<Mem::scratch>(&S.strategy_defined, 1);
    }
  }
  __syncthreads();
  if (count_sh > 0 && static_cast<int>(threadIdx.x) < n)
    fold_strategy_sums(a, slot, part + 8, static_cast<int>(threadIdx.x));
}

// ---------------------------------------------------------------------------------------------
// strategy: the played set (count, closest outcome outside the window, sums over the set) or the
// expectations of a correlated / product strategy.
// Partial: [0] count (int64 bits), [1..2] closest, [3 + 2i], [4 + 2i]: Σ u_i, Σ û_i (σ-weighted).

template <class T>
__global__ void __launch_bounds__(kThreads) tiled_strategy_kernel(PassArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  const BlockTeam team{scratch};
  const BlockWork w = block_work(a);
  const GameSummary S = load<Mem::scratch>(a.sc.summaries + w.slot);
  if (S.nonfinite || !S.strategy_defined) return;
  const EvalParams& p = a.p;
  const int n = p.n, nv = 2 * n, L = static_cast<int>(a.tile);
  const bool played = p.strategy == StrategyKind::played;
  T* tile = reinterpret_cast<T*>(smem);
  double* acc = reinterpret_cast<double*>(smem + round_up_dev(static_cast<size_t>(nv) * L * sizeof(T)));
  PlayedExt* pacc = reinterpret_cast<PlayedExt*>(acc);  // 3 doubles, padded to 4
  double* sums = acc + 4;
  if (threadIdx.x == 0) {
    *pacc = PlayedExt{0, arg_empty()};
    for (int q = 0; q < 4 * n; ++q) sums[q] = 0.0;
  }
  double lo = 0.0, hi = 0.0;
  if (played) detail::played_window(p.cc, S.w_max.value, S.worst_ne.value, S.worst_eps.value, p.cc_window, &lo, &hi);
  const double tol = p.played_tolerance, mid = (lo + hi) / 2;
  const TileAt<T> at{tile, L};
  for_each_tile(a, w, nv, tile, [&](i64 t0, int len) {
    if (played) {
      PlayedExt pe{0, arg_empty()};
      for (int j = threadIdx.x; j < len; j += blockDim.x) {
        const double wa = welfare_at(p, at, 0, j);
        if (lo - tol < wa && wa < hi + tol) {
          ++pe.count;
        } else {
          pe.closest = arg_min(pe.closest, ArgExt{fabs(wa - mid), t0 + j});
        }
      }
      pe = team.reduce(pe, PlayedOp());
      if (threadIdx.x == 0) *pacc = PlayedOp()(*pacc, pe);
    }
    if (played) {
      add_strategy_sums(team, at, n, len, sums, [&p, at, lo, hi, tol](int j) {
        const double wa = welfare_at(p, at, 0, j);
        return lo - tol < wa && wa < hi + tol ? 1.0 : 0.0;
      });
    } else {
      add_strategy_sums(team, at, n, len, sums,
                        [&p, game = w.game, t0](int j) { return strategy_weight(p, game, t0 + j); });
    }
  });
  if (threadIdx.x == 0) {
    const Global<Mem::scratch, double> out = block_partial(a, w);
    out.store(0, int_bits(pacc->count));
    store_arg(out + 1, pacc->closest);
    store_strategy_sums(out, 3, sums, n);
  }
}

__global__ void __launch_bounds__(64) tiled_strategy_combine_kernel(PassArgs a) {
  const int n = a.p.n;
  const i64 slot = blockIdx.x;
  GameSummary& S = a.sc.summaries[slot];
  if (load<Mem::scratch>(&S.nonfinite) || !load<Mem::scratch>(&S.strategy_defined)) return;
  const Global<Mem::scratch, double> part = game_partials(a, slot);
  const bool played = a.p.strategy == StrategyKind::played;
  __shared__ i64 count_sh;
  if (threadIdx.x == 0) {
    PlayedExt pe{0, arg_empty()};
    for (i64 b = 0; b < a.blocks_per_game; ++b) {
      const Global<Mem::scratch, double> q = part + b * a.partial_width;
      pe = PlayedOp()(pe, PlayedExt{bits_int(q[0]), load_arg(q + 1)});
    }
    if (played) {
      store<Mem::scratch>(&S.played_count, pe.count);
      store<Mem::scratch>(&S.closest, pe.closest);
    }
    count_sh = played ? pe.count : 1;
  }
  __syncthreads();
  if (count_sh > 0 && static_cast<int>(threadIdx.x) < n)
    fold_strategy_sums(a, slot, part + 3, static_cast<int>(threadIdx.x));
}

// ---------------------------------------------------------------------------------------------
// finish: one thread per game of the pass.

/// One of a game's per-game arrays as the finishing step reads it (game_arrays_at's layout),
/// addressed from the game's state where it is read: one pointer stays live for all of them, not
/// one per array (GlobalGameArrays), which spilled.
struct FinishArray {
  Global<Mem::scratch, double> state;
  int first;  ///< the array's first element in the state
  __device__ double operator[](int v) const { return state[first + v]; }
};
struct FinishArrays {
  FinishArray lo, hi, shift, mag, ia, su, suh;
  __device__ FinishArrays(Global<Mem::scratch, double> state, int n)
      : lo{state, 0},
        hi{state, 2 * n},
        shift{state, 4 * n},
        mag{state, 6 * n},
        ia{state, 10 * n},
        su{state, 11 * n},
        suh{state, 12 * n} {}
};

template <class T>
__global__ void __launch_bounds__(64) tiled_finish_kernel(PassArgs a, int games) {
  const int slot = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (slot >= games) return;
  const i64 g = a.first_game + slot;
  const GameSummary S = load<Mem::scratch>(a.sc.summaries + slot);
  if (S.nonfinite) {
    write_nonfinite_game(a.p, a.out, g);
    return;
  }
  const FinishArrays A(a.sc.arrays + static_cast<i64>(slot) * state_doubles(a.p.n), a.p.n);
  const Utilities<T> at{side_ptr<T>(a, g, true), side_ptr<T>(a, g, false), a.p.N, a.p.n};
  finish_game(a.p, a.out, g, S, A, at);
}

// ---------------------------------------------------------------------------------------------

template <class T>
void launch_pass(const TiledGeometry& geo, PassArgs& a, int games, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(geo.blocks_per_game), static_cast<unsigned>(games));
  const size_t shared = geo.shared_bytes;
  const int n = a.p.n;

  DGEVAL_LAUNCH(tiled_stats_kernel<T>, grid, kThreads, shared, stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  DGEVAL_LAUNCH(tiled_stats_combine_kernel, games, 64, 0, stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  DGEVAL_LAUNCH(tiled_align_kernel<T>, grid, kThreads, shared, stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  const int items = 3 * n + (a.p.distance_matrix ? distance_pairs(n) : 0);
  DGEVAL_LAUNCH(tiled_align_combine_kernel, games, kThreads, static_cast<size_t>(items) * sizeof(double), stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  // The players whose fibers are whole: one launch for all of them.
  i64 whole_blocks = 0;
  for (int i = 0; i < n; ++i) {
    if (geo.fiber_offset[i] < 0 || geo.fiber_segments[i] > 1) continue;
    const i64 blocks = (geo.fiber_contexts[i] + kThreads - 1) / kThreads;
    whole_blocks = blocks > whole_blocks ? blocks : whole_blocks;
  }
  if (whole_blocks > 0) {
    const unsigned gx = static_cast<unsigned>(whole_blocks < 65535 * 16 ? whole_blocks : 65535 * 16);
    DGEVAL_LAUNCH(tiled_fibers_kernel<T>, dim3(gx, 1u, static_cast<unsigned>(games)), kThreads, 0, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
  }
  // Players whose fibers are split into segments (the segments' scratch is one player's): a fiber
  // launch and a combine each.
  for (int i = 0; i < n; ++i) {
    if (geo.fiber_offset[i] < 0 || geo.fiber_segments[i] == 1) continue;
    const int segments = geo.fiber_segments[i];
    const i64 C = geo.fiber_contexts[i];
    const i64 blocks = (C + kThreads - 1) / kThreads;
    const unsigned gx = static_cast<unsigned>(blocks < 65535 * 16 ? blocks : 65535 * 16);
    DGEVAL_LAUNCH(tiled_fiber_kernel<T>, dim3(gx, static_cast<unsigned>(segments), static_cast<unsigned>(games)),
                  kThreads, 0, stream)
    (a, i, segments);
    DGEVAL_CUDA_CHECK_LAUNCH();
    DGEVAL_LAUNCH(tiled_fiber_combine_kernel<T>, dim3(gx, static_cast<unsigned>(games)), kThreads, 0, stream)
    (a, i, segments);
    DGEVAL_CUDA_CHECK_LAUNCH();
  }
  DGEVAL_LAUNCH(tiled_mask_kernel<T>, grid, kThreads, shared, stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  DGEVAL_LAUNCH(tiled_mask_combine_kernel, games, 64, 0, stream)(a);
  DGEVAL_CUDA_CHECK_LAUNCH();
  const StrategyKind kind = a.p.strategy;
  if (kind == StrategyKind::played || strategy_has_weights(kind)) {
    DGEVAL_LAUNCH(tiled_strategy_kernel<T>, grid, kThreads, shared, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
    DGEVAL_LAUNCH(tiled_strategy_combine_kernel, games, 64, 0, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
  }
  DGEVAL_LAUNCH(tiled_finish_kernel<T>, (games + 63) / 64, 64, 0, stream)(a, games);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_all(const TiledGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                const TiledScratch& sc, cudaStream_t stream) {
  PassArgs a;
  a.p = p;
  a.in = in;
  a.out = out;
  a.sc = sc;
  a.tile = geo.tile;
  a.tiles = geo.tiles;
  a.tiles_per_block = geo.tiles_per_block;
  a.blocks_per_game = geo.blocks_per_game;
  a.partial_width = geo.partial_width;
  a.fiber_values_per_game = geo.fiber_values_per_game;
  for (int i = 0; i < kMaxPlayers; ++i) {
    a.fiber_offset[i] = i < p.n ? geo.fiber_offset[i] : -1;
    a.fiber_contexts[i] = i < p.n ? geo.fiber_contexts[i] : 0;
    a.fiber_segments[i] = i < p.n ? geo.fiber_segments[i] : 1;
  }
  for (i64 g0 = 0; g0 < in.games; g0 += geo.games_per_pass) {
    const i64 games = in.games - g0 < geo.games_per_pass ? in.games - g0 : geo.games_per_pass;
    a.first_game = g0;
    launch_pass<T>(geo, a, static_cast<int>(games), stream);
  }
}

template <class T>
cudaError_t raise_limits(int bytes) {
  const void* kernels[] = {
      reinterpret_cast<const void*>(tiled_stats_kernel<T>), reinterpret_cast<const void*>(tiled_align_kernel<T>),
      reinterpret_cast<const void*>(tiled_mask_kernel<T>), reinterpret_cast<const void*>(tiled_strategy_kernel<T>),
      reinterpret_cast<const void*>(tiled_align_combine_kernel)};
  for (const void* k : kernels) {
    const cudaError_t e = raise_shared_limit(k, bytes);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t prepare_tiled_kernels(int max_dynamic_shared_bytes) {
  cudaError_t e = raise_limits<float>(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_limits<double>(max_dynamic_shared_bytes);
  return e;
}

}  // namespace dev

cudaError_t prepare_kernels(int max_dynamic_shared_bytes) {
  cudaError_t e = dev::prepare_team_kernels(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = dev::prepare_tiled_kernels(max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = dev::prepare_cluster_kernels(max_dynamic_shared_bytes);
  return e;
}

void launch_tiled_evaluate(const TiledGeometry& geo, const EvalParams& p, const DeviceInput& in,
                           const DeviceOutputs& out, const TiledScratch& sc, cudaStream_t stream) {
  if (in.games <= 0) return;
  detail::visit_dtype(in.float32, [&](auto t) { dev::launch_all<decltype(t)>(geo, p, in, out, sc, stream); });
}

}  // namespace cuda
}  // namespace dgeval
