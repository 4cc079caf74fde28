// The grid scan (docs/MATH.md §7.1), the bound surface (docs/MATH.md §7.3) and the throughput measurement:
// generate chunk by chunk, evaluate with the CPU backend, aggregate into rows.
#include "dgeval/experiments.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include "core/thread_pool.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/detail/experiment_core.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/error.hpp"
#include "dgeval/format.hpp"
#include "experiments/experiments_device.hpp"

namespace dgeval {

Measure parse_measure(const std::string& s) {
  if (s == "ia") return Measure::ia;
  if (s == "ic") return Measure::ic;
  if (s == "ca") return Measure::ca;
  if (s == "cc") return Measure::cc;
  throw error("unknown measure \"" + s + "\"; expected one of: ia, ic, ca, cc");
}

const char* to_string(Measure m) {
  switch (m) {
    case Measure::ic:
      return "ic";
    case Measure::ca:
      return "ca";
    case Measure::cc:
      return "cc";
    case Measure::ia:
    default:
      return "ia";
  }
}

namespace {

/// Mean, 90% CI of the mean and 5%/95% quantiles (linear interpolation, numpy's default).
Stats summarise(std::vector<double>& x) {
  Stats s;
  const std::size_t k = x.size();
  if (k == 0) return s;
  double sum = 0.0;
  for (double v : x) sum += v;
  s.mean = sum / static_cast<double>(k);
  double ss = 0.0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  const double sd = k > 1 ? std::sqrt(ss / static_cast<double>(k - 1)) : 0.0;
  const double half = 1.6448536269514722 * sd / std::sqrt(static_cast<double>(k));
  s.ci_low = s.mean - half;
  s.ci_high = s.mean + half;
  auto quantile = [&](double q) {
    const double pos = q * static_cast<double>(k - 1);
    const std::size_t i = static_cast<std::size_t>(pos);
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(i), x.end());
    const double a = x[i];
    if (i + 1 >= k) return a;
    const double b = *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(i) + 1, x.end());
    return a + (pos - static_cast<double>(i)) * (b - a);
  };
  s.q05 = quantile(0.05);
  s.q95 = quantile(0.95);
  return s;
}

Results run_backend(Backend& backend, const BatchView& view, const Options& options) {
  Results r;
  backend.evaluate(view, options, r);
  return r;
}

/// Evaluates `batch` with per-game IC levels `ic` (few distinct values): one evaluation per level.
Results evaluate_by_ic(const Batch& batch, const Options& base, const std::vector<double>& ic, Backend& backend) {
  std::map<double, std::vector<std::int64_t>> groups;
  for (std::int64_t g = 0; g < batch.games; ++g) groups[ic[static_cast<std::size_t>(g)]].push_back(g);
  if (groups.size() == 1) {
    Options o = base;
    o.ic = {groups.begin()->first};
    return run_backend(backend, batch.view(), o);
  }
  Results all;
  all.resize(batch.games, batch.dims.players(), false, false);
  const std::int64_t per = batch.dims.players() * batch.dims.outcomes();
  for (const auto& [level, games] : groups) {
    Batch sub(batch.dims, static_cast<std::int64_t>(games.size()));
    for (std::size_t j = 0; j < games.size(); ++j) {
      std::copy_n(batch.agents.begin() + games[j] * per, per, sub.agents.begin() + static_cast<std::int64_t>(j) * per);
      std::copy_n(batch.principals.begin() + games[j] * per, per,
                  sub.principals.begin() + static_cast<std::int64_t>(j) * per);
    }
    Options o = base;
    o.ic = {level};
    const Results r = run_backend(backend, sub.view(), o);
    const int n = batch.dims.players();
    for (const ColumnInfo& c : result_columns()) {
      if (stored_as_double(c.kind)) {
        const int w = c.kind == ColumnKind::player_real ? n : 1;
        const double* src = r.real_column(c.name);
        double* dst = all.real_column(c.name);
        for (std::size_t j = 0; j < games.size(); ++j) std::copy_n(src + j * w, w, dst + games[j] * w);
      } else {
        const std::int64_t* src = r.integer_column(c.name);
        std::int64_t* dst = all.integer_column(c.name);
        for (std::size_t j = 0; j < games.size(); ++j) dst[games[j]] = src[j];
      }
    }
  }
  return all;
}

void check_unit(double x, const char* what) {
  if (!(x >= 0.0 && x <= 1.0)) throw error(std::string("grid scan: ") + what + " must lie in [0, 1]");
}

}  // namespace

