// `dgeval experiment grid-scan | bound-surface | throughput`: the paper's experiments (docs/MATH.md §7.1,
// §7.3) at any scale, as CSV; progress on stderr and a summary at the end. Exit status 3 when a
// bound that is a theorem failed. (`dgeval experiment inference` lives in cmd_infer.cpp.)
#include <cxxopts.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/journal.hpp"
#include "cli/mpi_run.hpp"
#include "cli/progress.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/format.hpp"
#include "dgeval/version.hpp"

namespace dgeval {
namespace cli {

void add_backend_options(cxxopts::Options& o, const std::string& where) {
  o.add_options()("backend", "auto | cpu | cuda: " + where, cxxopts::value<std::string>()->default_value("auto"))(
      "device", "CUDA device ordinal", cxxopts::value<int>()->default_value("0"));
}

/// --backend auto | cpu | cuda, with auto resolved (and a note when it falls back to the CPU).
std::string resolve_backend(const cxxopts::ParseResult& p, bool quiet) {
  const std::string b = p["backend"].as<std::string>();
  if (b != "auto" && b != "cpu" && b != "cuda") throw usage_error("--backend: expected auto, cpu or cuda");
  if (b != "auto") return b;
  std::string why;
  if (cuda_available(&why)) return "cuda";
  if (!quiet) std::fprintf(stderr, "dgeval: using the CPU backend: %s\n", why.c_str());
  return "cpu";
}

namespace {

// A bound-surface chunk as bytes, from a rank to rank 0 (the machine's byte order: the ranks of
// a run are one kind of machine).
std::string serialise_surface_chunk(const detail::SurfaceChunk& c) {
  std::string s;
  const auto put = [&](const void* p, std::size_t n) { s.append(static_cast<const char*>(p), n); };
  const std::uint64_t bins = c.bins.size(), points = c.points.size();
  put(&bins, 8);
  put(&points, 8);
  put(&c.invalid, 8);
  put(&c.first_invalid, 8);
  if (bins) put(c.bins.data(), bins * sizeof(std::uint64_t));
  if (points) put(c.points.data(), points * sizeof(SurfacePoint));
  return s;
}

void parse_surface_chunk(const std::string& s, detail::SurfaceChunk& c, const std::string& from) {
  std::uint64_t bins = 0, points = 0;
  if (s.size() >= 32) {
    std::memcpy(&bins, s.data(), 8);
    std::memcpy(&points, s.data() + 8, 8);
    std::memcpy(&c.invalid, s.data() + 16, 8);
    std::memcpy(&c.first_invalid, s.data() + 24, 8);
  }
  if (s.size() < 32 || bins > s.size() / 8 || points > s.size() / sizeof(SurfacePoint) ||
      s.size() != 32 + bins * sizeof(std::uint64_t) + points * sizeof(SurfacePoint)) {
    throw error(printable(from) + ": a malformed bound-surface chunk (" + std::to_string(s.size()) + " bytes)");
  }
  c.bins.resize(static_cast<std::size_t>(bins));
  c.points.resize(static_cast<std::size_t>(points));
  if (bins) std::memcpy(c.bins.data(), s.data() + 32, static_cast<std::size_t>(bins) * sizeof(std::uint64_t));
  if (points) {
    std::memcpy(c.points.data(), s.data() + 32 + bins * sizeof(std::uint64_t),
                static_cast<std::size_t>(points) * sizeof(SurfacePoint));
  }
}

// A grid-scan unit's contribution (detail::GridChunk) as bytes, from a rank to rank 0: its
// counts, its extrema and its per-game values, bit for bit.
std::string serialise_grid_chunk(const detail::GridChunk& c) {
  std::string s;
  const auto put = [&](const void* p, std::size_t n) { s.append(static_cast<const char*>(p), n); };
  for (const std::int64_t* v : {&c.games, &c.evaluated, &c.r2_fail, &c.r5_fail, &c.r3_fail, &c.fallback,
                                &c.r3_fail_fallback, &c.eps_tol_raised, &c.magnitudes_adjusted, &c.attempts}) {
    put(v, 8);
  }
  for (const double* v : {&c.ia_error_max, &c.ca_error_max, &c.ic_min, &c.ic_state_out}) put(v, 8);
  const auto put_vector = [&](const std::vector<double>& v) {
    const std::uint64_t n = v.size();
    put(&n, 8);
    if (n) put(v.data(), n * sizeof(double));
  };
  put_vector(c.measure);
  for (const std::vector<double>& q : c.q) put_vector(q);
  return s;
}

void parse_grid_chunk(const std::string& s, detail::GridChunk& c) {
  std::size_t at = 0;
  const auto get = [&](void* p, std::size_t n) {
    if (n > s.size() - at) throw error("grid scan: a malformed unit from another rank");
    std::memcpy(p, s.data() + at, n);
    at += n;
  };
  for (std::int64_t* v : {&c.games, &c.evaluated, &c.r2_fail, &c.r5_fail, &c.r3_fail, &c.fallback, &c.r3_fail_fallback,
                          &c.eps_tol_raised, &c.magnitudes_adjusted, &c.attempts}) {
    get(v, 8);
  }
  for (double* v : {&c.ia_error_max, &c.ca_error_max, &c.ic_min, &c.ic_state_out}) get(v, 8);
  const auto get_vector = [&](std::vector<double>& v) {
    std::uint64_t n = 0;
    get(&n, 8);
    if (n > (s.size() - at) / sizeof(double)) throw error("grid scan: a malformed unit from another rank");
    v.resize(static_cast<std::size_t>(n));
    if (n) get(v.data(), static_cast<std::size_t>(n) * sizeof(double));
  };
  get_vector(c.measure);
  for (std::vector<double>& q : c.q) get_vector(q);
  if (at != s.size()) throw error("grid scan: a malformed unit from another rank");
}

std::string serialise_doubles(const std::vector<double>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

std::vector<double> parse_doubles(const std::string& s) {
  if (s.size() % sizeof(double) != 0) throw error("grid scan: malformed eps_tol values from another rank");
  std::vector<double> v(s.size() / sizeof(double));
  if (!v.empty()) std::memcpy(v.data(), s.data(), s.size());
  return v;
}

void experiment_usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: dgeval experiment <name> [options]\n\n"
      "  grid-scan      principal welfare against IA, IC, CA, CC with the bounds R3, R5, R2 (docs/MATH.md §7.1)\n"
      "  bound-surface  agents' regret x misalignment x principals' regret, binned, with R2 (docs/MATH.md §7.3)\n"
      "  throughput     generate-and-evaluate games/s on the CPU\n"
      "  inference      the inference experiment (docs/MATH.md §6)\n\n"
      "Run `dgeval experiment <name> --help` for its options.\n");
}

std::vector<double> parse_list(const std::string& text, const char* flag) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw usage_error(std::string("--") + flag + ": not a number: \"" + printable(item) + "\"");
    }
  }
  if (out.empty()) throw usage_error(std::string("--") + flag + ": empty list");
  return out;
}

