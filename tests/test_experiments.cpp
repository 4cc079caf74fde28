// The experiments at a tiny scale: the grid scan's rows hit their targets and no theorem bound
// fails; the authors' protocol runs; the bound surface's bins respect the R2 surface, and the
// simple bound fails only for miscalibrated games; the CLI writes the CSVs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dgeval/experiments.hpp"
#include "test_cli_util.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

TEST(Experiments, GridScanHitsTargetsAndNoTheoremBoundFails) {
  GridScanConfig c;
  c.sizes = {Dims({3, 3}), Dims({2, 3, 4})};
  c.others = {0.75};
  c.increments = 4;
  c.games_per_point = 60;
  c.seed = testing::fresh_seed();
  c.threads = 2;
  c.chunk = 25;  // several chunks per point
  SCOPED_TRACE("seed " + std::to_string(c.seed));
  std::int64_t calls = 0;
  const auto points = run_grid_scan(c, [&](std::int64_t done, std::int64_t total) {
    EXPECT_LE(done, total);
    ++calls;
    return true;
  });
  ASSERT_EQ(points.size(), 2u * 4 * 5);
  EXPECT_GT(calls, 0);
  for (const GridScanPoint& p : points) {
    EXPECT_EQ(p.games, 60);
    EXPECT_EQ(p.evaluated, 60);  // `reject`: every game has a pure NE
    EXPECT_LE(p.ia_error_max, 1e-9);
    EXPECT_LE(p.ca_error_max, 1e-9);
    EXPECT_EQ(p.r2_fail, 0);
    EXPECT_EQ(p.r5_fail, 0);
    EXPECT_EQ(p.r3_fail, 0);
    if (p.variable == Measure::ia) {
      EXPECT_NEAR(p.measure_actual, p.value, 1e-9);
    }
    if (p.variable == Measure::ca) {
      EXPECT_NEAR(p.measure_actual, p.value, 1e-9);
    }
    // Normalised welfare lies in [0, 1] and the bounds sit below what they bound on average.
    EXPECT_GE(p.w_hat_avg.q05, -1e-12);
    EXPECT_LE(p.w_hat_max.q95, 1 + 1e-12);
    EXPECT_LE(p.w_hat_avg.mean, p.w_hat_max.mean + 1e-12);
    EXPECT_LE(p.bound_r2.mean, p.w_hat_avg.mean + 1e-12);
    EXPECT_LE(p.bound_2.mean, p.w_hat_max.mean + 1e-12);
    EXPECT_LE(p.w_hat_avg.ci_low, p.w_hat_avg.mean);
    EXPECT_GE(p.w_hat_avg.ci_high, p.w_hat_avg.mean);
  }
  // A point recomputed alone is identical (game indices depend only on the point).
  GridScanConfig one = c;
  one.sizes = {Dims({3, 3})};
  one.variables = {Measure::ia};
  const auto again = run_grid_scan(one);
  for (std::size_t k = 0; k < again.size(); ++k) {
    EXPECT_EQ(again[k].w_hat_avg.mean, points[k].w_hat_avg.mean);
    EXPECT_EQ(again[k].bound_1.q05, points[k].bound_1.q05);
  }
}

