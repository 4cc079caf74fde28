// Plain random games from the counter-based generator.
#include "dgeval/generate.hpp"

#include <cmath>

#include "core/thread_pool.hpp"
#include "dgeval/detail/random.hpp"
#include "dgeval/error.hpp"

namespace dgeval {

Batch random_uniform_games(const Dims& dims, std::int64_t games, std::uint64_t seed, std::int64_t first_game, double lo,
                           double hi, int threads) {
  if (games < 0) throw error("random games: negative game count");
  if (!(hi > lo)) throw error("random games: empty utility range");
  Batch b(dims, games);
  const std::int64_t per_side = checked_mul(dims.players(), dims.outcomes(), "n x N");
  detail::ThreadPool pool(threads);
  pool.parallel_for(games, [&](std::int64_t g, int) {
    const std::uint64_t game = static_cast<std::uint64_t>(first_game + g);
    double* a = b.agents.data() + g * per_side;
    double* p = b.principals.data() + g * per_side;
    for (std::int64_t e = 0; e < per_side; ++e) {
      a[e] = std::fma(hi - lo, detail::philox_uniform(seed, game, static_cast<std::uint64_t>(e)), lo);
      p[e] = std::fma(hi - lo, detail::philox_uniform(seed, game, static_cast<std::uint64_t>(per_side + e)), lo);
    }
  });
  return b;
}

}  // namespace dgeval