namespace detail {

double grid_ic_carry(double state, const std::vector<double>& raised) {
  for (double eps : raised) {
    if (eps > 1.0 - state) state = 1.0 - eps;  // persists (docs/MATH.md §7.1)
  }
  return state;
}

std::vector<double> grid_raised(const GridGames& games) {
  std::vector<double> out;
  for (const GameInfo& gi : games.info) {
    if (gi.eps_tol > 0.0) out.push_back(gi.eps_tol);
  }
  return out;
}

struct GridScanProducer::Impl {
  GridScanConfig cfg;
  std::string where;
  bool device = false;
  std::unique_ptr<Backend> backend;
  std::vector<GridUnit> units;
  std::vector<GridScanPoint> points;
};

GridScanProducer::GridScanProducer(const GridScanConfig& cfg) : impl_(std::make_unique<Impl>()) {
  if (cfg.increments < 1) throw error("grid scan: increments must be at least 1");
  if (cfg.games_per_point < 1) throw error("grid scan: games per point must be at least 1");
  if (cfg.chunk < 1) throw error("grid scan: chunk must be at least 1");
  if (cfg.sizes.empty() || cfg.variables.empty() || cfg.others.empty()) {
    throw error("grid scan: no sizes, variables or values for the other measures");
  }
  for (double o : cfg.others) check_unit(o, "the other measures' values");
  const std::int64_t points_total =
      static_cast<std::int64_t>(cfg.sizes.size() * cfg.variables.size() * cfg.others.size()) * (cfg.increments + 1);
  checked_mul(points_total, cfg.games_per_point, "grid scan games");
  Impl& m = *impl_;
  m.cfg = cfg;
  m.where = cfg.backend;
  if (m.where == "auto") m.where = cuda_available() ? "cuda" : "cpu";
  if (m.where != "cpu" && m.where != "cuda") {
    throw error("grid scan: unknown backend \"" + cfg.backend + "\"; expected one of: auto, cpu, cuda");
  }
  m.device = m.where == "cuda";
  m.backend = m.device ? make_cuda_backend(cfg.device) : make_cpu_backend(cfg.threads);
  for (const Dims& dims : cfg.sizes) {
    for (Measure var : cfg.variables) {
      for (double other : cfg.others) {
        for (int v = 0; v <= cfg.increments; ++v) {
          GridScanPoint pt;
          pt.dims = dims;
          pt.variable = var;
          pt.others = other;
          pt.value = static_cast<double>(v) / cfg.increments;
          pt.ia_target = var == Measure::ia ? pt.value : other;
          pt.ca_target = var == Measure::ca ? pt.value : other;
          pt.ic = var == Measure::ic ? pt.value : other;
          pt.cc = var == Measure::cc ? pt.value : other;
          pt.ic_effective_min = pt.ic;
          const std::int64_t point = static_cast<std::int64_t>(m.points.size());
          m.points.push_back(pt);
          for (std::int64_t c0 = 0; c0 < cfg.games_per_point; c0 += cfg.chunk) {
            GridUnit u;
            u.point = point;
            u.first = c0;
            u.count = std::min(cfg.chunk, cfg.games_per_point - c0);
            // The authors' shared x["ic"] starts at each line from `other`, and at each point
            // when IC is the swept measure (docs/MATH.md §7.1).
            u.reset = c0 == 0 && (v == 0 || var == Measure::ic);
            m.units.push_back(u);
          }
        }
      }
    }
  }
}

GridScanProducer::~GridScanProducer() = default;
const GridScanConfig& GridScanProducer::config() const { return impl_->cfg; }
const std::string& GridScanProducer::backend() const { return impl_->where; }
const std::vector<GridUnit>& GridScanProducer::units() const { return impl_->units; }
const std::vector<GridScanPoint>& GridScanProducer::points() const { return impl_->points; }

std::int64_t GridScanProducer::first_game(std::int64_t u) const {
  const GridUnit& unit = impl_->units.at(static_cast<std::size_t>(u));
  return unit.point * impl_->cfg.games_per_point + unit.first;
}

namespace {

GeneratorSpec grid_spec(const GridScanConfig& cfg, const GridScanPoint& pt) {
  GeneratorSpec spec = cfg.generator;
  spec.ia = {pt.ia_target};
  spec.ca_principals = pt.ca_target;
  spec.ca_agents = NAN;
  if (pt.dims.players() == 1) spec.ca_principals = NAN;
  return spec;
}

}  // namespace

void GridScanProducer::generate(std::int64_t u, GridGames& games) const {
  const Impl& m = *impl_;
  const GridUnit& unit = m.units.at(static_cast<std::size_t>(u));
  const GridScanPoint& pt = m.points[static_cast<std::size_t>(unit.point)];
  const GeneratorSpec spec = grid_spec(m.cfg, pt);
  const std::int64_t first = first_game(u);
  games.info.clear();
  games.batch =
      m.device ? cuda::generate_games_on_device(m.cfg.device, pt.dims, spec, unit.count, m.cfg.seed, first, &games.info)
               : generate_games(pt.dims, spec, unit.count, m.cfg.seed, first, m.cfg.threads, &games.info);
}

void GridScanProducer::evaluate(std::int64_t u, const GridGames& games, double ic_state, GridChunk& chunk) const {
  const Impl& m = *impl_;
  const GridUnit& unit = m.units.at(static_cast<std::size_t>(u));
  const GridScanPoint& pt = m.points[static_cast<std::size_t>(unit.point)];
  const bool authors = m.cfg.generator.pure_ne == PureNe::authors;
  const int n = pt.dims.players();
  const Measure var = pt.variable;
  Options opt = m.cfg.options;
  opt.strategy = Strategy{};
  opt.strategy.kind = StrategyKind::played;
  opt.cc = pt.cc;
  const std::int64_t count = unit.count;
  chunk = GridChunk{};
  std::vector<double> ic(static_cast<std::size_t>(count), pt.ic);
  for (std::int64_t g = 0; g < count; ++g) {
    const GameInfo& gi = games.info[static_cast<std::size_t>(g)];
    chunk.attempts += gi.attempts;
    chunk.magnitudes_adjusted += (gi.flags & (info_magnitudes_redrawn | info_magnitudes_shrunk)) != 0;
    if (authors) {
      chunk.eps_tol_raised += gi.eps_tol > 0.0;
      if (gi.eps_tol > 1.0 - ic_state) ic_state = 1.0 - gi.eps_tol;  // persists (docs/MATH.md §7.1)
      ic[static_cast<std::size_t>(g)] = ic_state;
      chunk.ic_min = std::min(chunk.ic_min, ic_state);
    }
  }
  if (authors) chunk.ic_state_out = ic_state;
  const Results r = evaluate_by_ic(games.batch, opt, ic, *m.backend);
  chunk.measure.reserve(static_cast<std::size_t>(count));
  for (std::int64_t g = 0; g < count; ++g) {
    ++chunk.games;
    double ia_mean = 0.0;
    for (int i = 0; i < n; ++i) {
      ia_mean += r.ia[g * n + i];
      chunk.ia_error_max = std::max(chunk.ia_error_max, std::fabs(r.ia[g * n + i] - pt.ia_target));
    }
    ia_mean /= n;
    if (n > 1) chunk.ca_error_max = std::max(chunk.ca_error_max, std::fabs(r.ca_principals[g] - pt.ca_target));
    chunk.measure.push_back(var == Measure::ia ? ia_mean : (var == Measure::ca ? r.ca_principals[g] : pt.value));
    if (r.flags[g] & flag_strategy_undefined) continue;
    ++chunk.evaluated;
    const double up = r.welfare_principals_utopia[g], down = r.welfare_principals_dystopia[g];
    const double tol = detail::bound_tolerance(up, down);
    const double pwr = r.principals_welfare_regret[g];
    const bool fallback = (r.flags[g] & flag_played_fallback) != 0;
    chunk.r2_fail += r.bound_holds[g] == 0.0;  // defined here: 1 or 0
    chunk.r5_fail += r.ideal_gap[g] > r.ideal_gap_bound[g] + tol;
    const bool r3_fails = pwr > r.bound_r3[g] + opt.played_tolerance + tol;
    chunk.fallback += fallback;
    (fallback ? chunk.r3_fail_fallback : chunk.r3_fail) += r3_fails;
    if (!(up > down)) continue;  // constant principals: nothing to normalise
    const double w_star = r.welfare_principals_max[g];
    auto norm = [&](double x) { return (x - down) / (up - down); };
    chunk.q[0].push_back(norm(w_star));
    chunk.q[1].push_back(norm(r.welfare_principals_min[g]));
    chunk.q[2].push_back(norm(w_star - pwr));
    chunk.q[3].push_back(norm(w_star - r.bound_r3[g]));
    chunk.q[4].push_back(norm(up - r.ideal_gap_bound[g]));
    chunk.q[5].push_back(norm(w_star - r.bound[g]));
  }
}

std::vector<GridScanPoint> run_grid_scan(const GridScanProducer& producer, const ExperimentProgress& progress,
                                         const GridChunkFn& produce) {
  const GridScanConfig& cfg = producer.config();
  const std::vector<GridUnit>& units = producer.units();
  std::vector<GridScanPoint> out;
  const std::int64_t games_total = static_cast<std::int64_t>(producer.points().size()) * cfg.games_per_point;
  std::int64_t done = 0;
  double ic_state = NAN;  // `authors`: the IC state between units
  GridScanPoint pt;
  std::vector<double> q[6];
  double measure_sum = 0.0, attempts = 0.0;
  GridChunk chunk;
  for (std::size_t u = 0; u < units.size(); ++u) {
    const GridUnit& unit = units[u];
    if (unit.first == 0) {
      pt = producer.points()[static_cast<std::size_t>(unit.point)];
      for (std::vector<double>& v : q) v.clear();
      measure_sum = 0.0, attempts = 0.0;
    }
    if (unit.reset) ic_state = pt.ic;
    produce(static_cast<std::int64_t>(u), ic_state, chunk);
    if (chunk.games != unit.count || static_cast<std::int64_t>(chunk.measure.size()) != unit.count) {
      throw error("grid scan: unit " + std::to_string(u) + " came back with " + std::to_string(chunk.games) +
                  " games, expected " + std::to_string(unit.count));
    }
    ic_state = chunk.ic_state_out;
    attempts += static_cast<double>(chunk.attempts);  // integers: exact, as game by game
    pt.magnitudes_adjusted += chunk.magnitudes_adjusted;
    pt.eps_tol_raised += chunk.eps_tol_raised;
    pt.ic_effective_min = std::min(pt.ic_effective_min, chunk.ic_min);
    pt.games += chunk.games;
    pt.evaluated += chunk.evaluated;
    pt.r2_fail += chunk.r2_fail;
    pt.r5_fail += chunk.r5_fail;
    pt.r3_fail += chunk.r3_fail;
    pt.fallback += chunk.fallback;
    pt.r3_fail_fallback += chunk.r3_fail_fallback;
    pt.ia_error_max = std::max(pt.ia_error_max, chunk.ia_error_max);
    pt.ca_error_max = std::max(pt.ca_error_max, chunk.ca_error_max);
    for (double x : chunk.measure) measure_sum += x;  // game by game, in game order
    for (int k = 0; k < 6; ++k) q[k].insert(q[k].end(), chunk.q[k].begin(), chunk.q[k].end());
    done += unit.count;
    if (progress && !progress(done, games_total)) throw cancelled();
    if (unit.first + unit.count == cfg.games_per_point) {
      pt.measure_actual = measure_sum / static_cast<double>(pt.games);
      pt.attempts_mean = attempts / static_cast<double>(pt.games);
      pt.w_hat_max = summarise(q[0]);
      pt.w_hat_min = summarise(q[1]);
      pt.w_hat_avg = summarise(q[2]);
      pt.bound_1 = summarise(q[3]);
      pt.bound_2 = summarise(q[4]);
      pt.bound_r2 = summarise(q[5]);
      out.push_back(pt);
    }
  }
  return out;
}

}  // namespace detail