TEST(Experiments, GridScanAuthorsProtocolLowersIc) {
  // raised > 0: at the point CA = 0 (IA 1) the 2x2 agents are zero-sum, and a third of such
  // games lack a pure NE (a saddle point with probability 2!2!/3! = 2/3 for exchangeable
  // payoffs), so a game is accepted with eps_tol > 0, after five failed draws, with probability
  // (1/3)^5 = 1/243 (measured 0.00414 ± 0.00006 over 10^6 games). None of the point's 8000 games
  // raising it has probability (242/243)^8000 = exp(−33) < 1e-14 (below 1e-12 at p = 0.0037).
  GridScanConfig c;
  c.sizes = {Dims({2, 2})};
  c.variables = {Measure::ca};
  c.others = {1.0};
  c.increments = 2;
  c.games_per_point = 8000;
  c.generator.pure_ne = PureNe::authors;
  c.threads = 2;
  c.seed = testing::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(c.seed) + " (DGEVAL_TEST_SEED)");
  const auto points = run_grid_scan(c);
  std::int64_t raised = 0;
  for (const GridScanPoint& p : points) {
    raised += p.eps_tol_raised;
    EXPECT_LE(p.ic_effective_min, p.ic);
    if (p.eps_tol_raised > 0) {
      EXPECT_LT(p.ic_effective_min, 1.0);
    }
    EXPECT_EQ(p.r2_fail, 0);
  }
  EXPECT_GT(raised, 0);
}

TEST(Experiments, BoundSurfaceBinsRespectTheSurface) {
  for (const std::vector<double>& ratios : {std::vector<double>{1.0}, std::vector<double>{2.0, 1.0, 1.0, 0.5}}) {
    BoundSurfaceConfig c;
    c.games = 4000;
    c.chunk = 1500;
    c.calibration = ratios;
    c.bins_x = c.bins_y = 10;
    c.keep_points = 100;
    c.threads = 2;
    const BoundSurfaceResult r = run_bound_surface(c);
    EXPECT_EQ(r.games, 4000);
    EXPECT_EQ(r.above_bound, 0);
    EXPECT_EQ(r.bin_bound_exceeded, 0);
    EXPECT_EQ(r.points.size(), 100u);
    std::int64_t total = 0;
    for (const SurfaceBin& b : r.bins) {
      total += b.count;
      EXPECT_LE(b.bound_centre, b.bound_upper + 1e-12);
      if (b.count) {
        EXPECT_LE(b.pwr_max, b.bound_upper + 1e-9);
      }
    }
    EXPECT_EQ(total, 4000);
    if (ratios.size() == 1) {
      EXPECT_EQ(r.above_simple, 0);  // calibrated: R = 1 needs no calibration term
    }
    for (const SurfacePoint& p : r.points) EXPECT_LE(p.pwr, p.bound + 1e-9);
  }
}

TEST(Experiments, BoundSurfaceBinsDoNotDependOnChunksOrThreads) {
  // The bins accumulate in integers (fixed-point Σ PWR, ordered bits for max PWR), so any
  // chunking and thread count give the same bins bit for bit, and they match the kept points.
  BoundSurfaceConfig c;
  c.games = 3000;
  c.calibration = {2.0, 1.0, 1.0, 0.5};
  c.bins_x = c.bins_y = 7;
  c.keep_points = c.games;
  c.seed = testing::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(c.seed));
  c.chunk = 1000;
  c.threads = 1;
  const BoundSurfaceResult a = run_bound_surface(c);
  c.chunk = 333;
  c.threads = 2;
  const BoundSurfaceResult b = run_bound_surface(c);
  testing::expect_identical_bins(a, b);
  // Against the points, binned here independently in long double.
  ASSERT_EQ(a.points.size(), 3000u);
  std::vector<long double> sum(a.bins.size(), 0.0L);
  std::vector<double> max(a.bins.size(), -INFINITY);
  std::vector<std::int64_t> count(a.bins.size(), 0);
  for (const SurfacePoint& p : a.points) {
    const int ix = std::min(c.bins_x - 1, static_cast<int>(p.wr / a.wr_max * c.bins_x));
    const int iy = std::min(c.bins_y - 1, static_cast<int>(p.tm / a.tm_max * c.bins_y));
    const std::size_t j = static_cast<std::size_t>(ix * c.bins_y + iy);
    sum[j] += p.pwr, max[j] = std::max(max[j], p.pwr), ++count[j];
  }
  const double resolution = 1.0 / detail::surface_binning(c).fixed_scale;
  for (std::size_t j = 0; j < a.bins.size(); ++j) {
    EXPECT_EQ(a.bins[j].count, count[j]) << j;
    if (count[j] == 0) {
      EXPECT_TRUE(std::isnan(a.bins[j].pwr_mean));
      continue;
    }
    // The fixed-point sum is exact to `resolution` per game; the two roundings to double
    // (the sum, then the division by the count) add an ulp or two.
    const double mean = static_cast<double>(sum[j] / count[j]);
    EXPECT_NEAR(a.bins[j].pwr_mean, mean, resolution + 4e-16 * std::fabs(mean)) << j;
    EXPECT_EQ(a.bins[j].pwr_max, max[j]) << j;
  }
}

