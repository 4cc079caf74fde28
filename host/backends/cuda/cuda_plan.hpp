// Launch geometry, memory layout and chunk planning of the CUDA backend, as plain C++ with no
// CUDA headers: the backend, the kernels, the benchmark and the CPU-only unit tests
// (tests/test_cuda_plan.cpp) all use these functions, so the arithmetic that sizes shared memory,
// tiles, sub-batches and chunks is exercised on machines without a GPU.
//
// Vocabulary:
//   team path    one team of threads per game, the whole game staged in shared memory:
//                  thread     one thread per game, up to 128 games per block (tiny games, no
//                             reductions: every per-game quantity built by its own thread)
//                  quad team  4 lanes per game, 32 games per 128-thread block (small games)
//                  warp team  one warp per game, up to 8 games per block
//                  block team one 256-thread block per game
//   cluster team one thread block cluster per game (sm_90), the game staged once into the
//                distributed shared memory of its blocks (each holds a slice of the outcomes)
//   tiled path   a game too large for shared memory: every pass is a kernel over
//                (blocks_per_game x games_per_pass) blocks, each block walking a contiguous run
//                of tiles of `tile` outcomes staged in shared memory, writing one partial per
//                block; a combine kernel reduces the partials of a game in block order.
//   two-player   a large 2-player game from one streaming read (kernels/two_player_evaluate.cu,
//                planned in two_player_plan.hpp): the games the tiled path would take, under the
//                options its kernels cover.
//   sweep        a game of 3 or more players larger than a block's or a cluster's shared memory
//                from one read, one block per game (kernels/sweep_evaluate.cu,
//                planned in sweep_plan.hpp): the games the tiled path would take, under the
//                options its kernel covers.
//   chunk        the games resident on the device at once; batches larger than device memory
//                stream through two slots (double buffering).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "dgeval/detail/finish.hpp"
#include "dgeval/detail/hd.hpp"
#include "dgeval/error.hpp"
#include "dgeval/game.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace cuda {

// ---------------------------------------------------------------------------------------------
// Per-game summary shared by the tiled kernels (plain data; lives in device global memory).

using ArgExt = detail::ArgExt;            ///< (value, flat outcome index) of an extremum
using GameSummary = detail::GameSummary;  ///< game-level quantities between the passes

/// Doubles of per-game arrays (kernels/device_common.cuh game_arrays_at): lo, hi, shift, mag and
/// the inverse magnitudes [2n each], ia, su, suh [n each].
DGEVAL_HD int state_doubles(int n) { return 13 * n; }

// ---------------------------------------------------------------------------------------------
// Device facts the planner needs (filled from cudaDeviceProp; defaults are an H100 SXM).

/// Shared memory per block the limits keep for the kernels' static shared memory (limits_of,
/// h100_limits: DeviceLimits::shared_optin is the opt-in maximum less this).
constexpr std::size_t kStaticSharedReserve = 4096;

struct DeviceLimits {
  std::size_t shared_optin = 232448;   ///< max dynamic shared memory per block (opt-in)
  std::size_t shared_default = 49152;  ///< without opt-in
  int multiprocessors = 132;
  std::size_t l2_bytes = std::size_t{50} << 20;
  bool clusters = true;  ///< thread block clusters (compute capability 9.0 and later)
  // An SM's limits on resident blocks (blocks_per_sm): an H100's, an A100's in brackets.
  std::size_t shared_per_sm = 233472;  ///< shared memory per SM (228 KiB; 164 KiB)
  std::size_t shared_reserved = 1024;  ///< of it, kept by the system per resident block
  int registers_per_sm = 65536;        ///< 32-bit registers per SM
  int threads_per_sm = 2048;           ///< resident threads per SM (1536 on sm_86, sm_89, sm_120)
  int max_blocks_per_sm = 32;          ///< resident blocks per SM (16 on sm_86, 24 on sm_89)
};

