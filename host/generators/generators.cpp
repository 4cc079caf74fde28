// Host side of the controlled generators: validation, the plain-data parameters, and the
// multi-threaded loop over games that calls the shared per-game code (detail/generator_core.hpp).
#include "dgeval/generators.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/thread_pool.hpp"
#include "dgeval/detail/generator_core.hpp"
#include "dgeval/error.hpp"

namespace dgeval {

namespace {

/// Values per player from an empty/one/n-value list; throws if the size is wrong.
std::vector<double> per_player(const std::vector<double>& v, int n, const char* what) {
  if (v.size() == 1) return std::vector<double>(static_cast<std::size_t>(n), v[0]);
  if (static_cast<int>(v.size()) != n) {
    std::ostringstream m;
    m << what << ": expected 1 or " << n << " values (one per player), got " << v.size();
    throw error(m.str());
  }
  return v;
}

bool is_set(double x) { return !std::isnan(x); }

}  // namespace

bool has_targets(const GeneratorSpec& s) {
  return !s.ia.empty() || is_set(s.ca_principals) || is_set(s.ca_agents) || !s.calibration.empty();
}

void validate(const GeneratorSpec& s, const Dims& dims) {
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  if (n < 1) throw error("generator: no players");
  if (N >= (std::int64_t{1} << 40) / n) throw error("generator: games above 2^40 utilities per side are not supported");
  if (s.max_attempts < 1 || s.max_attempts > (1 << 20)) throw error("generator: max_attempts must be in [1, 2^20]");
  if (!(s.ne_tolerance >= 0.0)) throw error("generator: negative NE tolerance");
  if (s.raw) {
    if (has_targets(s) || s.positive) throw error("generator: raw utilities take no targets and no --positive");
    return;
  }
  if (!(s.magnitude_min > 0.0 && s.magnitude_max >= s.magnitude_min && std::isfinite(s.magnitude_max))) {
    throw error("generator: magnitude range must satisfy 0 < min <= max < inf");
  }
  if (!(s.offset_max >= s.offset_min && std::isfinite(s.offset_min) && std::isfinite(s.offset_max))) {
    throw error("generator: offset range must satisfy min <= max, both finite");
  }
  if (is_set(s.ca_principals) && is_set(s.ca_agents)) {
    throw error("generator: give a CA target for the principals or for the agents, not both");
  }
  const double ca = is_set(s.ca_principals) ? s.ca_principals : s.ca_agents;
  if (has_targets(s) && N < 3) {
    throw error("generator: controlled measures need at least 3 outcomes (dims " + dims.to_string() + ")");
  }
  if (is_set(ca)) {
    if (!(ca >= 0.0 && ca <= 1.0)) throw error("generator: CA target must lie in [0, 1]");
    if (n == 1 && ca != 1.0) throw error("generator: the CA of a single player is always 1");
    if (s.scale != Standardisation::epic) throw error("generator: a CA target needs EPIC magnitudes (scale epic)");
  }
  if (!s.ia.empty()) {
    for (double x : per_player(s.ia, n, "IA targets")) {
      if (!(x >= 0.0 && x <= 1.0)) throw error("generator: IA targets must lie in [0, 1]");
    }
  }
  if (!s.calibration.empty()) {
    for (double x : per_player(s.calibration, n, "calibration targets")) {
      if (!(x > 0.0 && std::isfinite(x))) throw error("generator: calibration ratios must be positive and finite");
    }
  }
}

detail::GeneratorParams generator_params(const GeneratorSpec& s, const Dims& dims) {
  validate(s, dims);
  detail::GeneratorParams p;
  p.players = dims.players();
  p.outcomes = dims.outcomes();
  for (int i = 0; i < p.players; ++i) {
    p.actions[i] = dims.actions(i);
    p.strides[i] = dims.stride(i);
  }
  p.distribution = s.distribution;
  p.raw = s.raw;
  p.magnitude_min = s.magnitude_min;
  p.magnitude_max = s.magnitude_max;
  p.offset_min = s.offset_min;
  p.offset_max = s.offset_max;
  p.positive = s.positive;
  p.scale = s.scale;
  if (!s.ia.empty()) {
    p.control_ia = true;
    const std::vector<double> v = per_player(s.ia, p.players, "IA targets");
    for (int i = 0; i < p.players; ++i) p.ia[i] = v[static_cast<std::size_t>(i)];
  }
  if (is_set(s.ca_principals) || is_set(s.ca_agents)) {
    p.control_ca = true;
    p.base_is_agents = is_set(s.ca_agents);
    p.ca = p.base_is_agents ? s.ca_agents : s.ca_principals;
  }
  if (!s.calibration.empty()) {
    p.control_calibration = true;
    const std::vector<double> v = per_player(s.calibration, p.players, "calibration targets");
    for (int i = 0; i < p.players; ++i) p.calibration[i] = v[static_cast<std::size_t>(i)];
  }
  p.pure_ne = s.pure_ne;
  p.max_attempts = s.max_attempts;
  p.ne_tolerance = s.ne_tolerance;
  return p;
}

std::string describe_generator_failure(const GeneratorSpec& spec, std::uint64_t seed, std::uint64_t game) {
  std::ostringstream m;
  m << "generator: game " << game << " (seed " << seed << ") met no draw with the targets"
    << (spec.pure_ne != PureNe::none ? " and a pure NE" : "") << " in " << spec.max_attempts << " attempts";
  return m.str();
}

Batch generate_games(const Dims& dims, const GeneratorSpec& spec, std::int64_t games, std::uint64_t seed,
                     std::int64_t first_game, int threads, std::vector<GameInfo>* info) {
  if (games < 0 || first_game < 0) throw error("generator: negative game count or first game");
  const detail::GeneratorParams p = generator_params(spec, dims);
  Batch b(dims, games);
  if (info) info->assign(static_cast<std::size_t>(games), GameInfo{});
  const std::int64_t per_side = static_cast<std::int64_t>(p.players) * p.outcomes;
  const std::size_t scratch_size = static_cast<std::size_t>(detail::generator_scratch_doubles(p));
  detail::ThreadPool pool(threads);
  std::vector<std::vector<double>> scratch(static_cast<std::size_t>(pool.size()));
  // Tasks of a few games each: cheap games are not worth a task apiece.
  const std::int64_t per_task = std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, per_side));
  const std::int64_t tasks = (games + per_task - 1) / per_task;
  pool.parallel_for(tasks, [&](std::int64_t t, int worker) {
    std::vector<double>& sc = scratch[static_cast<std::size_t>(worker)];
    if (sc.size() < scratch_size) sc.resize(scratch_size);
    const std::int64_t g1 = std::min(games, (t + 1) * per_task);
    for (std::int64_t g = t * per_task; g < g1; ++g) {
      GameInfo gi;
      const std::uint64_t game = static_cast<std::uint64_t>(first_game + g);
      const int status = detail::generate_game(p, seed, game, b.agents.data() + g * per_side,
                                               b.principals.data() + g * per_side, sc.data(), &gi);
      if (status != detail::generate_ok) throw error(describe_generator_failure(spec, seed, game));
      if (info) (*info)[static_cast<std::size_t>(g)] = gi;
    }
  });
  return b;
}

Distribution parse_distribution(const std::string& s) {
  if (s == "normal") return Distribution::normal;
  if (s == "uniform") return Distribution::uniform;
  throw error("unknown distribution \"" + s + "\"; expected one of: normal, uniform");
}

PureNe parse_pure_ne(const std::string& s) {
  if (s == "none") return PureNe::none;
  if (s == "reject") return PureNe::reject;
  if (s == "plant") return PureNe::plant;
  if (s == "authors") return PureNe::authors;
  throw error("unknown pure-NE mode \"" + s + "\"; expected one of: none, reject, plant, authors");
}

const char* to_string(Distribution d) { return d == Distribution::uniform ? "uniform" : "normal"; }

const char* to_string(PureNe p) {
  switch (p) {
    case PureNe::reject:
      return "reject";
    case PureNe::plant:
      return "plant";
    case PureNe::authors:
      return "authors";
    case PureNe::none:
    default:
      return "none";
  }
}

}  // namespace dgeval
