// cluster_evaluate_kernel: mid-size games (too large for one block's shared memory, small enough
// for a thread block cluster's), one cluster of blocks per game (sm_90, kernels/cluster.cuh), the
// game read from global memory once and every pass done on chip, in one launch per chunk.
//
// Mapping (host/backends/cuda/cuda_plan.hpp, ClusterGeometry): a persistent grid of clusters walks
// the chunk's games (cluster c takes games c, c + clusters, ...). The game's outcomes are dealt to
// the cluster's blocks in runs of `run` consecutive outcomes, round robin; each block stages its
// slice (both sides, 2n vectors) into its dynamic shared memory with coalesced loads, then the
// passes of the block team (kernels/team_evaluate.cu, evaluate_team_game) run over the cluster:
// every thread walks its block's outcomes, every reduction is the block's (BlockTeam) followed by
// a fold of the blocks' values in rank order through distributed shared memory, so every thread
// of the cluster holds the same bits. The passes, as on the other paths:
//   stats       per vector sum/min/max → shift; welfare extrema; (EPIC) centred sums of squares → m
//   align       the CA means μ per outcome (local scratch), then per player the IA and CA distances
//   equilibria  ε-Nash mask per outcome: each player's fiber read where it lies, in this block's
//               slice or another block's (distributed shared memory); counts, worst/best NE
//   strategy    the strategy's sums (uniform sets, the played set, σ-weighted)
//   finish      detail/finish.hpp's finishing step, by thread 0 of block 0, reading utilities
//               anywhere in the cluster
// Each block keeps its own copy of the per-game arrays and summary (every thread holds the reduced
// values; thread 0 of each block writes them); only thread 0 of block 0 writes the results.
// cluster.sync() separates games: no block restages its slice while another may still read it.
// Bytes moved: 2·n·N·sizeof(T) read per game plus the result columns written (every global access
// goes through kernels/global_memory.cuh, which the tests' CPU emulation counts).
#include <cstdint>
#include <cstring>

#include "backends/cuda/cuda_check.hpp"
#include "cluster.cuh"
#include "device_common.cuh"

#ifndef DGEVAL_CLUSTER_THREADS
#define DGEVAL_CLUSTER_THREADS 256  // ClusterGeometry::threads; the CPU emulation of the tests uses fewer
#endif

