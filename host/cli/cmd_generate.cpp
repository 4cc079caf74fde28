// `dgeval generate`: writes batches of games (.npz, a pair of .npy, or a pair of .nfg).
//
// Generators live in one table below: to add one, write a function that produces games
// [first, first + count) of the batch as a dgeval::Batch, add its flags in its add_options, and
// append an entry to generators(). Games are produced and written chunk by chunk.
#include <cxxopts.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>

#include "cli/commands.hpp"
#include "cli/journal.hpp"
#include "cli/mpi_run.hpp"
#include "cli/progress.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "dgeval/version.hpp"

namespace dgeval {
namespace cli {

namespace {

/// What every generator is asked for.
struct GenerateRequest {
  Dims dims;
  std::int64_t games = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  int device = -1;  ///< the CUDA device the delegation generator runs on; -1: the CPU
};

struct Generator {
  const char* name;
  const char* description;
  /// Adds the generator's own flags (group "generator").
  std::function<void(cxxopts::Options&)> add_options;
  /// Checks the flags once, before anything is written (throw usage_error).
  std::function<void(const cxxopts::ParseResult&)> check;
  /// Games [first, first + count) of the batch.
  std::function<Batch(const GenerateRequest&, const cxxopts::ParseResult&, std::int64_t first, std::int64_t count)>
      make;
};

const std::vector<Generator>& generators() {
  static const std::vector<Generator> table = {
      {"uniform", "i.i.d. uniform utilities in [lo, hi) on both sides (random_uniform_games)",
       [](cxxopts::Options& o) {
         o.add_options("generator")("lo", "uniform: lower end of the utilities",
                                    cxxopts::value<double>()->default_value("0"))(
             "hi", "uniform: upper end of the utilities", cxxopts::value<double>()->default_value("1"));
       },
       [](const cxxopts::ParseResult& p) {
         const double lo = p["lo"].as<double>(), hi = p["hi"].as<double>();
         if (!std::isfinite(lo) || !std::isfinite(hi)) throw usage_error("--lo and --hi must be finite numbers");
         if (!(hi > lo)) throw usage_error("--hi must be greater than --lo");
       },
       [](const GenerateRequest& r, const cxxopts::ParseResult& p, std::int64_t first, std::int64_t count) {
         return random_uniform_games(r.dims, count, r.seed, first, p["lo"].as<double>(), p["hi"].as<double>(),
                                     r.threads);
       }},
      {"delegation", "controlled IA, CA, calibration and pure NE (dgeval::generate_games, docs/MATH.md §7.1)",
       add_delegation_options,
       [](const cxxopts::ParseResult& p) { check_delegation(p, Dims::parse(p["dims"].as<std::string>())); },
       [](const GenerateRequest& r, const cxxopts::ParseResult& p, std::int64_t first, std::int64_t count) {
         // Under MPI each rank makes only its ranges: no rank has the whole batch's report.
         return make_delegation(r.dims, r.games, r.seed, r.threads, r.device, p,
                                p.count("quiet") > 0 || mpi::size() > 1, first, count);
       }},
  };
  return table;
}

}  // namespace

namespace {

// A generate range's part file: magic, the games, then each side's values (float64, the
// machine's byte order).
constexpr char kGamesMagic[8] = {'D', 'G', 'G', 'A', 'M', 'E', '1', '\0'};

std::string games_part(const Batch& b) {
  std::string s(kGamesMagic, 8);
  const std::uint64_t games = static_cast<std::uint64_t>(b.games);
  s.append(reinterpret_cast<const char*>(&games), 8);
  s.append(reinterpret_cast<const char*>(b.agents.data()), b.agents.size() * sizeof(double));
  s.append(reinterpret_cast<const char*>(b.principals.data()), b.principals.size() * sizeof(double));
  return s;
}

Batch games_from_part(const std::string& s, const Dims& dims, std::int64_t first, std::int64_t count,
                      const std::string& folder) {
  Batch b(dims, count);
  const std::size_t side = b.agents.size() * sizeof(double);
  std::uint64_t games = 0;
  if (s.size() >= 16) std::memcpy(&games, s.data() + 8, 8);
  if (s.size() != 16 + 2 * side || std::memcmp(s.data(), kGamesMagic, 8) != 0 ||
      games != static_cast<std::uint64_t>(count)) {
    throw error(printable(folder) + "/part-" + std::to_string(first) +
                ": not the range's games (size or header); the journal is corrupt: remove the folder to start again");
  }
  std::memcpy(b.agents.data(), s.data() + 16, side);
  std::memcpy(b.principals.data(), s.data() + 16 + side, side);
  return b;
}

}  // namespace

int generate_command(int argc, char** argv) {
  cxxopts::Options o("dgeval generate", "Write a batch of generated delegation games.");
  o.custom_help("--dims KxKx... [--games B] [--generator NAME] (--output FILE.npz | --agents A --principals P)");
  std::string names;
  for (const Generator& g : generators()) names += (names.empty() ? "" : " | ") + std::string(g.name);
  o.add_options()("dims", "action counts, e.g. 3x3 or 6x7x4x6", cxxopts::value<std::string>())(
      "games", "number of games B", cxxopts::value<std::int64_t>()->default_value("1"))(
      "seed", "seed (game g depends only on the seed and g)", cxxopts::value<std::uint64_t>()->default_value("0"))(
      "generator", names, cxxopts::value<std::string>()->default_value("uniform"))(
      "o,output", "an .npz with arrays agents, principals [B, n, k_1..k_n] and dims [n]",
      cxxopts::value<std::string>())("agents", "write the agents' side instead: .npy ([B, n, k..]) or .nfg (one game)",
                                     cxxopts::value<std::string>())(
      "principals", "write the principals' side: .npy or .nfg", cxxopts::value<std::string>())(
      "float32", "store utilities as float32 (default float64)")("compress", "deflate the .npz (np.savez_compressed)")(
      "threads", "CPU threads (0 = all)", cxxopts::value<int>()->default_value("0"))(
      "chunk-games", "games per chunk made and written at once (0 = about 16 Mi utilities per side)",
      cxxopts::value<std::int64_t>()->default_value("0"))("q,quiet", "no progress on stderr")(
      "resume",
      "continue the interrupted run of this same command from its journal OUTPUT.dgeval-journal (the same bytes as "
      "an uninterrupted run; without a journal, start from the beginning)")("h,help", "this help");
  for (const Generator& g : generators()) g.add_options(o);
  add_backend_options(o, "where the delegation generator runs (the same games on each)");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    if (!mpi::root()) return exit_ok;  // under MPI, rank 0 prints it
    std::cout << o.help() << "\ngenerators:\n";
    for (const Generator& g : generators()) std::cout << "  " << g.name << ": " << g.description << '\n';
    std::cout
        << "\nexamples:\n"
           "  dgeval generate --dims 3x3 --games 1000 --seed 1 --output games.npz\n"
           "  dgeval generate --dims 6x7x4x6 --games 100000 --float32 --agents a.npy --principals p.npy\n"
           "  dgeval generate --dims 2x3 --agents a.nfg --principals p.nfg\n"
           "  dgeval generate --dims 5x5x4 --games 1000 --ia 0.3 --ca-principals 0.6 --seed 7 --output games.npz\n"
           "  dgeval generate --dims 3x3 --games 1000 --ia 0.2,0.9 --ca-agents 0.5 --calibration 1,2 --pure-ne plant "
           "-o g.npz\n"
           "  dgeval generate --dims 8x8x8 --games 10000000 --ia 0.5 -o big.npz --resume   # continue after a stop\n"
           "  dgeval evaluate --input games.npz --output results.csv\n"
           "\nresume: a run of more than one chunk into regular files keeps a journal, OUTPUT.dgeval-journal/ (beside\n"
           "--agents for a pair of sides), until it has finished; after Ctrl-C, a kill or a crash the same command "
           "with\n"
           "--resume continues it and writes the bytes an uninterrupted run would (docs/FORMATS.md).\n";
    return exit_ok;
  }
  if (!p.count("dims")) throw usage_error("--dims is required, e.g. --dims 3x3");
  Dims dims;
  try {
    dims = Dims::parse(p["dims"].as<std::string>());
  } catch (const error& e) {
    throw usage_error(std::string("--dims: ") + e.what());
  }
  const bool to_npz = p.count("output") > 0;
  if (to_npz == (p.count("agents") || p.count("principals"))) {
    throw usage_error("give either --output FILE.npz or --agents FILE --principals FILE");
  }
  if (!to_npz && p.count("agents") != p.count("principals")) throw usage_error("--agents and --principals go together");
  std::string gname = p["generator"].as<std::string>();
  if (!p.count("generator") && delegation_requested(p)) gname = "delegation";  // --ia, --ca-principals, ...
  const auto it =
      std::find_if(generators().begin(), generators().end(), [&](const Generator& g) { return gname == g.name; });
  if (it == generators().end()) throw usage_error("--generator: unknown \"" + gname + "\"; expected " + names);
  it->check(p);

