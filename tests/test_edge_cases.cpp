// Edge cases with defined behaviour: zero magnitudes, one outcome, one player, welfare ties,
// non-finite input, float32 input, bad options and sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

Batch game_2x2(const std::vector<double>& a0, const std::vector<double>& a1, const std::vector<double>& p0,
               const std::vector<double>& p1) {
  Batch b(Dims({2, 2}), 1);
  for (int s = 0; s < 4; ++s) {
    b.agents[s] = a0[s];
    b.agents[4 + s] = a1[s];
    b.principals[s] = p0[s];
    b.principals[4 + s] = p1[s];
  }
  return b;
}

TEST(EdgeCases, ZeroMagnitudeAgent) {
  // Agent 0 is constant: m = 0, ν = 0, IA = 0.5 (EPIC), r undefined (NaN), dropped from C(R).
  const Batch b = game_2x2({3, 3, 3, 3}, {1, 2, 3, 4}, {2, 1, 1, 10}, {1, 2, 3, 4});
  for (Standardisation st : {Standardisation::epic, Standardisation::max, Standardisation::max_range}) {
    const Results r = evaluate(b.view(), testing::with(st));
    EXPECT_EQ(r.magnitude_agents[0], 0.0);
    EXPECT_EQ(r.offset_agents[0], 3.0);
    EXPECT_TRUE(std::isnan(r.calibration_ratio[0]));
    EXPECT_NEAR(r.calibration_ratio[1], 1.0, 1e-12);
    EXPECT_TRUE(r.flags[0] & flag_zero_magnitude);
    EXPECT_NEAR(r.ia[1], 1.0, 1e-12);
    EXPECT_FALSE(std::isnan(r.bound[0]));
    EXPECT_EQ(r.bound_holds[0], 1.0);
    EXPECT_NEAR(r.bound_r[0], st == Standardisation::epic ? 1.0 : 1.0, 1e-12);
  }
  // IA(constant, u) = 1 − ‖ν̂‖₂/2 = 0.5 under EPIC; 1 − ‖ν̂‖∞/z under MAX = 1 − 1/2.
  EXPECT_NEAR(evaluate(b.view()).ia[0], 0.5, 1e-12);
  EXPECT_NEAR(evaluate(b.view(), testing::with(Standardisation::max)).ia[0], 0.5, 1e-12);
}

TEST(EdgeCases, ConstantValueWithInexactMeanStandardisesToZero) {
  // 0.1 is not representable: a naive mean would leave residues and a tiny positive magnitude.
  Batch b(Dims({7, 3}), 1);
  for (std::size_t j = 0; j < 21; ++j) b.agents[j] = 0.1, b.principals[j] = static_cast<double>(j % 5);
  const Results r = evaluate(b.view());
  EXPECT_EQ(r.magnitude_agents[0], 0.0);
  EXPECT_EQ(r.magnitude_agents[1], 0.0);
  EXPECT_EQ(r.ca_agents[0], 1.0);  // every weight 0: CA := 1 (docs/MATH.md §3.5)
  EXPECT_EQ(r.pure_ne_count[0], 21);
}