namespace dgeval {
namespace cuda {
namespace dev {
namespace {

constexpr int kClusterThreads = DGEVAL_CLUSTER_THREADS;
static_assert(kClusterThreads % 32 == 0 && kClusterThreads <= 1024, "whole warps");
static_assert(kMaxPayload == static_cast<int>(kClusterPayload), "the plan's payload is the reductions'");
static_assert(sizeof(EvalParams) + sizeof(DeviceInput) + sizeof(DeviceOutputs) + sizeof(ClusterGeometry) <= 4096,
              "cluster kernel parameters must fit the 4 KiB parameter space");

#if DGEVAL_CLUSTER_CODE

/// Where the outcomes lie: this block's slice of `local` slots (ClusterGeometry), outcome s in
/// block (s >> run_shift) & blocks_mask at local slot ((s >> cluster_shift) << run_shift) | (s % run).
struct Slices {
  int local, run_shift, cluster_shift, rank;
  unsigned blocks_mask;
  /// The outcome of this block's local slot j.
  __device__ int outcome(int j) const {
    return ((j >> run_shift) << cluster_shift) | (rank << run_shift) | (j & ((1 << run_shift) - 1));
  }
  __device__ unsigned block_of(int s) const { return static_cast<unsigned>(s >> run_shift) & blocks_mask; }
  __device__ int slot_of(int s) const { return ((s >> cluster_shift) << run_shift) | (s & ((1 << run_shift) - 1)); }
};

/// This block's slice: vector v (agents 0..n−1, principals n..2n−1) at local slot j.
template <class T>
struct LocalAt {
  const T* data;
  int local;
  __device__ double operator()(int v, i64 j) const {
    return static_cast<double>(data[v * local + static_cast<int>(j)]);
  }
};

/// The whole game, wherever its outcome lies in the cluster (distributed shared memory).
template <class T>
struct ClusterAt {
  const T* data;  ///< this block's slice (mapped to the block holding the outcome)
  Slices sl;
  __device__ double operator()(int v, i64 s) const {
    const int si = static_cast<int>(s);
    const T* base = Cluster::map_shared_rank(data, sl.block_of(si));
    return static_cast<double>(base[v * sl.local + sl.slot_of(si)]);
  }
};

/// The cluster as one team: a block reduction (BlockTeam), then each block's value through its
/// exchange slot, folded in rank order by every thread. Two slots used in turn: a block writes a
/// slot again two reductions later, after a cluster.sync() that every reader of its last value
/// has passed. Every thread of the cluster makes the same reductions in the same order.
struct ClusterTeam {
  unsigned char* scratch;   ///< 32 · kMaxPayload bytes (BlockTeam)
  unsigned char* exchange;  ///< 2 · kMaxPayload bytes
  int blocks;
  int parity;
  template <class V, class Op>
  __device__ V reduce(V v, Op op) {
    v = BlockTeam{scratch}.reduce(v, op);
    if (blocks == 1) return v;
    V* slot = reinterpret_cast<V*>(exchange + parity * kMaxPayload);
    parity ^= 1;
    if (threadIdx.x == 0) *slot = v;
    Cluster::sync();
    V r = *Cluster::map_shared_rank(slot, 0u);
    for (int c = 1; c < blocks; ++c) r = op(r, *Cluster::map_shared_rank(slot, static_cast<unsigned>(c)));
    return r;
  }
};

/// The passes over game g, staged in the cluster's slices (`data`: this block's).
template <class T>
__device__ void evaluate_cluster_game(ClusterTeam& team, const EvalParams& p, const DeviceOutputs& out, i64 g,
                                      const T* data, unsigned char* scratch, GameSummary& S, double* state,
                                      const Slices& sl) {
  const int n = p.n, nv = 2 * n;
  const int N = static_cast<int>(p.N);
  const detail::AnyNorm norm{p.standardisation};
  const int tid = static_cast<int>(threadIdx.x), B = static_cast<int>(blockDim.x), L = sl.local;
  const bool leader = tid == 0;                // writes this block's copy of the state
  const bool writer = leader && sl.rank == 0;  // writes the game's results
  const LocalAt<T> loc{data, L};               // indexed by local slot
  const ClusterAt<T> at{data, sl};             // indexed by outcome
  enum : int { kLo = 0, kHi = 2, kShift = 4, kMag = 6, kInv = 8, kIa = 10, kSu = 11, kSuh = 12 };
  auto at_state = [state, n](int array, int v) -> double& { return state[array * n + v]; };
  if (leader) S = summary_empty();
    // A block's local slots in order hold increasing outcomes: the first past the game ends the walk.
#define DGEVAL_FOR_LOCAL(j, s)                 \
  for (int j = tid; j < L; j += B)             \
    if (const int s = sl.outcome(j); s >= N) { \
      break;                                   \
    } else

  // stats: per-vector sum, min, max → shift.
  bool nonfinite = false;
  for (int v = 0; v < nv; ++v) {
    Stats st = stats_empty();
    DGEVAL_FOR_LOCAL(j, s) {
      (void)s;
      stats_add(st, loc(v, j));
    }
    st = team.reduce(st, StatsOp());
    nonfinite = nonfinite || !finite(st.sum);
    if (leader) {
      at_state(kLo, v) = st.lo;
      at_state(kHi, v) = st.hi;
      at_state(kShift, v) = detail::shift_of(p.standardisation, st.sum, N, st.lo, st.hi);
    }
  }
  if (nonfinite) {  // uniform across the cluster: every thread holds the same sums
    if (writer) write_nonfinite_game(p, out, g);
    return;
  }
  {
    const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
    WelfareExt we = welfare_empty();
    DGEVAL_FOR_LOCAL(j, s) {
      const double w = welfare_at(p, ws, loc, 0, j), wh = welfare_at(p, ws, loc, n, j);
      we.w_max = arg_max(we.w_max, ArgExt{w, s});
      we.w_min = arg_min(we.w_min, ArgExt{w, s});
      we.wh_max = arg_max(we.wh_max, ArgExt{wh, s});
      we.wh_min = arg_min(we.wh_min, ArgExt{wh, s});
    }
    we = team.reduce(we, WelfareOp());
    if (leader) {
      S.w_max = we.w_max;
      S.w_min = we.w_min;
      S.wh_max = we.wh_max;
      S.wh_min = we.wh_min;
    }
  }
  __syncthreads();

  // stats: magnitudes and their inverses.
  if (detail::needs_centred_squares(p.standardisation)) {
    for (int v = 0; v < nv; ++v) {
      const double c = at_state(kShift, v);
      double acc = 0.0;
      DGEVAL_FOR_LOCAL(j, s) {
        (void)s;
        const double d = loc(v, j) - c;
        acc += d * d;
      }
      acc = team.reduce(acc, PlusOp());
      if (leader) {
        at_state(kMag, v) = detail::magnitude_of(p.standardisation, acc, at_state(kLo, v), at_state(kHi, v));
        at_state(kInv, v) = detail::inverse_magnitude_of(at_state(kMag, v));
      }
    }
  } else if (leader) {
    for (int v = 0; v < nv; ++v) {
      at_state(kMag, v) = detail::magnitude_of(p.standardisation, 0.0, at_state(kLo, v), at_state(kHi, v));
      at_state(kInv, v) = detail::inverse_magnitude_of(at_state(kMag, v));
    }
  }
  __syncthreads();

  // align: the CA means μ of both sides once per local outcome, then one pass per player.
  auto nu = [&](int v, int j) {
    return detail::standardised_by_inverse(loc(v, j), at_state(kShift, v), at_state(kInv, v));
  };
  double* mu = reinterpret_cast<double*>(scratch);
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, state + kMag * n));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, state + kMag * n + n));
  DGEVAL_FOR_LOCAL(j, s) {
    (void)s;
    detail::CaMean<double> mean_a, mean_p;
#pragma unroll 1
    for (int i = 0; i < n; ++i) {
      mean_a.add(at_state(kMag, i), nu(i, j));
      mean_p.add(at_state(kMag, n + i), nu(n + i, j));
    }
    mu[2 * j] = mean_a.value(inv_weight_a);
    mu[2 * j + 1] = mean_p.value(inv_weight_p);
  }
  detail::CaSum<double> ca_a, ca_p;
  for (int i = 0; i < n; ++i) {
    Acc3 acc{0.0, 0.0, 0.0};
    DGEVAL_FOR_LOCAL(j, s) {
      (void)s;
      const double a = nu(i, j), b = nu(n + i, j);
      acc.a = norm.accumulate(acc.a, a - b);
      acc.b = norm.accumulate(acc.b, a - mu[2 * j]);
      acc.c = norm.accumulate(acc.c, b - mu[2 * j + 1]);
    }
    acc = team.reduce(acc, NormOp3{norm});
    if (leader) at_state(kIa, i) = detail::ia_from_norm(norm.finish(acc.a), p.constants);
    ca_a.add(at_state(kMag, i), norm.finish(acc.b));
    ca_p.add(at_state(kMag, n + i), norm.finish(acc.c));
  }
  if (leader) {
    S.ca_agents = ca_a.value();
    S.ca_principals = ca_p.value();
  }
  __syncthreads();  // the mask below overwrites the scratch of μ

