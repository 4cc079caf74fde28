// The planning of the CUDA backend's two-player path (kernels/two_player_evaluate.cu), plain C++ with
// no CUDA headers like cuda_plan.hpp: which games take it, its launch geometry and its scratch.
//
// The path evaluates a large 2-player game from ONE streaming read of its outcomes, as the CPU
// backend's fused path does (backends/cpu/fused_two_player.hpp). Outcome s = r·k₁ + j: row r is
// player 1's action, column j player 2's. A game's rows are split into `row_blocks` runs of
// `rows_per_block` rows and its columns into `col_tiles` tiles of `tile_cols` columns (one tile,
// the whole row, unless a row is too long for shared memory); one thread block per run and tile;
// a block's thread t owns the tile's columns j ≡ t (mod threads) of every row (its running column
// extrema and the row's player-2 values live in shared memory, tile_cols values of T each, three
// times).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/cuda/cuda_plan.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace cuda {

/// Threads per block of the two-player kernels on the GPU (the CPU emulation of the tests uses fewer).
constexpr int kTwoPlayerThreads = 384;
/// Doubles of a block's partial of the streaming kernel: 4 double-double deviation sums, 10
/// double-double cross-products, 4 minima, 4 maxima, 4 welfare extrema (2 each), the candidate
/// count and the non-finite flag.
constexpr int kTwoPlayerStatsWidth = 8 + 20 + 8 + 8 + 2;
/// Doubles of a block's partial of the re-check kernel: |E_0|, |E(IC)|, worst/best NE and worst
/// ε-NE (2 each), Σ u_i and Σ û_i over the strategy's set.
constexpr int kTwoPlayerEquilibriaWidth = 2 + 6 + 4;
/// Scratch of one pass at most (bytes), unless one game needs more.
constexpr std::size_t kTwoPlayerScratchBudget = std::size_t{256} << 20;
/// Smallest row length the planner gives the path (shorter rows leave most threads idle).
constexpr std::int64_t kTwoPlayerMinRow = 32;

struct TwoPlayerGeometry {
  int threads = kTwoPlayerThreads;
  std::int64_t k0 = 0, k1 = 0;           ///< rows (player 1's actions), row length (player 2's)
  std::int64_t rows_per_block = 0;       ///< rows of one block of the streaming kernel
  std::int64_t row_blocks = 0;           ///< runs of rows per game
  std::int64_t tile_cols = 0;            ///< columns of one tile (k₁ when a row fits shared memory)
  std::int64_t col_tiles = 1;            ///< tiles per row
  std::int64_t blocks = 0;               ///< blocks per game: row_blocks · col_tiles
  std::int64_t candidate_capacity = 0;   ///< candidates one block may record before it overflows
  std::int64_t games_per_pass = 0;       ///< games of one launch sequence (grid.y)
  std::size_t shared_bytes = 0;          ///< dynamic shared memory of the streaming kernel
  std::size_t recheck_shared_bytes = 0;  ///< of the re-check kernel (a tile's row of player 2's values)
};

/// The longest tile (columns) whose three rows of values fit in shared memory.
inline std::int64_t two_player_max_tile_cols(std::size_t value_bytes, const DeviceLimits& lim) {
  return static_cast<std::int64_t>((lim.shared_optin - 1024) / (3 * value_bytes)) / 32 * 32;
}

/// Why the two-player path cannot take games of this shape under these options ("" if it can).
inline std::string two_player_unfit(const Dims& d, const Options& o, std::size_t value_bytes, const DeviceLimits& lim) {
  if (d.players() != 2) return "it takes 2-player games only";
  if (o.standardisation != Standardisation::epic) return "it takes the EPIC standardisation only";
  const StrategyKind k = o.strategy.kind;
  if (!(k == StrategyKind::worst_ne || k == StrategyKind::best_ne || k == StrategyKind::uniform_ne ||
        k == StrategyKind::uniform_eps_ne || k == StrategyKind::pure))
    return "the played, correlated and product strategies need a further pass";
  if (3 * 32 * value_bytes + 1024 > lim.shared_optin) return "the device's shared memory is too small";
  return std::string();
}

/// Whether the planner gives games of this shape the two-player path when not forced: the games it
/// can take that would otherwise take the tiled path, with rows of at least kTwoPlayerMinRow.
inline bool two_player_chosen(const Dims& d, const Options& o, std::size_t value_bytes, const DeviceLimits& lim) {
  if (d.players() != 2 || d.actions(1) < kTwoPlayerMinRow) return false;
  if (choose_path(d, value_bytes, lim) != Path::tiled) return false;
  return two_player_unfit(d, o, value_bytes, lim).empty();
}