std::vector<GridScanPoint> run_grid_scan(const GridScanConfig& cfg, const ExperimentProgress& progress) {
  const detail::GridScanProducer producer(cfg);
  detail::GridGames games;
  return detail::run_grid_scan(producer, progress, [&](std::int64_t u, double ic_state, detail::GridChunk& chunk) {
    producer.generate(u, games);
    producer.evaluate(u, games, ic_state, chunk);
  });
}

namespace {
std::string num(double x) { return format_double(x); }
}  // namespace

void write_grid_scan_csv(std::ostream& o, const std::vector<GridScanPoint>& points) {
  const char* summaries[] = {"w_hat_max", "w_hat_min", "w_hat_avg", "bound_1", "bound_2", "bound_r2"};
  o << "dims,variable,others,value,ia_target,ca_target,ic,cc,games,evaluated,measure_actual,ia_error_max,"
       "ca_error_max";
  for (const char* s : summaries)
    o << ',' << s << "_mean," << s << "_ci_low," << s << "_ci_high," << s << "_q05," << s << "_q95";
  o << ",r2_fail,r5_fail,r3_fail,fallback,r3_fail_fallback,eps_tol_raised,ic_effective_min,attempts_mean,"
       "magnitudes_adjusted\n";
  for (const GridScanPoint& p : points) {
    o << p.dims.to_string() << ',' << to_string(p.variable) << ',' << num(p.others) << ',' << num(p.value) << ','
      << num(p.ia_target) << ',' << num(p.ca_target) << ',' << num(p.ic) << ',' << num(p.cc) << ',' << p.games << ','
      << p.evaluated << ',' << num(p.measure_actual) << ',' << num(p.ia_error_max) << ',' << num(p.ca_error_max);
    for (const Stats* s : {&p.w_hat_max, &p.w_hat_min, &p.w_hat_avg, &p.bound_1, &p.bound_2, &p.bound_r2}) {
      o << ',' << num(s->mean) << ',' << num(s->ci_low) << ',' << num(s->ci_high) << ',' << num(s->q05) << ','
        << num(s->q95);
    }
    o << ',' << p.r2_fail << ',' << p.r5_fail << ',' << p.r3_fail << ',' << p.fallback << ',' << p.r3_fail_fallback
      << ',' << p.eps_tol_raised << ',' << num(p.ic_effective_min) << ',' << num(p.attempts_mean) << ','
      << p.magnitudes_adjusted << '\n';
  }
}