std::vector<Dims> parse_sizes(const std::string& text, const char* flag);

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

std::vector<Dims> parse_sizes(const std::string& text, const char* flag) {
  std::vector<Dims> out;
  for (const std::string& d : split(text)) {
    try {
      out.push_back(Dims::parse(d));
    } catch (const error& e) {
      throw usage_error(std::string("--") + flag + ": " + e.what());
    }
  }
  if (out.empty()) throw usage_error(std::string("--") + flag + ": no size given");
  return out;
}

ExperimentProgress progress_fn(Progress& bar) {
  return [&bar](std::int64_t done, std::int64_t total) {
    bar.update(done, total);
    return !interrupted();
  };
}

int grid_scan(int argc, char** argv) {
  cxxopts::Options o(
      "dgeval experiment grid-scan",
      "Principal welfare against each measure with the bounds (docs/MATH.md §7.1), one CSV row per point.");
  o.custom_help("[--preset main|appendix] [--scale K] [options] -o grid.csv");
  o.add_options()("preset",
                  "main: 3x3, others 0.9, 25 games per point; appendix: 5x5x4, 6x7x4x6, 7x3x8x5x12, others "
                  "0,0.25,0.5,0.75,1, 10 games per point (the paper's counts, before --scale)",
                  cxxopts::value<std::string>()->default_value("main"))(
      "scale", "multiply the paper's games per point by K", cxxopts::value<std::int64_t>()->default_value("1000"))(
      "games-per-point", "games per point (overrides --preset and --scale)", cxxopts::value<std::int64_t>())(
      "sizes", "comma-separated dims, e.g. 3x3,5x5x4 (overrides the preset)", cxxopts::value<std::string>())(
      "variables", "measures to sweep: ia,ic,ca,cc", cxxopts::value<std::string>()->default_value("ia,ic,ca,cc"))(
      "others", "values of the measures not swept (overrides the preset)", cxxopts::value<std::string>())(
      "increments", "the swept values are linspace(0, 1, increments + 1)", cxxopts::value<int>()->default_value("25"))(
      "seed", "seed of the games", cxxopts::value<std::uint64_t>()->default_value("1282"))(
      "distribution", "normal | uniform draws", cxxopts::value<std::string>()->default_value("normal"))(
      "pure-ne",
      "reject | plant | authors | none: how a pure NE is ensured (authors: eps_tol and the IC "
      "overwrite of docs/MATH.md §7.1)",
      cxxopts::value<std::string>()->default_value("reject"))("welfare", "average | sum",
                                                              cxxopts::value<std::string>()->default_value("average"))(
      "cc-window", "code | natural", cxxopts::value<std::string>()->default_value("code"))(
      "chunk",
      "games generated and evaluated at once, within a point (under MPI, the unit dealt to the ranks); "
      "the output does not depend on it",
      cxxopts::value<std::int64_t>()->default_value("32768"))("threads", "CPU threads (0 = all)",
                                                              cxxopts::value<int>()->default_value("0"))(
      "o,output", "the CSV to write (default: stdout)", cxxopts::value<std::string>())(
      "q,quiet", "no progress or summary on stderr")("h,help", "this help");
  add_backend_options(o, "where the games are generated and evaluated (the same games on each)");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    if (!mpi::root()) return exit_ok;  // under MPI, rank 0 prints it
    std::cout << o.help()
              << "\nexamples:\n"
                 "  dgeval experiment grid-scan -o grid.csv                       # main text, 25,000 games per point\n"
                 "  dgeval experiment grid-scan --preset appendix --scale 1 -o appendix.csv\n"
                 "  dgeval experiment grid-scan --sizes 5x5x4 --others 0.5 --games-per-point 2000 -o g.csv\n"
                 "  python3 scripts/plots/plot_experiments.py grid grid.csv --out docs/figures\n";
    return exit_ok;
  }
  GridScanConfig c;
  const std::string preset = p["preset"].as<std::string>();
  std::int64_t paper_games;
  if (preset == "main") {
    c.sizes = {Dims({3, 3})};
    c.others = {0.9};
    paper_games = 25;
  } else if (preset == "appendix") {
    c.sizes = {Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
    c.others = {0.0, 0.25, 0.5, 0.75, 1.0};
    paper_games = 10;
  } else {
    throw usage_error("--preset: expected main or appendix");
  }
  const std::int64_t scale = int64_option(p, "scale", 1, std::int64_t{1} << 40);
  c.games_per_point =
      p.count("games-per-point") ? int64_option(p, "games-per-point", 1, std::int64_t{1} << 40) : paper_games * scale;
  if (p.count("sizes")) c.sizes = parse_sizes(p["sizes"].as<std::string>(), "sizes");
  if (p.count("others")) c.others = parse_list(p["others"].as<std::string>(), "others");
  for (double v : c.others) {
    if (!(v >= 0.0 && v <= 1.0)) throw usage_error("--others: " + format_double(v) + " is outside [0, 1]");
  }
  c.variables.clear();
  try {
    for (const std::string& v : split(p["variables"].as<std::string>())) c.variables.push_back(parse_measure(v));
    c.generator.distribution = parse_distribution(p["distribution"].as<std::string>());
    c.generator.pure_ne = parse_pure_ne(p["pure-ne"].as<std::string>());
    c.options.welfare = parse_welfare(p["welfare"].as<std::string>());
    c.options.cc_window = parse_cc_window(p["cc-window"].as<std::string>());
  } catch (const error& e) {
    throw usage_error(e.what());
  }
  c.increments = int_option(p, "increments", 1, 1 << 20);
  c.seed = p["seed"].as<std::uint64_t>();
  c.chunk = int64_option(p, "chunk", 1, std::int64_t{1} << 24);
  // Under MPI (docs/SCALING.md): the node's cores shared among its ranks, each rank on its
  // node-local rank's GPU unless --threads / --device say otherwise; rank 0 alone reports.
  c.threads = mpi::threads_per_rank(threads_option(p));
  c.device = !p.count("device") && mpi::size() > 1 ? mpi::local_rank() : device_option(p);
  const bool quiet = p.count("quiet") > 0 || !mpi::root();
  c.backend = resolve_backend(p, quiet);

  RunFiles files;
  StagedOutput& out = files.output("output", p.count("output") ? p["output"].as<std::string>() : "-");
  // The units (a point's games, --chunk at a time), as run_grid_scan makes them; under MPI unit u
  // is rank u mod R's; each rank sends its units' contributions (counts, extrema, per-game values)
  // to rank 0, which merges them in unit order exactly as one process does: the same bytes
  // whatever R. Under --pure-ne authors the IC state carries from unit to unit: the ranks work in
  // rounds of R units, generate their unit, exchange its accepted eps_tol values (all_gather), and
  // each replays the (cheap, exact) state update over the round's units in order to start its own.
  const detail::GridScanProducer producer(c);
  mpi::setup_done(producer.backend(), hash_command_line(std::vector<std::string>(argv, argv + argc)));
  const std::vector<detail::GridUnit>& units = producer.units();
  const std::int64_t unit_count = static_cast<std::int64_t>(units.size());
  const int ranks = mpi::size(), me = mpi::rank();
  const bool rounds = c.generator.pure_ne == PureNe::authors && ranks > 1;
  detail::GridGames unit_games;
  double carried = NAN;  // rounds: the IC state after the last round
  const auto start = [&](std::int64_t u) {
    if (interrupted()) throw cancelled();
    mpi::debug_range("experiment grid-scan", producer.first_game(u), units[static_cast<std::size_t>(u)].count);
    producer.generate(u, unit_games);
  };
  // Round j (units jR .. jR + R - 1): this rank's unit into `chunk`; returns the IC state before it.
  const auto round = [&](std::int64_t j, detail::GridChunk& chunk) {
    const std::int64_t u = j * ranks + me;
    std::string raised;
    if (u < unit_count) {
      start(u);
      raised = serialise_doubles(detail::grid_raised(unit_games));
    }
    const std::vector<std::string> all = mpi::all_gather(raised);
    double state = carried, mine = NAN;
    for (int k = 0; k < ranks && j * ranks + k < unit_count; ++k) {
      const detail::GridUnit& unit = units[static_cast<std::size_t>(j * ranks + k)];
      if (unit.reset) state = producer.points()[static_cast<std::size_t>(unit.point)].ic;
      if (k == me) mine = state;
      state = detail::grid_ic_carry(state, parse_doubles(all[static_cast<std::size_t>(k)]));
    }
    carried = state;
    if (u < unit_count) producer.evaluate(u, unit_games, mine, chunk);
    return mine;
  };
  if (!mpi::root()) {
    detail::GridChunk chunk;
    if (rounds) {
      for (std::int64_t j = 0; j * ranks < unit_count; ++j) {
        const std::int64_t u = j * ranks + me;
        round(j, chunk);
        if (u < unit_count) mpi::send_to_root(serialise_grid_chunk(chunk));
      }
    } else {
      for (std::int64_t u = me; u < unit_count; u += ranks) {
        start(u);
        producer.evaluate(u, unit_games, NAN, chunk);
        mpi::send_to_root(serialise_grid_chunk(chunk));
      }
    }
    mpi::flush_sends();
    return exit_ok;
  }
  Progress bar("grid-scan", !quiet);
  const std::vector<GridScanPoint> points =
      detail::run_grid_scan(producer, progress_fn(bar), [&](std::int64_t u, double ic_state, detail::GridChunk& chunk) {
        const int owner = static_cast<int>(u % ranks);
        if (owner != 0) {
          parse_grid_chunk(mpi::receive_from(owner), chunk);
        } else if (rounds) {
          const double mine = round(u / ranks, chunk);
          if (std::memcmp(&mine, &ic_state, sizeof mine) != 0) {
            throw error("internal: grid scan: the IC state of unit " + std::to_string(u) + " differs between ranks");
          }
        } else {
          start(u);
          producer.evaluate(u, unit_games, ic_state, chunk);
        }
      });
  bar.finish();
  write_grid_scan_csv(out.stream(), points);
  files.commit();
  std::int64_t games = 0, evaluated = 0, r2 = 0, r5 = 0, r3 = 0, fallback = 0, r3f = 0, raised = 0;
  double ia_err = 0, ca_err = 0;
  for (const GridScanPoint& pt : points) {
    games += pt.games, evaluated += pt.evaluated, r2 += pt.r2_fail, r5 += pt.r5_fail, r3 += pt.r3_fail;
    fallback += pt.fallback, r3f += pt.r3_fail_fallback, raised += pt.eps_tol_raised;
    ia_err = std::max(ia_err, pt.ia_error_max), ca_err = std::max(ca_err, pt.ca_error_max);
  }
  if (!quiet) {
    const double secs = bar.elapsed_seconds();
    std::fprintf(stderr,
                 "grid-scan: %zu points, %lld games (%lld with a defined played strategy) on the %s backend in %s "
                 "(%.3g games/s)\n"
                 "  targets: largest |IA - target| %.2e, |CA - target| %.2e (after evaluation)\n"
                 "  theorem bounds failed: R2 %lld, R5 %lld; R3 with a non-empty played window %lld\n"
                 "  played-window fallback (docs/MATH.md §4.4) in %lld games, R3 failed in %lld of them\n",
                 points.size(), static_cast<long long>(games), static_cast<long long>(evaluated), c.backend.c_str(),
                 duration_text(secs).c_str(), static_cast<double>(games) / std::max(secs, 1e-9), ia_err, ca_err,
                 static_cast<long long>(r2), static_cast<long long>(r5), static_cast<long long>(r3),
                 static_cast<long long>(fallback), static_cast<long long>(r3f));
    if (c.generator.pure_ne == PureNe::authors) {
      std::fprintf(stderr, "  authors' protocol: %lld games accepted with eps_tol > 0\n",
                   static_cast<long long>(raised));
    }
  }
  return r2 + r5 + r3 > 0 ? exit_bound_violated : exit_ok;
}