/// The geometry for `chunk_games` games. `threads` is the kernels' block size (the emulation's);
/// `tile_cols` > 0 sets the columns per tile (a test hook: Tuning::tile_outcomes), else a row is one
/// tile where it fits shared memory and the fewest tiles of equal width (a multiple of 32) where not.
/// Blocks per game: one wave of the streaming kernel (it holds one block per SM: its registers),
/// the pass's games sharing the SMs, but no more runs of rows than keep the column-extremum updates
/// (2·k₁ 8-byte atomics per run) below 0.8% of a game's input bytes.
inline TwoPlayerGeometry two_player_geometry(const Dims& d, std::size_t value_bytes, std::int64_t chunk_games,
                                             const DeviceLimits& lim, int threads = kTwoPlayerThreads,
                                             std::int64_t tile_cols = 0) {
  TwoPlayerGeometry t;
  t.threads = threads;
  t.k0 = d.actions(0);
  t.k1 = d.actions(1);
  if (tile_cols <= 0) {
    const std::int64_t widest = std::max<std::int64_t>(32, two_player_max_tile_cols(value_bytes, lim));
    tile_cols = t.k1 <= widest ? t.k1 : ceil_div(ceil_div(t.k1, ceil_div(t.k1, widest)), 32) * 32;
  }
  t.tile_cols = std::min(tile_cols, t.k1);
  t.col_tiles = ceil_div(t.k1, t.tile_cols);
  t.games_per_pass = std::max<std::int64_t>(1, std::min<std::int64_t>(chunk_games, 65535));
  const std::int64_t wanted = std::max<std::int64_t>(1, lim.multiprocessors / t.games_per_pass / t.col_tiles);
  // 16·k₁·row_blocks ≤ 0.008 · 4·k₀·k₁·value_bytes
  const std::int64_t cap = std::max<std::int64_t>(1, t.k0 * static_cast<std::int64_t>(value_bytes) / 500);
  const std::int64_t runs = std::max<std::int64_t>(1, std::min({wanted, cap, t.k0}));
  t.rows_per_block = ceil_div(t.k0, runs);
  t.row_blocks = ceil_div(t.k0, t.rows_per_block);
  t.blocks = t.row_blocks * t.col_tiles;
  t.candidate_capacity = 2 * t.rows_per_block + 64;
  // A pass's scratch stays within kTwoPlayerScratchBudget (many mid-size games: several passes).
  const std::size_t per_game =
      2 * static_cast<std::size_t>(t.k1) * 8 +
      (t.col_tiles > 1 ? 2 * static_cast<std::size_t>(t.col_tiles * t.k0) * 8 : 0) +
      static_cast<std::size_t>(t.blocks) *
          ((kTwoPlayerStatsWidth + kTwoPlayerEquilibriaWidth) * 8 + static_cast<std::size_t>(t.candidate_capacity) * 8);
  t.games_per_pass = std::max<std::int64_t>(
      1, std::min<std::int64_t>(t.games_per_pass, static_cast<std::int64_t>(kTwoPlayerScratchBudget / per_game)));
  t.recheck_shared_bytes = round_up(static_cast<std::size_t>(t.tile_cols) * value_bytes, 16);
  t.shared_bytes = 3 * t.recheck_shared_bytes;
  return t;
}

/// Doubles of a pass's row extrema by tile (the tiles' min and max of player 2's values in each
/// row), which the re-check merges into the rows' thresholds: none when a row is one tile.
inline std::size_t two_player_row_extrema_doubles(const TwoPlayerGeometry& t) {
  return t.col_tiles > 1 ? static_cast<std::size_t>(t.games_per_pass * t.col_tiles * t.k0) * 2 : 0;
}

/// Scratch of one pass, in bytes: the column extrema (2·k₁ ordered 64-bit keys per game), the
/// row extrema by tile (two_player_row_extrema_doubles), the blocks' partials of both kernels,
/// and their candidate lists.
inline std::size_t two_player_scratch_bytes(const TwoPlayerGeometry& t) {
  const std::size_t g = static_cast<std::size_t>(t.games_per_pass), b = static_cast<std::size_t>(t.blocks);
  std::size_t s = round_up(g * 2 * static_cast<std::size_t>(t.k1) * 8, 256);
  s += round_up(two_player_row_extrema_doubles(t) * 8, 256);
  s += round_up(g * b * (kTwoPlayerStatsWidth + kTwoPlayerEquilibriaWidth) * 8, 256);
  s += round_up(g * b * static_cast<std::size_t>(t.candidate_capacity) * 8, 256);
  return s;
}

}  // namespace cuda
}  // namespace dgeval
