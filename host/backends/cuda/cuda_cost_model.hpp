// The CUDA backend's cost without a GPU (docs/PERFORMANCE.md, "The kernels' cost without a GPU"):
// the plan of a batch (path, geometry, chunks) and the kernel launches of one chunk, as the backend
// makes them (host/backends/cuda/: make_plan, CudaBackend::evaluate; kernels/*.cu: the launch
// sequences), and the theoretical occupancy of a kernel on an H100 (sm_90).
//
// Nothing here touches a device. tests/test_cuda_emulated.cpp (CudaCost) checks that model_chunk
// agrees with the backend's own planner and that launches_per_chunk equals the launches a dry run
// of the real launch sequence makes, so the model cannot drift from the code; dgeval_bench --model
// prints it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cuda_plan.hpp"
#include "dgeval/options.hpp"
#include "sweep_plan.hpp"
#include "two_player_plan.hpp"

namespace dgeval {
namespace cuda {

/// An H100 SXM (sm_90) as the planner sees it (host/backends/cuda/ limits_of): 227 KiB of
/// opt-in shared memory per block less 4 KiB kept for static shared memory, 48 KiB by default
/// less 2 KiB, 132 SMs, 50 MiB of L2; per SM 228 KiB of shared memory (1 KiB of it kept per
/// block), 64 Ki registers, 2048 threads and 32 blocks.
inline DeviceLimits h100_limits() {
  DeviceLimits l;
  l.shared_optin = 232448 - kStaticSharedReserve;
  l.shared_default = 49152 - 2048;
  l.multiprocessors = 132;
  l.l2_bytes = std::size_t{50} << 20;
  l.clusters = true;
  l.shared_per_sm = 233472;
  l.shared_reserved = 1024;
  l.registers_per_sm = 65536;
  l.threads_per_sm = 2048;
  l.max_blocks_per_sm = 32;
  return l;
}
/// Device memory the backend may use on an 80 GB H100 (about 79 GiB free, less its 1 GiB reserve).
constexpr std::size_t kH100MemoryBudget = std::size_t{78} << 30;

/// Launches of one pass of the tiled path (kernels/tiled_evaluate.cu, launch_pass): stats and its
/// combine, align and its combine, one fiber launch for every player with k_i >= 2 whose fibers
/// are whole and two per player whose fibers are split into segments, mask and its combine,
/// strategy and its combine for the played, correlated and product strategies, finish.
inline std::int64_t tiled_launches_per_pass(const TiledGeometry& t, int n, StrategyKind k) {
  std::int64_t l = 7;
  bool whole = false;
  for (int i = 0; i < n; ++i) {
    if (t.fiber_offset[i] < 0) continue;
    if (t.fiber_segments[i] > 1) {
      l += 2;
    } else {
      whole = true;
    }
  }
  if (whole) ++l;
  if (k == StrategyKind::played || strategy_has_weights(k)) l += 2;
  return l;
}

/// The plan of a batch on a device, and the launches of one (full) chunk.
struct ChunkModel {
  Path path = Path::tiled;
  TeamGeometry team;
  ClusterGeometry cluster;
  TiledGeometry tiled;
  TwoPlayerGeometry two_player;
  SweepGeometry sweep;
  ChunkPlan chunks;
  std::int64_t passes_per_chunk = 1;    ///< tiled, two-player: sub-batches of games_per_pass games
  std::int64_t launches_per_chunk = 0;  ///< kernel launches of one full chunk
  std::size_t scratch_bytes = 0;
};

/// As make_plan and CudaBackend::evaluate plan `games` games of shape `dims` (strategy per game
/// when the options say so), within `budget` bytes of device memory.
inline ChunkModel model_chunk(const Dims& dims, std::size_t value_bytes, const Options& o, std::int64_t games,
                              const DeviceLimits& lim, std::size_t budget) {
  ChunkModel m;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  m.path = choose_path(dims, value_bytes, lim);
  if (m.path == Path::tiled && two_player_chosen(dims, o, value_bytes, lim)) m.path = Path::two_player;
  if (m.path == Path::tiled && sweep_chosen(dims, o, value_bytes, lim)) m.path = Path::sweep;
  if (m.path == Path::sweep) {
    m.sweep = sweep_geometry(dims, value_bytes, games, lim, o.strategy.kind, kSweepThreads, o.standardisation, 0,
                             o.distance_matrix);
    m.scratch_bytes = sweep_scratch_bytes(m.sweep);
  } else if (m.path == Path::two_player) {
    m.two_player = two_player_geometry(dims, value_bytes, games, lim);
    m.scratch_bytes = two_player_scratch_bytes(m.two_player);
  } else if (m.path == Path::tiled) {
    m.tiled = tiled_geometry(dims, value_bytes, o.distance_matrix, games, lim);
    m.scratch_bytes = tiled_scratch_bytes(m.tiled, n, value_bytes);
  } else if (m.path == Path::cluster_team) {
    m.cluster = cluster_geometry_for(n, N, value_bytes, lim, games);
  } else {
    const bool strategy_sums = thread_path_strategy_sums(o.strategy.kind);
    m.team = team_geometry_for(m.path, n, N, value_bytes, lim, strategy_sums);
  }
  const StrategyKind k = o.strategy.kind;
  const bool actions = k == StrategyKind::pure;
  const bool weights = strategy_has_weights(k);
  const std::int64_t elements = strategy_size(k, dims);
  const bool per_game = (actions || weights) && o.strategy.per_game;
  const std::size_t strategy_per_game = per_game ? static_cast<std::size_t>(elements) * 8 : 0;
  const std::size_t shared_strategy = per_game ? 0 : static_cast<std::size_t>(elements) * 8;
  const OutputLayout one = output_layout(n, N, 1, o.distance_matrix, o.list_equilibria, o.columns);
  const std::size_t per_game_bytes = input_bytes(dims, 1, value_bytes) + one.useful_bytes + strategy_per_game;
  const std::size_t alignment_slack = (result_columns().size() + 2) * 256;
  m.chunks = plan_chunks(games, per_game_bytes, m.scratch_bytes + shared_strategy + alignment_slack, budget);
  if (m.path == Path::two_player) {
    // stream, recheck and finish per pass (kernels/two_player_evaluate.cu, launch_all).
    m.passes_per_chunk = ceil_div(m.chunks.chunk_games, m.two_player.games_per_pass);
    m.launches_per_chunk = 3 * m.passes_per_chunk;
  } else if (m.path == Path::tiled) {
    m.passes_per_chunk = ceil_div(m.chunks.chunk_games, m.tiled.games_per_pass);
    m.launches_per_chunk = m.passes_per_chunk * tiled_launches_per_pass(m.tiled, n, k);
  } else {
    // One grid-stride launch of team_evaluate_kernel (kernels/team_evaluate.cu),
    // cluster_evaluate_kernel (kernels/cluster_evaluate.cu) or sweep_kernel
    // (kernels/sweep_evaluate.cu).
    m.launches_per_chunk = 1;
  }
  return m;
}

/// Theoretical occupancy on sm_90 (as cudaOccupancyMaxActiveBlocksPerMultiprocessor computes it):
/// resident blocks per SM on an H100 (blocks_per_sm with h100_limits) and the fraction of the SM's
/// 64 warps they keep.
struct Occupancy {
  int blocks_per_sm = 0;
  double fraction = 0.0;  ///< active warps / 64
};
inline Occupancy sm90_occupancy(int registers_per_thread, int threads_per_block, std::size_t shared_per_block) {
  Occupancy o;
  if (threads_per_block <= 0) return o;
  const int warps = (threads_per_block + 31) / 32;
  o.blocks_per_sm = blocks_per_sm(shared_per_block, threads_per_block, registers_per_thread, h100_limits());
  o.fraction = static_cast<double>(o.blocks_per_sm * warps) / 64.0;
  return o;
}

}  // namespace cuda
}  // namespace dgeval