/// Blocks of `threads` threads, `registers` registers a thread and `shared_bytes` of shared memory
/// (dynamic and static) that one SM holds at once, as cudaOccupancyMaxActiveBlocksPerMultiprocessor
/// counts them: registers allocated per warp in units of 256, shared memory in units of 128 bytes
/// with the system's reserve per block, and the SM's limits on threads and blocks. 0 where one
/// block does not fit.
inline int blocks_per_sm(std::size_t shared_bytes, int threads, int registers, const DeviceLimits& lim) {
  if (threads <= 0) return 0;
  const int warps = (threads + 31) / 32;
  const int registers_per_warp = ((std::max(registers, 1) * 32 + 255) / 256) * 256;
  const int by_registers = lim.registers_per_sm / (registers_per_warp * warps);
  const int by_threads = lim.threads_per_sm / (warps * 32);
  const std::size_t shared = ((shared_bytes + lim.shared_reserved + 127) / 128) * 128;
  const int by_shared = static_cast<int>(lim.shared_per_sm / shared);
  return std::max(0, std::min({by_registers, by_threads, lim.max_blocks_per_sm, by_shared}));
}

enum class Path : int {
  quad_team = 0,
  warp_team = 1,
  block_team = 2,
  tiled = 3,
  thread_game = 4,
  two_player = 5,
  cluster_team = 6,
  sweep = 7
};

inline const char* path_name(Path p) {
  switch (p) {
    case Path::quad_team:
      return "quad-team";
    case Path::warp_team:
      return "warp-team";
    case Path::block_team:
      return "block-team";
    case Path::thread_game:
      return "thread";
    case Path::two_player:
      return "two-player";
    case Path::cluster_team:
      return "cluster-team";
    case Path::sweep:
      return "sweep";
    default:
      return "tiled";
  }
}

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
inline std::size_t round_up(std::size_t a, std::size_t b) { return (a + b - 1) / b * b; }

/// Ordered pairs a < b of the 2n utility functions (distance matrix entries above the diagonal).
inline int distance_pairs(int n) { return n * (2 * n - 1); }

// ---------------------------------------------------------------------------------------------
// Team path geometry.

struct TeamGeometry {
  Path path = Path::tiled;
  int team_width = 0;  ///< lanes per game: 1, 4, 32, or `threads` for the block team
  int threads = 0;     ///< threads per block
  int games_per_block = 0;
  std::size_t data_stride = 0;   ///< bytes of staged utilities per game (padded; the thread path:
                                 ///< and the σ-weighted strategy sums, 2n doubles)
  std::size_t mask_stride = 0;   ///< bytes per game of the per-outcome scratch (the CA means μ of both
                                 ///< sides, 16 bytes per outcome, then the ε-Nash mask; the thread path:
                                 ///< the mask only) and the summary
  std::size_t state_stride = 0;  ///< bytes of per-game state arrays
  std::size_t shared_bytes = 0;  ///< dynamic shared memory per block
};

/// Whether the thread path reserves room for a strategy's σ-weighted sums (team_geometry's
/// `strategy_sums`): a correlated or product strategy, whose σ is given.
inline bool thread_path_strategy_sums(StrategyKind k) { return strategy_has_weights(k); }

/// Shared-memory layout of a team block with `width`-lane teams: [data][mask][state] per game.
/// The data stride is padded so that the teams of one warp start on different banks.
/// The thread path packs its games (no 128-byte rounding: a thread reads only its own game) with a
/// stride of an odd number of 8-byte words, so the 32 threads of a warp reading the same outcome
/// of their games hit different banks.
/// `strategy_sums`: the strategy is correlated or product (the thread path reserves room for its
/// σ-weighted sums only then; true where the strategy is not known: the room is then always there).
inline TeamGeometry team_geometry(Path path, int n, std::int64_t N, std::size_t value_bytes, int games_per_block,
                                  bool strategy_sums = true) {
  TeamGeometry g;
  g.path = path;
  g.team_width = path == Path::thread_game ? 1 : path == Path::quad_team ? 4 : path == Path::warp_team ? 32 : 256;
  g.games_per_block = path == Path::block_team ? 1 : games_per_block;
  g.threads = path == Path::block_team ? 256 : g.team_width * g.games_per_block;
  const std::size_t data = static_cast<std::size_t>(2 * n) * static_cast<std::size_t>(N) * value_bytes;
  if (path == Path::thread_game) {
    // The staged game, then, for a correlated or product strategy, the σ-weighted strategy sums of
    // its 2n vectors (doubles, written and read by the game's own thread: kernels/team_evaluate.cu,
    // TinyStrategySum; no other strategy touches them).
    g.data_stride = round_up(data, 8) + (strategy_sums ? 2 * static_cast<std::size_t>(n) * sizeof(double) : 0);
    if ((g.data_stride / 8) % 2 == 0) g.data_stride += 8;
  } else {
    g.data_stride =
        round_up(data, 128) + (g.team_width < 32 ? static_cast<std::size_t>(g.team_width) * value_bytes : 0);
  }
  if (path == Path::thread_game) {
    // The thread path (kernels/team_evaluate.cu, tiny_evaluate_kernel) keeps the summary, the
    // ε-Nash masks and the per-game arrays in registers: its shared memory is the staged games
    // (with the strategy sums of a correlated or product strategy after each).
    g.mask_stride = 0;
    g.state_stride = 0;
  } else {
    g.mask_stride = round_up(16 * static_cast<std::size_t>(N), 8) + sizeof(GameSummary);
    g.state_stride = static_cast<std::size_t>(state_doubles(n)) * sizeof(double);
  }
  g.shared_bytes = static_cast<std::size_t>(g.games_per_block) * (g.data_stride + g.mask_stride + g.state_stride);
  return g;
}

