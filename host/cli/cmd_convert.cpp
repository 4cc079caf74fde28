// `dgeval convert`: between Gambit .nfg, NumPy .npy (one side) and .npz (both sides).
#include <cxxopts.hpp>

#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"

namespace dgeval {
namespace cli {

int convert_command(int argc, char** argv) {
  cxxopts::Options o("dgeval convert", "Convert games between .nfg, .npy and .npz.");
  o.custom_help("(--input FILE | --agents A --principals P) (--output FILE | --agents-output A --principals-output P)");
  o.add_options()("input",
                  "an .nfg or .npy (one side of the games) or an .npz (both sides); - : an .nfg from standard input",
                  cxxopts::value<std::string>())("agents", "the agents' side: .nfg or .npy (with --principals)",
                                                 cxxopts::value<std::string>())(
      "principals", "the principals' side: .nfg or .npy", cxxopts::value<std::string>())(
      "o,output", "an .npz (both sides), or an .npy / .nfg (one side: see --side)", cxxopts::value<std::string>())(
      "agents-output", "write the agents' side to this .npy / .nfg", cxxopts::value<std::string>())(
      "principals-output", "write the principals' side to this .npy / .nfg", cxxopts::value<std::string>())(
      "side", "agents | principals: the side written to a one-side --output when the input has both",
      cxxopts::value<std::string>())("game", "convert only game G (0-based) of a batch (an .nfg holds one game)",
                                     cxxopts::value<std::int64_t>())(
      "single-game", "read an array of shape [n, k_1..k_n] as one game even when it also fits [B, n, k..]")(
      "float32", "store utilities as float32 (default: float64, or float32 if the input is float32)")(
      "compress", "deflate the .npz output")("allow-nonfinite", "accept NaN/Inf payoffs in .nfg input")("h,help",
                                                                                                        "this help");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    std::cout << o.help()
              << "\nexamples:\n"
                 "  dgeval convert --input game.nfg --output game.npy          # shape [1, n, k_1..k_n]\n"
                 "  dgeval convert --input game.npy --output game.nfg\n"
                 "  dgeval convert --agents a.nfg --principals p.nfg --output games.npz\n"
                 "  dgeval convert --input games.npz --game 3 --agents-output a.nfg --principals-output p.nfg\n"
                 "  dgeval convert --input games.npz --side principals --output principals.npy\n";
    return exit_ok;
  }
  const bool pair_in = p.count("agents") || p.count("principals");
  if (pair_in == (p.count("input") > 0)) throw usage_error("give either --input FILE or --agents A --principals P");
  if (p.count("agents") != p.count("principals")) throw usage_error("--agents and --principals go together");
  const bool pair_out = p.count("agents-output") || p.count("principals-output");
  if (pair_out == (p.count("output") > 0)) {
    throw usage_error("give either --output FILE or --agents-output A --principals-output P");
  }
  if (p.count("agents-output") != p.count("principals-output")) {
    throw usage_error("--agents-output and --principals-output go together");
  }

  // The run's files, checked before anything is read: no output may be a folder, an input or
  // another output.
  RunFiles files;
  if (pair_in) {
    files.input("agents", p["agents"].as<std::string>());
    files.input("principals", p["principals"].as<std::string>());
  } else {
    files.input("input", p["input"].as<std::string>());
  }
  StagedOutput* out_a = nullptr;
  StagedOutput* out_p = nullptr;
  if (pair_out) {
    out_a = &files.output("agents-output", p["agents-output"].as<std::string>());
    out_p = &files.output("principals-output", p["principals-output"].as<std::string>());
  } else {
    out_a = &files.output("output", p["output"].as<std::string>());
  }

  ReadOptions ro;
  ro.allow_nonfinite = p.count("allow-nonfinite") > 0;
  const ShapeRule rule = p.count("single-game") ? ShapeRule::single_game : ShapeRule::automatic;
  std::unique_ptr<GameSource> src;
  bool one_side_in = false;
  if (pair_in) {
    refuse_stdin("agents", p["agents"].as<std::string>());
    refuse_stdin("principals", p["principals"].as<std::string>());
    src = open_game_pair(p["agents"].as<std::string>(), p["principals"].as<std::string>(), rule, ro);
  } else {
    const std::string in = p["input"].as<std::string>();
    src = open_input("input", in, rule, ro);
    one_side_in = in == "-" || file_extension(in) != ".npz";
  }
  std::int64_t first = 0, games = src->games();
  if (p.count("game")) {
    first = p["game"].as<std::int64_t>();
    if (first < 0 || first >= games) {
      throw usage_error("--game " + std::to_string(first) + ": the input holds games 0 to " +
                        std::to_string(games - 1));
    }
    games = 1;
  }
  const Dims dims = src->dims();
  const BatchView probe = src->read(0, 0);
  const bool float32 = p.count("float32") > 0 || probe.dtype == DType::float32;

  std::unique_ptr<PairNpzWriter> npz;
  std::unique_ptr<SideWriter> a, pr;
  int side = 0;  // for one-side output
  if (pair_out) {
    if (one_side_in) throw usage_error("the input is one side of the games; write it with --output FILE.npy|.nfg");
    check_side_path("agents-output", p["agents-output"].as<std::string>(), games);
    check_side_path("principals-output", p["principals-output"].as<std::string>(), games);
    a = make_side_writer(*out_a, dims, games, float32, src->nfg_labels(0));
    pr = make_side_writer(*out_p, dims, games, float32, src->nfg_labels(1));
  } else {
    const std::string out = p["output"].as<std::string>();
    if (file_extension(out) == ".npz") {
      if (one_side_in) {
        throw usage_error("the input is one side of the games; an .npz needs both: give --agents A --principals P");
      }
      npz = std::make_unique<PairNpzWriter>(*out_a, dims, p.count("compress") > 0, float32);
    } else {
      if (!one_side_in) {
        if (!p.count("side"))
          throw usage_error("the input has both sides; say which to write with --side agents|principals");
        const std::string s = p["side"].as<std::string>();
        if (s != "agents" && s != "principals") throw usage_error("--side: expected agents or principals");
        side = s == "agents" ? 0 : 1;
      }
      check_side_path("output", out, games);
      a = make_side_writer(*out_a, dims, games, float32, src->nfg_labels(side));
    }
  }
  // Sources stream from game 0: skip to `first` chunk by chunk, then copy.
  const std::int64_t chunk = games_per_chunk(dims);
  const std::int64_t end = first + games;
  for (std::int64_t g0 = 0; g0 < end; g0 += chunk) {
    const std::int64_t count = std::min(chunk, end - g0);
    if (interrupted()) throw cancelled();
    BatchView v = src->read(g0, count);
    const std::int64_t lo = std::max(g0, first);
    if (lo >= g0 + count) continue;
    const std::int64_t per = v.values_per_game();
    const std::size_t esize = dtype_size(v.dtype);
    v.agents = static_cast<const char*>(v.agents) + static_cast<std::size_t>((lo - g0) * per) * esize;
    v.principals = static_cast<const char*>(v.principals) + static_cast<std::size_t>((lo - g0) * per) * esize;
    v.games = g0 + count - lo;
    if (npz) {
      npz->append(v);
    } else if (pr) {
      a->append(v, 0);
      pr->append(v, 1);
    } else {
      a->append(v, side);
    }
  }
  if (npz) npz->commit();
  if (a) a->commit();
  if (pr) pr->commit();
  files.commit();
  return exit_ok;
}

}  // namespace cli
}  // namespace dgeval