// ---------------------------------------------------------------------------------------------

namespace {

struct SurfaceSetup {
  Dims dims;
  std::vector<double> ratio, m_agent;
  detail::StandardisationConstants k;
  double f = 1.0;
};

SurfaceSetup surface_setup(const BoundSurfaceConfig& c) {
  if (c.players < 1 || c.players > kMaxPlayers) throw error("bound surface: players must be in [1, 32]");
  if (c.outcomes < 3) throw error("bound surface: at least 3 outcomes");
  if (c.bins_x < 1 || c.bins_y < 1) throw error("bound surface: at least one bin per axis");
  SurfaceSetup s;
  std::vector<std::int64_t> actions(static_cast<std::size_t>(c.players), 1);
  actions[0] = c.outcomes;
  s.dims = Dims(actions);
  if (c.calibration.size() == 1) {
    s.ratio.assign(static_cast<std::size_t>(c.players), c.calibration[0]);
  } else if (static_cast<int>(c.calibration.size()) == c.players) {
    s.ratio = c.calibration;
  } else {
    throw error("bound surface: give 1 or one calibration ratio per player");
  }
  for (double r : s.ratio) {
    if (!(r > 0.0 && std::isfinite(r))) throw error("bound surface: calibration ratios must be positive");
    s.m_agent.push_back(1.0 / r);
  }
  s.k = detail::standardisation_constants(c.standardisation);
  s.f = detail::welfare_factor(c.players, c.welfare);
  return s;
}

}  // namespace

