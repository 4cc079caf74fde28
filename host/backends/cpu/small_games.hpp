// The CPU backend's path for small games: one game per SIMD lane (Google Highway, the instruction
// set chosen at run time: AVX-512, AVX2 or SSE4 on x86). A block of as many games as a vector holds
// doubles is transposed to structure-of-arrays (value v of outcome s of every game of the block
// side by side), so that every per-game sum, extremum and norm is a vertical operation and nothing
// is reduced across lanes.
//
// It serves the games the scalar evaluator (game_evaluator.hpp) sums in one lane: fewer than
// kNarrow outcomes. Each lane performs exactly the scalar evaluator's operations on its game, in
// the same order, through the same shared definitions (include/dgeval/detail/, instantiated with a
// Highway vector as the value type; the fused multiply-add of the ε-Nash threshold is a true fused
// multiply-add on every instruction set), so its results are bit-identical to the scalar path's, on
// every instruction set and for any thread count. The finishing step (detail/finish.hpp) runs per
// game, as on the scalar path. Games with a non-finite value are handed to the scalar evaluator.
//
// Which games: fewer than kNarrow outcomes, the strategies worst-ne, best-ne, uniform-ne,
// uniform-eps-ne and pure, no distance matrix; every other game takes the scalar path.
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
  const double* ic;          ///< [n] IC level per player
  std::vector<double>* buf;  ///< scratch (transposed values and per-outcome vectors)
  // Output, per lane.
  struct Lane {
    bool nonfinite;
    double lo[2 * kMaxPlayers], hi[2 * kMaxPlayers], shift[2 * kMaxPlayers], mag[2 * kMaxPlayers];
    double ia[kMaxPlayers], su[kMaxPlayers], suh[kMaxPlayers];
    double ca_agents, ca_principals;
    std::int64_t ne, eps;
    detail::ArgExt w_max, w_min, wh_max, wh_min, worst_ne, best_ne, worst_eps;
  } lane[kMaxSimdLanes];
  std::vector<std::uint8_t>* ne_masks;  ///< [N][lanes] bit 0 pure NE (list_equilibria), or null
};

/// Games per block on the instruction set in use (1 when the path is off).
int simd_lanes();
/// Runs the kernel on one block.
void evaluate_small_block(SmallBlock& block);

}  // namespace cpu
}  // namespace dgeval
