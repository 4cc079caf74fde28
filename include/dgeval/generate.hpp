// Game generators. Games are a pure function of (seed, game index): see detail/random.hpp.
#pragma once

#include <cstdint>

#include "dgeval/game.hpp"

namespace dgeval {

/// `games` games with i.i.d. uniform utilities in [lo, hi) on both sides, game g of the batch
/// being game (first_game + g) of the stream `seed`. Element e of a game (agents' [n][N]
/// first, then principals') is philox_uniform(seed, game, e). Multi-threaded; the result does
/// not depend on `threads`.
Batch random_uniform_games(const Dims& dims, std::int64_t games, std::uint64_t seed, std::int64_t first_game = 0,
                           double lo = 0.0, double hi = 1.0, int threads = 0);

}  // namespace dgeval
