// The worked examples of docs/MATH.md §8, to 1e-9 (tolerances::golden_absolute).
#include <gtest/gtest.h>

#include <cmath>

#include "dgeval/detail/measures.hpp"
#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

constexpr double kTol = tolerances::golden_absolute;
const double kRoot57 = std::sqrt(57.0);

Results run(const std::string& example, Options o) {
  Example e = make_example(example);
  return evaluate(e.batch.view(), o);
}
Results run(const std::string& example) {
  Example e = make_example(example);
  return evaluate(e.batch.view(), e.options);
}

TEST(GoldenA, MammothEpicStandardisation) {
  const Results r = run("mammoth");
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(r.offset_agents[i], 3.5, kTol);
    EXPECT_NEAR(r.magnitude_agents[i], 7.5498344353, kTol);
    EXPECT_NEAR(r.offset_principals[i], 3.5, kTol);
    EXPECT_NEAR(r.magnitude_principals[i], kRoot57, kTol);
    EXPECT_NEAR(r.ia[i], 1.0, kTol);
    EXPECT_NEAR(r.calibration_ratio[i], 1.0, kTol);
  }
  EXPECT_NEAR(r.ca_principals[0], 1.0, kTol);
  EXPECT_NEAR(r.ca_agents[0], 1.0, kTol);
}

TEST(GoldenA, MammothMaxShiftAndScale) {
  // MAX: c = 5.5, m = 4.5 (half-range); MAX-range: the full range 9.
  Options o;
  o.standardisation = Standardisation::max;
  const Results r = run("mammoth", o);
  EXPECT_NEAR(r.offset_agents[0], 5.5, kTol);
  EXPECT_NEAR(r.magnitude_agents[0], 4.5, kTol);
  Options rr;
  rr.standardisation = Standardisation::max_range;
  const Results q = run("mammoth", rr);
  EXPECT_NEAR(q.offset_agents[0], 5.5, kTol);
  EXPECT_NEAR(q.magnitude_agents[0], 9.0, kTol);
}

TEST(GoldenA, MammothEquilibriaWelfareAndRegret) {
  Options o;
  o.list_equilibria = true;
  const Results r = run("mammoth", o);
  ASSERT_EQ(r.pure_ne_count[0], 2);
  EXPECT_EQ(r.pure_ne[0], (std::vector<std::int64_t>{0, 3}));  // (F,F), (M,M)
  EXPECT_NEAR(r.worst_ne_agents_welfare[0], 2.0, kTol);
  EXPECT_NEAR(r.worst_eps_ne_agents_welfare[0], 2.0, kTol);
  EXPECT_NEAR(r.welfare_agents_max[0], 10.0, kTol);
  EXPECT_NEAR(r.welfare_principals_max[0], 10.0, kTol);
  EXPECT_NEAR(r.welfare_principals_utopia[0], 10.0, kTol);
  EXPECT_NEAR(r.ideal_gap[0], 0.0, kTol);
  // σ = (F,F), the worst NE: CC = 0, WR = PWR = 8, R3 = 8 (tight).
  EXPECT_NEAR(r.cc_achieved[0], 0.0, kTol);
  EXPECT_NEAR(r.agents_welfare_regret[0], 8.0, kTol);
  EXPECT_NEAR(r.principals_welfare_regret[0], 8.0, kTol);
  EXPECT_NEAR(r.bound_r3[0], 8.0, kTol);
  EXPECT_EQ(r.bound_holds[0], 1.0);
  EXPECT_EQ(r.flags[0], 0);
}

TEST(GoldenA, MammothBestNeIsOptimal) {
  Options o;
  o.strategy.kind = StrategyKind::best_ne;  // σ = (M,M): CC = 1, PWR = 0
  const Results r = run("mammoth", o);
  EXPECT_NEAR(r.cc_achieved[0], 1.0, kTol);
  EXPECT_NEAR(r.principals_welfare_regret[0], 0.0, kTol);
}

