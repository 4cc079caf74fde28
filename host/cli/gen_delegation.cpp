// The `delegation` generator of `dgeval generate`: games with controlled measures
// (dgeval::generate_games, docs/MATH.md §7.1). Chosen automatically when one of its flags is given.
#include <cxxopts.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "cli/commands.hpp"
#include "dgeval/error.hpp"
#include "dgeval/generators.hpp"
#include "experiments/experiments_device.hpp"

namespace dgeval {
namespace cli {

namespace {

const char* const kFlags[] = {"distribution",  "raw",       "magnitude",   "offset", "positive", "ia",
                              "ca-principals", "ca-agents", "calibration", "scale",  "pure-ne",  "max-attempts"};

std::pair<double, double> range(const cxxopts::ParseResult& p, const char* name) {
  const std::vector<double> v = p[name].as<std::vector<double>>();
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) throw usage_error(std::string("--") + name + ": expected LO,HI or one value");
  return {v[0], v[1]};
}

/// Report of a run: the generator's own view of the achieved measures.
struct Report {
  std::mutex mutex;
  std::int64_t games = 0, planted = 0, adjusted = 0, eps_raised = 0, attempts = 0;
  double ia_error = 0.0, ca_error = 0.0;
};

Report& report() {
  static Report r;
  return r;
}

}  // namespace

void add_delegation_options(cxxopts::Options& o) {
  o.add_options("delegation generator (docs/MATH.md §7.1; chosen when any of these is given)")(
      "distribution", "normal | uniform: the i.i.d. draws behind every utility direction",
      cxxopts::value<std::string>()->default_value("normal"))(
      "raw", "utilities are the raw draws (no magnitudes, offsets or targets)")(
      "magnitude", "LO,HI: magnitudes m ~ U(LO, HI) (EPIC L2 norm of the centred utility)",
      cxxopts::value<std::vector<double>>()->default_value("0.5,1.5"))(
      "offset", "LO,HI: offsets c ~ U(LO, HI)", cxxopts::value<std::vector<double>>()->default_value("-1,1"))(
      "positive", "shift every utility so its minimum is 0 (replaces --offset)")(
      "ia", "target IA_i: one value for every player, or one per player (comma-separated)",
      cxxopts::value<std::vector<double>>())("ca-principals", "target CA of the principals", cxxopts::value<double>())(
      "ca-agents", "target CA of the agents (the principals are then derived from the agents)",
      cxxopts::value<double>())("calibration",
                                "target calibration ratios r_i = m̂_i / m_i (one value or one per player)",
                                cxxopts::value<std::vector<double>>())(
      "scale", "epic | max | max-range: the magnitude the draws are scaled to (CA targets need epic)",
      cxxopts::value<std::string>()->default_value("epic"))(
      "pure-ne", "none | reject | plant | authors: make sure the agents' game has a pure NE",
      cxxopts::value<std::string>()->default_value("none"))("max-attempts", "draws per game before giving up",
                                                            cxxopts::value<int>()->default_value("10000"));
}

bool delegation_requested(const cxxopts::ParseResult& p) {
  for (const char* f : kFlags) {
    if (p.count(f)) return true;
  }
  return false;
}

GeneratorSpec delegation_spec(const cxxopts::ParseResult& p) {
  GeneratorSpec s;
  try {
    s.distribution = parse_distribution(p["distribution"].as<std::string>());
    s.scale = parse_standardisation(p["scale"].as<std::string>());
    s.pure_ne = parse_pure_ne(p["pure-ne"].as<std::string>());
  } catch (const error& e) {
    throw usage_error(e.what());
  }
  s.raw = p.count("raw") > 0;
  std::tie(s.magnitude_min, s.magnitude_max) = range(p, "magnitude");
  std::tie(s.offset_min, s.offset_max) = range(p, "offset");
  s.positive = p.count("positive") > 0;
  if (p.count("ia")) s.ia = p["ia"].as<std::vector<double>>();
  if (p.count("ca-principals")) s.ca_principals = p["ca-principals"].as<double>();
  if (p.count("ca-agents")) s.ca_agents = p["ca-agents"].as<double>();
  if (p.count("calibration")) s.calibration = p["calibration"].as<std::vector<double>>();
  s.max_attempts = p["max-attempts"].as<int>();
  return s;
}

void check_delegation(const cxxopts::ParseResult& p, const Dims& dims) {
  try {
    validate(delegation_spec(p), dims);
  } catch (const error& e) {
    throw usage_error(e.what());
  }
}

Batch make_delegation(const Dims& dims, std::int64_t total, std::uint64_t seed, int threads, int device,
                      const cxxopts::ParseResult& p, bool quiet, std::int64_t first, std::int64_t count) {
  const GeneratorSpec s = delegation_spec(p);
  std::vector<GameInfo> info;
  Batch b = device >= 0 ? cuda::generate_games_on_device(device, dims, s, count, seed, first, &info)
                        : generate_games(dims, s, count, seed, first, threads, &info);
  Report& r = report();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (first == 0) {
    r.games = r.planted = r.adjusted = r.eps_raised = r.attempts = 0;
    r.ia_error = r.ca_error = 0.0;
  }
  for (const GameInfo& g : info) {
    ++r.games;
    r.attempts += g.attempts;
    r.planted += (g.flags & info_planted) != 0;
    r.adjusted += (g.flags & (info_magnitudes_redrawn | info_magnitudes_shrunk)) != 0;
    r.eps_raised += g.eps_tol > 0.0;
    if (!std::isnan(g.ia_error)) r.ia_error = std::max(r.ia_error, g.ia_error);
    const double ca = std::isnan(s.ca_principals) ? s.ca_agents : s.ca_principals;
    if (!std::isnan(ca)) r.ca_error = std::max(r.ca_error, std::fabs(g.ca_achieved - ca));
  }
  if (first + count == total && !quiet) {
    std::fprintf(stderr, "dgeval generate: %lld games (delegation generator, %s draws, pure NE: %s)\n",
                 static_cast<long long>(r.games), to_string(s.distribution), to_string(s.pure_ne));
    if (!s.ia.empty()) {
      std::fprintf(stderr, "  IA target(s)");
      for (double x : s.ia) std::fprintf(stderr, " %g", x);
      std::fprintf(stderr, "; largest |achieved - target| %.3g\n", r.ia_error);
    }
    const double ca = std::isnan(s.ca_principals) ? s.ca_agents : s.ca_principals;
    if (!std::isnan(ca)) {
      std::fprintf(stderr, "  CA target of the %s %g; largest |achieved - target| %.3g",
                   std::isnan(s.ca_principals) ? "agents" : "principals", ca, r.ca_error);
      if (r.adjusted) std::fprintf(stderr, " (%lld games needed other magnitudes)", static_cast<long long>(r.adjusted));
      std::fprintf(stderr, "\n");
    }
    if (!s.calibration.empty()) std::fprintf(stderr, "  calibration ratios set exactly (m_i = m̂_i / r_i)\n");
    std::fprintf(stderr, "  %.3f draws per game", static_cast<double>(r.attempts) / static_cast<double>(r.games));
    if (r.planted) std::fprintf(stderr, "; %lld games with a planted NE", static_cast<long long>(r.planted));
    if (r.eps_raised) std::fprintf(stderr, "; %lld accepted with eps_tol > 0", static_cast<long long>(r.eps_raised));
    std::fprintf(stderr, "\n  (dgeval evaluate recomputes every measure from the written utilities)\n");
  }
  return b;
}

}  // namespace cli
}  // namespace dgeval
