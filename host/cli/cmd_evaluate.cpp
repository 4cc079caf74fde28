// `dgeval evaluate`: games from built-in examples, the random generator, .npz / .npy / .nfg
// files; every measure of docs/MATH.md; results as text, CSV, JSON Lines or .npz; a summary; and
// `--check`, which re-evaluates a sample on the CPU reference and compares.
#include <cxxopts.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/journal.hpp"
#include "cli/mpi_run.hpp"
#include "cli/progress.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "dgeval/tolerances.hpp"
#include "dgeval/version.hpp"

namespace dgeval {
namespace cli {

void add_evaluation_options(cxxopts::Options& o) {
  o.add_options("measures")("standardisation", "epic | max | max-range (docs/MATH.md §3.3)",
                            cxxopts::value<std::string>()->default_value("epic"))(
      "welfare", "average | sum (docs/MATH.md §2)", cxxopts::value<std::string>()->default_value("average"))(
      "ic", "IC level, one for all players or one per player: 0.9 or 1,0.75 (ε_i = 1 - IC_i)",
      cxxopts::value<std::string>()->default_value("1"))("cc", "CC level in [0,1] for the played set and the R3 bound",
                                                         cxxopts::value<double>()->default_value("0"))(
      "cc-window", "code | natural: the played-set window of docs/MATH.md §4.4 / §11.3",
      cxxopts::value<std::string>()->default_value("code"))("ne-tolerance",
                                                            "additive slack of the ε-Nash test (docs/MATH.md §1.4)",
                                                            cxxopts::value<double>()->default_value("1e-10"))(
      "strategy",
      "what the agents play: worst-ne | best-ne | uniform-ne | uniform-eps-ne | played, or a FILE "
      "(.npy, .npz or text; prefix pure:, correlated: or product: to say which kind)",
      cxxopts::value<std::string>()->default_value("worst-ne"))("list-equilibria",
                                                                "also output each game's pure NE outcomes (pure_ne)")(
      "distance-matrix", "also output each game's 2n x 2n standardised distance matrix")(
      "columns",
      "the result columns to output, comma-separated (per-player columns by base name, e.g. "
      "ia,ca_principals,principals_welfare_regret,bound); flags is always included",
      cxxopts::value<std::string>()->default_value("all"))(
      "allow-nonfinite", "accept NaN/Inf utilities: the game's results become NaN and its flags say so");
}

namespace {

std::vector<double> parse_levels(const std::string& text, const char* what) {
  std::vector<double> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const double x = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0') {
      throw usage_error(std::string("--") + what + ": \"" + printable(item) + "\" is not a number");
    }
    v.push_back(x);  // the range and the count: validate(), once the players are known
  }
  if (v.empty()) throw usage_error(std::string("--") + what + ": no level given");
  return v;
}

/// A dgeval::error from interpreting `--flag`'s value becomes a usage_error.
template <class F>
auto option_value(const char* flag, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const usage_error&) {
    throw;
  } catch (const error& e) {
    throw usage_error(std::string("--") + flag + ": " + e.what());
  }
}

bool is_builtin_strategy(const std::string& s) {
  for (const char* k : {"worst-ne", "best-ne", "uniform-ne", "uniform-eps-ne", "played", "worst_ne", "best_ne",
                        "uniform_ne", "uniform_eps_ne"}) {
    if (s == k) return true;
  }
  return false;
}

}  // namespace

