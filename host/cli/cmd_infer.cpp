// `dgeval infer`: estimates IA, CA, IC and CC with bootstrap intervals from one data set of
// observations (a CSV or .npz file, or outcomes sampled from a game), both the authors'
// estimators and the corrected ones (docs/INFERENCE.md).
// `dgeval experiment inference`: the inference experiment of docs/MATH.md §6, as error curves (CSV)
// for scripts/plots/inference.py.
#include <cxxopts.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/journal.hpp"
#include "cli/mpi_run.hpp"
#include "cli/progress.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/inference.hpp"
#include "dgeval/io.hpp"

namespace dgeval {
namespace cli {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::vector<double> parse_levels(const std::string& text, const char* what) {
  std::vector<double> v;
  for (const std::string& item : split_list(text)) {
    char* end = nullptr;
    const double x = std::strtod(item.c_str(), &end);
    if (*end != '\0') throw usage_error(std::string("--") + what + ": \"" + printable(item) + "\" is not a number");
    if (!(x >= 0.0 && x <= 1.0))
      throw usage_error(std::string("--") + what + ": " + printable(item) + " is outside [0, 1]");
    v.push_back(x);
  }
  if (v.empty()) throw usage_error(std::string("--") + what + ": no value");
  return v;
}

/// One game as a Batch: from an example or game g of a games file.
Batch load_game(const cxxopts::ParseResult& p) {
  if (p.count("example")) {
    try {
      return make_example(p["example"].as<std::string>()).batch;
    } catch (const error& e) {
      throw usage_error(std::string("--example: ") + e.what());
    }
  }
  const std::string path = p["game"].as<std::string>();
  const std::int64_t g = int64_option(p, "game-index", 0, std::numeric_limits<std::int64_t>::max());
  auto source = open_input("game", path, ShapeRule::automatic, ReadOptions{});
  if (g >= source->games()) {
    throw usage_error("--game-index " + std::to_string(g) + ": " + printable(path) + " holds games 0 to " +
                      std::to_string(source->games() - 1));
  }
  const BatchView v = source->read(0, g + 1);
  return copy_games(v, g, 1);
}

Dims dims_option(const std::string& name, const std::string& text) {
  try {
    return Dims::parse(text);
  } catch (const error& e) {
    throw usage_error("--" + name + ": " + e.what());
  }
}

}  // namespace

int infer_command(int argc, char** argv) {
  cxxopts::Options o("dgeval infer",
                     "Estimate IA, CA, IC and CC, with bootstrap intervals, from observed outcomes (docs/MATH.md §6).");
  o.custom_help("(--input OBS.csv|OBS.npz | --game GAMES | --example NAME --sample SET[,SET..]) [options]");
  o.add_options("input")(
      "i,input",
      "observations: .csv (columns action_i or outcome, agent_i, principal_i, optional set) or .npz "
      "(arrays actions or outcome, agents, principals, optional set, dims); - : a CSV from standard input",
      cxxopts::value<std::string>())(
      "dims",
      "the game's action counts, e.g. 3x3 (to detect unknown outcome indices and read a flat outcome "
      "column; default: the largest index of each player plus one)",
      cxxopts::value<std::string>())("set", "set of rows without a set column: all | ne | eps_ne | played",
                                     cxxopts::value<std::string>()->default_value("played"));
  o.add_options("sampling from a game")("game", "games file (.npz, .npy, .nfg) to sample observations from",
                                        cxxopts::value<std::string>())(
      "game-index", "which game of --game", cxxopts::value<std::int64_t>()->default_value("0"))(
      "example", "a built-in example game to sample from (see dgeval evaluate --help)", cxxopts::value<std::string>())(
      "sample", "the set(s) to sample from, comma separated: all, ne, eps_ne, played (J samples from each)",
      cxxopts::value<std::string>()->default_value("all"))("samples", "J, samples per set",
                                                           cxxopts::value<std::int64_t>()->default_value("1000"))(
      "ic", "the agents' IC level for eps_ne and played: one for all players or one per player",
      cxxopts::value<std::string>()->default_value("1"))("cc", "the CC level of the played set",
                                                         cxxopts::value<double>()->default_value("0"))(
      "write-observations", "also write the sampled observations to this CSV", cxxopts::value<std::string>());
  o.add_options("estimation")("resamples", "bootstrap resamples (0: no intervals)",
                              cxxopts::value<std::int64_t>()->default_value("1000"))(
      "level", "interval level", cxxopts::value<double>()->default_value("0.95"))(
      "seed", "seed of the sampling and of the bootstrap", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "threads", "CPU threads (0 = all); results do not depend on it", cxxopts::value<int>()->default_value("0"))(
      "format", "text | csv | json", cxxopts::value<std::string>()->default_value("text"))(
      "o,output", "write the estimates here instead of stdout", cxxopts::value<std::string>())("h,help", "this help");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    if (!mpi::root()) return exit_ok;  // under MPI, rank 0 prints it
    std::cout << o.help({"input", "sampling from a game", "estimation"})
              << "\nexamples:\n"
                 "  dgeval infer --input observations.csv --dims 3x3\n"
                 "  dgeval infer --example common-3x3 --sample all --samples 200 --format json\n"
                 "  dgeval infer --game games.npz --game-index 4 --sample ne,eps_ne,played --ic 0.5 --cc 0.5\n"
                 "\nThe authors' estimators (docs/MATH.md §6 step 4) and the corrected, affine-invariant ones are both "
                 "printed;\nsee docs/INFERENCE.md for what each estimates, its bias, and the file formats.\n";
    return exit_ok;
  }
  const int sources = static_cast<int>(p.count("input") + p.count("game") + p.count("example"));
  if (sources != 1) throw usage_error("give exactly one of --input, --game or --example");
  InferenceFormat format;
  const std::string f = p["format"].as<std::string>();
  if (f == "text") format = InferenceFormat::text;
  else if (f == "csv") format = InferenceFormat::csv;
  else if (f == "json" || f == "jsonl") format = InferenceFormat::json;
  else throw usage_error("--format: unknown \"" + f + "\"; expected text, csv or json");