/// Bytes of shared memory one game needs on a team path.
inline std::size_t team_bytes_per_game(Path path, int n, std::int64_t N, std::size_t value_bytes,
                                       bool strategy_sums = true) {
  return team_geometry(path, n, N, value_bytes, 1, strategy_sums).shared_bytes;
}

/// Shared-memory budget the team paths aim for per block (leaves room for several blocks per SM).
/// The thread path: 48 KiB holds its 128 games of up to 384 bytes (a 3x3 game: 152 bytes as
/// float32, 296 as float64 with the padding; 184 and 328 with a correlated or product strategy's
/// sums).
constexpr std::size_t kThreadBudget = 48 * 1024;
constexpr std::size_t kQuadBudget = 48 * 1024;
constexpr std::size_t kWarpBudget = 96 * 1024;
constexpr std::size_t kBlockBudget = 112 * 1024;
/// Largest outcome counts per path (outcomes per lane stays small). The thread path's limit keeps a
/// game's serial work and its registers small.
constexpr std::int64_t kThreadMaxOutcomes = 16;
/// Player counts the thread path's kernel is compiled for (N <= 16 with every k_i >= 2: n <= 4;
/// games with more players of one action take the quad team).
constexpr int kThreadMinPlayers = 1;
constexpr int kThreadMaxPlayers = 4;
constexpr std::int64_t kQuadMaxOutcomes = 32;
constexpr std::int64_t kWarpMaxOutcomes = 512;

/// Geometry of `path` for this game shape, or a geometry with path == tiled if it does not fit.
inline TeamGeometry team_geometry_for(Path path, int n, std::int64_t N, std::size_t value_bytes,
                                      const DeviceLimits& lim, bool strategy_sums = true) {
  TeamGeometry none;
  if (path == Path::tiled) return none;
  // The thread path's kernel is compiled for 1 to 4 players (tiny_evaluate_kernel<n, T>).
  // ... for games of up to kThreadMaxOutcomes outcomes (its ε-Nash masks: a bit per outcome).
  if (path == Path::thread_game && (n < kThreadMinPlayers || n > kThreadMaxPlayers || N > kThreadMaxOutcomes)) {
    return none;
  }
  if (N > (std::int64_t{1} << 24)) return none;  // staged games are small; keeps 32-bit smem math
  const std::size_t per_game = team_bytes_per_game(path, n, N, value_bytes, strategy_sums);
  if (path == Path::block_team) {
    const std::size_t budget = std::min(kBlockBudget, lim.shared_optin);
    if (per_game > budget) return none;
    return team_geometry(path, n, N, value_bytes, 1, strategy_sums);
  }
  const int max_games = path == Path::thread_game ? 128 : path == Path::quad_team ? 32 : 8;
  // The thread path takes whole warps of games: at least 32 games, up to twice its budget.
  const std::size_t thread_budget = std::min(std::max(kThreadBudget, 32 * per_game), 2 * kThreadBudget);
  const std::size_t budget = std::min(path == Path::thread_game ? thread_budget
                                      : path == Path::quad_team ? kQuadBudget
                                                                : kWarpBudget,
                                      lim.shared_optin);
  int games = static_cast<int>(
      std::min<std::size_t>(static_cast<std::size_t>(max_games), budget / std::max<std::size_t>(per_game, 1)));
  if (path == Path::thread_game) games = games / 32 * 32;  // whole warps of games
  if (path == Path::quad_team) games = games / 8 * 8;      // whole warps of quad teams
  if (games < 1) return none;
  return team_geometry(path, n, N, value_bytes, games, strategy_sums);
}

