// Comparison of two evaluations of the same batch, column by column (tests/test_cuda*.cpp), by
// dgeval::compare_results (dgeval/compare.hpp), the CLI's --check rule.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/tolerances.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace testing {

/// 2x2 games for the bound_holds checks (with Options::allow_nonfinite): game 0 the mammoth game
/// (defined, bound_holds 1); games 1 and 4 matching pennies (no pure NE: the default strategy is
/// undefined); game 6 non-finite; the others `fill`'s random games.
inline Batch undefined_strategy_batch(Batch fill) {
  const Batch pennies = make_example("matching-pennies").batch, mammoth = make_example("mammoth").batch;
  const std::size_t per = pennies.agents.size();
  EXPECT_EQ(fill.dims.actions(), pennies.dims.actions());
  EXPECT_GE(fill.games, 7);
  for (std::size_t g : {0, 1, 4}) {
    const Batch& src = g == 0 ? mammoth : pennies;
    std::copy(src.agents.begin(), src.agents.end(), fill.agents.begin() + static_cast<std::ptrdiff_t>(g * per));
    std::copy(src.principals.begin(), src.principals.end(),
              fill.principals.begin() + static_cast<std::ptrdiff_t>(g * per));
  }
  fill.agents[6 * per + 2] = std::nan("");
  return fill;
}

/// bound_holds of undefined_strategy_batch's games: NaN exactly where the strategy is undefined or
/// the game non-finite (games 1, 4 and 6 among them), 1 elsewhere.
inline void expect_undefined_bound_holds(const Results& r, const std::string& what) {
  SCOPED_TRACE(what);
  for (std::int64_t g = 0; g < r.games; ++g) {
    const bool undefined = (r.flags[g] & (flag_strategy_undefined | flag_nonfinite)) != 0;
    if (g == 0) {
      EXPECT_FALSE(undefined);
    }
    if (g == 1 || g == 4 || g == 6) {
      EXPECT_TRUE(undefined) << "game " << g;
    }
    EXPECT_EQ(std::isnan(r.bound_holds[g]), undefined) << "game " << g;
    if (!undefined) {
      EXPECT_EQ(r.bound_holds[g], 1.0) << "game " << g;
    }
  }
}

/// Every column of two evaluations of `games` under `options` (the same selection), by
/// dgeval::compare_results, the rule of the CLI's --check: reals within `relative` of
/// max(|a|, |b|, the game's welfare scale), counts, flags, booleans and equilibrium lists exactly,
/// distances with floor 1. Each value beyond it is a failure.
inline void expect_match(const Results& cpu, const Results& gpu, double relative, const BatchView& games,
                         const Options& options, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(cpu.games, gpu.games);
  ASSERT_EQ(cpu.players, gpu.players);
  ASSERT_EQ(cpu.columns, gpu.columns) << "different column selections";
  ASSERT_EQ(cpu.pure_ne.size(), gpu.pure_ne.size());
  ASSERT_EQ(cpu.distance_matrix.size(), gpu.distance_matrix.size());
  const Comparison c = compare_results(cpu, gpu, games, options, relative);
  for (const Mismatch& m : c.mismatches) {
    ADD_FAILURE() << "column " << m.column << ", game " << m.game << ", entry " << m.entry << ": cpu " << m.reference
                  << ", cuda " << m.other;
  }
  EXPECT_EQ(c.beyond(), static_cast<std::int64_t>(c.mismatches.size())) << "values beyond tolerance in all";
}

/// Generator specs that exercise every branch of detail::generate_game (tests of the device
/// generator against the host's, bit for bit), for games of `players` players.
inline std::vector<std::pair<std::string, GeneratorSpec>> generator_specs(int players) {
  std::vector<std::pair<std::string, GeneratorSpec>> v;
  v.emplace_back("plain normal", GeneratorSpec{});
  GeneratorSpec s;
  s.distribution = Distribution::uniform;
  s.positive = true;
  s.ia = {0.3};
  s.ca_principals = 0.6;
  v.emplace_back("uniform positive ia ca_principals", s);
  s = GeneratorSpec{};
  s.ia.clear();
  s.calibration.clear();
  for (int i = 0; i < players; ++i) {
    s.ia.push_back(0.9 - 0.8 * i / std::max(players - 1, 1));
    s.calibration.push_back(0.5 + 1.5 * i / std::max(players - 1, 1));
  }
  s.ca_agents = 0.25;
  v.emplace_back("ia per player, ca_agents, calibration", s);
  s = GeneratorSpec{};
  s.pure_ne = PureNe::plant;
  s.ia = {0.5};
  v.emplace_back("planted NE", s);
  s = GeneratorSpec{};
  s.pure_ne = PureNe::authors;
  v.emplace_back("authors' NE protocol", s);
  s = GeneratorSpec{};
  s.raw = true;
  v.emplace_back("raw", s);
  return v;
}

/// Expects the generator's reports of two runs to be the same, bit for bit.
inline void expect_same_info(const std::vector<GameInfo>& host, const std::vector<GameInfo>& device,
                             const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(host.size(), device.size());
  for (std::size_t g = 0; g < host.size(); ++g) {
    EXPECT_EQ(host[g].attempts, device[g].attempts) << g;
    EXPECT_EQ(host[g].flags, device[g].flags) << g;
    EXPECT_EQ(std::memcmp(&host[g].eps_tol, &device[g].eps_tol, 8), 0) << g;
    EXPECT_EQ(std::memcmp(&host[g].ca_achieved, &device[g].ca_achieved, 8), 0) << g;
    EXPECT_EQ(std::memcmp(&host[g].ia_error, &device[g].ia_error, 8), 0) << g;
  }
}

/// Expects two batches to hold the same bits.
inline void expect_same_games(const Batch& host, const Batch& device, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(host.games, device.games);
  ASSERT_EQ(host.agents.size(), device.agents.size());
  int failures = 0;
  for (std::size_t j = 0; j < host.agents.size() && failures < 8; ++j) {
    if (std::memcmp(&host.agents[j], &device.agents[j], 8) != 0 ||
        std::memcmp(&host.principals[j], &device.principals[j], 8) != 0) {
      ADD_FAILURE() << "value " << j << ": host " << host.agents[j] << "/" << host.principals[j] << ", device "
                    << device.agents[j] << "/" << device.principals[j];
      ++failures;
    }
  }
}

}  // namespace testing
}  // namespace dgeval