  InferenceOptions io;
  io.resamples = int64_option(p, "resamples", 0, std::int64_t{1} << 40, "0: no intervals");
  io.level = p["level"].as<double>();
  io.seed = p["seed"].as<std::uint64_t>();
  io.threads = mpi::threads_per_rank(threads_option(p));  // under MPI: the node's cores shared
  if (!(io.level > 0.0 && io.level < 1.0)) throw usage_error("--level must lie in (0, 1)");
  if (!p.count("input")) {
    parse_levels(p["ic"].as<std::string>(), "ic");
    real_option(p, "cc", 0.0, 1.0);
    int64_option(p, "samples", 1, std::int64_t{1} << 40);
  }

  // The run's files, checked before anything is read or computed.
  RunFiles files;
  if (p.count("input")) files.input("input", p["input"].as<std::string>());
  if (p.count("game")) files.input("game", p["game"].as<std::string>());
  StagedOutput& out = files.output("output", p.count("output") ? p["output"].as<std::string>() : "-");
  StagedOutput* observations_out = p.count("write-observations")
                                       ? &files.output("write-observations", p["write-observations"].as<std::string>())
                                       : nullptr;
  if (p.count("write-observations")) {
    // Observations are written as CSV only: a name that says another format would mislead.
    const std::string w = p["write-observations"].as<std::string>();
    const auto dot = w.rfind('.'), slash = w.rfind('/');
    const std::string ext =
        dot == std::string::npos || (slash != std::string::npos && dot < slash) ? "" : w.substr(dot);
    if (!ext.empty() && ext != ".csv" && ext != ".CSV") {
      throw usage_error("--write-observations " + printable(w) +
                        ": observations are written as CSV; name the file .csv");
    }
  }

