// The CPU backend's path for small games: one game per SIMD lane (Google Highway, the instruction
// set chosen at run time: AVX-512, AVX2 or SSE4 on x86). A block of as many games as a vector holds
// doubles is transposed to structure-of-arrays (value v of outcome s of every game of the block
// side by side), so that every per-game sum, extremum and norm is a vertical operation and nothing
// is reduced across lanes.
//
// It serves games of at most kMaxLaneValues values (2·n·N). Below kNarrow outcomes the scalar
// evaluator (game_evaluator.hpp) sums in one partial result, from kNarrow in kLanes interleaved
// ones combined in a fixed tree; the kernel keeps the same partial results per lane. Each lane performs exactly the
// scalar evaluator's operations on its game, in the same order, through the same shared definitions
// (include/dgeval/detail/, instantiated with a Highway vector as the value type; the fused multiply-add of the ε-Nash
// threshold is a true fused multiply-add on every instruction set), so its results are bit-identical to the scalar
// path's, on every instruction set and for any thread count. The finishing step (detail/finish.hpp's finish_game) runs
// across the lanes too, its shared definitions on HV, and the kernel writes the result columns. Games with a non-finite
// value are handed to the scalar evaluator.
//
// Which games: at most kMaxLaneValues values, the last player with fewer than 4·kLanes actions,
// every strategy (worst-ne, best-ne, uniform-ne, uniform-eps-ne, played, pure, correlated,
// product), no distance matrix;
// every other game takes the scalar path.
//
// The instruction set: the best the CPU has, or the one DGEVAL_SIMD_TARGET names (read once, e.g.
// "SSE4", "AVX2", "AVX3": that one or the best below it; "SCALAR" and "EMU128" are Highway's
// portable one- and two-lane targets), or "off" for no SIMD path at all (the scalar evaluator);
// set_simd_target does the same from code (tests run the path on every instruction set).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dgeval/detail/finish.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace cpu {

/// The most games in one block (8 doubles in an AVX-512 register).
inline constexpr int kMaxSimdLanes = 8;
/// The most values (2·n·N) of a game on the path: a block of 8 games transposed is then at most
/// 512 KiB, within a core's L2 cache (6x7x4x6 games, 8,064 values, are on it).
inline constexpr std::int64_t kMaxLaneValues = 8192;

/// Whether games of these dims, with these options, take the SIMD path (and it is not switched off).
bool small_games_simd(const Options& options, const Dims& dims);

/// The instruction sets the path can run on this machine, best first (Highway's names: "AVX3", "AVX2",
/// "SSE4", ...).
std::vector<std::string> simd_targets();
/// Restricts the path to `name` or the best instruction set below it; "off" switches it off; ""
/// restores the default (the best one, or DGEVAL_SIMD_TARGET's). Throws dgeval::error for an unknown
/// name. Not to be called while a batch is being evaluated.
void set_simd_target(const std::string& name);
/// The instruction set the path runs on now, or "off" when it is off.
std::string simd_target();

/// One block of games for the SIMD kernel: its input, and what it gives back per lane.
struct SmallBlock {
  // Input.
  const void* agents;      ///< game g0's agents' utilities; the next game per_game values later
  const void* principals;  ///< likewise
  bool float32;            ///< the input's dtype (float32 or float64)
  std::int64_t per_game;   ///< n·N
  int count;               ///< games in the block, ≤ the target's lanes (the other lanes repeat the last)
  const Options* options;
  const Dims* dims;
  const double* ic;                   ///< [n] IC level per player
  std::vector<double>* buf;           ///< scratch (transposed values and per-outcome vectors)
  std::int64_t g0;                    ///< the block's first game (its index in the output columns)
  const detail::ColumnPointers* out;  ///< the result columns, where the kernel writes each finite game's
  // Output, per lane.
  bool nonfinite[kMaxSimdLanes];        ///< the game holds a non-finite value: nothing stored (the caller's)
  std::vector<std::uint8_t>* ne_masks;  ///< [N][lanes] bit 0 pure NE (list_equilibria), or null
};

/// Games per block on the instruction set in use (1 when the path is off).
int simd_lanes();
/// Runs the kernel on one block.
void evaluate_small_block(SmallBlock& block);

}  // namespace cpu
}  // namespace dgeval