TEST(Experiments, BoundSurfaceShardsMergeToTheWholeRunBitForBit) {
  // Shards of 1, 2, 3 and 7, each with its own chunks and threads, merged in any order: the same
  // bins and the same kept points, bit for bit, as the run in one piece.
  BoundSurfaceConfig c;
  c.games = 2100;
  c.calibration = {2.0, 1.0, 1.0, 0.5};
  c.bins_x = 6;
  c.bins_y = 5;
  c.keep_points = 1000;  // ends inside the second of two shards, the third of seven
  c.seed = testing::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(c.seed));
  c.backend = "cpu";
  c.chunk = 512;
  const BoundSurfaceResult whole = run_bound_surface(c);
  ASSERT_EQ(whole.points.size(), 1000u);
  std::mt19937_64 rng(c.seed);
  for (int count : {1, 2, 3, 7}) {
    SCOPED_TRACE("shards " + std::to_string(count));
    std::vector<BoundSurfaceShard> shards;
    for (int k = 0; k < count; ++k) {
      BoundSurfaceConfig d = c;
      d.chunk = 97 + 101 * k;
      d.threads = 1 + k % 2;
      shards.push_back(run_bound_surface_shard(d, k, count));
      EXPECT_EQ(shards.back().games, c.games * (k + 1) / count - c.games * k / count);
    }
    std::shuffle(shards.begin(), shards.end(), rng);
    const BoundSurfaceResult merged = merge_bound_surface(c, shards);
    EXPECT_EQ(merged.games, c.games);
    testing::expect_identical_bins(whole, merged);
    EXPECT_EQ(merged.above_simple, whole.above_simple);
    EXPECT_EQ(merged.bin_bound_exceeded, whole.bin_bound_exceeded);
    ASSERT_EQ(merged.points.size(), whole.points.size());
    EXPECT_EQ(std::memcmp(merged.points.data(), whole.points.data(), whole.points.size() * sizeof(SurfacePoint)), 0);
  }
  // What is not one run's shards is refused, naming the shard.
  std::vector<BoundSurfaceShard> three;
  for (int k = 0; k < 3; ++k) three.push_back(run_bound_surface_shard(c, k, 3));
  auto refused = [&](std::vector<BoundSurfaceShard> shards, const BoundSurfaceConfig& config, const std::string& part) {
    dgeval_test::expect_error([&] { merge_bound_surface(config, shards); }, {part});
  };
  refused({three[0], three[2]}, c, "shard 1 of 3 is missing");
  refused({three[0], three[1], three[1], three[2]}, c, "shard 1 of 3: given twice");
  refused({three[0], three[1], run_bound_surface_shard(c, 1, 2)}, c, "shard 1 of 2: not a shard of the 3");
  BoundSurfaceConfig more = c;
  more.games += 1;
  refused(three, more, "shard 2 of 3: not of this run");  // its range grows
  BoundSurfaceConfig other_bins = c;
  other_bins.bins_x += 1;
  refused(three, other_bins, "not of this run");
  refused({}, c, "no shards to merge");
  dgeval_test::expect_error([&] { run_bound_surface_shard(c, 3, 3); }, {"expected 0 <= index < count"});
}

