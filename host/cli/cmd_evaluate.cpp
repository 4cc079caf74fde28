// `dgeval evaluate`: built-in examples, random games, options, output and summary.
#include <cxxopts.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "dgeval/dgeval.hpp"
#include "progress.hpp"

namespace dgeval {
namespace cli {

void add_evaluation_options(cxxopts::Options& o) {
  o.add_options("measures")
      ("standardisation", "epic | max | max-range (spec §3.3)", cxxopts::value<std::string>()->default_value("epic"))
      ("welfare", "average | sum (spec §2)", cxxopts::value<std::string>()->default_value("average"))
      ("ic", "IC level, one for all players or one per player: 0.9 or 1,0.75 (ε_i = 1 - IC_i)",
       cxxopts::value<std::string>()->default_value("1"))
      ("cc", "CC level in [0,1] for the played set and the R3 bound", cxxopts::value<double>()->default_value("0"))
      ("cc-window", "code | natural: the played-set window of spec §4.4 / §11.3",
       cxxopts::value<std::string>()->default_value("code"))
      ("ne-tolerance", "additive slack of the ε-Nash test (spec §1.4)",
       cxxopts::value<double>()->default_value("1e-10"))
      ("strategy", "what the agents play: worst-ne | best-ne | uniform-ne | uniform-eps-ne | played",
       cxxopts::value<std::string>()->default_value("worst-ne"))
      ("list-equilibria", "also output each game's pure NE outcomes (pure_ne)")
      ("distance-matrix", "also output each game's 2n x 2n standardised distance matrix")
      ("allow-nonfinite", "accept NaN/Inf utilities: the game's results become NaN and its flags say so");
}

namespace {

std::vector<double> parse_levels(const std::string& text, const char* what) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double x = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0') throw usage_error(std::string("--") + what + ": \"" + item + "\" is not a number");
    v.push_back(x);
  }
  return v;
}

}  // namespace

void read_evaluation_options(const cxxopts::ParseResult& p, Options& o) {
  o.standardisation = parse_standardisation(p["standardisation"].as<std::string>());
  o.welfare = parse_welfare(p["welfare"].as<std::string>());
  o.ic = parse_levels(p["ic"].as<std::string>(), "ic");
  o.cc = p["cc"].as<double>();
  o.cc_window = parse_cc_window(p["cc-window"].as<std::string>());
  o.ne_tolerance = p["ne-tolerance"].as<double>();
  o.strategy.kind = parse_strategy_kind(p["strategy"].as<std::string>());
  if (o.strategy.kind == StrategyKind::pure || o.strategy.kind == StrategyKind::correlated ||
      o.strategy.kind == StrategyKind::product) {
    throw usage_error("--strategy " + p["strategy"].as<std::string>() +
                      ": user-supplied strategies are read from a file (not yet supported by this command)");
  }
  o.list_equilibria = p.count("list-equilibria") > 0;
  o.distance_matrix = p.count("distance-matrix") > 0;
  o.allow_nonfinite = p.count("allow-nonfinite") > 0;
}