double r2_surface(const BoundSurfaceConfig& c, double wr, double tm) {
  const SurfaceSetup s = surface_setup(c);
  const int n = c.players;
  auto at = [&](double R) {
    double cal = 0.0;
    for (int i = 0; i < n; ++i) cal += s.m_agent[i] * std::fabs(R - s.ratio[i]);
    return R * wr + 2.0 * s.k.z * s.k.K * s.f * tm + s.k.K_m * s.f * cal;
  };
  double best = at(0.0);
  for (double r : s.ratio) best = std::min(best, at(r));
  return std::min(best, s.k.K_m * s.f * n);  // cap with m̂_i = 1
}

namespace {

/// What the bound surface evaluates: the flat game, the options (per-game correlated strategies
/// filled chunk by chunk) and the generator parameters whose IA targets are drawn per game.
struct SurfaceRun {
  SurfaceSetup setup;
  Options options;
  detail::GeneratorParams base;
  double cap = 0.0;  ///< K_m f Σ m̂_i: the largest principals' regret, the strategy's target range
};

SurfaceRun surface_run(const BoundSurfaceConfig& c) {
  SurfaceRun run;
  run.setup = surface_setup(c);
  const int n = c.players;
  GeneratorSpec spec;
  spec.distribution = c.distribution;
  spec.scale = c.standardisation;
  spec.magnitude_min = spec.magnitude_max = 1.0;  // m̂_i = 1
  spec.offset_min = spec.offset_max = 0.0;
  spec.calibration = run.setup.ratio;
  spec.ia = std::vector<double>(static_cast<std::size_t>(n), 1.0);  // replaced per game
  run.base = generator_params(spec, run.setup.dims);
  run.cap = run.setup.k.K_m * run.setup.f * n;
  run.options.standardisation = c.standardisation;
  run.options.welfare = c.welfare;
  run.options.strategy.kind = StrategyKind::correlated;
  run.options.strategy.per_game = true;
  run.options.columns = parse_columns(
      "agents_welfare_regret,principals_welfare_regret,magnitude_principals,ia,welfare_principals_utopia,"
      "welfare_principals_dystopia,bound,bound_holds");
  return run;
}

void check_surface_counts(const BoundSurfaceConfig& c) {
  if (c.games < 1) throw error("bound surface: games must be at least 1");
  if (c.chunk < 1 || c.chunk > detail::kSurfaceMaxChunk) throw error("bound surface: chunk must be in [1, 2^31 - 1]");
}

/// The CPU producer: games generated by the thread pool, evaluated by the CPU backend, binned.
detail::SurfaceChunkFn cpu_surface_producer(const BoundSurfaceConfig& c, const SurfaceRun& run) {
  auto pool = std::make_shared<detail::ThreadPool>(c.threads);
  auto scratch = std::make_shared<std::vector<std::vector<double>>>(static_cast<std::size_t>(pool->size()));
  const detail::SurfaceBinning binning = detail::surface_binning(c);
  return [c, run, pool, scratch, binning](std::int64_t g0, std::int64_t count, std::int64_t points_wanted,
                                          detail::SurfaceChunk& chunk) {
    const int n = c.players;
    const std::int64_t N = c.outcomes;
    const std::size_t scratch_size = static_cast<std::size_t>(detail::generator_scratch_doubles(run.base));
    Batch b(run.setup.dims, count);
    Options opt = run.options;
    opt.strategy.weights.assign(static_cast<std::size_t>(count * N), 0.0);
    const std::int64_t per = n * N;
    pool->parallel_for((count + 255) / 256, [&](std::int64_t t, int worker) {
      std::vector<double>& sc = (*scratch)[static_cast<std::size_t>(worker)];
      if (sc.size() < scratch_size + N) sc.resize(scratch_size + N);
      for (std::int64_t g = t * 256; g < std::min(count, (t + 1) * 256); ++g) {
        const std::uint64_t game = static_cast<std::uint64_t>(g0 + g);
        double* agents = b.agents.data() + g * per;
        double* principals = b.principals.data() + g * per;
        if (detail::surface_game(run.base, c.seed, game, c.welfare, run.cap, agents, principals,
                                 opt.strategy.weights.data() + g * N, sc.data()) != detail::generate_ok) {
          throw error("bound surface: game " + std::to_string(game) + " could not be generated");
        }
      }
    });
    const Results r = evaluate(b.view(), opt, c.threads);
    detail::bin_surface_results(binning, r, count, points_wanted, chunk);
  };
}

/// acc += add, field by field: the counts added, the 128-bit sums added with the low words' carry,
/// the maxima kept (`bins` bins in the detail::SurfaceField layout).
void add_surface_accumulators(std::uint64_t* acc, const std::uint64_t* add, std::size_t bins) {
  using namespace detail;
  for (std::size_t j = 0; j < bins; ++j) {
    for (int f : {surface_count, surface_above_simple, surface_above_bound}) acc[f * bins + j] += add[f * bins + j];
    const std::uint64_t low = acc[surface_sum_low * bins + j] + add[surface_sum_low * bins + j];
    acc[surface_sum_high * bins + j] +=
        add[surface_sum_high * bins + j] + (low < acc[surface_sum_low * bins + j] ? 1u : 0u);
    acc[surface_sum_low * bins + j] = low;
    acc[surface_max * bins + j] = std::max(acc[surface_max * bins + j], add[surface_max * bins + j]);
  }
}

/// The games [first, first + count) of shard `index` of `count` of a run of `games` games.
std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t games, int index, int count) {
  const auto part = [&](int k) {
    return static_cast<std::int64_t>(static_cast<unsigned __int128>(games) * static_cast<unsigned>(k) /
                                     static_cast<unsigned>(count));
  };
  return {part(index), part(index + 1) - part(index)};
}

