// The dgeval command line: `dgeval <command> [options]`. Each command lives in its own
// cmd_*.cpp; this file dispatches and turns every error into a message and a non-zero exit.
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/error.hpp"
#include "dgeval/version.hpp"

namespace {

void usage(std::FILE* to) {
  std::fprintf(to,
               "dgeval %s: batch evaluation of delegation games (Sourbut, Hammond & Wood, IJCAI 2024)\n\n"
               "usage: dgeval <command> [options]\n\n"
               "commands:\n"
               "  evaluate   compute every measure for games from files (.npz, .npy, .nfg), examples or random\n"
               "  generate   write a batch of generated games (.npz, .npy or .nfg)\n"
               "  convert    convert games between Gambit .nfg, NumPy .npy and .npz\n"
               "  bench      time the evaluation of random games\n"
               "  experiment grid-scan | bound-surface | throughput   the paper's experiments (docs/MATH.md §7)\n"
               "  infer      estimate IA, CA, IC, CC with bootstrap intervals from observed outcomes\n"
               "  experiment inference   the inference experiment of docs/MATH.md §6 (error curves)\n"
               "  version    print the version\n\n"
               "Run `dgeval <command> --help` for a command's options and examples.\n",
               dgeval::version());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  try {
    if (command == "--help" || command == "-h" || command == "help") {
      usage(stdout);
      return 0;
    }
    if (command == "--version" || command == "version") {
      std::printf("dgeval %s\n", dgeval::version());
      return 0;
    }
    if (command == "evaluate") return dgeval::cli::evaluate_command(argc - 1, argv + 1);
    if (command == "generate") return dgeval::cli::generate_command(argc - 1, argv + 1);
    if (command == "convert") return dgeval::cli::convert_command(argc - 1, argv + 1);
    if (command == "bench") return dgeval::cli::bench_command(argc - 1, argv + 1);
    if (command == "experiment" && (argc < 3 || std::strcmp(argv[2], "inference") != 0)) {
      return dgeval::cli::experiment_command(argc - 1, argv + 1);  // grid-scan, bound-surface, throughput
    }
    if (command == "infer") return dgeval::cli::infer_command(argc - 1, argv + 1);
    if (command == "experiment" && argc > 2 && std::strcmp(argv[2], "inference") == 0) {
      return dgeval::cli::experiment_inference_command(argc - 2, argv + 2);
    }
    std::fprintf(stderr, "dgeval: unknown command \"%s\"\n\n", command.c_str());
    usage(stderr);
    return 2;
  } catch (const dgeval::cli::usage_error& e) {
    std::fprintf(stderr, "dgeval %s: %s\n(see `dgeval %s --help`)\n", command.c_str(), e.what(), command.c_str());
    return 2;
  } catch (const dgeval::error& e) {
    std::fprintf(stderr, "dgeval %s: error: %s\n", command.c_str(), e.what());
    return 1;
  } catch (const dgeval::cancelled&) {
    std::fprintf(stderr, "dgeval %s: cancelled\n", command.c_str());
    return 130;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "dgeval %s: error: out of memory\n", command.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dgeval %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