  Observations obs;
  if (p.count("input")) {
    ObservationReadOptions ro;
    if (p.count("dims")) ro.dims = dims_option("dims", p["dims"].as<std::string>()), ro.has_dims = true;
    try {
      ro.default_set = parse_observed_set(p["set"].as<std::string>());
    } catch (const error& e) {
      throw usage_error(std::string("--set: ") + e.what());
    }
    const std::string in = p["input"].as<std::string>();
    if (in == "-" && mpi::size() > 1) {
      throw usage_error("--input -: under MPI standard input reaches rank 0 only; give the observations as a file");
    }
    if (in == "-") {
      if (::isatty(0)) throw usage_error("--input -: standard input is a terminal; pipe an observations CSV into it");
      obs = parse_observations_csv(std::cin, "standard input", ro);
    } else {
      obs = read_observations(in, ro);
    }
    if (!obs.dims_known && mpi::root()) {
      std::fprintf(stderr,
                   "note: no --dims: the game is taken to be %s (largest observed indices); unknown outcome "
                   "indices cannot be detected\n",
                   obs.dims.to_string().c_str());
    }
  } else {
    const Batch game = load_game(p);
    const std::vector<double> ic = parse_levels(p["ic"].as<std::string>(), "ic");
    const double cc = p["cc"].as<double>();
    const std::int64_t J = p["samples"].as<std::int64_t>();
    if (ic.size() != 1 && ic.size() != static_cast<std::size_t>(game.dims.players())) {
      throw usage_error("--ic: " + std::to_string(ic.size()) + " levels for a game of " +
                        std::to_string(game.dims.players()) + " players; give one level, or one per player");
    }
    const OutcomeSets sets = outcome_sets(game, 0, ic, cc);
    obs.dims = game.dims;
    obs.source = p.count("game") ? p["game"].as<std::string>() : p["example"].as<std::string>();
    std::vector<ObservedSet> which;
    for (const std::string& name : split_list(p["sample"].as<std::string>())) {
      try {
        which.push_back(parse_observed_set(name));
      } catch (const error& e) {
        throw usage_error(std::string("--sample: ") + e.what());
      }
    }
    if (which.empty()) throw usage_error("--sample: no set given");
    for (const ObservedSet set : which) {
      const Observations part = sample_observations(game, 0, sets, set, J, io.seed);
      obs.outcome.insert(obs.outcome.end(), part.outcome.begin(), part.outcome.end());
      obs.agents.insert(obs.agents.end(), part.agents.begin(), part.agents.end());
      obs.principals.insert(obs.principals.end(), part.principals.begin(), part.principals.end());
      obs.set.insert(obs.set.end(), part.set.begin(), part.set.end());
    }
    Results truth = evaluate(game.view(), Options{}, 1);
    std::string ia;
    for (int i = 0; i < game.dims.players(); ++i)
      ia += (i ? ", " : "") + format_double(truth.ia[static_cast<std::size_t>(i)]);
    if (mpi::root())
      std::fprintf(
          stderr,
          "truth (evaluated on the whole game, EPIC): IA = [%s], CA(agents) = %s; sampled at IC = %s, CC = %s\n",
          ia.c_str(), format_double(truth.ca_agents[0]).c_str(), p["ic"].as<std::string>().c_str(),
          format_double(cc).c_str());
    if (observations_out) write_observations_csv(observations_out->stream(), obs);
  }
  throw_if_stop_requested();
  // Under MPI (docs/SCALING.md) every rank reads or samples the observations and computes the
  // point estimates; the bootstrap's replicates are cut into R contiguous ranges, rank r computes
  // the r-th and sends it to rank 0, which places each range and computes the intervals from all B
  // replicates: replicate b depends only on the data, the seed and b, so the same bytes whatever R.
  mpi::setup_done("cpu", hash_command_line(std::vector<std::string>(argv, argv + argc)));
  const int ranks = mpi::size();
  const Inference r = detail::infer(
      obs, io,
      [&](std::int64_t resamples, std::int64_t slots, const detail::InferenceReplicatesFn& compute, double* reps) {
        const auto first = [&](int k) { return resamples * k / ranks; };
        const int me = mpi::rank();
        if (first(me + 1) > first(me)) {
          mpi::debug_range("infer", first(me), first(me + 1) - first(me), "bootstrap replicates");
          compute(first(me), first(me + 1) - first(me), reps + first(me) * slots);
        }
        if (ranks == 1) return;
        if (!mpi::root()) {
          if (first(me + 1) > first(me)) {
            mpi::send_to_root(
                std::string(reinterpret_cast<const char*>(reps + first(me) * slots),
                            static_cast<std::size_t>((first(me + 1) - first(me)) * slots) * sizeof(double)));
          }
          mpi::flush_sends();
          return;
        }
        for (int k = 1; k < ranks; ++k) {
          if (first(k + 1) == first(k)) continue;
          const std::string bytes = mpi::receive_from(k);
          if (bytes.size() != static_cast<std::size_t>((first(k + 1) - first(k)) * slots) * sizeof(double)) {
            throw error("infer: malformed bootstrap replicates from another rank");
          }
          std::memcpy(reps + first(k) * slots, bytes.data(), bytes.size());
        }
      });
  throw_if_stop_requested();
  if (!mpi::root()) return exit_ok;  // rank 0 writes (the staged outputs here are discarded)
  write_inference(out.stream(), r, format);
  files.commit();
  return exit_ok;
}