  // equilibria: the ε-Nash mask (bit 0 pure NE, bit 1 ε-NE at IC), counts and worst/best equilibria.
  unsigned char* mask = scratch;
  {
    const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
    NeExt e = ne_empty();
    DGEVAL_FOR_LOCAL(j, s) {
      unsigned m = 3u;
      for (int i = 0; i < n && m != 0u; ++i) {
        const int k = static_cast<int>(p.k[i]);
        if (k < 2) continue;  // a single action always passes
        const int stride = static_cast<int>(p.stride[i]);
        const int base = s - ((s / stride) % k) * stride;
        double lo = inf(), hi = -inf();
        for (int a = 0; a < k; ++a) {
          const double y = at(i, base + a * stride);
          lo = y < lo ? y : lo;
          hi = y > hi ? y : hi;
        }
        m &= ne_bits_for(p, i, loc(i, j), lo, hi);
      }
      mask[j] = static_cast<unsigned char>(m);
      if (m != 0u) {
        const double w = welfare_at(p, ws, loc, 0, j);
        e.add(m, w, s);
      }
    }
    e = team.reduce(e, NeOp());
    if (leader) {
      S.ne = e.ne;
      S.eps = e.eps;
      S.worst_ne = e.worst_ne;
      S.best_ne = e.best_ne;
      S.worst_eps = e.worst_eps;
    }
  }
  __syncthreads();  // the mask and the summary are complete
  if (p.list_equilibria) {
    // A 32-outcome word lies within one run, so in one block: each block writes its own words.
    const Global<Mem::output, std::uint32_t> bits = out.ne_bits + g * out.ne_words;
    for (int j0 = tid * 32; j0 < L; j0 += B * 32) {
      const int s0 = sl.outcome(j0);
      if (s0 >= N) break;
      std::uint32_t word = 0u;
      for (int b = 0; b < 32; ++b) {
        if (s0 + b < N && (mask[j0 + b] & 1u)) word |= 1u << b;
      }
      bits.store(s0 / 32, word);
    }
  }