/// Shard `index` of `count`: its games produced chunk by chunk and their bins' accumulators added
/// up exactly (Σ PWR in 128 bits), its games among the first keep_points kept as points.
BoundSurfaceShard accumulate_surface(const BoundSurfaceConfig& c, int index, int count,
                                     const ExperimentProgress& progress, const detail::SurfaceChunkFn& produce) {
  using namespace detail;
  if (count < 1 || index < 0 || index >= count || count > c.games) {
    throw error("bound surface: shard " + std::to_string(index) + " of " + std::to_string(count) +
                ": expected 0 <= index < count <= games (" + std::to_string(c.games) + ")");
  }
  BoundSurfaceShard shard;
  shard.index = index;
  shard.count = count;
  const auto range = shard_range(c.games, index, count);
  shard.first_game = range.first;
  const std::size_t bins = static_cast<std::size_t>(c.bins_x) * static_cast<std::size_t>(c.bins_y);
  std::vector<std::uint64_t>& acc = shard.accumulators;
  acc.assign(surface_fields * bins, 0);
  SurfaceChunk chunk;
  const std::int64_t end = range.first + range.second;
  for (std::int64_t g0 = range.first; g0 < end; g0 += c.chunk) {
    const std::int64_t n = std::min(c.chunk, end - g0);
    const std::int64_t wanted = std::min(n, std::max<std::int64_t>(0, c.keep_points - g0));
    produce(g0, n, wanted, chunk);
    if (chunk.invalid > 0) {
      throw error("bound surface: game " + std::to_string(g0 + chunk.first_invalid) +
                  " has a non-finite or out-of-range regret (" + std::to_string(chunk.invalid) + " in its chunk)");
    }
    add_surface_accumulators(acc.data(), chunk.bins.data(), bins);
    shard.points.insert(shard.points.end(), chunk.points.begin(),
                        chunk.points.begin() + std::min<std::int64_t>(wanted, chunk.points.size()));
    shard.games += n;
    if (progress && !progress(shard.games, range.second)) throw cancelled();
  }
  return shard;
}

}  // namespace

BoundSurfaceResult run_bound_surface(const BoundSurfaceConfig& config, const ExperimentProgress& progress) {
  BoundSurfaceConfig c = config;
  const detail::SurfaceChunkFn produce = detail::surface_producer(c);
  return detail::run_bound_surface(c, progress, produce);
}

BoundSurfaceShard run_bound_surface_shard(const BoundSurfaceConfig& config, int index, int count,
                                          const ExperimentProgress& progress) {
  BoundSurfaceConfig c = config;
  const detail::SurfaceChunkFn produce = detail::surface_producer(c);
  return accumulate_surface(c, index, count, progress, produce);
}