TEST(Experiments, SurfaceIntegerImagesOrderAndRound) {
  const double xs[] = {-INFINITY, -1e300, -2.5, -1e-300, -0.0, 0.0, 4.9e-324, 1e-300, 0.75, 3.0, 1e300, INFINITY};
  for (std::size_t a = 0; a < std::size(xs); ++a) {
    const double back = detail::surface_from_orderable(detail::surface_orderable(xs[a]));
    EXPECT_EQ(std::memcmp(&back, &xs[a], sizeof(double)), 0) << xs[a];
    EXPECT_GT(detail::surface_orderable(xs[a]), 0u);
    for (std::size_t b = a + 1; b < std::size(xs); ++b) {
      EXPECT_LT(detail::surface_orderable(xs[a]), detail::surface_orderable(xs[b])) << xs[a] << " " << xs[b];
    }
  }
  const double scale = 1024.0;
  EXPECT_EQ(static_cast<std::int64_t>(detail::surface_fixed(0.75, scale)), 768);
  EXPECT_EQ(static_cast<std::int64_t>(detail::surface_fixed(-0.75, scale)), -768);
  EXPECT_EQ(static_cast<std::int64_t>(detail::surface_fixed(1.0 / 2048, scale)), 0);  // a tie rounds to even
  EXPECT_EQ(static_cast<std::int64_t>(detail::surface_fixed(3.0 / 2048, scale)), 2);
  // The scale keeps one game, at twice the limit, below 2^62, and is the largest that does.
  for (double limit : {0.5, 1.4142135623730951, 8.0, 64.0, 1e6}) {
    const double s = detail::surface_fixed_scale(limit);
    EXPECT_LT(2.0 * limit * s, std::ldexp(1.0, 62)) << limit;
    EXPECT_TRUE(s == std::ldexp(1.0, 60) || 4.0 * limit * s >= std::ldexp(1.0, 62)) << limit;  // capped at 2^60
  }
  // 128-bit sums from a low word and its carries: any order gives the same two words.
  const std::uint64_t qs[] = {
      detail::surface_fixed(3.5, std::ldexp(1.0, 60)), detail::surface_fixed(-1.25, std::ldexp(1.0, 60)),
      detail::surface_fixed(3.75, std::ldexp(1.0, 60)), detail::surface_fixed(-7.0, std::ldexp(1.0, 60)),
      detail::surface_fixed(3.0, std::ldexp(1.0, 60))};
  auto add_all = [&](const std::vector<int>& order) {
    std::uint64_t low = 0, high = 0;
    for (int k : order) {
      high += detail::surface_high_increment(low, qs[k]);
      low += qs[k];
    }
    return (static_cast<unsigned __int128>(high) << 64) | low;
  };
  const unsigned __int128 forward = add_all({0, 1, 2, 3, 4}), backward = add_all({4, 3, 2, 1, 0});
  EXPECT_TRUE(forward == backward);
  EXPECT_EQ(static_cast<double>(static_cast<__int128>(forward)) / std::ldexp(1.0, 60),
            2.0);  // 3.5 − 1.25 + 3.75 − 7 + 3
}

TEST(Experiments, SurfaceRefusesNonFiniteRegrets) {
  BoundSurfaceConfig c;
  c.games = 10;
  c.chunk = 4;
  const detail::SurfaceBinning binning = detail::surface_binning(c);
  // A producer whose second chunk holds a game with a NaN regret (as a broken evaluation would).
  auto produce = [&](std::int64_t first, std::int64_t count, std::int64_t, detail::SurfaceChunk& chunk) {
    Results r;
    r.resize(count, c.players, false, false);
    for (std::int64_t g = 0; g < count; ++g) {
      r.agents_welfare_regret[g] = 0.1;
      r.principals_welfare_regret[g] = first + g == 5 ? NAN : 0.2;
      r.welfare_principals_utopia[g] = 1.0;
      r.welfare_principals_dystopia[g] = -1.0;
      r.bound_holds[g] = 1.0;
      r.bound[g] = 1.0;
      for (int i = 0; i < c.players; ++i)
        r.magnitude_principals[g * c.players + i] = 1.0, r.ia[g * c.players + i] = 0.9;
    }
    detail::bin_surface_results(binning, r, count, 0, chunk);
  };
  try {
    detail::run_bound_surface(c, {}, produce);
    FAIL() << "expected an error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("game 5 has a non-finite"), std::string::npos) << e.what();
  }
  c.chunk = -1;
  EXPECT_THROW(run_bound_surface(c), error);
  c.chunk = std::int64_t{1} << 31;
  EXPECT_THROW(run_bound_surface(c), error);
}