int evaluate_command(int argc, char** argv) {
  cxxopts::Options o("dgeval evaluate", "Compute every measure of the spec for a batch of delegation games.");
  o.custom_help("[--example NAME | --random B --dims KxKx... [--seed S]] [options]");
  o.add_options("input")
      ("example", "a built-in example of spec §8: mammoth, mammoth-negated, misaligned, matching-pennies, "
                  "common-3x3, max-ca-negative, or all", cxxopts::value<std::string>())
      ("random", "evaluate B random games (i.i.d. uniform utilities in [0,1))", cxxopts::value<std::int64_t>())
      ("dims", "action counts of the random games, e.g. 6x7x4x6", cxxopts::value<std::string>())
      ("seed", "seed of the random games (game g depends only on seed and g)",
       cxxopts::value<std::uint64_t>()->default_value("0"));
  add_evaluation_options(o);
  o.add_options("run")
      ("backend", "auto | cpu | cuda", cxxopts::value<std::string>()->default_value("auto"))
      ("threads", "CPU threads (0 = all)", cxxopts::value<int>()->default_value("0"))
      ("device", "CUDA device ordinal", cxxopts::value<int>()->default_value("0"))
      ("o,output", "write results to FILE (atomically) instead of stdout", cxxopts::value<std::string>())
      ("format", "text | csv | jsonl (default: text for --example, else csv)", cxxopts::value<std::string>())
      ("summary", "text | json | none: batch summary on stderr", cxxopts::value<std::string>()->default_value("text"))
      ("q,quiet", "no progress bar and no summary")
      ("h,help", "this help");
  cxxopts::ParseResult p;
  try {
    p = o.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw usage_error(e.what());
  }
  if (p.count("help")) {
    std::cout << o.help() << "\nexamples:\n"
              << "  dgeval evaluate --example mammoth\n"
              << "  dgeval evaluate --example all --format csv\n"
              << "  dgeval evaluate --random 100000 --dims 6x7x4x6 --seed 7 --output results.csv\n"
              << "  dgeval evaluate --example common-3x3 --ic 0.5 --cc 0.5 --strategy played\n";
    return 0;
  }
  if (!p.unmatched().empty()) throw usage_error("unexpected argument \"" + p.unmatched()[0] + "\"");

  const bool quiet = p.count("quiet") > 0;
  Options options;
  read_evaluation_options(p, options);

  const std::string summary_mode = p["summary"].as<std::string>();
  if (summary_mode != "json" && summary_mode != "text" && summary_mode != "none") {
    throw usage_error("--summary: expected text, json or none");
  }
  if (p.count("example") && p.count("random")) throw usage_error("give either --example or --random, not both");
  if (!p.count("example") && !p.count("random")) {
    throw usage_error("no input: give --example NAME or --random B --dims KxK...");
  }
  const OutputFormat format = p.count("format") ? parse_output_format(p["format"].as<std::string>())
                                                : (p.count("example") ? OutputFormat::text : OutputFormat::csv);
  BackendConfig bc;
  bc.name = p["backend"].as<std::string>();
  bc.threads = p["threads"].as<int>();
  bc.device = p["device"].as<int>();
  std::string warning;
  auto backend = make_backend(bc, &warning);
  if (!warning.empty() && !quiet) std::fprintf(stderr, "dgeval: %s\n", warning.c_str());

  Summary summary;
  std::int64_t games_done = 0;
  double seconds = 0.0;
  // Evaluates one batch and writes its rows; games are numbered across the whole run.
  auto evaluate_batch = [&](std::ostream& out, const Batch& batch, const Options& opts, std::int64_t total,
                            Progress& progress) {
    const std::int64_t before = games_done;
    backend->set_progress([&](std::int64_t d, std::int64_t) { return progress.update(before + d, total); });
    Results r;
    backend->evaluate(batch.view(), opts, r);
    write_results(out, r, batch.dims, format, games_done, games_done == 0 || format != OutputFormat::csv);
    summary.add(r);
    games_done += r.games;
  };

  auto run = [&](std::ostream& out) {
    Progress progress("evaluate", !quiet);
    if (p.count("example")) {
      const std::string name = p["example"].as<std::string>();
      for (const std::string& n : name == "all" ? example_names() : std::vector<std::string>{name}) {
        Example e = make_example(n);
        Options eo = options;
        if (!p.count("standardisation")) eo.standardisation = e.options.standardisation;
        if (format == OutputFormat::text) out << "# " << e.name << ": " << e.description << '\n';
        evaluate_batch(out, e.batch, eo, 1, progress);
      }
    } else {
      if (!p.count("dims")) throw usage_error("--random needs --dims, e.g. --dims 6x7x4x6");
      const std::int64_t games = p["random"].as<std::int64_t>();
      if (games < 1) throw usage_error("--random: the number of games must be at least 1");
      const Dims dims = Dims::parse(p["dims"].as<std::string>());
      const std::uint64_t seed = p["seed"].as<std::uint64_t>();
      // Generate and evaluate in chunks of about 64 Mi values per side, so memory stays bounded.
      const std::int64_t per_game = checked_mul(dims.players(), dims.outcomes(), "n x N");
      const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 26) / per_game);
      for (std::int64_t g0 = 0; g0 < games; g0 += chunk) {
        const std::int64_t count = std::min(chunk, games - g0);
        const Batch batch = random_uniform_games(dims, count, seed, g0, 0.0, 1.0, bc.threads);
        evaluate_batch(out, batch, options, games, progress);
      }
    }
    progress.finish();
    seconds = progress.elapsed_seconds();
  };
  if (p.count("output")) {
    write_file_atomically(p["output"].as<std::string>(), run);
  } else {
    run(std::cout);
    std::cout.flush();
  }

  if (!quiet && summary_mode != "none") summary.write(std::cerr, summary_mode == "json");
  if (!quiet) {
    std::fprintf(stderr, "dgeval: %lld games on the %s backend in %.3f s (%.4g games/s)\n",
                 static_cast<long long>(games_done), backend->name(), seconds, seconds > 0 ? games_done / seconds : 0.0);
  }
  const std::int64_t violations = summary.bound_violations + summary.ideal_gap_bound_violations;
  if (violations > 0) {
    std::fprintf(stderr, "dgeval: error: a bound that is a theorem failed in %lld games; please report this\n",
                 static_cast<long long>(violations));
    return 3;
  }
  return 0;
}

}  // namespace cli
}  // namespace dgeval