BoundSurfaceResult merge_bound_surface(const BoundSurfaceConfig& c, const std::vector<BoundSurfaceShard>& shards) {
  using namespace detail;
  if (c.bins_x < 1 || c.bins_y < 1) throw error("bound surface: bins must be at least 1x1");
  const std::size_t bins = static_cast<std::size_t>(c.bins_x) * static_cast<std::size_t>(c.bins_y);
  // Every shard of one count exactly once, each as large as its range: then the games are
  // exactly [0, games), and the points are in game order once the shards are.
  const int count = shards.empty() ? 0 : shards.front().count;
  std::vector<const BoundSurfaceShard*> in_order(static_cast<std::size_t>(std::max(count, 0)), nullptr);
  for (const BoundSurfaceShard& s : shards) {
    const std::string which = "bound surface: shard " + std::to_string(s.index) + " of " + std::to_string(s.count);
    if (s.count != count || s.index < 0 || s.index >= count) {
      throw error(which + ": not a shard of the " + std::to_string(count) + " of the first shard");
    }
    if (in_order[static_cast<std::size_t>(s.index)]) throw error(which + ": given twice");
    const auto range = shard_range(c.games, s.index, s.count);
    if (s.first_game != range.first || s.games != range.second || s.accumulators.size() != surface_fields * bins) {
      throw error(which + ": not of this run (its games or bins differ from the configuration's)");
    }
    in_order[static_cast<std::size_t>(s.index)] = &s;
  }
  for (int k = 0; k < count; ++k) {
    if (!in_order[static_cast<std::size_t>(k)]) {
      throw error("bound surface: shard " + std::to_string(k) + " of " + std::to_string(count) + " is missing");
    }
  }
  if (count == 0) throw error("bound surface: no shards to merge");
  const SurfaceBinning binning = surface_binning(c);
  BoundSurfaceResult res;
  res.wr_max = binning.wr_max;
  res.tm_max = binning.tm_max;
  res.bins.resize(bins);
  for (int ix = 0; ix < c.bins_x; ++ix) {
    for (int iy = 0; iy < c.bins_y; ++iy) {
      SurfaceBin& b = res.bins[static_cast<std::size_t>(ix) * c.bins_y + iy];
      b.ix = ix, b.iy = iy;
      b.wr_low = res.wr_max * ix / c.bins_x, b.wr_high = res.wr_max * (ix + 1) / c.bins_x;
      b.tm_low = res.tm_max * iy / c.bins_y, b.tm_high = res.tm_max * (iy + 1) / c.bins_y;
      b.bound_centre = r2_surface(c, 0.5 * (b.wr_low + b.wr_high), 0.5 * (b.tm_low + b.tm_high));
      b.bound_upper = r2_surface(c, b.wr_high, b.tm_high);
    }
  }
  std::vector<std::uint64_t> acc(surface_fields * bins, 0);
  for (const BoundSurfaceShard* s : in_order) {
    add_surface_accumulators(acc.data(), s->accumulators.data(), bins);
    res.points.insert(res.points.end(), s->points.begin(), s->points.end());
    res.games += s->games;
  }
  if (static_cast<std::int64_t>(res.points.size()) > std::min(c.keep_points, c.games)) {
    throw error("bound surface: the shards hold more points than keep_points");
  }
  for (std::size_t j = 0; j < bins; ++j) {
    SurfaceBin& b = res.bins[j];
    b.count = static_cast<std::int64_t>(acc[surface_count * bins + j]);
    b.above_simple = static_cast<std::int64_t>(acc[surface_above_simple * bins + j]);
    b.above_bound = static_cast<std::int64_t>(acc[surface_above_bound * bins + j]);
    res.above_simple += b.above_simple;
    res.above_bound += b.above_bound;
    if (b.count == 0) continue;
    const unsigned __int128 sum =
        (static_cast<unsigned __int128>(acc[surface_sum_high * bins + j]) << 64) | acc[surface_sum_low * bins + j];
    b.pwr_mean = static_cast<double>(static_cast<__int128>(sum)) / binning.fixed_scale / static_cast<double>(b.count);
    b.pwr_max = surface_from_orderable(acc[surface_max * bins + j]);
    if (b.pwr_max > b.bound_upper + 1e-9 * (1.0 + b.bound_upper)) ++res.bin_bound_exceeded;
  }
  return res;
}