  GenerateRequest req;
  req.dims = dims;
  req.games = int64_option(p, "games", 1, std::numeric_limits<std::int64_t>::max());
  req.seed = p["seed"].as<std::uint64_t>();
  // Under MPI: the node's cores shared among its ranks; each rank on its node-local rank's GPU.
  req.threads = mpi::threads_per_rank(threads_option(p));
  const int device = !p.count("device") && mpi::size() > 1 ? mpi::local_rank() : device_option(p);
  if (gname == "delegation" && resolve_backend(p, true) == "cuda") req.device = device;
  const bool float32 = p.count("float32") > 0;

  // The outputs, checked and staged before any game is made; committed together at the end.
  RunFiles files;
  std::unique_ptr<PairNpzWriter> npz;
  std::unique_ptr<SideWriter> a, pr;
  if (to_npz) {
    const std::string out = p["output"].as<std::string>();
    StagedOutput& staged = files.output("output", out);
    if (out != "-" && file_extension(out) != ".npz") {
      throw usage_error("--output " + printable(out) + ": expected an .npz file name (or - for standard output)");
    }
    npz = std::make_unique<PairNpzWriter>(staged, req.dims, p.count("compress") > 0, float32);
  } else {
    check_side_path("agents", p["agents"].as<std::string>(), req.games);
    check_side_path("principals", p["principals"].as<std::string>(), req.games);
    a = make_side_writer(files.output("agents", p["agents"].as<std::string>()), req.dims, req.games, float32);
    pr = make_side_writer(files.output("principals", p["principals"].as<std::string>()), req.dims, req.games, float32);
  }
  const std::int64_t chunk_games = int64_option(p, "chunk-games", 0, std::int64_t{1} << 40, "0: automatic");
  const std::int64_t chunk = chunk_games > 0 ? chunk_games : games_per_chunk(req.dims);
  // The journal of a resumable run (cli/journal.hpp), as evaluate's: each range's games in a part
  // file, for a run of more than one range into regular files.
  const std::int64_t ranges = (req.games + chunk - 1) / chunk;
  bool all_regular = true;
  for (const char* flag : {"output", "agents", "principals"}) {
    if (!p.count(flag)) continue;
    const OutputTarget t = classify_output(p[flag].as<std::string>());
    all_regular = all_regular && t.kind == OutputKind::regular;
  }
  const bool resume = p.count("resume") > 0;
  if (resume && !all_regular) throw usage_error("--resume needs its outputs to be regular files");
  std::unique_ptr<RunJournal> journal;  // under MPI, rank 0's (the writer's)
  const bool quiet = p.count("quiet") > 0 || !mpi::root();
  if (all_regular && ranges > 1 && mpi::root()) {
    JournalIdentity id;
    id.version = version();
    id.command = hash_command_line(std::vector<std::string>(argv, argv + argc));
    id.inputs = "none";
    id.backend = req.device >= 0 ? "cuda" : "cpu";
    id.games = req.games;
    id.ranges = ranges;
    const std::string first_output = p.count("output") ? p["output"].as<std::string>() : p["agents"].as<std::string>();
    journal =
        std::make_unique<RunJournal>(RunJournal::folder_for(classify_output(first_output).file), id, resume, quiet);
  }
  // Every rank is ready; under MPI the ranges not done are dealt to the ranks in turn, and rank 0
  // takes each in order and writes it (cli/mpi_run.hpp).
  mpi::setup_done(req.device >= 0 ? "cuda" : "cpu", hash_command_line(std::vector<std::string>(argv, argv + argc)));
  std::vector<std::int64_t> firsts;  // every range's first game, in order
  for (std::int64_t g0 = 0; g0 < req.games; g0 += chunk) firsts.push_back(g0);
  const std::vector<int> owner =
      mpi::deal_ranges(firsts, [&](std::int64_t first) { return journal && journal->holds(first); });
  if (mpi::size() > 1 && gname == "delegation" && mpi::root() && !quiet) {
    std::fprintf(stderr, "dgeval generate: note: under MPI the delegation generator's report is not printed\n");
  }
  if (!mpi::root()) {  // another rank: makes its ranges and sends them to rank 0
    for (std::int64_t g0 = 0, k = 0; g0 < req.games; g0 += chunk, ++k) {
      if (interrupted()) throw cancelled();
      if (owner[static_cast<std::size_t>(k)] != mpi::rank()) continue;
      const std::int64_t count = std::min(chunk, req.games - g0);
      mpi::debug_range("generate", g0, count);
      mpi::send_to_root(games_part(it->make(req, p, g0, count)));
    }
    mpi::flush_sends();
    return exit_ok;
  }
  try {
    Progress progress("generate", !quiet);
    for (std::int64_t g0 = 0, k = 0; g0 < req.games; g0 += chunk, ++k) {
      const std::int64_t count = std::min(chunk, req.games - g0);
      if (interrupted()) throw cancelled();
      const int by = owner[static_cast<std::size_t>(k)];
      Batch b;
      std::string part;
      if (by > 0) {  // made by another rank
        part = mpi::receive_from(by);
        b = games_from_part(part, req.dims, g0, count, "rank " + std::to_string(by));
        if (journal) journal->record_bytes(g0, count, part);
      } else if (journal && journal->load_bytes(g0, count, part)) {
        b = games_from_part(part, req.dims, g0, count, journal->folder());
      } else {
        mpi::debug_range("generate", g0, count);
        b = it->make(req, p, g0, count);
        if (journal) journal->record_bytes(g0, count, games_part(b));
      }
      const BatchView v = b.view();
      if (npz) {
        npz->append(v);
      } else {
        a->append(v, 0);
        pr->append(v, 1);
      }
      progress.update(g0 + count, req.games);
    }
    if (npz) {
      npz->commit();
    } else {
      a->commit();
      pr->commit();
    }
    files.commit();
    progress.finish();
  } catch (...) {
    if (journal) journal->on_failure("generate", req.games, quiet);
    throw;
  }
  // The outputs are committed: the journal is no longer needed.
  if (journal) journal->finish_after_commit("generate");
  return exit_ok;
}

}  // namespace cli
}  // namespace dgeval