TEST(Experiments, ThroughputMeasuresEverySize) {
  const auto rows = measure_throughput({Dims({3, 3}), Dims({2, 3, 2})}, 200, 1);
  ASSERT_EQ(rows.size(), 4u);
  for (const ThroughputRow& r : rows) EXPECT_GT(r.games_per_second(), 0.0);
}

TEST(ExperimentsCli, GenerateWithTargetsThenEvaluate) {
  SKIP_WITHOUT_CLI();
  dgeval_test::TempDir d;
  const std::string games = d / "games.npz", out = d / "r.csv";
  auto r =
      dgeval_test::run_cli("generate --dims 5x5x4 --games 50 --ia 0.3 --ca-principals 0.6 --seed 7 --quiet --output " +
                               dgeval_test::q(games),
                           d);
  ASSERT_EQ(r.status, 0) << r.err;
  r = dgeval_test::run_cli(
      "evaluate --input " + dgeval_test::q(games) + " --format csv --output " + dgeval_test::q(out), d);
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream csv(dgeval_test::read_file(out));
  std::string header, line;
  std::getline(csv, header);
  std::vector<std::string> names;
  {
    std::stringstream h(header);
    std::string cell;
    while (std::getline(h, cell, ',')) names.push_back(cell);
  }
  int rows = 0;
  while (std::getline(csv, line)) {
    std::stringstream l(line);
    std::string cell;
    for (std::size_t k = 0; std::getline(l, cell, ','); ++k) {
      if (names[k].rfind("ia_", 0) == 0) {
        EXPECT_NEAR(std::stod(cell), 0.3, 1e-9) << names[k];
      }
      if (names[k] == "ca_principals") {
        EXPECT_NEAR(std::stod(cell), 0.6, 1e-9);
      }
    }
    ++rows;
  }
  EXPECT_EQ(rows, 50);
}

TEST(ExperimentsCli, GridScanAndBoundSurfaceWriteCsv) {
  SKIP_WITHOUT_CLI();
  dgeval_test::TempDir d;
  const std::string grid = d / "grid.csv", surface = d / "surface.csv";
  auto r = dgeval_test::run_cli(
      "experiment grid-scan --games-per-point 20 --increments 2 --threads 2 -q -o " + dgeval_test::q(grid), d);
  ASSERT_EQ(r.status, 0) << r.err;
  r = dgeval_test::run_cli("experiment bound-surface --games 2000 --bins 5x5 -q -o " + dgeval_test::q(surface), d);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string g = dgeval_test::read_file(grid), s = dgeval_test::read_file(surface);
  EXPECT_EQ(g.rfind("dims,variable,others,value", 0), 0u);
  EXPECT_EQ(std::count(g.begin(), g.end(), '\n'), 1 + 4 * 3);
  EXPECT_EQ(s.rfind("ix,iy,", 0), 0u);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1 + 25);
}