// ---------------------------------------------------------------------------------------------
// Cluster team geometry (kernels/cluster_evaluate.cu).
//
// One cluster of `blocks` blocks per game. The outcomes are dealt to the blocks in runs of `run`
// consecutive outcomes, round robin: outcome s lies in block (s / run) % blocks at local index
// (s / (run · blocks)) · run + s % run, so a block's threads walking its local outcomes read
// consecutive outcomes of the game (coalesced staging). Each block's dynamic shared memory:
// [data: 2n vectors of `local` values of T][μ: 16 bytes per local outcome, then the ε-Nash mask]
// [state arrays][summary][reduction scratch][two exchange slots], each region 128-byte aligned.

struct ClusterGeometry {
  int blocks = 0;                ///< blocks per cluster (one cluster per game): 1, 2, 4 or 8
  int threads = 256;             ///< threads per block
  std::int64_t run = 256;        ///< outcomes per run (a power of two, multiple of 32)
  std::int64_t local = 0;        ///< outcome slots per block (a multiple of run)
  std::size_t data_offset = 0;   ///< byte offsets of the regions in a block's shared memory
  std::size_t mu_offset = 0;     ///< μ (16 bytes per local outcome), then the mask
  std::size_t state_offset = 0;  ///< state_doubles(n) doubles
  std::size_t summary_offset = 0;
  std::size_t reduce_offset = 0;    ///< 32 · kClusterPayload bytes: the block reduction's per-warp values
  std::size_t exchange_offset = 0;  ///< 2 · kClusterPayload bytes: the block's values for the cluster
  std::size_t shared_bytes = 0;     ///< dynamic shared memory per block
  std::int64_t clusters = 0;        ///< clusters of the persistent grid (at most one per game)
};

/// Largest reduction payload (bytes) of the cluster kernel (device_common.cuh kMaxPayload).
constexpr std::size_t kClusterPayload = 64;
/// Blocks per cluster the portable limit allows.
constexpr int kMaxClusterBlocks = 8;
/// Registers per thread the cluster kernel takes at most (sm_90: 128, so an SM holds 2 of its
/// blocks of 256 threads; the KernelResources ratchet, tests/data/kernel_resources_sm90.tsv, holds
/// them).
constexpr int kClusterRegisters = 128;
/// Shared memory per block the planner aims for (two blocks per SM) before it takes the most the
/// device allows.
constexpr std::size_t kClusterBlockBudget = 112 * 1024;

/// The layout of a cluster of `blocks` blocks with runs of `run` outcomes.
inline ClusterGeometry cluster_geometry(int n, std::int64_t N, std::size_t value_bytes, int blocks,
                                        std::int64_t run = 256) {
  ClusterGeometry g;
  g.blocks = blocks;
  g.run = run;
  g.local = ceil_div(N, run * blocks) * run;
  const std::size_t L = static_cast<std::size_t>(g.local);
  std::size_t at = 0;
  g.data_offset = at;
  at += round_up(static_cast<std::size_t>(2 * n) * L * value_bytes, 128);
  g.mu_offset = at;
  at += round_up(16 * L, 128);
  g.state_offset = at;
  at += round_up(static_cast<std::size_t>(state_doubles(n)) * sizeof(double), 128);
  g.summary_offset = at;
  at += round_up(sizeof(GameSummary), 128);
  g.reduce_offset = at;
  at += 32 * kClusterPayload;
  g.exchange_offset = at;
  at += 2 * kClusterPayload;
  g.shared_bytes = at;
  return g;
}