std::string read_evaluation_options(const cxxopts::ParseResult& p, Options& o) {
  o.standardisation =
      option_value("standardisation", [&] { return parse_standardisation(p["standardisation"].as<std::string>()); });
  o.welfare = option_value("welfare", [&] { return parse_welfare(p["welfare"].as<std::string>()); });
  o.ic = parse_levels(p["ic"].as<std::string>(), "ic");
  o.cc = p["cc"].as<double>();  // checked by validate() with the other levels
  o.cc_window = option_value("cc-window", [&] { return parse_cc_window(p["cc-window"].as<std::string>()); });
  o.ne_tolerance = p["ne-tolerance"].as<double>();
  o.list_equilibria = p.count("list-equilibria") > 0;
  o.distance_matrix = p.count("distance-matrix") > 0;
  try {
    o.columns = parse_columns(p["columns"].as<std::string>());
  } catch (const error& e) {
    throw usage_error(std::string("--") + e.what());  // "--columns: ..."
  }
  o.allow_nonfinite = p.count("allow-nonfinite") > 0;
  const std::string s = p["strategy"].as<std::string>();
  if (is_builtin_strategy(s)) {
    o.strategy.kind = parse_strategy_kind(s);
    return "";
  }
  if (s == "pure" || s == "correlated" || s == "product") {
    throw usage_error("--strategy " + s + ": a " + s + " strategy is read from a file: --strategy " + s + ":FILE");
  }
  if (s.empty()) throw usage_error("--strategy: an empty name");
  // Anything else is a strategy FILE or KIND:FILE; a name that is neither (a typo) is refused here,
  // with the names, rather than later as a file that cannot be opened.
  const std::string::size_type colon = s.find(':');
  const std::string prefix = colon == std::string::npos ? "" : s.substr(0, colon);
  const bool kind_given = prefix == "pure" || prefix == "correlated" || prefix == "product";
  std::error_code ec;
  if (!kind_given && !std::filesystem::exists(s, ec)) {
    throw usage_error("--strategy: unknown strategy '" + printable(s) +
                      "': expected worst-ne | best-ne | uniform-ne | uniform-eps-ne | played, or a strategy FILE "
                      "(.npy, .npz or text; KIND:FILE with KIND pure, correlated or product)");
  }
  return s;
}

namespace {

/// The file of a --strategy [KIND:]FILE.
std::string strategy_file_path(const std::string& spec) {
  const std::string::size_type colon = spec.find(':');
  if (colon == std::string::npos) return spec;
  const std::string prefix = spec.substr(0, colon);
  return prefix == "pure" || prefix == "correlated" || prefix == "product" ? spec.substr(colon + 1) : spec;
}

// One input of the run: a source and the options it is evaluated with.
struct Input {
  std::unique_ptr<GameSource> source;
  Options options;
  std::string heading;  // text output: a line before the games (examples)
  // Sources may stream (an .npz member, a pipe): their ranges are read in order, and a range that
  // this process does not evaluate (done in the journal, or another rank's) is read and dropped,
  // except from a source that can be read at any game (generated games, examples).
  bool random_access = false;
  std::int64_t next_read = 0;

  BatchView read(std::int64_t first, std::int64_t count, std::int64_t chunk) {
    while (!random_access && next_read < first) {
      const std::int64_t n = std::min(chunk, first - next_read);
      source->read(next_read, n);
      next_read += n;
    }
    next_read = first + count;
    return source->read(first, count);
  }
};

// Per-column comparison of the main backend with the CPU reference (--check): compare_results,
// the tests' comparison.

class Checker {
 public:
  Checker(std::int64_t per_source_sample, bool all, int threads)
      : sample_(per_source_sample), all_(all), cpu_(make_cpu_backend(threads)) {}

  // Re-evaluates the sampled games among [first, first + view.games) of a source of `total`
  // games and compares with `got` (the main backend's results for the chunk).
  void check_chunk(const BatchView& view, const Options& chunk_options, std::int64_t first, std::int64_t total,
                   const Results& got) {
    std::vector<std::int64_t> picks;  // indices within the chunk
    if (all_) {
      for (std::int64_t g = 0; g < view.games; ++g) picks.push_back(g);
    } else {
      const std::int64_t m = std::min(sample_, total);
      // Sample j is game floor(j * total / m): spread evenly over the batch.
      for (std::int64_t j = (first * m + total - 1) / total; j < m; ++j) {
        const std::int64_t g = static_cast<std::int64_t>((static_cast<__int128>(j) * total) / m);
        if (g >= first + view.games) break;
        if (g >= first) picks.push_back(g - first);
      }
    }
    if (picks.empty()) return;
    Batch b(view.dims, static_cast<std::int64_t>(picks.size()));
    const std::int64_t per = view.values_per_game();
    for (std::size_t j = 0; j < picks.size(); ++j) {
      const Batch one = copy_games(view, picks[j], 1);
      std::copy(one.agents.begin(), one.agents.end(), b.agents.begin() + static_cast<std::ptrdiff_t>(j * per));
      std::copy(one.principals.begin(), one.principals.end(),
                b.principals.begin() + static_cast<std::ptrdiff_t>(j * per));
    }
    Options o = chunk_options;
    if (o.strategy.per_game) {
      const Strategy& s = chunk_options.strategy;
      const std::size_t stride = s.actions.empty() ? s.weights.size() / static_cast<std::size_t>(view.games)
                                                   : s.actions.size() / static_cast<std::size_t>(view.games);
      o.strategy.actions.clear();
      o.strategy.weights.clear();
      for (std::int64_t g : picks) {
        const std::size_t at = static_cast<std::size_t>(g) * stride;
        if (!s.actions.empty()) {
          o.strategy.actions.insert(o.strategy.actions.end(), s.actions.begin() + at, s.actions.begin() + at + stride);
        } else {
          o.strategy.weights.insert(o.strategy.weights.end(), s.weights.begin() + at, s.weights.begin() + at + stride);
        }
      }
    }
    o.columns = kAllColumns;  // the welfare columns give the comparison's scale
    Results ref;
    cpu_->evaluate(b.view(), o, ref);
    relative_ =
        std::max(relative_, view.dtype == DType::float32 ? tolerances::float32_relative : tolerances::float64_relative);
    const Comparison cmp = compare_results(ref, got, b.view(), o, relative_, picks.data(), 0);
    if (stats_.empty()) {
      stats_ = cmp.columns;
    } else {
      for (std::size_t col = 0; col < stats_.size(); ++col) stats_[col].add(cmp.columns[col]);
    }
    games_ += static_cast<std::int64_t>(picks.size());
  }