  // strategy: strategies gathered from the outcomes.
  const StrategyKind kind = p.strategy;
  // Each player's sums of u_i and û_i over the outcomes of a set (in_set(j) for local outcome j),
  // into the state's su and suh.
  auto store_set_sums = [&](auto in_set) {
    for (int i = 0; i < n; ++i) {
      Acc2 acc{0.0, 0.0};
      DGEVAL_FOR_LOCAL(j, s) {
        (void)s;
        if (in_set(j)) {
          acc.a += loc(i, j);
          acc.b += loc(n + i, j);
        }
      }
      acc = team.reduce(acc, Plus2Op());
      if (leader) {
        at_state(kSu, i) = acc.a;
        at_state(kSuh, i) = acc.b;
      }
    }
  };
  if (kind == StrategyKind::uniform_ne || kind == StrategyKind::uniform_eps_ne) {
    const unsigned want = kind == StrategyKind::uniform_ne ? 1u : 2u;
    const i64 count = kind == StrategyKind::uniform_ne ? S.ne : S.eps;
    if (count > 0) store_set_sums([&](int j) { return (mask[j] & want) != 0u; });
    if (leader) S.strategy_defined = count > 0;
  } else if (kind == StrategyKind::played) {
    if (S.ne > 0 && S.eps > 0) {
      double lo, hi;
      detail::played_window(p.cc, S.w_max.value, S.worst_ne.value, S.worst_eps.value, p.cc_window, &lo, &hi);
      const double tol = p.played_tolerance;
      const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
      const double mid = (lo + hi) / 2;
      PlayedExt pe{0, arg_empty()};
      DGEVAL_FOR_LOCAL(j, s) {
        const double w = welfare_at(p, ws, loc, 0, j);
        if (lo - tol < w && w < hi + tol) {
          ++pe.count;
        } else {
          pe.closest = arg_min(pe.closest, ArgExt{fabs(w - mid), s});
        }
      }
      pe = team.reduce(pe, PlayedOp());
      if (pe.count > 0) {
        store_set_sums([&](int j) {
          const double w = welfare_at(p, ws, loc, 0, j);
          return lo - tol < w && w < hi + tol;
        });
      }
      __syncthreads();  // every thread has read the window from the summary
      if (leader) {
        S.strategy_defined = 1;
        S.played_count = pe.count;
        S.closest = pe.closest;
      }
    }
  } else if (kind == StrategyKind::correlated || kind == StrategyKind::product) {
    for (int i = 0; i < n; ++i) {
      Acc2 acc{0.0, 0.0};
      DGEVAL_FOR_LOCAL(j, s) {
        const double sigma = strategy_weight(p, g, s);
        if (sigma == 0.0) continue;
        acc.a += sigma * loc(i, j);
        acc.b += sigma * loc(n + i, j);
      }
      acc = team.reduce(acc, Plus2Op());
      if (leader) {
        at_state(kSu, i) = acc.a;
        at_state(kSuh, i) = acc.b;
      }
    }
    if (leader) S.strategy_defined = 1;
  }
  __syncthreads();
  if (writer) finish_game(p, out, g, S, game_arrays_at(state, n), at);
  if (p.distance_matrix) {  // last: the fewest values live across it
    const Global<Mem::output, double> dm = out.distance_matrix + g * nv * nv;
    for (int x = 0; x < nv; ++x) {
      if (writer) dm.store(x * nv + x, 0.0);
      for (int y = x + 1; y < nv; ++y) {
        double acc = 0.0;
        DGEVAL_FOR_LOCAL(j, s) {
          (void)s;
          acc = norm.accumulate(acc, nu(x, j) - nu(y, j));
        }
        acc = team.reduce(acc, NormOp1{norm});
        if (writer) {
          const double d = detail::distance_from_norm(norm.finish(acc), p.constants);
          dm.store(x * nv + y, d);
          dm.store(y * nv + x, d);
        }
      }
    }
  }
#undef DGEVAL_FOR_LOCAL
}

__host__ __device__ constexpr int log2_of(std::int64_t x) { return x <= 1 ? 0 : 1 + log2_of(x / 2); }