// The pieces of an MPI run of the grid scan (docs/SCALING.md), in one process: units produced out
// of order, as three ranks would in rounds of three (each unit's IC state replayed from the round's
// accepted eps_tol values, as the CLI does), and merged in unit order, give the bytes of the plain
// run; so does any --chunk. The configuration (fixed seed) raises eps_tol at CA = 0 and carries
// the lowered IC to the later points of the line, which the test checks so that it proves something.
TEST(Experiments, GridScanUnitsMergedInOrderGiveTheSameBytes) {
  GridScanConfig c;
  c.sizes = {Dims({3, 3, 3})};
  c.variables = {Measure::ia, Measure::ca};
  c.others = {1.0, 0.995};
  c.increments = 2;
  c.games_per_point = 60;
  c.chunk = 25;
  c.seed = 4;
  c.threads = 2;
  c.backend = "cpu";
  for (PureNe ne : {PureNe::reject, PureNe::authors}) {
    c.generator.pure_ne = ne;
    SCOPED_TRACE(ne == PureNe::authors ? "authors" : "reject");
    const std::vector<GridScanPoint> plain = run_grid_scan(c);
    std::ostringstream want;
    write_grid_scan_csv(want, plain);
    GridScanConfig whole = c;
    whole.chunk = 1 << 15;
    std::ostringstream one_unit;
    write_grid_scan_csv(one_unit, run_grid_scan(whole));
    EXPECT_EQ(one_unit.str(), want.str());

    const detail::GridScanProducer producer(c);
    const std::vector<detail::GridUnit>& units = producer.units();
    const std::int64_t U = static_cast<std::int64_t>(units.size()), R = 3;
    ASSERT_EQ(U, 36);
    std::vector<detail::GridChunk> chunks(static_cast<std::size_t>(U));
    std::vector<double> state_before(static_cast<std::size_t>(U), NAN);
    double carried = NAN;
    for (std::int64_t j = 0; j * R < U; ++j) {
      std::vector<detail::GridGames> games(static_cast<std::size_t>(R));
      std::vector<std::vector<double>> raised(static_cast<std::size_t>(R));
      for (std::int64_t k = R - 1; k >= 0; --k) {  // "ranks" in reverse
        if (j * R + k >= U) continue;
        producer.generate(j * R + k, games[static_cast<std::size_t>(k)]);
        raised[static_cast<std::size_t>(k)] = detail::grid_raised(games[static_cast<std::size_t>(k)]);
      }
      double state = carried;
      for (std::int64_t k = 0; k < R && j * R + k < U; ++k) {
        const detail::GridUnit& unit = units[static_cast<std::size_t>(j * R + k)];
        if (unit.reset) state = producer.points()[static_cast<std::size_t>(unit.point)].ic;
        state_before[static_cast<std::size_t>(j * R + k)] = state;
        state = detail::grid_ic_carry(state, raised[static_cast<std::size_t>(k)]);
      }
      carried = state;
      for (std::int64_t k = R - 1; k >= 0; --k) {
        const std::int64_t u = j * R + k;
        if (u >= U) continue;
        producer.evaluate(u, games[static_cast<std::size_t>(k)], state_before[static_cast<std::size_t>(u)],
                          chunks[static_cast<std::size_t>(u)]);
      }
    }
    const std::vector<GridScanPoint> merged =
        detail::run_grid_scan(producer, {}, [&](std::int64_t u, double ic_state, detail::GridChunk& chunk) {
          if (ne == PureNe::authors) {
            const double replayed = state_before[static_cast<std::size_t>(u)];
            EXPECT_EQ(std::memcmp(&replayed, &ic_state, sizeof ic_state), 0) << "unit " << u;
          }
          chunk = chunks[static_cast<std::size_t>(u)];
        });
    std::ostringstream got;
    write_grid_scan_csv(got, merged);
    EXPECT_EQ(got.str(), want.str());
    if (ne == PureNe::authors) {
      int carried_points = 0;
      for (const GridScanPoint& p : plain) carried_points += p.eps_tol_raised == 0 && p.ic_effective_min < p.ic;
      EXPECT_GT(carried_points, 0) << "no IC state carried to a later point: the check would be void";
    }
  }
}

}  // namespace
}  // namespace dgeval