  // Prints the table; returns true when every value is within tolerance.
  bool report(bool quiet, const char* backend) const {
    std::int64_t beyond = 0;
    for (const ColumnComparison& st : stats_) beyond += st.beyond;
    if (!quiet || beyond) {
      std::fprintf(stderr,
                   "check: %lld games re-evaluated on the CPU reference and compared with the %s backend "
                   "(relative tolerance %g of max(|value|, welfare scale); counts and flags exactly)\n",
                   static_cast<long long>(games_), backend, relative_);
      std::fprintf(stderr, "  %-28s %14s %14s %10s\n", "column", "max abs diff", "max rel diff", "beyond");
      for (const ColumnComparison& st : stats_) {
        if (st.compared == 0) continue;  // a column outside --columns
        std::fprintf(stderr, "  %-28s %14.3g %14.3g %10lld\n", st.column.c_str(), st.max_abs, st.max_rel,
                     static_cast<long long>(st.beyond));
      }
      std::fprintf(stderr, "check: %s\n", beyond ? "FAILED: values beyond tolerance (see the table)" : "passed");
    }
    return beyond == 0;
  }

 private:
  std::int64_t sample_;
  bool all_;
  std::unique_ptr<Backend> cpu_;
  std::vector<ColumnComparison> stats_;
  std::int64_t games_ = 0;
  double relative_ = tolerances::float64_relative;
};

// The slice of `full` (a per-game strategy of `games` games) for games [first, first + count).
Strategy slice_strategy(const Strategy& full, std::int64_t games, std::int64_t first, std::int64_t count) {
  if (!full.per_game) return full;
  Strategy s;
  s.kind = full.kind;
  s.per_game = true;
  if (!full.actions.empty()) {
    const std::size_t per = full.actions.size() / static_cast<std::size_t>(games);
    s.actions.assign(full.actions.begin() + static_cast<std::ptrdiff_t>(first * per),
                     full.actions.begin() + static_cast<std::ptrdiff_t>((first + count) * per));
  }
  if (!full.weights.empty()) {
    const std::size_t per = full.weights.size() / static_cast<std::size_t>(games);
    s.weights.assign(full.weights.begin() + static_cast<std::ptrdiff_t>(first * per),
                     full.weights.begin() + static_cast<std::ptrdiff_t>((first + count) * per));
  }
  return s;
}

const char* kEvaluateExamples =
    "examples:\n"
    "  dgeval evaluate --example mammoth\n"
    "  dgeval evaluate --example all --format jsonl\n"
    "  dgeval evaluate --input games.npz --output results.csv\n"
    "  dgeval evaluate --agents agents.npy --principals principals.npy --output results.npz\n"
    "  dgeval evaluate --agents a.nfg --principals p.nfg --list-equilibria --format jsonl\n"
    "  dgeval evaluate --input game.nfg              # the game is both the agents' and the principals'\n"
    "  dgeval evaluate --random 100000 --dims 6x7x4x6 --seed 7 --output results.csv --check 100\n"
    "  dgeval evaluate --example common-3x3 --ic 0.5 --cc 0.5 --strategy played\n"
    "  dgeval evaluate --input games.npz --strategy correlated:sigma.npy\n"
    "  dgeval evaluate --random 20000000 --dims 6x7x4x6 -o big.csv --resume   # continue after a stop\n"
    "  mpirun -n 4 dgeval evaluate --random 20000000 --dims 6x7x4x6 -o big.csv   # 4 MPI ranks, the same bytes\n"
    "\n"
    "mpi: under mpirun or srun (a dgeval built with MPI) the ranges are dealt to the ranks and rank 0 writes the\n"
    "output, byte-identical to one process; --resume works with any number of ranks (docs/SCALING.md).\n"
    "resume: a run of more than one chunk into a regular file keeps a journal, FILE.dgeval-journal/ (the ranges\n"
    "done and their results, flushed to disk), until it has finished; after Ctrl-C, a kill or a crash the same\n"
    "command with --resume continues it and writes the bytes an uninterrupted run would. Another command line,\n"
    "input or dgeval version is refused (docs/FORMATS.md, \"The journal of a resumable run\").\n"
    "inputs: an .npz holds arrays 'agents' and 'principals' of shape [B, n, k_1..k_n] (or [n, k_1..k_n] for one\n"
    "game), float32 or float64, and optionally strategy_pure / strategy_correlated / strategy_product.\n"
    "A strategy text file starts with pure, correlated or product, then the numbers (C order).\n"
    "outputs: - is standard output; a device, FIFO or socket is written directly; a file is replaced only once the\n"
    "whole run has succeeded (docs/FORMATS.md, \"Guarantees on output\").\n"
    "exit status: 0 ok, 1 bad input or I/O error, 2 bad command line, 3 a theorem bound failed (a bug),\n"
    "4 --check found differences beyond tolerance, 128+N stopped by signal N (130 Ctrl-C).\n";

}  // namespace