TEST(GoldenA, MammothPlayedSets) {
  Options o;
  o.strategy.kind = StrategyKind::played;
  o.cc = 0.0;  // window [2, 10]: P = {(F,F), (M,M)}, average ŵ = 6, PWR = 4
  EXPECT_NEAR(run("mammoth", o).principals_welfare_regret[0], 4.0, kTol);
  o.cc = 0.5;  // window [6, 10]: P = {(M,M)}
  EXPECT_NEAR(run("mammoth", o).principals_welfare_regret[0], 0.0, kTol);
  o.cc = 1.0;
  const Results r = run("mammoth", o);
  EXPECT_NEAR(r.principals_welfare_regret[0], 0.0, kTol);
  EXPECT_EQ(r.flags[0] & flag_played_fallback, 0);
}

TEST(GoldenA, NecessityOfIA) {
  // Agents are the negated principals: NEs (F,M), (M,F) with welfare −1 = w*; PWR = 9; IA = 0.
  Options o;
  o.list_equilibria = true;
  const Results r = run("mammoth-negated", o);
  EXPECT_EQ(r.pure_ne[0], (std::vector<std::int64_t>{1, 2}));
  EXPECT_NEAR(r.worst_ne_agents_welfare[0], -1.0, kTol);
  EXPECT_NEAR(r.welfare_agents_max[0], -1.0, kTol);
  EXPECT_NEAR(r.welfare_principals_min[0], 1.0, kTol);
  EXPECT_NEAR(r.welfare_principals_dystopia[0], 1.0, kTol);
  EXPECT_NEAR(r.principals_welfare_regret[0], 9.0, kTol);
  EXPECT_EQ(r.ia[0], 0.0);
  EXPECT_EQ(r.ia[1], 0.0);
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(GoldenB, MisalignedAgentEpic) {
  const Results r = run("misaligned");
  EXPECT_NEAR(r.offset_agents[1], 1.5, kTol);
  EXPECT_NEAR(r.magnitude_agents[1], 1.0, kTol);
  EXPECT_NEAR(r.ia[0], 1.0, kTol);
  EXPECT_NEAR(r.ia[1], 0.1254106841, kTol);
  EXPECT_NEAR(r.ca_agents[0], 0.6386848457, kTol);
  EXPECT_NEAR(r.ca_principals[0], 1.0, kTol);
  EXPECT_NEAR(r.welfare_principals_utopia[0], 10.0, kTol);
  EXPECT_NEAR(r.welfare_principals_max[0], 10.0, kTol);
  // σ = (F,F): w_0 = w_ε = 2, w* = 5.5, CC = 0, WR = 3.5, PWR = 8.
  EXPECT_EQ(r.pure_ne_count[0], 1);
  EXPECT_NEAR(r.worst_ne_agents_welfare[0], 2.0, kTol);
  EXPECT_NEAR(r.worst_eps_ne_agents_welfare[0], 2.0, kTol);
  EXPECT_NEAR(r.welfare_agents_max[0], 5.5, kTol);
  EXPECT_NEAR(r.cc_achieved[0], 0.0, kTol);
  EXPECT_NEAR(r.agents_welfare_regret[0], 3.5, kTol);
  EXPECT_NEAR(r.principals_welfare_regret[0], 8.0, kTol);
  EXPECT_NEAR(r.calibration_ratio[0], 1.0, kTol);
  EXPECT_NEAR(r.calibration_ratio[1], 7.5498344353, kTol);
  EXPECT_NEAR(r.bound_r3[0], 13.4310918495, kTol);
  // Average-welfare R2 is half the sum form's: the cap 21.3541565041 / 2 binds.
  EXPECT_NEAR(r.bound[0], 21.3541565041 / 2, kTol);
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(GoldenB, MisalignedAgentMax) {
  Options o;
  o.standardisation = Standardisation::max;
  const Results r = run("misaligned", o);
  EXPECT_NEAR(r.ia[1], 0.0, kTol);  // not opposites, yet IA_MAX = 0 (docs/MATH.md §4.1)
  EXPECT_NEAR(r.ca_agents[0], 0.64, kTol);
  EXPECT_NEAR(r.magnitude_agents[0], 4.5, kTol);
  EXPECT_NEAR(r.magnitude_agents[1], 0.5, kTol);
}

TEST(GoldenB, TwoPlayerCaFormulaAgrees) {
  Options o;
  o.distance_matrix = true;
  const Results r = run("misaligned", o);
  const double m1 = r.magnitude_agents[0], m2 = r.magnitude_agents[1], M = m1 + m2;
  const double d12 = r.distance_matrix[0 * 4 + 1];
  EXPECT_NEAR(d12, 1.0 - 0.1254106841, kTol);  // d(u_1, u_2) = d_2 since u_1 = û_2
  EXPECT_NEAR(r.ca_agents[0], 1.0 - 4.0 * m1 * m2 / (M * M) * d12, kTol);
}

TEST(GoldenB, EpsilonSetsByIcLevel) {
  Options o;
  for (double ic : {1.0, 0.75, 0.5, 0.01}) {
    o.ic = {ic};
    EXPECT_EQ(run("misaligned", o).eps_ne_count[0], 1) << "IC " << ic;
  }
  o.ic = {0.0};
  EXPECT_EQ(run("misaligned", o).eps_ne_count[0], 4);
}

TEST(GoldenB, SumFormR2AtEachCandidateR) {
  Options o;
  o.welfare = Welfare::sum;
  const Results r = run("misaligned", o);
  EXPECT_NEAR(r.principals_welfare_regret[0], 16.0, kTol);
  EXPECT_NEAR(r.agents_welfare_regret[0], 7.0, kTol);
  double tm = 0;
  for (int i = 0; i < 2; ++i) tm += r.magnitude_principals[i] * (1 - r.ia[i]);
  EXPECT_NEAR(tm, 6.6030045336, kTol);

  detail::BoundInputs in{};
  in.players = 2;
  in.welfare = Welfare::sum;
  in.constants = detail::standardisation_constants(Standardisation::epic);
  in.agents_regret = r.agents_welfare_regret[0];
  in.magnitude_agents = r.magnitude_agents.data();
  in.magnitude_principals = r.magnitude_principals.data();
  in.ia = r.ia.data();
  EXPECT_NEAR(detail::bound_r2_at(in, 0.0), 47.7661746384, kTol);
  EXPECT_NEAR(detail::bound_r2_at(in, 1.0), 42.6748828240, kTol);
  EXPECT_NEAR(detail::bound_r2_at(in, kRoot57), 149.1939539845, 1e-8);
  EXPECT_NEAR(r.bound[0], 21.3541565041, kTol);  // the cap 2√57·√2
  EXPECT_NEAR(r.bound_r[0], 1.0, kTol);
  EXPECT_EQ(r.bound_holds[0], 1.0);
}

TEST(GoldenB, PlayedSetAtCcZero) {
  Options o;
  o.strategy.kind = StrategyKind::played;
  o.cc = 0.0;  // window [2, 5.5]: P = {(F,F), (M,M)}; average ŵ = 6, PWR = 4
  const Results r = run("misaligned", o);
  EXPECT_NEAR(r.principals_welfare_regret[0], 4.0, kTol);
  EXPECT_NEAR(r.bound_r3[0], 15.0685504584, kTol);
}

TEST(GoldenC, ZeroSumPrincipals) {
  const Results r = run("matching-pennies");
  EXPECT_NEAR(r.magnitude_principals[0], 2.0, kTol);
  EXPECT_NEAR(r.magnitude_principals[1], 2.0, kTol);
  EXPECT_NEAR(r.ca_principals[0], 0.0, kTol);
  EXPECT_NEAR(r.welfare_principals_max[0], 0.0, kTol);
  EXPECT_NEAR(r.welfare_principals_min[0], 0.0, kTol);
  EXPECT_NEAR(r.welfare_principals_utopia[0], 1.0, kTol);
  EXPECT_NEAR(r.ideal_gap[0], 1.0, kTol);
  EXPECT_NEAR(r.ideal_gap_bound[0], 2.0, kTol);  // R5: 1 ≤ (1/2)(1 − 0)(2 + 2) = 2
  EXPECT_EQ(r.pure_ne_count[0], 0);              // matching pennies has no pure NE
  EXPECT_TRUE(r.flags[0] & flag_no_pure_ne);
  EXPECT_TRUE(std::isnan(r.principals_welfare_regret[0]));
  EXPECT_TRUE(std::isnan(r.bound[0]));
}

TEST(GoldenD, EpsilonSetsAndWorstWelfare) {
  Options o;
  const struct {
    double ic;
    std::int64_t count;
    double w_eps;
  } rows[] = {{1.0, 2, 4.0}, {0.75, 4, 3.0}, {0.5, 5, 2.0}, {0.25, 5, 2.0}, {0.0, 9, 0.0}};
  for (const auto& row : rows) {
    o.ic = {row.ic};
    const Results r = run("common-3x3", o);
    EXPECT_EQ(r.eps_ne_count[0], row.count) << "IC " << row.ic;
    EXPECT_NEAR(r.worst_eps_ne_agents_welfare[0], row.w_eps, kTol) << "IC " << row.ic;
    EXPECT_NEAR(r.worst_ne_agents_welfare[0], 4.0, kTol);
    EXPECT_NEAR(r.welfare_agents_max[0], 10.0, kTol);
  }
  // Pointwise IC (1, 0.75) at (0,1) and (0.75, 1) at (1,0): per-player levels separate them.
  o.ic = {1.0, 0.75};
  EXPECT_EQ(run("common-3x3", o).eps_ne_count[0], 3);
  o.ic = {0.76};
  EXPECT_EQ(run("common-3x3", o).eps_ne_count[0], 2);
}

TEST(GoldenD, PlayedSetsOfTheCode) {
  // Each row: IC, CC, the agents' regret of uniform play on P (w* = 10), fallback or not.
  const struct {
    double ic, cc, regret;
    bool fallback;
  } rows[] = {
      {1, 0, 10 - 7.0, false},         // {(0,0), (2,2)}
      {1, 0.5, 0.0, false},            // {(2,2)}
      {1, 1, 0.0, false},              // {(2,2)}
      {0.5, 0, 10 - 3.0, false},       // {(0,0), (0,1), (1,0), (1,1)}
      {0.5, 0.5, 10 - 4.0, true},      // empty → closest to 6.5: (0,0)
      {0.5, 1, 0.0, true},             // empty → closest to 8: (2,2)
      {0, 0, 10 - 14.0 / 8, false},    // all but (2,2): the optimum is excluded
      {0, 0.5, 10 - 10.0 / 3, false},  // {(0,0), (0,1), (1,0)}
      {0, 1, 10 - 4.0, true},          // empty → closest to 6: (0,0)
  };
  for (const auto& row : rows) {
    Options o;
    o.ic = {row.ic};
    o.cc = row.cc;
    o.strategy.kind = StrategyKind::played;
    const Results r = run("common-3x3", o);
    EXPECT_NEAR(r.agents_welfare_regret[0], row.regret, kTol) << "IC " << row.ic << " CC " << row.cc;
    EXPECT_EQ((r.flags[0] & flag_played_fallback) != 0, row.fallback) << "IC " << row.ic << " CC " << row.cc;
  }
}

TEST(GoldenE, MaxCaNegativeEpicZero) {
  const Results max = run("max-ca-negative");  // the example's own options: MAX
  EXPECT_NEAR(max.ca_agents[0], -1.0 / 3.0, kTol);
  EXPECT_TRUE(max.flags[0] & flag_ca_out_of_range);
  Options epic;
  const Results e = run("max-ca-negative", epic);
  EXPECT_NEAR(e.ca_agents[0], 0.0, kTol);
  EXPECT_FALSE(e.flags[0] & flag_ca_out_of_range);
}

TEST(GoldenEdge, IaAffineOppositeAndConstant) {
  const std::vector<double> u = {2, 1, 1, 10}, other = {3, 1, 4, 1};
  auto ia_of = [&](const std::vector<double>& agent) {
    Batch b(Dims({2, 2}), 1);
    for (int s = 0; s < 4; ++s) {
      b.principals[s] = u[s];
      b.principals[4 + s] = other[s];
      b.agents[s] = agent[s];
      b.agents[4 + s] = other[s];
    }
    return evaluate(b.view()).ia[0];
  };
  std::vector<double> affine(4), neg(4), constant(4, 3.25);
  for (int s = 0; s < 4; ++s) affine[s] = 5 * u[s] + 7, neg[s] = -u[s];
  EXPECT_NEAR(ia_of(affine), 1.0, kTol);
  EXPECT_NEAR(ia_of(neg), 0.0, kTol);
  EXPECT_NEAR(ia_of(constant), 0.5, kTol);
}

}  // namespace
}  // namespace dgeval
