// The CPU backend gives bit-identical results for any thread count and either parallel mode
// (many games in parallel, or one large game's outcome chunks in parallel); the generator gives
// the same games for any thread count and any split of the run.
#include <gtest/gtest.h>

#include <cstring>

#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

Results run(const Batch& b, const Options& o, int threads) {
  auto backend = make_cpu_backend(threads);
  Results r;
  backend->evaluate(b.view(), o, r);
  return r;
}

TEST(Determinism, ManyGamesAnyThreadCount) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({5, 5, 4}), 301, rng);
  Options o;
  o.ic = {0.6};
  o.strategy.kind = StrategyKind::uniform_eps_ne;
  o.list_equilibria = true;
  o.distance_matrix = true;
  const Results one = run(b, o, 1);
  for (int t : {2, 3, 7}) testing::expect_identical_results(one, run(b, o, t));
}

TEST(Determinism, OneLargeGameChunkedOverThreads) {
  // 300 x 331 = 99,300 outcomes: several chunks, so threads split the game itself.
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({300, 331}), 2, rng);
  for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::played, StrategyKind::uniform_eps_ne}) {
    Options o;
    o.strategy.kind = k;
    o.ic = {0.9};
    o.cc = 0.25;
    o.list_equilibria = true;
    const Results one = run(b, o, 1);
    for (int t : {2, 4}) testing::expect_identical_results(one, run(b, o, t));
  }
}

TEST(Determinism, ThreeAxisLargeGameMatchesItsPieces) {
  // A game evaluated alone equals the same game inside a batch (no cross-game state).
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({40, 30, 25}), 3, rng);
  Options o;
  o.list_equilibria = true;
  const Results all = run(b, o, 3);
  Batch second(b.dims, 1);
  const std::size_t per = static_cast<std::size_t>(3 * b.dims.outcomes());
  std::copy(b.agents.begin() + per, b.agents.begin() + 2 * per, second.agents.begin());
  std::copy(b.principals.begin() + per, b.principals.begin() + 2 * per, second.principals.begin());
  const Results alone = run(second, o, 2);
  auto same = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };  // NaN-safe
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(same(alone.ia[i], all.ia[3 + i])) << i;     // game 1 of 3 players
  EXPECT_TRUE(same(alone.ca_principals[0], all.ca_principals[1]));
  EXPECT_TRUE(same(alone.bound[0], all.bound[1]));
  EXPECT_TRUE(same(alone.worst_ne_agents_welfare[0], all.worst_ne_agents_welfare[1]));
  EXPECT_EQ(alone.pure_ne[0], all.pure_ne[1]);
}

TEST(Determinism, GeneratorDependsOnlyOnSeedAndGameIndex) {
  const Dims dims({3, 4});
  const Batch whole = random_uniform_games(dims, 10, 42, 0, 0.0, 1.0, 1);
  const Batch threaded = random_uniform_games(dims, 10, 42, 0, 0.0, 1.0, 3);
  EXPECT_EQ(whole.agents, threaded.agents);
  EXPECT_EQ(whole.principals, threaded.principals);
  const Batch tail = random_uniform_games(dims, 4, 42, 6, 0.0, 1.0, 2);  // games 6..9 alone
  const std::size_t per = 2 * 12;
  EXPECT_TRUE(std::equal(tail.agents.begin(), tail.agents.end(), whole.agents.begin() + 6 * per));
  EXPECT_TRUE(std::equal(tail.principals.begin(), tail.principals.end(), whole.principals.begin() + 6 * per));
  const Batch other = random_uniform_games(dims, 10, 43, 0, 0.0, 1.0, 1);
  EXPECT_NE(whole.agents, other.agents);
  for (double x : whole.agents) {
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
}

}  // namespace
}  // namespace dgeval