int bound_surface(int argc, char** argv) {
  cxxopts::Options o("dgeval experiment bound-surface",
                     "Agents' welfare regret x total misalignment x principals' regret with the R2 surface "
                     "(docs/MATH.md §7.3), aggregated into 2-D bins.");
  o.custom_help("[--games B] [--calibration r,...] [options] -o surface.csv");
  o.add_options()("games", "games (the paper: 100000)", cxxopts::value<std::int64_t>()->default_value("100000"))(
      "players", "players n", cxxopts::value<int>()->default_value("4"))(
      "outcomes", "outcomes of the flat game (dims Nx1x..x1)", cxxopts::value<std::int64_t>()->default_value("4"))(
      "calibration", "calibration ratios r_i (one, or one per player): m̂_i = 1, m_i = 1/r_i",
      cxxopts::value<std::string>()->default_value("1"))("standardisation", "epic | max | max-range",
                                                         cxxopts::value<std::string>()->default_value("max"))(
      "welfare", "average | sum", cxxopts::value<std::string>()->default_value("sum"))(
      "distribution", "normal | uniform draws", cxxopts::value<std::string>()->default_value("uniform"))(
      "bins", "bins of the two axes, e.g. 40x40", cxxopts::value<std::string>()->default_value("40x40"))(
      "seed", "seed", cxxopts::value<std::uint64_t>()->default_value("9622709"))(
      "points", "also write the first --keep-points games as rows (CSV)", cxxopts::value<std::string>())(
      "keep-points", "games written to --points", cxxopts::value<std::int64_t>()->default_value("5000"))(
      "chunk", "games generated and evaluated at once (0: 65536 on the CPU, 2097152 on a GPU)",
      cxxopts::value<std::int64_t>()->default_value("0"))("threads", "CPU threads (0 = all)",
                                                          cxxopts::value<int>()->default_value("0"))(
      "o,output", "the bins CSV (default: stdout)", cxxopts::value<std::string>())(
      "resume",
      "continue the interrupted run of this same command from its journal OUTPUT.dgeval-journal (the same bytes as "
      "an uninterrupted run; without a journal, start from the beginning)")(
      "q,quiet", "no progress or summary on stderr")("h,help", "this help");
  add_backend_options(o, "where the games are generated, evaluated and binned");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    if (!mpi::root()) return exit_ok;  // under MPI, rank 0 prints it
    std::cout
        << o.help()
        << "\nexamples:\n"
           "  dgeval experiment bound-surface -o surface.csv --points points.csv\n"
           "  dgeval experiment bound-surface --games 10000000 --calibration 2,1,1,1 -o miscalibrated.csv\n"
           "\nresume: a run of more than one chunk into regular files keeps a journal, OUTPUT.dgeval-journal/\n"
           "(beside the bins CSV), of the chunks done; an interrupted run (Ctrl-C, SIGTERM, SIGKILL, a lost node)\n"
           "continues with the same command and --resume, to the same bytes. A finished run removes it.\n";
    return exit_ok;
  }
  BoundSurfaceConfig c;
  c.games = int64_option(p, "games", 1, std::numeric_limits<std::int64_t>::max());
  c.players = int_option(p, "players", 1, kMaxPlayers);
  c.outcomes = int64_option(p, "outcomes", 3, std::int64_t{1} << 40);
  c.calibration = parse_list(p["calibration"].as<std::string>(), "calibration");
  for (double r : c.calibration) {
    if (!(r > 0.0 && std::isfinite(r)))
      throw usage_error("--calibration: " + format_double(r) + " is not a positive ratio");
  }
  if (c.calibration.size() != 1 && static_cast<int>(c.calibration.size()) != c.players) {
    throw usage_error("--calibration: " + std::to_string(c.calibration.size()) + " ratios for " +
                      std::to_string(c.players) + " players; give one, or one per player");
  }
  try {
    c.standardisation = parse_standardisation(p["standardisation"].as<std::string>());
    c.welfare = parse_welfare(p["welfare"].as<std::string>());
    c.distribution = parse_distribution(p["distribution"].as<std::string>());
    const Dims bins = Dims::parse(p["bins"].as<std::string>());
    if (bins.players() != 2) throw error("--bins: expected AxB");
    if (bins.actions(0) > (1 << 20) || bins.actions(1) > (1 << 20))
      throw error("--bins: at most 1048576 bins per axis");
    c.bins_x = static_cast<int>(bins.actions(0));
    c.bins_y = static_cast<int>(bins.actions(1));
  } catch (const error& e) {
    throw usage_error(e.what());
  }
  c.seed = p["seed"].as<std::uint64_t>();
  // Under MPI (docs/SCALING.md): the node's cores shared among its ranks, each rank on its
  // node-local rank's GPU unless --threads / --device say otherwise; rank 0 alone reports.
  c.threads = mpi::threads_per_rank(threads_option(p));
  c.device = !p.count("device") && mpi::size() > 1 ? mpi::local_rank() : device_option(p);
  const std::int64_t keep = int64_option(p, "keep-points", 0, std::int64_t{1} << 40);
  c.keep_points = p.count("points") ? keep : 0;
  const bool quiet = p.count("quiet") > 0 || !mpi::root();
  c.backend = resolve_backend(p, quiet);
  c.chunk = int64_option(p, "chunk", 0, (std::int64_t{1} << 31) - 1, "0: automatic");

  RunFiles files;
  StagedOutput& out = files.output("output", p.count("output") ? p["output"].as<std::string>() : "-");
  StagedOutput* points_out = p.count("points") ? &files.output("points", p["points"].as<std::string>()) : nullptr;
  // The chunks, as run_bound_surface makes them; under MPI the chunks not done are dealt to the
  // ranks in turn, each rank sends its chunks' integer bins (and kept points) to rank 0, which
  // merges them in chunk order exactly as one process does: the same bytes whatever R. Into
  // regular files, rank 0 keeps a journal of the chunks done (their bins), for --resume.
  const detail::SurfaceChunkFn produce = detail::surface_producer(c);
  const std::vector<std::string> args(argv, argv + argc);
  const std::int64_t ranges = (c.games + c.chunk - 1) / c.chunk;
  const bool regular = p.count("output") && out.target().kind == OutputKind::regular &&
                       (!points_out || points_out->target().kind == OutputKind::regular);
  const bool resume = p.count("resume") > 0;
  if (resume && !regular) throw usage_error("--resume needs -o and --points to be regular files");
  std::unique_ptr<RunJournal> journal;
  if (regular && ranges > 1 && mpi::root()) {
    JournalIdentity id;
    id.version = version();
    id.command = hash_command_line(args);
    id.inputs = "none";
    id.backend = c.backend;
    id.games = c.games;
    id.ranges = ranges;
    journal = std::make_unique<RunJournal>(RunJournal::folder_for(out.target().file), id, resume, quiet);
  }
  mpi::setup_done(c.backend, hash_command_line(args));
  std::vector<std::int64_t> firsts;
  for (std::int64_t g0 = 0; g0 < c.games; g0 += c.chunk) firsts.push_back(g0);
  const std::vector<int> owner =
      mpi::deal_ranges(firsts, [&](std::int64_t first) { return journal && journal->holds(first); });
  const auto owner_of = [&](std::int64_t g0) { return owner[static_cast<std::size_t>(g0 / c.chunk)]; };
  if (!mpi::root()) {
    for (std::int64_t g0 = 0; g0 < c.games; g0 += c.chunk) {
      if (interrupted()) throw cancelled();
      if (owner_of(g0) != mpi::rank()) continue;
      const std::int64_t count = std::min(c.chunk, c.games - g0);
      const std::int64_t wanted = std::min(count, std::max<std::int64_t>(0, c.keep_points - g0));
      mpi::debug_range("experiment bound-surface", g0, count);
      detail::SurfaceChunk chunk;
      produce(g0, count, wanted, chunk);
      mpi::send_to_root(serialise_surface_chunk(chunk));
    }
    mpi::flush_sends();
    return exit_ok;
  }
  Progress bar("bound-surface", !quiet);
  BoundSurfaceResult r;
  try {
    r = detail::run_bound_surface(
        c, progress_fn(bar),
        [&](std::int64_t g0, std::int64_t count, std::int64_t wanted, detail::SurfaceChunk& chunk) {
          if (interrupted()) throw cancelled();
          std::string bytes;
          if (owner_of(g0) > 0) {  // another rank's
            bytes = mpi::receive_from(owner_of(g0));
            parse_surface_chunk(bytes, chunk, "rank " + std::to_string(owner_of(g0)));
          } else if (journal && journal->load_bytes(g0, count, bytes)) {
            parse_surface_chunk(bytes, chunk, journal->folder());
            return;
          } else {
            mpi::debug_range("experiment bound-surface", g0, count);
            produce(g0, count, wanted, chunk);
            if (journal) bytes = serialise_surface_chunk(chunk);
          }
          if (journal) journal->record_bytes(g0, count, bytes);
        });
    bar.finish();
    write_bound_surface_csv(out.stream(), r);
    if (points_out) write_surface_points_csv(points_out->stream(), r);
    files.commit();
  } catch (...) {
    if (journal) journal->on_failure("experiment bound-surface", c.games, quiet);
    throw;
  }
  if (journal) journal->finish_after_commit("experiment bound-surface");
  if (!quiet) {
    std::int64_t filled = 0;
    for (const SurfaceBin& b : r.bins) filled += b.count > 0;
    const double secs = bar.elapsed_seconds();
    std::fprintf(stderr,
                 "bound-surface: %lld games on the %s backend in %s (%.3g games/s), %lld of %zu bins filled\n"
                 "  above the R2 bound (a theorem): %lld games; bins whose largest regret exceeds the surface at "
                 "their upper corner: %lld\n"
                 "  above the simple bound R = 1 without the calibration term: %lld games (expected 0 only when "
                 "calibrated)\n",
                 static_cast<long long>(r.games), c.backend.c_str(), duration_text(secs).c_str(),
                 static_cast<double>(r.games) / std::max(secs, 1e-9), static_cast<long long>(filled), r.bins.size(),
                 static_cast<long long>(r.above_bound), static_cast<long long>(r.bin_bound_exceeded),
                 static_cast<long long>(r.above_simple));
  }
  return r.above_bound + r.bin_bound_exceeded > 0 ? exit_bound_violated : exit_ok;
}

