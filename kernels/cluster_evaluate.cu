// cluster_evaluate_kernel: mid-size games (too large for one block's shared memory, small enough
// for a thread block cluster's), one cluster of blocks per game (sm_90, kernels/cluster.cuh), the
// game read from global memory once and every pass done on chip, in one launch per chunk.
//
// Mapping (host/backends/cuda/cuda_plan.hpp, ClusterGeometry): a persistent grid of clusters walks
// the chunk's games (cluster c takes games c, c + clusters, ...). The game's outcomes are dealt to
// the cluster's blocks in runs of `run` consecutive outcomes, round robin; each block stages its
// slice (both sides, 2n vectors) into its dynamic shared memory with coalesced loads, then the
// team kernels' passes (kernels/team_passes.cuh, evaluate_team_game, the one body) run over the
// cluster: every thread walks its block's outcomes (SlicedOutcomes), every reduction is the
// block's (BlockTeam) followed by a fold of the blocks' values in rank order through distributed
// shared memory (ClusterTeam), so every thread of the cluster holds the same bits. The passes, as
// on the other paths:
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
#include "dgeval/detail/dtype.hpp"
#include "team_passes.cuh"

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

/// The outcomes of a game dealt to the cluster's blocks (team_passes.cuh): a block's threads walk
/// its local slots in turn, the slots in order holding increasing outcomes (the first past the
/// game ends the walk); a 32-outcome word of the equilibrium list lies within one run, so in one
/// block, which writes it. Block 0 writes the game's results.
template <class T>
struct SlicedOutcomes {
  const T* data;  ///< this block's slice
  Slices sl;
  int N;
  template <class F>
  __device__ __forceinline__ void each(int rank, int size, F&& f) const {
    for (int j = rank; j < sl.local; j += size) {
      const int s = sl.outcome(j);
      if (s >= N) break;
      f(j, s);
    }
  }
  template <class F>
  __device__ __forceinline__ void each_word(int rank, int size, F&& f) const {
    for (int j0 = rank * 32; j0 < sl.local; j0 += size * 32) {
      const int s0 = sl.outcome(j0);
      if (s0 >= N) break;
      f(j0, s0);
    }
  }
  __device__ LocalAt<T> by_slot() const { return LocalAt<T>{data, sl.local}; }
  __device__ ClusterAt<T> by_outcome() const { return ClusterAt<T>{data, sl}; }
  __device__ double weight(const EvalParams& p, i64 g, int s) const { return strategy_weight(p, g, s); }
  __device__ bool writes_results() const { return sl.rank == 0; }
};

/// The cluster as one team: a block reduction (BlockTeam), then each block's value through its
/// exchange slot, folded in rank order by every thread. Two slots used in turn: a block writes a
/// slot again two reductions later, after a cluster.sync() that every reader of its last value
/// has passed. Every thread of the cluster makes the same reductions in the same order. Its rank,
/// size and sync are the block's: each block keeps its own copy of the game's state and summary.
struct ClusterTeam {
  unsigned char* scratch;   ///< 32 · kMaxPayload bytes (BlockTeam)
  unsigned char* exchange;  ///< 2 · kMaxPayload bytes
  int blocks;
  int parity;
  __device__ int rank() const { return static_cast<int>(threadIdx.x); }
  __device__ int size() const { return static_cast<int>(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
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
  GameSummary* summary = reinterpret_cast<GameSummary*>(smem + geo.summary_offset);
  ClusterTeam team{smem + geo.reduce_offset, smem + geo.exchange_offset, blocks, 0};
  const int n = p.n, N = static_cast<int>(p.N), L = sl.local;
  const i64 nN = static_cast<i64>(n) * p.N;
  const T* agents = static_cast<const T*>(in.agents);
  const T* principals = static_cast<const T*>(in.principals);
  const SlicedOutcomes<T> outcomes{data, sl, N};
  const i64 clusters = static_cast<i64>(gridDim.x) / blocks;
  for (i64 g = static_cast<i64>(blockIdx.x) / blocks; g < in.games; g += clusters) {
    Cluster::sync();  // no block of the cluster still reads the previous game's slices
    // Stage this block's slice: runs of consecutive outcomes, coalesced.
    for (int v = 0; v < 2 * n; ++v) {
      const T* src =
          (v < n ? agents + g * nN + static_cast<i64>(v) * p.N : principals + g * nN + static_cast<i64>(v - n) * p.N);
      T* dst = data + v * L;
      outcomes.each(team.rank(), team.size(), [&](int j, int s) { dst[j] = load<Mem::input>(src + s); });
    }
    Cluster::sync();  // every slice is staged
    evaluate_team_game(team, outcomes, p, out, FixedGame{g}, scratch, summary, state);
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

}  // namespace

cudaError_t prepare_cluster_kernels(int max_dynamic_shared_bytes) {
  cudaError_t e = raise_shared_limit(cluster_evaluate_kernel<float>, max_dynamic_shared_bytes);
  if (e == cudaSuccess) e = raise_shared_limit(cluster_evaluate_kernel<double>, max_dynamic_shared_bytes);
  return e;
}

}  // namespace dev

void launch_cluster_evaluate(const ClusterGeometry& geo, const EvalParams& p, const DeviceInput& in,
                             const DeviceOutputs& out, cudaStream_t stream) {
  if (in.games <= 0) return;
  if (geo.blocks < 1) throw error("launch_cluster_evaluate: no cluster geometry");
  detail::visit_dtype(in.float32, [&](auto t) { dev::launch_cluster<decltype(t)>(geo, p, in, out, stream); });
}

bool cluster_team_placeable(const ClusterGeometry& geo, bool float32) {
  int clusters = 0;
  if (geo.blocks > 0) {
    detail::visit_dtype(float32, [&](auto t) {
      (void)t;  // (its type)
      clusters = DGEVAL_MAX_ACTIVE_CLUSTERS(dev::cluster_evaluate_kernel<decltype(t)>,
                                            static_cast<unsigned>(dev::kClusterThreads),
                                            static_cast<unsigned>(geo.blocks), geo.shared_bytes);
    });
  }
  return clusters >= 1;
}

}  // namespace cuda
}  // namespace dgeval
