// The experiments at a tiny scale: the grid scan's rows hit their targets and no theorem bound
// fails; the authors' protocol runs; the bound surface's bins respect the R2 surface, and the
// simple bound fails only for miscalibrated games; the CLI writes the CSVs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "dgeval/experiments.hpp"
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
    if (p.variable == Measure::ia) EXPECT_NEAR(p.measure_actual, p.value, 1e-9);
    if (p.variable == Measure::ca) EXPECT_NEAR(p.measure_actual, p.value, 1e-9);
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
  GridScanConfig c;
  c.sizes = {Dims({2, 2})};
  c.variables = {Measure::ca};
  c.others = {1.0};
  c.increments = 2;
  c.games_per_point = 300;
  c.generator.pure_ne = PureNe::authors;
  c.threads = 2;
  const auto points = run_grid_scan(c);
  std::int64_t raised = 0;
  for (const GridScanPoint& p : points) {
    raised += p.eps_tol_raised;
    EXPECT_LE(p.ic_effective_min, p.ic);
    if (p.eps_tol_raised > 0) EXPECT_LT(p.ic_effective_min, 1.0);
    EXPECT_EQ(p.r2_fail, 0);
  }
  // With CA 0 principals and IA 1, 2x2 agents are zero-sum: many lack a pure NE.
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
      if (b.count) EXPECT_LE(b.pwr_max, b.bound_upper + 1e-9);
    }
    EXPECT_EQ(total, 4000);
    if (ratios.size() == 1) EXPECT_EQ(r.above_simple, 0);  // calibrated: R = 1 needs no calibration term
    for (const SurfacePoint& p : r.points) EXPECT_LE(p.pwr, p.bound + 1e-9);
  }
}

TEST(Experiments, ThroughputMeasuresEverySize) {
  const auto rows = measure_throughput({Dims({3, 3}), Dims({2, 3, 2})}, 200, 1);
  ASSERT_EQ(rows.size(), 4u);
  for (const ThroughputRow& r : rows) EXPECT_GT(r.games_per_second(), 0.0);
}

#ifdef DGEVAL_CLI_PATH
std::string cli() { return DGEVAL_CLI_PATH; }

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExperimentsCli, GenerateWithTargetsThenEvaluate) {
  if (cli().empty()) GTEST_SKIP() << "CLI not built";
  const std::string dir = ::testing::TempDir();
  const std::string games = dir + "/dgeval_gen_targets.npz", out = dir + "/dgeval_gen_targets.csv";
  const std::string cmd = cli() + " generate --dims 5x5x4 --games 50 --ia 0.3 --ca-principals 0.6 --seed 7 --quiet" +
                          " --output " + games + " && " + cli() + " evaluate --input " + games +
                          " --format csv --output " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::istringstream csv(slurp(out));
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
      if (names[k].rfind("ia_", 0) == 0) EXPECT_NEAR(std::stod(cell), 0.3, 1e-9) << names[k];
      if (names[k] == "ca_principals") EXPECT_NEAR(std::stod(cell), 0.6, 1e-9);
    }
    ++rows;
  }
  EXPECT_EQ(rows, 50);
  std::remove(games.c_str());
  std::remove(out.c_str());
}

TEST(ExperimentsCli, GridScanAndBoundSurfaceWriteCsv) {
  if (cli().empty()) GTEST_SKIP() << "CLI not built";
  const std::string dir = ::testing::TempDir();
  const std::string grid = dir + "/dgeval_grid.csv", surface = dir + "/dgeval_surface.csv";
  const std::string cmd = cli() + " experiment grid-scan --games-per-point 20 --increments 2 --threads 2 -q -o " +
                          grid + " && " + cli() + " experiment bound-surface --games 2000 --bins 5x5 -q -o " + surface;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string g = slurp(grid), s = slurp(surface);
  EXPECT_EQ(g.rfind("dims,variable,others,value", 0), 0u);
  EXPECT_EQ(std::count(g.begin(), g.end(), '\n'), 1 + 4 * 3);
  EXPECT_EQ(s.rfind("ix,iy,", 0), 0u);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1 + 25);
  std::remove(grid.c_str());
  std::remove(surface.c_str());
}
#endif

}  // namespace
}  // namespace dgeval