int experiment_inference_command(int argc, char** argv) {
  cxxopts::Options o("dgeval experiment inference",
                     "The inference experiment of docs/MATH.md §6: estimation error against the number of samples.");
  o.custom_help("[--sizes 3x3,5x5x4,...] [--games 25] [--samples 1000] [--every 10] [-o curves.csv]");
  o.add_options()("sizes",
                  "game sizes, comma separated (default: the first four paper sizes 3x3,5x5x4,6x7x4x6,7x3x8x5x12)",
                  cxxopts::value<std::string>())("games", "games per size (the paper: 25)",
                                                 cxxopts::value<std::int64_t>()->default_value("25"))(
      "samples", "J, samples per distribution (the paper: 1000)",
      cxxopts::value<std::int64_t>()->default_value("1000"))("every",
                                                             "estimate after every this many samples (the paper: 10)",
                                                             cxxopts::value<std::int64_t>()->default_value("10"))(
      "seed", "seed (game g of a size depends only on the seed, the size and g)",
      cxxopts::value<std::uint64_t>()->default_value("1282"))(
      "threads", "CPU threads (0 = all); results do not depend on it", cxxopts::value<int>()->default_value("0"))(
      "chunk",
      "games computed at once (under MPI, the unit dealt to the ranks; 0: 32 per thread, at least 16, or "
      "what 256 MiB of errors hold on a GPU; under MPI 64 on the CPU); results do not depend on it",
      cxxopts::value<std::int64_t>()->default_value("0"))(
      "o,output", "curves CSV (default stdout): mean, 90% interval of the mean and quantiles over games",
      cxxopts::value<std::string>())(
      "per-game",
      "also write every game's errors to this CSV (games x 4 distributions x 2 estimators x checkpoints rows)",
      cxxopts::value<std::string>())("q,quiet", "no progress on stderr")("h,help", "this help");
  add_backend_options(o, "where the games run (one per GPU thread; the same results)");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    if (!mpi::root()) return exit_ok;  // under MPI, rank 0 prints it
    std::cout << o.help()
              << "\nexamples:\n"
                 "  dgeval experiment inference -o inference_curves.csv                 # the paper's scale\n"
                 "  dgeval experiment inference --games 25000 -o inference_curves.csv   # 1000x the games\n"
                 "  python3 scripts/plots/inference.py inference_curves.csv --out docs/figures\n";
    return exit_ok;
  }
  InferenceExperimentConfig c;
  if (p.count("sizes")) {
    for (const std::string& s : split_list(p["sizes"].as<std::string>())) c.sizes.push_back(dims_option("sizes", s));
  }
  c.games = int64_option(p, "games", 1, std::int64_t{1} << 40);
  c.samples = int64_option(p, "samples", 1, std::int64_t{1} << 40);
  c.every = int64_option(p, "every", 1, std::int64_t{1} << 40);
  c.seed = p["seed"].as<std::uint64_t>();
  // Under MPI (docs/SCALING.md): the node's cores shared among its ranks, each rank on its
  // node-local rank's GPU unless --threads / --device say otherwise; rank 0 alone reports.
  c.threads = mpi::threads_per_rank(threads_option(p));
  c.device = !p.count("device") && mpi::size() > 1 ? mpi::local_rank() : device_option(p);
  const bool quiet = p.count("quiet") > 0 || !mpi::root();
  c.backend = resolve_backend(p, quiet);
  if (c.sizes.empty()) c.sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
  c.chunk = int64_option(p, "chunk", 0, std::int64_t{1} << 24, "0: automatic");
  // Under MPI the units must be the same on every rank: the automatic chunk of the CPU depends on
  // the rank's threads, so it is fixed there (a GPU's depends only on the checkpoints).
  if (c.chunk == 0 && mpi::size() > 1 && c.backend == "cpu") c.chunk = 64;

  // The outputs, checked and staged before the run; committed together at its end.
  RunFiles files;
  StagedOutput& curves_out = files.output("output", p.count("output") ? p["output"].as<std::string>() : "-");
  std::ostream* per_game =
      p.count("per-game") ? &files.output("per-game", p["per-game"].as<std::string>()).stream() : nullptr;
  if (per_game) {
    *per_game << "size,outcomes,game,distribution,estimator,samples";
    for (int m = 0; m < kInferenceMeasures; ++m)
      *per_game << ',' << to_string(static_cast<InferenceMeasure>(m)) << "_error";
    *per_game << '\n';
  }
  // The units (a size's games, --chunk at a time), as run_inference_experiment makes them; under
  // MPI unit u is rank u mod R's, each rank sends its units' per-game errors to rank 0, which
  // aggregates them game by game in unit order exactly as one process does: the same bytes
  // whatever R.
  const detail::InferenceExperimentProducer producer(c);
  mpi::setup_done(producer.backend(), hash_command_line(std::vector<std::string>(argv, argv + argc)));
  const std::vector<detail::InferenceUnit>& units = producer.units();
  const int ranks = mpi::size();
  const auto compute = [&](std::int64_t u, std::vector<double>& errors) {
    if (interrupted()) throw cancelled();
    const detail::InferenceUnit& unit = units[static_cast<std::size_t>(u)];
    mpi::debug_range("experiment inference", unit.size * producer.config().games + unit.first, unit.count);
    producer.produce(u, errors);
  };
  if (!mpi::root()) {
    std::vector<double> errors;
    for (std::int64_t u = mpi::rank(); u < static_cast<std::int64_t>(units.size()); u += ranks) {
      compute(u, errors);
      mpi::send_to_root(std::string(reinterpret_cast<const char*>(errors.data()), errors.size() * sizeof(double)));
    }
    mpi::flush_sends();
    return exit_ok;
  }
  Progress progress("experiment inference", !quiet);
  const auto rows = detail::run_inference_experiment(
      producer,
      per_game ? std::function<void(const InferenceErrorRow&)>([&](const InferenceErrorRow& r) {
        const Dims& d = c.sizes[static_cast<std::size_t>(r.size)];
        *per_game << d.to_string() << ',' << d.outcomes() << ',' << r.game << ',' << to_string(r.distribution) << ','
                  << (r.corrected ? "corrected" : "authors") << ',' << r.samples;
        for (int m = 0; m < kInferenceMeasures; ++m) *per_game << ',' << format_double(r.error[m]);
        *per_game << '\n';
      })
               : nullptr,
      [&](std::int64_t done, std::int64_t total) {
        progress.update(done, total);
        throw_if_stop_requested();
      },
      [&](std::int64_t u, std::vector<double>& errors) {
        const int owner = static_cast<int>(u % ranks);
        if (owner == 0) return compute(u, errors);
        const std::string bytes = mpi::receive_from(owner);
        if (bytes.size() % sizeof(double) != 0) throw error("inference experiment: a malformed unit from another rank");
        errors.resize(bytes.size() / sizeof(double));
        if (!bytes.empty()) std::memcpy(errors.data(), bytes.data(), bytes.size());
      });
  progress.finish();
  write_inference_curves(curves_out.stream(), c, rows);
  files.commit();
  return exit_ok;
}

}  // namespace cli
}  // namespace dgeval