int evaluate_command(int argc, char** argv) {
  cxxopts::Options o("dgeval evaluate", "Compute every measure of docs/MATH.md for a batch of delegation games.");
  o.custom_help(
      "(--input FILE | --agents FILE --principals FILE | --example NAME | --random B --dims KxKx...) [options]");
  o.add_options("input")(
      "input",
      "games from FILE: an .npz with arrays agents and principals; or one .nfg / .npy used for both sides "
      "(- : an .nfg from standard input)",
      cxxopts::value<std::string>())("agents",
                                     "the agents' utilities: an .npy ([B, n, k..] or [n, k..]) or a Gambit .nfg",
                                     cxxopts::value<std::string>())(
      "principals", "the principals' utilities, same shape as --agents", cxxopts::value<std::string>())(
      "single-game", "read an .npy/.npz array of shape [n, k_1..k_n] as one game even when it also fits [B, n, k..]")(
      "example",
      "a built-in example of docs/MATH.md §8: mammoth, mammoth-negated, misaligned, matching-pennies, "
      "common-3x3, max-ca-negative, or all",
      cxxopts::value<std::string>())("random", "evaluate B random games (i.i.d. uniform utilities in [0,1))",
                                     cxxopts::value<std::int64_t>())(
      "dims", "action counts of the random games, e.g. 6x7x4x6", cxxopts::value<std::string>())(
      "seed", "seed of the random games (game g depends only on seed and g)",
      cxxopts::value<std::uint64_t>()->default_value("0"));
  add_evaluation_options(o);
  o.add_options("run")("backend", "auto | cpu | cuda", cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int>()->default_value("0"))(
      "device", "CUDA device ordinal", cxxopts::value<int>()->default_value("0"))(
      "chunk-games", "games per chunk read and evaluated at once (0 = about 16 Mi utilities per side)",
      cxxopts::value<std::int64_t>()->default_value("0"))(
      "check",
      "re-evaluate N games (spread over the batch; 'all' for every game) on the CPU reference and report "
      "the largest differences per column; exit 4 if beyond tolerance",
      cxxopts::value<std::string>()->implicit_value("100"))(
      "resume",
      "continue the interrupted run of this same command from its journal OUTPUT.dgeval-journal "
      "(the output has the same bytes as an uninterrupted run; without a journal, start from the beginning)");
  o.add_options("output")("o,output",
                          "write results to FILE (atomically; - for standard output); the format follows the extension "
                          "(.csv .jsonl .npz .txt)",
                          cxxopts::value<std::string>())(
      "format", "text | csv | jsonl | npz (default: from --output, else text for --example and csv otherwise)",
      cxxopts::value<std::string>())("compress", "deflate the .npz output")(
      "float32-results", "store the .npz output's real columns as float32 (half the bytes, ~7 digits)")(
      "digits",
      "text output only: print reals with N significant digits, 1..17 (default: every value exactly, "
      "in the shortest text that reads back to it; CSV, JSON Lines and .npz always do so)",
      cxxopts::value<int>())("summary",
                             "text | json | none: batch summary on stderr (for a single game only when given)",
                             cxxopts::value<std::string>()->default_value("text"))(
      "summary-output", "also write the summary as JSON to FILE (atomically)", cxxopts::value<std::string>())(
      "q,quiet", "no progress, notes or summary on stderr (errors and --check failures still print)")("h,help",
                                                                                                      "this help");
  // `--check N` and `--check all` (cxxopts binds an optional value only as --check=N).
  std::vector<std::string> args(argv, argv + argc);
  for (std::size_t i = 1; i + 1 < args.size(); ++i) {
    const std::string& next = args[i + 1];
    if (args[i] == "--check" &&
        (next == "all" || (!next.empty() && next.find_first_not_of("0123456789") == std::string::npos))) {
      args[i] += "=" + next;
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  }
  std::vector<char*> av;
  for (std::string& a : args) av.push_back(a.data());
  const cxxopts::ParseResult p = parse_or_usage(o, static_cast<int>(av.size()), av.data());
  if (p.count("help")) {
    if (mpi::root()) std::cout << o.help() << '\n' << kEvaluateExamples;
    return exit_ok;
  }
  const auto started = std::chrono::steady_clock::now();  // the timing line counts reading and writing

  // Under MPI (docs/SCALING.md) only rank 0 writes and reports: the other ranks run quietly.
  const bool quiet = p.count("quiet") > 0 || !mpi::root();
  Options options;
  const std::string strategy_file = read_evaluation_options(p, options);
  const bool strategy_given = p.count("strategy") > 0;

  const std::string summary_mode = p["summary"].as<std::string>();
  if (summary_mode != "json" && summary_mode != "text" && summary_mode != "none") {
    throw usage_error("--summary: expected text, json or none");
  }
  const int sources = (p.count("example") ? 1 : 0) + (p.count("random") ? 1 : 0) + (p.count("input") ? 1 : 0) +
                      (p.count("agents") || p.count("principals") ? 1 : 0);
  if (sources == 0) {
    throw usage_error(
        "no input: give --input FILE, --agents FILE --principals FILE, --example NAME, or --random B --dims KxK..");
  }
  if (sources > 1) throw usage_error("give one input: --input, --agents/--principals, --example or --random");
  if (p.count("agents") != p.count("principals")) throw usage_error("--agents and --principals go together");
  if (p.count("dims") && !p.count("random")) throw usage_error("--dims goes with --random");

  const std::string output_path = p.count("output") ? p["output"].as<std::string>() : "-";
  OutputFormat format = OutputFormat::csv;
  if (p.count("format")) {
    format = option_value("format", [&] { return parse_output_format(p["format"].as<std::string>()); });
  } else if (output_path != "-") {
    format = option_value("output", [&] { return output_format_for_path(output_path); });
  } else if (p.count("example")) {
    format = OutputFormat::text;
  }
  if (format == OutputFormat::npz && !p.count("output")) {
    throw usage_error("--format npz needs --output FILE.npz (or --output - for standard output)");
  }
  if (p.count("float32-results") && format != OutputFormat::npz) {
    throw usage_error("--float32-results applies to .npz output (CSV and JSON Lines print every value exactly)");
  }
  int digits = 0;  // text: the shortest text that reads back exactly
  if (p.count("digits")) {
    digits = p["digits"].as<int>();
    if (digits < 1 || digits > kMaxDigits) {
      throw usage_error("--digits: expected a number of significant digits from 1 to " + std::to_string(kMaxDigits) +
                        ", got " + std::to_string(digits));
    }
    if (format != OutputFormat::text) {
      throw usage_error(std::string("--digits applies to text output; ") + to_string(format) +
                        " output keeps every digit (shortest round-trip text, or float64)");
    }
  }

  std::optional<Checker> checker;
  if (p.count("check")) {
    const std::string c = p["check"].as<std::string>();
    std::int64_t n = 0;
    if (c != "all") {
      char* end = nullptr;
      n = std::strtoll(c.c_str(), &end, 10);
      if (c.empty() || *end != '\0' || n < 1)
        throw usage_error("--check: expected a positive number of games or 'all'");
    }
    checker.emplace(n, c == "all", threads_option(p));
  }
  const std::int64_t chunk_games = int64_option(p, "chunk-games", 0, std::int64_t{1} << 40, "0: automatic");
  // Under MPI: the node's cores shared among its ranks, and each rank on the GPU of its node-local
  // rank, unless --threads / --device say otherwise.
  const int threads = mpi::threads_per_rank(threads_option(p));
  const int device = !p.count("device") && mpi::size() > 1 ? mpi::local_rank() : device_option(p);

  // The run's files, checked before anything is read or computed: no output may be a folder,
  // an input, or another output.
  RunFiles files;
  if (p.count("input")) files.input("input", p["input"].as<std::string>());
  if (p.count("agents")) files.input("agents", p["agents"].as<std::string>());
  if (p.count("principals")) files.input("principals", p["principals"].as<std::string>());
  if (!strategy_file.empty()) files.input("strategy", strategy_file_path(strategy_file));
  StagedOutput& main_out = files.output("output", output_path);
  StagedOutput* summary_out =
      p.count("summary-output") ? &files.output("summary-output", p["summary-output"].as<std::string>()) : nullptr;

  // Inputs.
  ReadOptions read_options;
  read_options.allow_nonfinite = options.allow_nonfinite;
  const ShapeRule rule = p.count("single-game") ? ShapeRule::single_game : ShapeRule::automatic;
  std::vector<Input> inputs;
  if (p.count("example")) {
    const std::string name = p["example"].as<std::string>();
    for (const std::string& n : name == "all" ? example_names() : std::vector<std::string>{name}) {
      Example e = option_value("example", [&] { return make_example(n); });
      Input in;
      in.options = options;
      if (!p.count("standardisation")) in.options.standardisation = e.options.standardisation;
      in.heading = "# " + e.name + ": " + e.description;
      in.random_access = true;
      in.source = make_memory_source(std::move(e.batch), "example " + e.name);
      inputs.push_back(std::move(in));
    }
  } else {
    Input in;
    in.options = options;
    if (p.count("random")) {
      if (!p.count("dims")) throw usage_error("--random needs --dims, e.g. --dims 6x7x4x6");
      const std::int64_t games = int64_option(p, "random", 1, std::numeric_limits<std::int64_t>::max());
      const Dims dims = option_value("dims", [&] { return Dims::parse(p["dims"].as<std::string>()); });
      in.source = make_random_source(dims, games, p["seed"].as<std::uint64_t>(), threads);
      in.random_access = true;
    } else if (p.count("input")) {
      in.source = open_input("input", p["input"].as<std::string>(), rule, read_options);
    } else {
      refuse_stdin("agents", p["agents"].as<std::string>());
      refuse_stdin("principals", p["principals"].as<std::string>());
      in.source = open_game_pair(p["agents"].as<std::string>(), p["principals"].as<std::string>(), rule, read_options);
    }
    inputs.push_back(std::move(in));
  }
  for (Input& in : inputs) {
    if (!quiet) {
      for (const std::string& note : in.source->notes()) std::fprintf(stderr, "dgeval: note: %s\n", note.c_str());
    }
    const Dims& dims = in.source->dims();
    const std::int64_t games = in.source->games();
    // The levels and tolerances against the players (a bad option value: exit 2), before the
    // strategy, whose file is input (exit 1). The library's messages, as the Python module's.
    try {
      Options levels = in.options;
      levels.strategy = Strategy{};
      validate(levels, dims, games);
    } catch (const error& e) {
      throw usage_error(e.what());
    }
    if (!strategy_file.empty()) {
      in.options.strategy = read_strategy_file(strategy_file, dims, games);
    } else if (!strategy_given && in.source->has_strategy()) {
      in.options.strategy = in.source->strategy();
      if (!quiet) {
        std::fprintf(stderr, "dgeval: note: using the %s strategy stored in %s\n", to_string(in.options.strategy.kind),
                     in.source->describe().c_str());
      }
    }
    validate(in.options, dims, games);
  }

  BackendConfig bc;
  bc.name = p["backend"].as<std::string>();
  bc.threads = threads;
  bc.device = device;
  if (bc.name != "auto" && bc.name != "cpu" && bc.name != "cuda") {
    option_value("backend", [&] { return make_backend(bc, nullptr); });  // the library's message
  }
  std::string warning;
  auto backend = make_backend(bc, &warning);
  if (!warning.empty() && !quiet) std::fprintf(stderr, "dgeval: %s\n", warning.c_str());

  std::int64_t total_games = 0;
  for (const Input& in : inputs) {
    total_games += in.source->games();
    if ((format == OutputFormat::csv || format == OutputFormat::npz) &&
        in.source->dims().players() != inputs.front().source->dims().players()) {
      throw usage_error("the inputs have different numbers of players, so their " + std::string(to_string(format)) +
                        " columns differ; use --format jsonl or text");
    }
  }

  Summary summary;
  // Built-in strategies are undefined without a pure NE (E_0 lies in E(IC), so played needs one
  // too), uniform-eps-ne without an eps-NE; user strategies never are.
  summary.undefined_reason = options.strategy.kind == StrategyKind::uniform_eps_ne ? "no eps-NE" : "no pure NE";
  std::int64_t games_done = 0;
  std::unique_ptr<ResultsNpzWriter> npz_out;
  if (format == OutputFormat::npz && mpi::root()) {
    npz_out = std::make_unique<ResultsNpzWriter>(main_out, p.count("compress") > 0, p.count("float32-results") > 0);
  }

  // The journal of a resumable run (cli/journal.hpp): for a run of more than one range (chunk)
  // into a regular file, from generated games or input files (not standard input).
  std::int64_t total_ranges = 0;
  for (const Input& in : inputs) {
    const std::int64_t chunk = chunk_games > 0 ? chunk_games : games_per_chunk(in.source->dims());
    total_ranges += (in.source->games() + chunk - 1) / chunk;
  }
  std::vector<std::string> input_files;
  for (const char* flag : {"input", "agents", "principals"}) {
    if (p.count(flag)) input_files.push_back(p[flag].as<std::string>());
  }
  if (!strategy_file.empty()) input_files.push_back(strategy_file_path(strategy_file));
  const bool from_stdin = std::find(input_files.begin(), input_files.end(), "-") != input_files.end();
  const bool resume = p.count("resume") > 0;
  if (resume && (main_out.target().kind != OutputKind::regular || from_stdin)) {
    throw usage_error("--resume needs --output FILE (a regular file) and input files other than standard input");
  }
  std::unique_ptr<RunJournal> journal;  // under MPI, rank 0's (the writer's)
  if (main_out.target().kind == OutputKind::regular && !from_stdin && total_ranges > 1 && mpi::root()) {
    JournalIdentity id;
    id.version = version();
    id.command = hash_command_line(args);
    id.inputs = input_files.empty() ? "none" : hash_files(input_files);
    id.backend = backend->name();
    id.games = total_games;
    id.ranges = total_ranges;
    journal = std::make_unique<RunJournal>(RunJournal::folder_for(main_out.target().file), id, resume, quiet);
  }

  // Every rank is ready (under MPI: with the same backend; a failure anywhere ended every rank).
  mpi::setup_done(backend->name(), hash_command_line(args));
  // The ranges (chunks) of the run, in order; under MPI the ranges not done are dealt to the
  // ranks in turn (cli/mpi_run.hpp), rank 0 taking each in order and writing it.
  std::vector<std::int64_t> firsts;  // every range's first game, in order
  {
    std::int64_t first = 0;
    for (const Input& in : inputs) {
      const std::int64_t chunk = chunk_games > 0 ? chunk_games : games_per_chunk(in.source->dims());
      for (std::int64_t g0 = 0; g0 < in.source->games(); g0 += chunk) firsts.push_back(first + g0);
      first += in.source->games();
    }
  }
  const std::vector<int> owner =
      mpi::deal_ranges(firsts, [&](std::int64_t first) { return journal && journal->holds(first); });

  auto run = [&](std::ostream* out) {
    Progress progress("evaluate", !quiet);
    std::size_t range = 0;
    for (Input& in : inputs) {
      GameSource& src = *in.source;
      const std::int64_t games = src.games();
      const std::int64_t chunk = chunk_games > 0 ? chunk_games : games_per_chunk(src.dims());
      if (out && format == OutputFormat::text && !in.heading.empty()) *out << in.heading << '\n';
      const Strategy full = in.options.strategy;
      Options chunk_options = in.options;
      for (std::int64_t g0 = 0; g0 < games; g0 += chunk, ++range) {
        const std::int64_t count = std::min(chunk, games - g0);
        if (interrupted()) throw cancelled();
        const int by = owner[range];
        // The chunk's games, with chunk_options holding their slice of a per-game strategy.
        auto read_chunk = [&] {
          const BatchView view = in.read(g0, count, chunk);
          if (full.per_game) chunk_options.strategy = slice_strategy(full, games, g0, count);
          return view;
        };
        // Evaluates the chunk; an error names the file and the games (or the non-finite value).
        auto evaluate_chunk = [&](const BatchView& view, Results& r) {
          try {
            backend->evaluate(view, chunk_options, r);
          } catch (const error& e) {
            const std::string where = options.allow_nonfinite ? "" : find_nonfinite(view, g0);
            if (!where.empty()) throw error(src.describe() + ": " + where);
            throw error(src.describe() + ": games " + std::to_string(g0) + " to " + std::to_string(g0 + count - 1) +
                        ": " + e.what());
          }
        };
        if (!mpi::root()) {  // another rank: computes its ranges and sends them to rank 0
          if (by == mpi::rank()) {
            mpi::debug_range("evaluate", games_done, count);
            Results r;
            evaluate_chunk(read_chunk(), r);
            mpi::send_to_root(serialise_results(r));
          }
          games_done += count;
          continue;
        }
        Results r;
        if (by > 0) {  // computed by another rank
          r = parse_results(mpi::receive_from(by), count, "rank " + std::to_string(by));
          if (checker) {
            const BatchView view = read_chunk();  // sets chunk_options' strategy slice first
            checker->check_chunk(view, chunk_options, g0, games, r);
          }
          if (journal) journal->record(games_done, r);
        } else if (journal && journal->load(games_done, count, r)) {  // done before the run was stopped
          if (checker) {
            const BatchView view = read_chunk();  // sets chunk_options' strategy slice first
            checker->check_chunk(view, chunk_options, g0, games, r);
          }
        } else {
          mpi::debug_range("evaluate", games_done, count);
          const BatchView view = read_chunk();
          const std::int64_t before = games_done;
          if (interrupted()) throw cancelled();
          backend->set_progress(
              [&](std::int64_t d, std::int64_t) { return progress.update(before + d, total_games) && !interrupted(); });
          evaluate_chunk(view, r);
          if (checker) checker->check_chunk(view, chunk_options, g0, games, r);
          if (journal) journal->record(games_done, r);
        }
        if (npz_out) {
          npz_out->add(r, src.dims(), games_done);
        } else {
          write_results(*out, r, src.dims(), format, games_done, games_done == 0 || format != OutputFormat::csv,
                        bc.threads, digits);
        }
        summary.add(r);
        games_done += r.games;
        progress.update(games_done, total_games);
      }
    }
    mpi::flush_sends();
    progress.finish();
  };
  if (!mpi::root()) {  // under MPI: another rank's part is done once its ranges are sent
    run(nullptr);
    return exit_ok;
  }
  try {
    if (npz_out) {
      run(nullptr);
      npz_out->commit();  // the archive, complete in its staging
    } else {
      run(&main_out.stream());
    }
    if (summary_out) summary.write(summary_out->stream(), true);
    files.commit();  // every output together, only now that all of them are complete
  } catch (...) {
    if (journal) journal->on_failure("evaluate", total_games, quiet);
    throw;
  }
  // The outputs are committed: the journal is no longer needed.
  if (journal) journal->finish_after_commit("evaluate");

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // A single game's rows already say everything: its summary only when --summary asks for it.
  const bool summary_wanted = summary_mode != "none" && (total_games > 1 || p.count("summary") > 0);
  if (!quiet && summary_wanted) summary.write(std::cerr, summary_mode == "json");
  if (!quiet) {
    std::fprintf(stderr, "dgeval: %lld game%s on the %s backend in %s, reading and writing included (%.3g games/s)\n",
                 static_cast<long long>(games_done), games_done == 1 ? "" : "s", backend->name(),
                 duration_text(seconds).c_str(), seconds > 0 ? games_done / seconds : 0.0);
  }
  const bool check_ok = !checker || checker->report(quiet, backend->name());
  const std::int64_t violations = summary.bound_violations + summary.ideal_gap_bound_violations;
  if (violations > 0) {
    std::fprintf(stderr, "dgeval: error: a bound that is a theorem failed in %lld games; please report this\n",
                 static_cast<long long>(violations));
    return exit_bound_violated;
  }
  return check_ok ? exit_ok : exit_check_failed;
}

}  // namespace cli
}  // namespace dgeval