/// Geometry of the cluster team for this game shape, or one with blocks == 0 if the device has no
/// clusters or the game does not fit a cluster. `blocks_override` (1, 2, 4 or 8) and
/// `run_override` (32, 64, 128 or 256) are test hooks; 0 picks the defaults: the fewest blocks
/// (2, 4 or 8) whose share stays within kClusterBlockBudget, else within the device's limit.
inline ClusterGeometry cluster_geometry_for(int n, std::int64_t N, std::size_t value_bytes, const DeviceLimits& lim,
                                            std::int64_t games, int blocks_override = 0,
                                            std::int64_t run_override = 0) {
  ClusterGeometry none;
  if (!lim.clusters || N > (std::int64_t{1} << 24)) return none;
  const std::int64_t run = run_override > 0 ? run_override : 256;
  if (run < 32 || run > 256 || (run & (run - 1)) != 0) return none;
  ClusterGeometry g;
  if (blocks_override > 0) {
    if (blocks_override > kMaxClusterBlocks || (blocks_override & (blocks_override - 1)) != 0) return none;
    g = cluster_geometry(n, N, value_bytes, blocks_override, run);
    if (g.shared_bytes > lim.shared_optin) return none;
  } else {
    for (std::size_t budget : {std::min(kClusterBlockBudget, lim.shared_optin), lim.shared_optin}) {
      for (int b = 2; b <= kMaxClusterBlocks && g.blocks == 0; b *= 2) {
        const ClusterGeometry c = cluster_geometry(n, N, value_bytes, b, run);
        if (c.shared_bytes <= budget) g = c;
      }
      if (g.blocks != 0) break;
    }
    if (g.blocks == 0) return none;
  }
  // A persistent grid: as many clusters as the SMs hold at once (blocks_per_sm), at most one per
  // game.
  const int per_sm = std::max(1, blocks_per_sm(g.shared_bytes, g.threads, kClusterRegisters, lim));
  const std::int64_t resident = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(lim.multiprocessors) * static_cast<std::int64_t>(per_sm) / g.blocks);
  g.clusters = std::max<std::int64_t>(1, std::min(resident, games));
  return g;
}

// ---------------------------------------------------------------------------------------------
// The path.

/// The path the backend takes for a game shape when not forced.
inline Path choose_path(int n, std::int64_t N, std::size_t value_bytes, const DeviceLimits& lim) {
  if (N <= kThreadMaxOutcomes &&
      team_geometry_for(Path::thread_game, n, N, value_bytes, lim).path == Path::thread_game) {
    return Path::thread_game;
  }
  if (N <= kQuadMaxOutcomes && team_geometry_for(Path::quad_team, n, N, value_bytes, lim).path == Path::quad_team) {
    return Path::quad_team;
  }
  if (N <= kWarpMaxOutcomes && team_geometry_for(Path::warp_team, n, N, value_bytes, lim).path == Path::warp_team) {
    return Path::warp_team;
  }
  if (team_geometry_for(Path::block_team, n, N, value_bytes, lim).path == Path::block_team) return Path::block_team;
  if (cluster_geometry_for(n, N, value_bytes, lim, 1).blocks > 0) return Path::cluster_team;
  return Path::tiled;
}

/// The cluster team's ε-Nash test reads a player's whole fiber at each outcome: Σ_i k_i utilities
/// per outcome, many through distributed shared memory (the tiled path reads each utility once per
/// player). Games whose Σ_i k_i exceeds this bound take the tiled path when not forced (a guard, not
/// a measured crossover: 7x3x8x5x12 reads 35 per outcome; a 1-player game of 20,000 actions would
/// read 20,000).
constexpr std::int64_t kClusterMaxFiberReads = 256;

inline std::int64_t fiber_reads_per_outcome(const Dims& dims) {
  std::int64_t r = 0;
  for (int i = 0; i < dims.players(); ++i) r += dims.actions(i) > 1 ? dims.actions(i) : 0;
  return r;
}

