// dgeval._core: the paper's experiments (dgeval/experiments.hpp, dgeval/inference.hpp's
// run_inference_experiment; `dgeval experiment ...`), returned as the columns of the CLI's CSVs.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/inference.hpp"
#include "interrupt.hpp"

namespace dgeval_python {
namespace {

using namespace nb::literals;

std::vector<dgeval::Dims> to_sizes(const std::vector<std::vector<std::int64_t>>& sizes) {
  std::vector<dgeval::Dims> out;
  for (const auto& a : sizes) out.emplace_back(a);
  return out;
}

void stats_columns(ColumnDict& c, const char* name, const std::vector<dgeval::GridScanPoint>& points,
                   dgeval::Stats dgeval::GridScanPoint::*member) {
  const std::string n = name;
  std::vector<double> mean, lo, hi, q05, q95;
  for (const auto& p : points) {
    const dgeval::Stats& s = p.*member;
    mean.push_back(s.mean), lo.push_back(s.ci_low), hi.push_back(s.ci_high), q05.push_back(s.q05), q95.push_back(s.q95);
  }
  c.num((n + "_mean").c_str(), std::move(mean));
  c.num((n + "_ci_low").c_str(), std::move(lo));
  c.num((n + "_ci_high").c_str(), std::move(hi));
  c.num((n + "_q05").c_str(), std::move(q05));
  c.num((n + "_q95").c_str(), std::move(q95));
}

/// dgeval.grid_scan: run_grid_scan, as the columns of write_grid_scan_csv.
nb::dict grid_scan(std::vector<std::vector<std::int64_t>> sizes, std::vector<std::string> variables,
                   std::vector<double> others, int increments, std::int64_t games_per_point, std::uint64_t seed,
                   const std::string& distribution, const std::string& pure_ne, const std::string& welfare,
                   const std::string& cc_window, int threads, const std::string& backend, int device,
                   nb::object progress) {
  dgeval::GridScanConfig c;
  c.sizes = to_sizes(sizes);
  c.variables.clear();
  for (const std::string& v : variables) c.variables.push_back(dgeval::parse_measure(v));
  c.others = std::move(others);
  c.increments = increments;
  c.games_per_point = games_per_point;
  c.seed = seed;
  c.generator.distribution = dgeval::parse_distribution(distribution);
  c.generator.pure_ne = dgeval::parse_pure_ne(pure_ne);
  c.options.welfare = dgeval::parse_welfare(welfare);
  c.options.cc_window = dgeval::parse_cc_window(cc_window);
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  Interruptible stop(std::move(progress), "grid scan");
  std::vector<dgeval::GridScanPoint> pts;
  stop.run([&] {
    pts = dgeval::run_grid_scan(c, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  ColumnDict d;
  std::vector<std::string> dims_col, variable;
  for (const auto& p : pts) dims_col.push_back(p.dims.to_string()), variable.push_back(dgeval::to_string(p.variable));
  auto real = [&](const char* name, double dgeval::GridScanPoint::*m) {
    std::vector<double> v;
    for (const auto& p : pts) v.push_back(p.*m);
    d.num(name, std::move(v));
  };
  auto integer = [&](const char* name, std::int64_t dgeval::GridScanPoint::*m) {
    std::vector<std::int64_t> v;
    for (const auto& p : pts) v.push_back(p.*m);
    d.num(name, std::move(v));
  };
  d.text("dims", dims_col);
  d.text("variable", variable);
  real("others", &dgeval::GridScanPoint::others);
  real("value", &dgeval::GridScanPoint::value);
  real("ia_target", &dgeval::GridScanPoint::ia_target);
  real("ca_target", &dgeval::GridScanPoint::ca_target);
  real("ic", &dgeval::GridScanPoint::ic);
  real("cc", &dgeval::GridScanPoint::cc);
  integer("games", &dgeval::GridScanPoint::games);
  integer("evaluated", &dgeval::GridScanPoint::evaluated);
  real("measure_actual", &dgeval::GridScanPoint::measure_actual);
  real("ia_error_max", &dgeval::GridScanPoint::ia_error_max);
  real("ca_error_max", &dgeval::GridScanPoint::ca_error_max);
  stats_columns(d, "w_hat_max", pts, &dgeval::GridScanPoint::w_hat_max);
  stats_columns(d, "w_hat_min", pts, &dgeval::GridScanPoint::w_hat_min);
  stats_columns(d, "w_hat_avg", pts, &dgeval::GridScanPoint::w_hat_avg);
  stats_columns(d, "bound_1", pts, &dgeval::GridScanPoint::bound_1);
  stats_columns(d, "bound_2", pts, &dgeval::GridScanPoint::bound_2);
  stats_columns(d, "bound_r2", pts, &dgeval::GridScanPoint::bound_r2);
  integer("r2_fail", &dgeval::GridScanPoint::r2_fail);
  integer("r5_fail", &dgeval::GridScanPoint::r5_fail);
  integer("r3_fail", &dgeval::GridScanPoint::r3_fail);
  integer("fallback", &dgeval::GridScanPoint::fallback);
  integer("r3_fail_fallback", &dgeval::GridScanPoint::r3_fail_fallback);
  integer("eps_tol_raised", &dgeval::GridScanPoint::eps_tol_raised);
  real("ic_effective_min", &dgeval::GridScanPoint::ic_effective_min);
  real("attempts_mean", &dgeval::GridScanPoint::attempts_mean);
  integer("magnitudes_adjusted", &dgeval::GridScanPoint::magnitudes_adjusted);
  return d.d;
}

/// dgeval.bound_surface: (bins as the columns of write_bound_surface_csv, kept points as those
/// of write_surface_points_csv, summary).
nb::tuple bound_surface(std::int64_t games, int players, std::int64_t outcomes, std::vector<double> calibration,
                        const std::string& standardisation, const std::string& welfare, const std::string& distribution,
                        int bins_x, int bins_y, std::uint64_t seed, std::int64_t keep_points, int threads,
                        const std::string& backend, int device, std::int64_t chunk, nb::object progress) {
  dgeval::BoundSurfaceConfig c;
  c.games = games;
  c.players = players;
  c.outcomes = outcomes;
  c.calibration = std::move(calibration);
  c.standardisation = dgeval::parse_standardisation(standardisation);
  c.welfare = dgeval::parse_welfare(welfare);
  c.distribution = dgeval::parse_distribution(distribution);
  c.bins_x = bins_x;
  c.bins_y = bins_y;
  c.seed = seed;
  c.keep_points = keep_points;
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  c.chunk = chunk;
  Interruptible stop(std::move(progress), "bound surface");
  dgeval::BoundSurfaceResult r;
  stop.run([&] {
    r = dgeval::run_bound_surface(c, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  ColumnDict bins;
  auto bin_int = [&](const char* name, auto member) {
    std::vector<std::int64_t> v;
    for (const auto& b : r.bins) v.push_back(static_cast<std::int64_t>(b.*member));
    bins.num(name, std::move(v));
  };
  auto bin_real = [&](const char* name, double dgeval::SurfaceBin::*member) {
    std::vector<double> v;
    for (const auto& b : r.bins) v.push_back(b.*member);
    bins.num(name, std::move(v));
  };
  bin_int("ix", &dgeval::SurfaceBin::ix);
  bin_int("iy", &dgeval::SurfaceBin::iy);
  bin_real("wr_low", &dgeval::SurfaceBin::wr_low);
  bin_real("wr_high", &dgeval::SurfaceBin::wr_high);
  bin_real("tm_low", &dgeval::SurfaceBin::tm_low);
  bin_real("tm_high", &dgeval::SurfaceBin::tm_high);
  bin_int("count", &dgeval::SurfaceBin::count);
  bin_real("pwr_mean", &dgeval::SurfaceBin::pwr_mean);
  bin_real("pwr_max", &dgeval::SurfaceBin::pwr_max);
  bin_real("bound_centre", &dgeval::SurfaceBin::bound_centre);
  bin_real("bound_upper", &dgeval::SurfaceBin::bound_upper);
  bin_int("above_simple", &dgeval::SurfaceBin::above_simple);
  bin_int("above_bound", &dgeval::SurfaceBin::above_bound);
  ColumnDict points;
  auto point = [&](const char* name, double dgeval::SurfacePoint::*member) {
    std::vector<double> v;
    for (const auto& p : r.points) v.push_back(p.*member);
    points.num(name, std::move(v));
  };
  point("agents_welfare_regret", &dgeval::SurfacePoint::wr);
  point("total_misalignment", &dgeval::SurfacePoint::tm);
  point("principals_welfare_regret", &dgeval::SurfacePoint::pwr);
  point("bound", &dgeval::SurfacePoint::bound);
  nb::dict summary;
  summary["games"] = r.games;
  summary["above_simple"] = r.above_simple;
  summary["above_bound"] = r.above_bound;
  summary["bin_bound_exceeded"] = r.bin_bound_exceeded;
  summary["wr_max"] = r.wr_max;
  summary["tm_max"] = r.tm_max;
  return nb::make_tuple(bins.d, points.d, summary);
}

/// dgeval.inference_experiment: (curves as the columns of write_inference_curves, per-game
/// errors as the columns of the CLI's --per-game CSV, or None).
nb::tuple inference_experiment(std::vector<std::vector<std::int64_t>> sizes, std::int64_t games, std::int64_t samples,
                               std::int64_t every, std::uint64_t seed, int threads, bool per_game,
                               const std::string& backend, int device, nb::object progress) {
  dgeval::InferenceExperimentConfig c;
  c.sizes = to_sizes(sizes);
  if (c.sizes.empty()) {
    c.sizes = {dgeval::Dims({3, 3}), dgeval::Dims({5, 5, 4}), dgeval::Dims({6, 7, 4, 6}),
               dgeval::Dims({7, 3, 8, 5, 12})};
  }
  c.games = games;
  c.samples = samples;
  c.every = every;
  c.seed = seed;
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  std::vector<dgeval::InferenceErrorRow> rows_per_game;
  std::vector<dgeval::InferenceCurveRow> rows;
  Interruptible stop(std::move(progress), "inference experiment");
  stop.run([&] {
    rows = dgeval::run_inference_experiment(
        c,
        per_game ? std::function<void(const dgeval::InferenceErrorRow&)>(
                       [&](const dgeval::InferenceErrorRow& r) { rows_per_game.push_back(r); })
                 : nullptr,
        [&](std::int64_t done, std::int64_t total) { stop.poll_or_throw(done, total); });
  });
  ColumnDict curves;
  {
    std::vector<std::string> size, dist, est, measure;
    std::vector<std::int64_t> outs, smp, defined, undefined;
    std::vector<double> mean, sd, lo, hi, q05, q50, q95;
    for (const auto& r : rows) {
      const dgeval::Dims& d = c.sizes[static_cast<std::size_t>(r.size)];
      size.push_back(d.to_string());
      outs.push_back(d.outcomes());
      dist.push_back(dgeval::to_string(r.distribution));
      est.push_back(r.corrected ? "corrected" : "authors");
      measure.push_back(dgeval::to_string(r.measure));
      smp.push_back(r.samples), defined.push_back(r.defined), undefined.push_back(r.undefined);
      mean.push_back(r.mean), sd.push_back(r.sd), lo.push_back(r.mean_lo), hi.push_back(r.mean_hi);
      q05.push_back(r.q05), q50.push_back(r.q50), q95.push_back(r.q95);
    }
    curves.text("size", size);
    curves.num("outcomes", std::move(outs));
    curves.text("distribution", dist);
    curves.text("estimator", est);
    curves.text("measure", measure);
    curves.num("samples", std::move(smp));
    curves.num("games", std::move(defined));
    curves.num("undefined", std::move(undefined));
    curves.num("mean", std::move(mean));
    curves.num("sd", std::move(sd));
    curves.num("mean_lo", std::move(lo));
    curves.num("mean_hi", std::move(hi));
    curves.num("q05", std::move(q05));
    curves.num("q50", std::move(q50));
    curves.num("q95", std::move(q95));
  }
  nb::object per_game_out = nb::none();
  if (per_game) {
    ColumnDict g;
    std::vector<std::string> size, dist, est;
    std::vector<std::int64_t> outs, game, smp;
    std::vector<std::vector<double>> err(dgeval::kInferenceMeasures);
    for (const auto& r : rows_per_game) {
      const dgeval::Dims& d = c.sizes[static_cast<std::size_t>(r.size)];
      size.push_back(d.to_string());
      outs.push_back(d.outcomes());
      game.push_back(r.game);
      dist.push_back(dgeval::to_string(r.distribution));
      est.push_back(r.corrected ? "corrected" : "authors");
      smp.push_back(r.samples);
      for (int m = 0; m < dgeval::kInferenceMeasures; ++m) err[static_cast<std::size_t>(m)].push_back(r.error[m]);
    }
    rows_per_game.clear();
    rows_per_game.shrink_to_fit();
    g.text("size", size);
    g.num("outcomes", std::move(outs));
    g.num("game", std::move(game));
    g.text("distribution", dist);
    g.text("estimator", est);
    g.num("samples", std::move(smp));
    for (int m = 0; m < dgeval::kInferenceMeasures; ++m) {
      const std::string name = std::string(dgeval::to_string(static_cast<dgeval::InferenceMeasure>(m))) + "_error";
      g.num(name.c_str(), std::move(err[static_cast<std::size_t>(m)]));
    }
    per_game_out = g.d;
  }
  return nb::make_tuple(curves.d, per_game_out);
}

}  // namespace

void bind_experiments(nb::module_& m) {
  m.def("grid_scan", &grid_scan, "sizes"_a, "variables"_a, "others"_a, "increments"_a, "games_per_point"_a, "seed"_a,
        "distribution"_a, "pure_ne"_a, "welfare"_a, "cc_window"_a, "threads"_a, "backend"_a, "device"_a,
        "progress"_a.none());
  m.def("bound_surface", &bound_surface, "games"_a, "players"_a, "outcomes"_a, "calibration"_a, "standardisation"_a,
        "welfare"_a, "distribution"_a, "bins_x"_a, "bins_y"_a, "seed"_a, "keep_points"_a, "threads"_a, "backend"_a,
        "device"_a, "chunk"_a, "progress"_a.none());
  m.def("inference_experiment", &inference_experiment, "sizes"_a, "games"_a, "samples"_a, "every"_a, "seed"_a,
        "threads"_a, "per_game"_a, "backend"_a, "device"_a, "progress"_a.none());
}

}  // namespace dgeval_python