int throughput(int argc, char** argv) {
  cxxopts::Options o("dgeval experiment throughput", "Generate-and-evaluate games/s on the CPU.");
  o.add_options()("sizes", "comma-separated dims", cxxopts::value<std::string>()->default_value("3x3,5x5x4,6x7x4x6"))(
      "games", "games per size", cxxopts::value<std::int64_t>()->default_value("20000"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int>()->default_value("0"))("h,help", "this help");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    std::cout << o.help();
    return exit_ok;
  }
  const std::vector<Dims> sizes = parse_sizes(p["sizes"].as<std::string>(), "sizes");
  const std::int64_t games = int64_option(p, "games", 1, std::int64_t{1} << 40);
  const int threads = threads_option(p);
  std::printf("%-12s %-11s %10s %14s %14s %16s\n", "dims", "generator", "games", "generate g/s", "evaluate g/s",
              "both games/s");
  for (const ThroughputRow& r : measure_throughput(sizes, games, threads)) {
    std::printf("%-12s %-11s %10lld %14.4g %14.4g %16.4g\n", r.dims.to_string().c_str(), r.generator.c_str(),
                static_cast<long long>(r.games), r.games / r.generate_seconds, r.games / r.evaluate_seconds,
                r.games_per_second());
  }
  return exit_ok;
}

}  // namespace

int experiment_command(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    experiment_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? exit_usage : exit_ok;
  }
  const std::string name = argv[1];
  if (name == "grid-scan") return grid_scan(argc - 1, argv + 1);
  if (name == "bound-surface") return bound_surface(argc - 1, argv + 1);
  if (name == "throughput") return throughput(argc - 1, argv + 1);
  experiment_usage(stderr);
  throw usage_error("unknown experiment \"" + name + "\"");
}

}  // namespace cli
}  // namespace dgeval
