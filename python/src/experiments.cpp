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
#include "dgeval/detail/surface_bins.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/error.hpp"
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
  auto stat = [&](const char* suffix, double dgeval::Stats::*field) {
    c.of((n + suffix).c_str(), points, [&](const dgeval::GridScanPoint& p) { return (p.*member).*field; });
  };
  stat("_mean", &dgeval::Stats::mean);
  stat("_ci_low", &dgeval::Stats::ci_low);
  stat("_ci_high", &dgeval::Stats::ci_high);
  stat("_q05", &dgeval::Stats::q05);
  stat("_q95", &dgeval::Stats::q95);
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
  using P = dgeval::GridScanPoint;
  d.of("dims", pts, [](const P& p) { return p.dims.to_string(); });
  d.of("variable", pts, [](const P& p) { return std::string(dgeval::to_string(p.variable)); });
  d.of("others", pts, &P::others);
  d.of("value", pts, &P::value);
  d.of("ia_target", pts, &P::ia_target);
  d.of("ca_target", pts, &P::ca_target);
  d.of("ic", pts, &P::ic);
  d.of("cc", pts, &P::cc);
  d.of("games", pts, &P::games);
  d.of("evaluated", pts, &P::evaluated);
  d.of("measure_actual", pts, &P::measure_actual);
  d.of("ia_error_max", pts, &P::ia_error_max);
  d.of("ca_error_max", pts, &P::ca_error_max);
  stats_columns(d, "w_hat_max", pts, &dgeval::GridScanPoint::w_hat_max);
  stats_columns(d, "w_hat_min", pts, &dgeval::GridScanPoint::w_hat_min);
  stats_columns(d, "w_hat_avg", pts, &dgeval::GridScanPoint::w_hat_avg);
  stats_columns(d, "bound_1", pts, &dgeval::GridScanPoint::bound_1);
  stats_columns(d, "bound_2", pts, &dgeval::GridScanPoint::bound_2);
  stats_columns(d, "bound_r2", pts, &dgeval::GridScanPoint::bound_r2);
  d.of("r2_fail", pts, &P::r2_fail);
  d.of("r5_fail", pts, &P::r5_fail);
  d.of("r3_fail", pts, &P::r3_fail);
  d.of("fallback", pts, &P::fallback);
  d.of("r3_fail_fallback", pts, &P::r3_fail_fallback);
  d.of("eps_tol_raised", pts, &P::eps_tol_raised);
  d.of("ic_effective_min", pts, &P::ic_effective_min);
  d.of("attempts_mean", pts, &P::attempts_mean);
  d.of("magnitudes_adjusted", pts, &P::magnitudes_adjusted);
  return d.d;
}

/// A bound-surface run's configuration, from the Python arguments.
dgeval::BoundSurfaceConfig surface_config(std::int64_t games, int players, std::int64_t outcomes,
                                          std::vector<double> calibration, const std::string& standardisation,
                                          const std::string& welfare, const std::string& distribution, int bins_x,
                                          int bins_y, std::uint64_t seed, std::int64_t keep_points, int threads,
                                          const std::string& backend, int device, std::int64_t chunk) {
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
  return c;
}

/// The kept points as the columns of write_surface_points_csv.
nb::dict points_columns(const std::vector<dgeval::SurfacePoint>& p) {
  ColumnDict points;
  using Pt = dgeval::SurfacePoint;
  points.of("agents_welfare_regret", p, &Pt::wr);
  points.of("total_misalignment", p, &Pt::tm);
  points.of("principals_welfare_regret", p, &Pt::pwr);
  points.of("bound", p, &Pt::bound);
  return points.d;
}