/// choose_path for a game shape: the cluster team only for games whose fibers are short enough.
inline Path choose_path(const Dims& dims, std::size_t value_bytes, const DeviceLimits& lim) {
  const Path p = choose_path(dims.players(), dims.outcomes(), value_bytes, lim);
  if (p == Path::cluster_team && fiber_reads_per_outcome(dims) > kClusterMaxFiberReads) return Path::tiled;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Tiled path geometry.

struct TiledGeometry {
  int threads = 256;
  std::int64_t tile = 0;   ///< outcomes per tile (multiple of 32)
  std::int64_t tiles = 0;  ///< tiles per game
  std::int64_t tiles_per_block = 0;
  std::int64_t blocks_per_game = 0;
  std::int64_t games_per_pass = 0;  ///< sub-batch size (grid.y), sized to stay in L2 where possible
  int partial_width = 0;            ///< doubles per block partial
  int accum_doubles = 0;            ///< block accumulators in shared memory
  std::size_t shared_bytes = 0;     ///< dynamic shared memory of the tile kernels
  // ε-Nash fibers: per player with k_i >= 2, the slice min and max of each context s_{-i}.
  std::int64_t fiber_offset[kMaxPlayers] =
      {};  ///< value offset of player i's [lo | hi] in a game's fiber block, -1 if k_i = 1
  std::int64_t fiber_contexts[kMaxPlayers] = {};  ///< N / k_i
  int fiber_segments[kMaxPlayers] = {};           ///< the k_i actions split into this many segments
  std::int64_t fiber_values_per_game = 0;         ///< Σ 2 N / k_i over players with k_i >= 2
  std::int64_t segment_values = 0;                ///< scratch for segmented fibers (values, per sub-batch)
};

/// Partial widths (doubles) of the tiled passes.
inline int tiled_partial_width(int n, bool distance_matrix) {
  const int stats = 8 * n + 8, align = 3 * n + (distance_matrix ? distance_pairs(n) : 0);
  const int mask = 2 * n + 8, strategy = 2 * n + 3;
  return std::max(std::max(stats, align), std::max(mask, strategy));
}
/// Block accumulators (doubles) of the tiled passes: compensated sums take two doubles.
inline int tiled_accum_doubles(int n, bool distance_matrix) {
  const int stats = 12 * n + 8, align = 2 * (3 * n + (distance_matrix ? distance_pairs(n) : 0));
  const int mask = 4 * n + 8, strategy = 4 * n + 4;
  return std::max(std::max(stats, align), std::max(mask, strategy));
}

/// Geometry of the tiled path. `tile_override` (multiple of 32) and `blocks_override` are test
/// hooks; 0 picks the defaults. Throws dgeval::error if even a 32-outcome tile does not fit.
inline TiledGeometry tiled_geometry(const Dims& dims, std::size_t value_bytes, bool distance_matrix,
                                    std::int64_t chunk_games, const DeviceLimits& lim, std::int64_t tile_override = 0,
                                    std::int64_t blocks_override = 0) {
  TiledGeometry t;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  t.partial_width = tiled_partial_width(n, distance_matrix);
  t.accum_doubles = tiled_accum_doubles(n, distance_matrix);
  // The kernels align their regions (tile, mask, accumulators) to 128 bytes: 256 bytes of slack.
  const std::size_t fixed = round_up(static_cast<std::size_t>(t.accum_doubles) * sizeof(double), 128) + 256;
  const std::size_t per_outcome = static_cast<std::size_t>(2 * n) * value_bytes + 1;  // staged values + mask byte
  std::size_t budget = lim.shared_default;
  if (fixed + 32 * per_outcome > budget) budget = lim.shared_optin;
  if (fixed + 32 * per_outcome > budget) {
    std::ostringstream m;
    m << "CUDA backend: a " << dims.to_string() << " game needs " << fixed + 32 * per_outcome
      << " bytes of shared memory per block, the device allows " << lim.shared_optin;
    throw resource_error(m.str());
  }
  std::int64_t tile = static_cast<std::int64_t>((budget - fixed) / per_outcome) / 32 * 32;
  tile = std::min<std::int64_t>(tile, 4096);
  if (tile_override > 0) tile = std::max<std::int64_t>(32, tile_override / 32 * 32);
  // No point in a tile longer than the game (rounded up to whole words of the NE bitmask).
  tile = std::min<std::int64_t>(tile, std::max<std::int64_t>(32, ceil_div(N, 32) * 32));
  t.tile = tile;
  t.shared_bytes = fixed + static_cast<std::size_t>(tile) * per_outcome;
  t.tiles = ceil_div(N, tile);

  const std::size_t game_bytes = static_cast<std::size_t>(2 * n) * static_cast<std::size_t>(N) * value_bytes;
  // A pass's games are sized to stay in L2 between its kernels (each pass reads its games about 3
  // times, from L2 after the first). A game larger than that share gains nothing from small passes:
  // every kernel streams it from DRAM however many games the pass holds. Such games go up to
  // kLargeGamesPerPass to a pass, so a chunk of them takes one pass's launches instead of one
  // pass per game (8 games of 4096x4096: 11 launches, not 88).
  constexpr std::int64_t kLargeGamesPerPass = 64;
  const std::size_t l2_share = lim.l2_bytes / 2;
  std::int64_t g = game_bytes > l2_share ? kLargeGamesPerPass
                                         : static_cast<std::int64_t>(l2_share / std::max<std::size_t>(game_bytes, 1));
  g = std::max<std::int64_t>(1, std::min<std::int64_t>({g, std::max<std::int64_t>(chunk_games, 1), 65535}));
  t.games_per_pass = g;

  const std::int64_t target_blocks = static_cast<std::int64_t>(lim.multiprocessors) * 8;
  std::int64_t bpg = blocks_override > 0 ? blocks_override : ceil_div(target_blocks, g);
  bpg = std::max<std::int64_t>(1, std::min(bpg, t.tiles));
  t.tiles_per_block = ceil_div(t.tiles, bpg);
  t.blocks_per_game = ceil_div(t.tiles, t.tiles_per_block);

  std::int64_t off = 0, seg = 0;
  constexpr std::int64_t kTargetThreads = std::int64_t{1} << 18;
  for (int i = 0; i < n; ++i) {
    const std::int64_t k = dims.actions(i);
    if (k < 2) {
      t.fiber_offset[i] = -1;
      t.fiber_contexts[i] = N;
      t.fiber_segments[i] = 1;
      continue;
    }
    const std::int64_t c = N / k;
    t.fiber_offset[i] = off;
    t.fiber_contexts[i] = c;
    off += 2 * c;
    std::int64_t s = ceil_div(kTargetThreads, c * g);
    s = std::max<std::int64_t>(1, std::min<std::int64_t>({s, k / 8 + 1, 64}));
    s = ceil_div(k, ceil_div(k, s));  // no empty segment: (s − 1)·⌈k/s⌉ < k
    t.fiber_segments[i] = static_cast<int>(s);
    if (s > 1) seg = std::max(seg, g * s * 2 * c);
  }
  t.fiber_values_per_game = off;
  t.segment_values = seg;
  return t;
}

/// Device scratch of the tiled path for one slot, in bytes (summaries, arrays, partials, fibers).
inline std::size_t tiled_scratch_bytes(const TiledGeometry& t, int n, std::size_t value_bytes) {
  const std::size_t g = static_cast<std::size_t>(t.games_per_pass);
  std::size_t b = round_up(g * sizeof(GameSummary), 256);
  b += round_up(g * static_cast<std::size_t>(state_doubles(n)) * sizeof(double), 256);
  b += round_up(
      g * static_cast<std::size_t>(t.blocks_per_game) * static_cast<std::size_t>(t.partial_width) * sizeof(double),
      256);
  b += round_up(g * static_cast<std::size_t>(t.fiber_values_per_game) * value_bytes, 256);
  b += round_up(static_cast<std::size_t>(t.segment_values) * value_bytes, 256);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Output layout: every result column of a chunk in one device buffer (and one pinned host
// buffer, so a chunk's results come back in a single copy).

struct OutputLayout {
  /// Byte offset of each column, in result_columns() order; kNoColumn for a column outside
  /// Options::columns (no device storage, a null pointer in DeviceOutputs).
  std::vector<std::size_t> column_offset;
  std::size_t distance_matrix_offset = 0;  ///< [games][2n][2n] doubles, if requested
  std::size_t ne_bits_offset = 0;          ///< [games][ne_words] uint32 bitmask of pure NE, if requested
  std::int64_t ne_words = 0;               ///< 32-bit words per game of the NE bitmask
  std::size_t bytes = 0;                   ///< total, each part aligned to 256 bytes
  std::size_t useful_bytes = 0;            ///< total without alignment padding (the bytes model)
  static constexpr std::size_t kNoColumn = ~std::size_t{0};
};

/// Bytes of the per-game result columns in `mask` (flags always; without the optional parts).
inline std::size_t column_bytes_per_game(int n, ColumnMask mask = kAllColumns) {
  mask |= flags_column_bit();
  std::size_t b = 0;
  const auto& cols = result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if ((mask >> j) & 1u) b += (cols[j].kind == ColumnKind::player_real ? static_cast<std::size_t>(n) : 1) * 8;
  }
  return b;
}

inline std::int64_t ne_words_per_game(std::int64_t N) { return ceil_div(N, 32); }

inline OutputLayout output_layout(int n, std::int64_t N, std::int64_t games, bool distance_matrix, bool list_equilibria,
                                  ColumnMask mask = kAllColumns) {
  mask |= flags_column_bit();
  OutputLayout o;
  const std::size_t g = static_cast<std::size_t>(games);
  std::size_t at = 0;
  const auto& cols = result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (!((mask >> j) & 1u)) {
      o.column_offset.push_back(OutputLayout::kNoColumn);
      continue;
    }
    const std::size_t bytes = g * (cols[j].kind == ColumnKind::player_real ? static_cast<std::size_t>(n) : 1) * 8;
    o.column_offset.push_back(at);
    at += round_up(bytes, 256);
    o.useful_bytes += bytes;
  }
  if (distance_matrix) {
    const std::size_t bytes = g * static_cast<std::size_t>(4 * n * n) * sizeof(double);
    o.distance_matrix_offset = at;
    at += round_up(bytes, 256);
    o.useful_bytes += bytes;
  }
  if (list_equilibria) {
    o.ne_words = ne_words_per_game(N);
    const std::size_t bytes = g * static_cast<std::size_t>(o.ne_words) * 4;
    o.ne_bits_offset = at;
    at += round_up(bytes, 256);
    o.useful_bytes += bytes;
  }
  o.bytes = at;
  return o;
}

/// Bytes of utilities a batch holds (both sides): the input side of the bytes model.
inline std::size_t input_bytes(const Dims& dims, std::int64_t games, std::size_t value_bytes) {
  return static_cast<std::size_t>(games) * static_cast<std::size_t>(2 * dims.players()) *
         static_cast<std::size_t>(dims.outcomes()) * value_bytes;
}

// ---------------------------------------------------------------------------------------------
// Chunk planning.

struct ChunkPlan {
  std::int64_t chunk_games = 0;  ///< games per chunk
  std::int64_t chunks = 0;
  int slots = 0;               ///< 1: the batch is resident at once; 2: streamed, double-buffered
  std::size_t slot_bytes = 0;  ///< device bytes per slot (input + output + strategy + scratch)
};

/// Splits `games` into chunks so that `slots` copies of a chunk's buffers fit in `budget` bytes.
/// per_game: device bytes that scale with the chunk (input, outputs, per-game strategy);
/// scratch: bytes per slot independent of the chunk size. `max_chunk_games` (0: none) caps a
/// chunk, and `max_stream_chunk_bytes` caps a streamed chunk's per-game bytes (pinned staging).
/// Throws dgeval::error when a single game does not fit.
inline ChunkPlan plan_chunks(std::int64_t games, std::size_t per_game, std::size_t scratch, std::size_t budget,
                             std::int64_t max_chunk_games = 0,
                             std::size_t max_stream_chunk_bytes = std::size_t{1} << 30) {
  ChunkPlan p;
  if (games <= 0) return p;
  const std::size_t pg = std::max<std::size_t>(per_game, 1);
  const bool cap = max_chunk_games > 0 && max_chunk_games < games;
  if (!cap && scratch <= budget && static_cast<std::size_t>(games) <= (budget - scratch) / pg) {
    p.chunk_games = games;
    p.chunks = 1;
    p.slots = 1;
    p.slot_bytes = static_cast<std::size_t>(games) * pg + scratch;
    return p;
  }
  // Streamed: two slots.
  std::int64_t fit = 0;
  if (2 * scratch < budget) fit = static_cast<std::int64_t>((budget - 2 * scratch) / 2 / pg);
  if (fit < 1) {
    // A single game on one slot (no overlap) is still better than failing.
    if (scratch <= budget && pg <= budget - scratch) {
      p.chunk_games = 1;
      p.chunks = games;
      p.slots = 1;
      p.slot_bytes = pg + scratch;
      return p;
    }
    std::ostringstream m;
    m << "CUDA backend: one game needs " << pg + scratch << " bytes of device memory, but only " << budget
      << " are available";
    throw resource_error(m.str());
  }
  std::int64_t chunk = std::min<std::int64_t>(fit, games);
  chunk =
      std::min<std::int64_t>(chunk, std::max<std::int64_t>(1, static_cast<std::int64_t>(max_stream_chunk_bytes / pg)));
  if (max_chunk_games > 0) chunk = std::min(chunk, max_chunk_games);
  p.chunk_games = std::max<std::int64_t>(chunk, 1);
  p.chunks = ceil_div(games, p.chunk_games);
  p.slots = p.chunks > 1 ? 2 : 1;
  p.slot_bytes = static_cast<std::size_t>(p.chunk_games) * pg + scratch;
  return p;
}

}  // namespace cuda
}  // namespace dgeval