#endif  // DGEVAL_CLUSTER_CODE

/// One cluster of geo.blocks blocks per game, the clusters of the grid walking the games.
template <class T>
__global__ void __launch_bounds__(kClusterThreads, 1)
    cluster_evaluate_kernel(EvalParams p, DeviceInput in, DeviceOutputs out, ClusterGeometry geo) {
#if DGEVAL_CLUSTER_CODE
  DGEVAL_DYNAMIC_SHARED(smem);
  const unsigned rank = Cluster::block_rank();
  const int blocks = geo.blocks;
  Slices sl;
  sl.local = static_cast<int>(geo.local);
  sl.run_shift = log2_of(geo.run);
  sl.cluster_shift = sl.run_shift + log2_of(blocks);
  sl.rank = static_cast<int>(rank);
  sl.blocks_mask = static_cast<unsigned>(blocks - 1);
  T* data = reinterpret_cast<T*>(smem + geo.data_offset);
  unsigned char* scratch = smem + geo.mu_offset;
  double* state = reinterpret_cast<double*>(smem + geo.state_offset);
  GameSummary& summary = *reinterpret_cast<GameSummary*>(smem + geo.summary_offset);
  ClusterTeam team{smem + geo.reduce_offset, smem + geo.exchange_offset, blocks, 0};
  const int n = p.n, N = static_cast<int>(p.N), L = sl.local;
  const i64 nN = static_cast<i64>(n) * p.N;
  const T* agents = static_cast<const T*>(in.agents);
  const T* principals = static_cast<const T*>(in.principals);
  const i64 clusters = static_cast<i64>(gridDim.x) / blocks;
  for (i64 g = static_cast<i64>(blockIdx.x) / blocks; g < in.games; g += clusters) {
    Cluster::sync();  // no block of the cluster still reads the previous game's slices
    // Stage this block's slice: runs of consecutive outcomes, coalesced.
    for (int v = 0; v < 2 * n; ++v) {
      const T* src =
          (v < n ? agents + g * nN + static_cast<i64>(v) * p.N : principals + g * nN + static_cast<i64>(v - n) * p.N);
      T* dst = data + v * L;
      for (int j = static_cast<int>(threadIdx.x); j < L; j += static_cast<int>(blockDim.x)) {
        const int s = sl.outcome(j);
        if (s >= N) break;
        dst[j] = load<Mem::input>(src + s);
      }
    }
    Cluster::sync();  // every slice is staged
    evaluate_cluster_game(team, p, out, g, data, scratch, summary, state, sl);
  }
  Cluster::sync();  // block 0's finishing step may read the other blocks' slices until here
#else
  (void)p;
  (void)in;
  (void)out;
  (void)geo;
#endif
}

template <class T>
void launch_cluster(const ClusterGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                    cudaStream_t stream) {
  const i64 clusters = geo.clusters < in.games ? geo.clusters : in.games;
  const unsigned grid = static_cast<unsigned>(clusters * geo.blocks);
  auto kernel = cluster_evaluate_kernel<T>;
  DGEVAL_LAUNCH_CLUSTER(kernel, grid, static_cast<unsigned>(kClusterThreads), static_cast<unsigned>(geo.blocks),
                        geo.shared_bytes, stream)
  (p, in, out, geo);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

template <class K>
cudaError_t raise_cluster_shared_limit(K kernel, int bytes) {
  cudaFuncAttributes a;
  cudaError_t e = cudaFuncGetAttributes(&a, kernel);
  if (e != cudaSuccess) return e;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              bytes - static_cast<int>(a.sharedSizeBytes));
}

}  // namespace

cudaError_t prepare_cluster_kernels(int max_dynamic_shared_bytes) {
  cudaError_t e = raise_cluster_shared_limit(cluster_evaluate_kernel<float>, max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_cluster_shared_limit(cluster_evaluate_kernel<double>, max_dynamic_shared_bytes);
  return e;
}

}  // namespace dev

void launch_cluster_evaluate(const ClusterGeometry& geo, const EvalParams& p, const DeviceInput& in,
                             const DeviceOutputs& out, cudaStream_t stream) {
  if (in.games <= 0) return;
  if (geo.blocks < 1) throw error("launch_cluster_evaluate: no cluster geometry");
  in.float32 ? dev::launch_cluster<float>(geo, p, in, out, stream)
             : dev::launch_cluster<double>(geo, p, in, out, stream);
}

}  // namespace cuda
}  // namespace dgeval