/// A run's result: (bins as the columns of write_bound_surface_csv, kept points as those of
/// write_surface_points_csv, the summary).
nb::tuple surface_tuple(const dgeval::BoundSurfaceResult& r) {
  ColumnDict bins;
  using B = dgeval::SurfaceBin;
  bins.of("ix", r.bins, &B::ix);
  bins.of("iy", r.bins, &B::iy);
  bins.of("wr_low", r.bins, &B::wr_low);
  bins.of("wr_high", r.bins, &B::wr_high);
  bins.of("tm_low", r.bins, &B::tm_low);
  bins.of("tm_high", r.bins, &B::tm_high);
  bins.of("count", r.bins, &B::count);
  bins.of("pwr_mean", r.bins, &B::pwr_mean);
  bins.of("pwr_max", r.bins, &B::pwr_max);
  bins.of("bound_centre", r.bins, &B::bound_centre);
  bins.of("bound_upper", r.bins, &B::bound_upper);
  bins.of("above_simple", r.bins, &B::above_simple);
  bins.of("above_bound", r.bins, &B::above_bound);
  nb::dict summary;
  summary["games"] = r.games;
  summary["above_simple"] = r.above_simple;
  summary["above_bound"] = r.above_bound;
  summary["bin_bound_exceeded"] = r.bin_bound_exceeded;
  summary["wr_max"] = r.wr_max;
  summary["tm_max"] = r.tm_max;
  return nb::make_tuple(bins.d, points_columns(r.points), summary);
}

#define DGEVAL_SURFACE_PARAMETERS                                                                                    \
  std::int64_t games, int players, std::int64_t outcomes, std::vector<double> calibration,                           \
      const std::string &standardisation, const std::string &welfare, const std::string &distribution, int bins_x,   \
      int bins_y, std::uint64_t seed, std::int64_t keep_points, int threads, const std::string &backend, int device, \
      std::int64_t chunk
#define DGEVAL_SURFACE_CONFIG                                                                                      \
  surface_config(games, players, outcomes, std::move(calibration), standardisation, welfare, distribution, bins_x, \
                 bins_y, seed, keep_points, threads, backend, device, chunk)