namespace detail {

SurfaceChunkFn surface_producer(BoundSurfaceConfig& c) {
  const SurfaceRun run = surface_run(c);
  const std::string given = c.backend;
  if (c.backend == "auto") c.backend = cuda_available() ? "cuda" : "cpu";
  if (c.chunk == 0) c.chunk = c.backend == "cuda" ? std::int64_t{1} << 21 : std::int64_t{1} << 16;
  check_surface_counts(c);  // before a producer allocates a chunk's buffers
  if (c.backend == "cpu") return cpu_surface_producer(c, run);
  if (c.backend == "cuda") {
    return cuda::make_surface_producer(c.device, run.base, c.seed, c.welfare, run.cap, run.options, c.chunk,
                                       surface_binning(c));
  }
  throw error("bound surface: unknown backend \"" + given + "\"; expected one of: auto, cpu, cuda");
}

Options surface_options(const BoundSurfaceConfig& c) { return surface_run(c).options; }
GeneratorParams surface_generator_params(const BoundSurfaceConfig& c) { return surface_run(c).base; }
double surface_strategy_cap(const BoundSurfaceConfig& c) { return surface_run(c).cap; }

SurfaceBinning surface_binning(const BoundSurfaceConfig& c) {
  const SurfaceSetup s = surface_setup(c);
  SurfaceBinning b;
  b.players = c.players;
  b.bins_x = c.bins_x;
  b.bins_y = c.bins_y;
  double sum_m = 0.0;
  for (double m : s.m_agent) sum_m += m;
  b.wr_max = s.k.K_m * s.f * sum_m;
  b.tm_max = c.players;
  b.simple_factor = 2.0 * s.k.z * s.k.K * s.f;
  b.pwr_limit = s.k.K_m * s.f * c.players;  // m̂_i = 1
  b.fixed_scale = surface_fixed_scale(b.pwr_limit);
  return b;
}

void bin_surface_results(const SurfaceBinning& binning, const Results& r, std::int64_t count,
                         std::int64_t points_wanted, SurfaceChunk& chunk) {
  const int n = binning.players;
  const std::size_t bins = static_cast<std::size_t>(binning.bins_x) * static_cast<std::size_t>(binning.bins_y);
  chunk.bins.assign(surface_fields * bins, 0);
  chunk.points.clear();
  chunk.invalid = 0;
  chunk.first_invalid = -1;
  std::uint64_t* acc = chunk.bins.data();
  for (std::int64_t g = 0; g < count; ++g) {
    const double wr = r.agents_welfare_regret[g], pwr = r.principals_welfare_regret[g];
    const SurfaceRecord rec =
        surface_record(binning, wr, pwr, r.magnitude_principals.data() + g * n, r.ia.data() + g * n,
                       r.welfare_principals_utopia[g], r.welfare_principals_dystopia[g], r.bound_holds[g]);
    if (g < points_wanted) chunk.points.push_back({wr, rec.tm, pwr, r.bound[g]});
    if (!rec.valid) {
      if (chunk.invalid++ == 0) chunk.first_invalid = g;
      continue;
    }
    const std::size_t j = static_cast<std::size_t>(rec.bin);
    acc[surface_count * bins + j] += 1;
    const std::uint64_t q = surface_fixed(pwr, binning.fixed_scale);
    acc[surface_sum_high * bins + j] += surface_high_increment(acc[surface_sum_low * bins + j], q);
    acc[surface_sum_low * bins + j] += q;
    acc[surface_max * bins + j] = std::max(acc[surface_max * bins + j], surface_orderable(pwr));
    acc[surface_above_simple * bins + j] += rec.above_simple;
    acc[surface_above_bound * bins + j] += rec.above_bound;
  }
}

BoundSurfaceResult run_bound_surface(const BoundSurfaceConfig& c, const ExperimentProgress& progress,
                                     const SurfaceChunkFn& produce) {
  check_surface_counts(c);
  return merge_bound_surface(c, {accumulate_surface(c, 0, 1, progress, produce)});
}

}  // namespace detail

void write_bound_surface_csv(std::ostream& o, const BoundSurfaceResult& r) {
  o << "ix,iy,wr_low,wr_high,tm_low,tm_high,count,pwr_mean,pwr_max,bound_centre,bound_upper,above_simple,above_bound\n";
  for (const SurfaceBin& b : r.bins) {
    o << b.ix << ',' << b.iy << ',' << num(b.wr_low) << ',' << num(b.wr_high) << ',' << num(b.tm_low) << ','
      << num(b.tm_high) << ',' << b.count << ',' << num(b.pwr_mean) << ',' << num(b.pwr_max) << ','
      << num(b.bound_centre) << ',' << num(b.bound_upper) << ',' << b.above_simple << ',' << b.above_bound << '\n';
  }
}

void write_surface_points_csv(std::ostream& o, const BoundSurfaceResult& r) {
  o << "agents_welfare_regret,total_misalignment,principals_welfare_regret,bound\n";
  for (const SurfacePoint& p : r.points) {
    o << num(p.wr) << ',' << num(p.tm) << ',' << num(p.pwr) << ',' << num(p.bound) << '\n';
  }
}

// ---------------------------------------------------------------------------------------------

std::vector<ThroughputRow> measure_throughput(const std::vector<Dims>& sizes, std::int64_t games, int threads) {
  std::vector<ThroughputRow> rows;
  for (const Dims& d : sizes) {
    for (int controlled = 0; controlled < 2; ++controlled) {
      GeneratorSpec spec;
      if (controlled) {
        spec.ia = {0.7};
        if (d.players() > 1) spec.ca_principals = 0.6;
      }
      ThroughputRow row;
      row.dims = d;
      row.generator = controlled ? "controlled" : "plain";
      row.games = games;
      generate_games(d, spec, std::min<std::int64_t>(games, 256), 1, 0, threads);  // warm-up
      const auto t0 = std::chrono::steady_clock::now();
      const Batch b = generate_games(d, spec, games, 1, 0, threads);
      const auto t1 = std::chrono::steady_clock::now();
      const Results r = evaluate(b.view(), Options{}, threads);
      const auto t2 = std::chrono::steady_clock::now();
      row.generate_seconds = std::chrono::duration<double>(t1 - t0).count();
      row.evaluate_seconds = std::chrono::duration<double>(t2 - t1).count();
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace dgeval