TEST(EdgeCases, BothConstantGivesFullAlignment) {
  const Batch b = game_2x2({1, 1, 1, 1}, {2, 2, 2, 2}, {5, 5, 5, 5}, {-1, -1, -1, -1});
  const Results r = evaluate(b.view());
  EXPECT_EQ(r.ia[0], 1.0);
  EXPECT_EQ(r.ia[1], 1.0);
  EXPECT_EQ(r.ca_agents[0], 1.0);
  EXPECT_EQ(r.ca_principals[0], 1.0);
  EXPECT_EQ(r.pure_ne_count[0], 4);
  EXPECT_EQ(r.principals_welfare_regret[0], 0.0);
  EXPECT_EQ(r.bound[0], 0.0);
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(EdgeCases, SingleOutcome) {
  Batch b(Dims({1, 1}), 2);
  b.agents = {1, 2, -3, 4};
  b.principals = {7, 8, 0.5, 1e6};
  const Results r = evaluate(b.view());
  for (int g = 0; g < 2; ++g) {
    EXPECT_EQ(r.pure_ne_count[g], 1);
    EXPECT_EQ(r.eps_ne_count[g], 1);
    EXPECT_EQ(r.agents_welfare_regret[g], 0.0);
    EXPECT_EQ(r.principals_welfare_regret[g], 0.0);
    EXPECT_EQ(r.ideal_gap[g], 0.0);
    EXPECT_EQ(r.ca_agents[g], 1.0);
    EXPECT_EQ(r.ia[2 * g], 1.0);
    EXPECT_EQ(r.bound_holds[g], 1.0);
  }
}

TEST(EdgeCases, OnePlayer) {
  // n = 1: the agent picks its best action; the principal scores it. CA = 1.
  Batch b(Dims({5}), 1);
  b.agents = {1, 5, 2, 5, 0};      // two best actions (1 and 3): a tie
  b.principals = {9, 1, 0, 3, 2};  // the principal prefers action 0
  Options o;
  o.list_equilibria = true;
  const Results r = evaluate(b.view(), o);
  EXPECT_EQ(r.pure_ne[0], (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(r.ca_agents[0], 1.0);
  EXPECT_EQ(r.ca_principals[0], 1.0);
  EXPECT_EQ(r.agents_welfare_regret[0], 0.0);
  EXPECT_EQ(r.principals_welfare_regret[0], 8.0);  // worst NE with the welfare tie: first, action 1
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(EdgeCases, WelfareTiesBreakToFirstInCOrder) {
  // Agents: common payoff with two NEs of equal welfare, (0,0) and (1,1); the principals
  // value them differently, so the tie-break is visible in PWR for worst-ne and best-ne.
  const Batch b = game_2x2({5, 0, 0, 5}, {5, 0, 0, 5}, {1, 0, 0, 3}, {1, 0, 0, 3});
  Options o;
  EXPECT_EQ(evaluate(b.view(), o).principals_welfare_regret[0], 2.0);
  o.strategy.kind = StrategyKind::best_ne;
  EXPECT_EQ(evaluate(b.view(), o).principals_welfare_regret[0], 2.0);
  // Reversed principals: the first NE (0,0) is now the principals' favourite.
  const Batch c = game_2x2({5, 0, 0, 5}, {5, 0, 0, 5}, {3, 0, 0, 1}, {3, 0, 0, 1});
  EXPECT_EQ(evaluate(c.view(), o).principals_welfare_regret[0], 0.0);
  // ŝ* (first argmax of ŵ) feeds R3: with ties in ŵ the first is used. Principals tie at
  // (0,0) and (1,1); the agents differ there, so R3's exact calibration term sees (0,0).
  const Batch d = game_2x2({5, 0, 0, 5}, {1, 0, 0, 9}, {2, 0, 0, 2}, {2, 0, 0, 2});
  const Results rd = evaluate(d.view());
  EXPECT_EQ(rd.welfare_principals_max[0], 2.0);
  EXPECT_EQ(rd.bound_holds[0], 1.0);
}

TEST(EdgeCases, NoPureEquilibriumIsReportedNotCrashed) {
  const Batch b = game_2x2({1, -1, -1, 1}, {-1, 1, 1, -1}, {1, 2, 3, 4}, {4, 3, 2, 1});
  for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne,
                         StrategyKind::uniform_eps_ne, StrategyKind::played}) {
    Options o;
    o.strategy.kind = k;
    o.list_equilibria = true;
    const Results r = evaluate(b.view(), o);
    EXPECT_EQ(r.pure_ne_count[0], 0);
    EXPECT_TRUE(r.pure_ne[0].empty());
    EXPECT_EQ(r.flags[0] & (flag_no_pure_ne | flag_strategy_undefined), flag_no_pure_ne | flag_strategy_undefined);
    EXPECT_TRUE(std::isnan(r.worst_ne_agents_welfare[0]));
    EXPECT_TRUE(std::isnan(r.principals_welfare_regret[0]));
    EXPECT_TRUE(std::isnan(r.bound[0]));
    EXPECT_TRUE(std::isnan(r.bound_holds[0]));  // undefined, not false
    EXPECT_FALSE(std::isnan(r.ia[0]));          // what does not need an NE is still there
    EXPECT_FALSE(std::isnan(r.ideal_gap_bound[0]));
  }
  // A user strategy does not need an NE.
  Options o;
  o.strategy.kind = StrategyKind::pure;
  o.strategy.actions = {1, 0};
  const Results r = evaluate(b.view(), o);
  EXPECT_EQ(r.principals_welfare_regret[0], 2.5 - 2.5);  // ŵ(1,0) = 2.5 = ŵ*
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(EdgeCases, UserStrategies) {
  const Batch b = game_2x2({2, 1, 1, 10}, {2, 1, 1, 10}, {2, 1, 1, 10}, {2, 1, 1, 10});
  Options o;
  o.strategy.kind = StrategyKind::correlated;
  o.strategy.weights = {0.5, 0, 0, 0.5};
  EXPECT_NEAR(evaluate(b.view(), o).principals_welfare_regret[0], 4.0, 1e-12);
  o.strategy.kind = StrategyKind::product;
  o.strategy.weights = {0.5, 0.5, 0.25, 0.75};  // σ_1 = (½, ½), σ_2 = (¼, ¾)
  const double w = 0.5 * 0.25 * 2 + 0.5 * 0.75 * 1 + 0.5 * 0.25 * 1 + 0.5 * 0.75 * 10;
  EXPECT_NEAR(evaluate(b.view(), o).principals_welfare_regret[0], 10 - w, 1e-12);
  // Per-game strategies.
  Batch two(Dims({2, 2}), 2);
  two.agents = {2, 1, 1, 10, 2, 1, 1, 10, 2, 1, 1, 10, 2, 1, 1, 10};
  two.principals = two.agents;
  o.strategy.kind = StrategyKind::pure;
  o.strategy.per_game = true;
  o.strategy.weights.clear();
  o.strategy.actions = {0, 0, 1, 1};
  const Results r = evaluate(two.view(), o);
  EXPECT_EQ(r.principals_welfare_regret[0], 8.0);
  EXPECT_EQ(r.principals_welfare_regret[1], 0.0);
}

TEST(EdgeCases, NonFiniteRefusedWithPosition) {
  for (double bad : {std::nan(""), static_cast<double>(INFINITY), -static_cast<double>(INFINITY)}) {
    Batch b(Dims({2, 3}), 3);
    for (double& x : b.agents) x = 1.0;
    for (double& x : b.principals) x = 2.0;
    b.principals[(2 * 2 + 1) * 6 + 4] = bad;  // game 2, principal 1, outcome (1,1)
    try {
      evaluate(b.view());
      FAIL() << "non-finite input accepted";
    } catch (const error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("game 2"), std::string::npos) << m;
      EXPECT_NE(m.find("principal 1"), std::string::npos) << m;
      EXPECT_NE(m.find("outcome (1,1)"), std::string::npos) << m;
    }
    Options o;
    o.allow_nonfinite = true;
    const Results r = evaluate(b.view(), o);
    EXPECT_EQ(r.flags[2], flag_nonfinite);
    EXPECT_TRUE(std::isnan(r.ia[4]));
    EXPECT_TRUE(std::isnan(r.principals_welfare_regret[2]));
    EXPECT_TRUE(std::isnan(r.bound_holds[2]));  // undefined, not false
    EXPECT_EQ(r.flags[1] & flag_nonfinite, 0);  // the other games are untouched
    EXPECT_FALSE(std::isnan(r.ia[2]));
  }
}

TEST(EdgeCases, FiniteValuesWhoseSumOverflowsAreRefused) {
  Batch b(Dims({2, 2}), 1);
  for (double& x : b.agents) x = 1e308;
  for (double& x : b.principals) x = 1.0;
  EXPECT_THROW(evaluate(b.view()), error);
}

TEST(EdgeCases, Float32InputMatchesFloat64OfSameValues) {
  DGEVAL_SEEDED(rng);
  for (const Dims& dims : testing::test_sizes()) {
    const Batch b = testing::random_batch(dims, 4, rng, 7);  // grid values are exact in float32
    std::vector<float> a32, p32;
    const BatchView v = testing::view_as(b, true, a32, p32);
    Options o;
    o.list_equilibria = true;
    const Results r64 = evaluate(b.view(), o), r32 = evaluate(v, o);
    auto same = [](const std::vector<double>& x, const std::vector<double>& y) {  // bitwise, NaN included
      return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
    };
    EXPECT_TRUE(same(r32.ia, r64.ia));
    EXPECT_TRUE(same(r32.ca_agents, r64.ca_agents));
    EXPECT_TRUE(same(r32.bound, r64.bound));
    EXPECT_TRUE(same(r32.principals_welfare_regret, r64.principals_welfare_regret));
    EXPECT_EQ(r32.pure_ne, r64.pure_ne);
    EXPECT_EQ(r32.flags, r64.flags);
  }
}

TEST(EdgeCases, SizesThatOverflowAreRefused) {
  const std::int64_t big = std::int64_t{1} << 32;
  EXPECT_THROW(Dims({big, big}), error);
  EXPECT_THROW(Dims({big, 2, big}), error);
  EXPECT_THROW(Dims(std::vector<std::int64_t>(kMaxPlayers + 1, 2)), error);
  EXPECT_THROW(Dims(std::vector<std::int64_t>{}), error);
  EXPECT_THROW(Dims({3, 0}), error);
  EXPECT_THROW(Dims({-2, 3}), error);
  EXPECT_NO_THROW(Dims(std::vector<std::int64_t>(kMaxPlayers, 2)));
  // A batch whose total size overflows is refused before any allocation.
  BatchView v;
  v.dims = Dims({std::int64_t{1} << 31, std::int64_t{1} << 30});
  v.games = std::int64_t{1} << 20;
  double dummy = 0;
  v.agents = v.principals = &dummy;
  EXPECT_THROW(evaluate(v), error);
}

TEST(EdgeCases, DimsParsing) {
  EXPECT_EQ(Dims::parse("6x7x4x6").outcomes(), 1008);
  EXPECT_EQ(Dims::parse("13").players(), 1);
  for (const char* bad : {"", "3x", "x3", "3xx3", "3x-1", "3x0", "3xa", "3.5x2", "99999999999999999999x2"}) {
    EXPECT_THROW(Dims::parse(bad), error) << bad;
  }
  const Dims d({2, 3, 4});
  EXPECT_EQ(d.flatten({1, 2, 3}), 23);
  EXPECT_EQ(d.unflatten(23), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_THROW(d.flatten({1, 3, 0}), error);
}

TEST(EdgeCases, OptionsAreValidated) {
  Batch b(Dims({2, 3}), 1);
  for (std::size_t j = 0; j < b.agents.size(); ++j) b.agents[j] = b.principals[j] = static_cast<double>(j % 4);
  auto refused = [&](const Options& o, const char* needle) {
    try {
      evaluate(b.view(), o);
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  Options o;
  o.ic = {1.5};
  refused(o, "IC level");
  o.ic = {0.5, 0.5, 0.5};
  refused(o, "levels given");
  o = Options{};
  o.cc = -0.1;
  refused(o, "CC level");
  o = Options{};
  o.strategy.kind = StrategyKind::pure;
  o.strategy.actions = {0, 3};
  refused(o, "out of range");
  o.strategy.actions = {0};
  refused(o, "expected 2 action");
  o = Options{};
  o.strategy.kind = StrategyKind::correlated;
  o.strategy.weights = {0.5, 0.5, 0, 0, 0, 0.1};
  refused(o, "sum to");
  o.strategy.weights = {1.5, -0.5, 0, 0, 0, 0};
  refused(o, "weight 1");
  o.strategy.weights = {0.5, 0.5};
  refused(o, "expected 6 weights");
  o = Options{};
  o.strategy.kind = StrategyKind::product;
  o.strategy.weights = {0.5, 0.5, 0.2, 0.2, 0.2};
  refused(o, "player 1");
  o.strategy.weights = {0.5, 0.5, NAN, 0.5, 0.5};
  refused(o, "weight 0");
}

TEST(EdgeCases, ZeroGamesGiveEmptyResults) {
  BatchView v;
  v.dims = Dims({3, 3});
  v.games = 0;
  const Results r = evaluate(v);
  EXPECT_EQ(r.games, 0);
  EXPECT_TRUE(r.ia.empty());
}

}  // namespace
}  // namespace dgeval