/// dgeval.bound_surface: surface_tuple of run_bound_surface.
nb::tuple bound_surface(DGEVAL_SURFACE_PARAMETERS, nb::object progress) {
  const dgeval::BoundSurfaceConfig c = DGEVAL_SURFACE_CONFIG;
  Interruptible stop(std::move(progress), "bound surface");
  dgeval::BoundSurfaceResult r;
  stop.run([&] {
    r = dgeval::run_bound_surface(c, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  return surface_tuple(r);
}

/// dgeval.bound_surface(shard=(index, count)): run_bound_surface_shard as (first_game, games,
/// accumulators [surface_fields, bins] uint64, kept points' columns).
nb::tuple bound_surface_shard(DGEVAL_SURFACE_PARAMETERS, int index, int count, nb::object progress) {
  const dgeval::BoundSurfaceConfig c = DGEVAL_SURFACE_CONFIG;
  Interruptible stop(std::move(progress), "bound surface");
  dgeval::BoundSurfaceShard shard;
  stop.run([&] {
    shard = dgeval::run_bound_surface_shard(
        c, index, count, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  const std::size_t fields = dgeval::detail::surface_fields;
  const std::size_t bins = shard.accumulators.size() / fields;
  return nb::make_tuple(shard.first_game, shard.games, to_numpy(std::move(shard.accumulators), {fields, bins}),
                        points_columns(shard.points));
}

/// dgeval.merge_bound_surface: surface_tuple of merge_bound_surface, the shards given as
/// (index, count, first_game, games, accumulators, wr, tm, pwr, bound).
nb::tuple bound_surface_merge(DGEVAL_SURFACE_PARAMETERS, const nb::list& parts) {
  const dgeval::BoundSurfaceConfig c = DGEVAL_SURFACE_CONFIG;
  using U64Array = nb::ndarray<const std::uint64_t, nb::c_contig, nb::device::cpu>;
  std::vector<dgeval::BoundSurfaceShard> shards;
  for (nb::handle h : parts) {
    const nb::tuple t = nb::cast<nb::tuple>(h);
    dgeval::BoundSurfaceShard s;
    s.index = nb::cast<int>(t[0]);
    s.count = nb::cast<int>(t[1]);
    s.first_game = nb::cast<std::int64_t>(t[2]);
    s.games = nb::cast<std::int64_t>(t[3]);
    const U64Array acc = nb::cast<U64Array>(t[4]);
    s.accumulators.assign(acc.data(), acc.data() + acc.size());
    const RealArray wr = nb::cast<RealArray>(t[5]), tm = nb::cast<RealArray>(t[6]), pwr = nb::cast<RealArray>(t[7]),
                    bound = nb::cast<RealArray>(t[8]);
    if (tm.size() != wr.size() || pwr.size() != wr.size() || bound.size() != wr.size()) {
      throw dgeval::error("bound surface: shard " + std::to_string(s.index) + " of " + std::to_string(s.count) +
                          ": its points' columns differ in length");
    }
    for (std::size_t k = 0; k < wr.size(); ++k) {
      s.points.push_back({wr.data()[k], tm.data()[k], pwr.data()[k], bound.data()[k]});
    }
    shards.push_back(std::move(s));
  }
  return surface_tuple(dgeval::merge_bound_surface(c, shards));
}

#undef DGEVAL_SURFACE_CONFIG
#undef DGEVAL_SURFACE_PARAMETERS

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
    using R = dgeval::InferenceCurveRow;
    auto dims = [&](const auto& r) -> const dgeval::Dims& { return c.sizes[static_cast<std::size_t>(r.size)]; };
    curves.of("size", rows, [&](const R& r) { return dims(r).to_string(); });
    curves.of("outcomes", rows, [&](const R& r) { return dims(r).outcomes(); });
    curves.of("distribution", rows, [](const R& r) { return std::string(dgeval::to_string(r.distribution)); });
    curves.of("estimator", rows, [](const R& r) { return std::string(r.corrected ? "corrected" : "authors"); });
    curves.of("measure", rows, [](const R& r) { return std::string(dgeval::to_string(r.measure)); });
    curves.of("samples", rows, &R::samples);
    curves.of("games", rows, &R::defined);
    curves.of("undefined", rows, &R::undefined);
    curves.of("mean", rows, &R::mean);
    curves.of("sd", rows, &R::sd);
    curves.of("mean_lo", rows, &R::mean_lo);
    curves.of("mean_hi", rows, &R::mean_hi);
    curves.of("q05", rows, &R::q05);
    curves.of("q50", rows, &R::q50);
    curves.of("q95", rows, &R::q95);
  }
  nb::object per_game_out = nb::none();
  if (per_game) {
    ColumnDict g;
    using E = dgeval::InferenceErrorRow;
    auto dims = [&](const E& r) -> const dgeval::Dims& { return c.sizes[static_cast<std::size_t>(r.size)]; };
    g.of("size", rows_per_game, [&](const E& r) { return dims(r).to_string(); });
    g.of("outcomes", rows_per_game, [&](const E& r) { return dims(r).outcomes(); });
    g.of("game", rows_per_game, &E::game);
    g.of("distribution", rows_per_game, [](const E& r) { return std::string(dgeval::to_string(r.distribution)); });
    g.of("estimator", rows_per_game, [](const E& r) { return std::string(r.corrected ? "corrected" : "authors"); });
    g.of("samples", rows_per_game, &E::samples);
    for (int m = 0; m < dgeval::kInferenceMeasures; ++m) {
      const std::string name = std::string(dgeval::to_string(static_cast<dgeval::InferenceMeasure>(m))) + "_error";
      g.of(name.c_str(), rows_per_game, [m](const E& r) { return r.error[m]; });
    }
    rows_per_game.clear();
    rows_per_game.shrink_to_fit();
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
  m.def("bound_surface_shard", &bound_surface_shard, "games"_a, "players"_a, "outcomes"_a, "calibration"_a,
        "standardisation"_a, "welfare"_a, "distribution"_a, "bins_x"_a, "bins_y"_a, "seed"_a, "keep_points"_a,
        "threads"_a, "backend"_a, "device"_a, "chunk"_a, "index"_a, "count"_a, "progress"_a.none());
  m.def("bound_surface_merge", &bound_surface_merge, "games"_a, "players"_a, "outcomes"_a, "calibration"_a,
        "standardisation"_a, "welfare"_a, "distribution"_a, "bins_x"_a, "bins_y"_a, "seed"_a, "keep_points"_a,
        "threads"_a, "backend"_a, "device"_a, "chunk"_a, "parts"_a);
  m.def("inference_experiment", &inference_experiment, "sizes"_a, "games"_a, "samples"_a, "every"_a, "seed"_a,
        "threads"_a, "per_game"_a, "backend"_a, "device"_a, "progress"_a.none());
}

}  // namespace dgeval_python
