// The dgeval command line: `dgeval <command> [options]`. Each command lives in its own
// cmd_*.cpp; this file dispatches and is the one exit path: every error and every stop signal
// becomes one message on stderr and a non-zero exit status.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "cli/mpi_run.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/output.hpp"
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

int dispatch(const std::string& command, int argc, char** argv) {
  namespace mpi = dgeval::cli::mpi;
  if (command == "--help" || command == "-h" || command == "help") {
    if (mpi::root()) usage(stdout);
    return 0;
  }
  if (command == "--version" || command == "version") {
    if (mpi::root()) std::printf("dgeval %s\n", dgeval::version());
    return 0;
  }
  // Under MPI with several ranks, evaluate, generate, infer and experiment bound-surface, grid-scan
  // and inference split their work across the ranks (docs/SCALING.md); any other command would run R
  // times over the same outputs: refused.
  const bool splits = command == "evaluate" || command == "generate" ||
                      (command == "experiment" && argc > 2 &&
                       (std::strcmp(argv[2], "bound-surface") == 0 || std::strcmp(argv[2], "grid-scan") == 0 ||
                        std::strcmp(argv[2], "inference") == 0)) ||
                      command == "infer";
  if (mpi::size() > 1 && !splits) {
    throw dgeval::cli::usage_error(
        "runs as one process: under MPI (here " + std::to_string(mpi::size()) +
        " ranks) only evaluate, generate, infer and experiment bound-surface, grid-scan "
        "and inference split their work across the ranks; run it without mpirun, or with one "
        "rank (docs/SCALING.md)");
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
  std::fprintf(stderr, "dgeval: unknown command \"%s\"\n\n", dgeval::printable(command).c_str());
  usage(stderr);
  return 2;
}

/// One message on a fresh line of stderr and the exit status. A run that a signal stopped (its
/// error, if any, a consequence of the stop) reports the signal instead: 128 + N.
int fail(const std::string& command, int status, const std::string& message) {
  namespace cli = dgeval::cli;
  namespace mpi = dgeval::cli::mpi;
  const bool stopped = dgeval::stop_signal() != 0 && !cli::outputs_committed();
  if (mpi::size() > 1 && !mpi::past_setup()) {
    // Under MPI, before the ranks have agreed that their setup succeeded: every rank takes part
    // in one exchange, rank 0 prints the first failing rank's message, and all exit with its status.
    std::string text = stopped ? std::string() : message;
    const int st = mpi::setup_failed(stopped ? 128 + dgeval::stop_signal() : status, text);
    if (mpi::root() && st > 128 && text.empty()) return cli::exit_interrupted(command);
    cli::fresh_stderr_line();
    std::fputs(text.c_str(), stderr);
    return st;
  }
  int st = status;
  if (stopped) {
    // Under MPI only rank 0 says so (every rank got the signal from the launcher).
    st = mpi::root() ? cli::exit_interrupted(command) : 128 + dgeval::stop_signal();
  } else {
    cli::fresh_stderr_line();
    if (mpi::size() > 1) {
      std::fprintf(stderr, "(rank %d of %d) ", mpi::rank(), mpi::size());
    }
    std::fputs(message.c_str(), stderr);
  }
  // After the setup, a failing rank ends the whole run (its outputs, staged, are discarded).
  if (mpi::size() > 1) mpi::abort(st);
  return st;
}

int run_command(int argc, char** argv);

}  // namespace

// The one exit path: every command returns or throws here, after its RunFiles (and with them
// every staged output) has been destroyed, i.e. discarded unless committed.
int main(int argc, char** argv) {
  // Under an MPI launcher (mpirun, srun) in a build with MPI: one rank of a run (docs/SCALING.md).
  dgeval::cli::mpi::init(&argc, &argv);
  const int status = run_command(argc, argv);
  dgeval::cli::mpi::finalize();
  return status;
}

namespace {

int run_command(int argc, char** argv) {
  dgeval::cli::install_signal_handlers();
  // Tests: stage outputs under hidden names, as on a file system without O_TMPFILE.
  if (const char* t = std::getenv("DGEVAL_TEST_NAMED_STAGING"); t && *t == '1') {
    dgeval::detail::set_output_fallbacks(true, false);
  }
  // Tests: raise signal N as an .npz starts being packed (a Ctrl-C at that exact moment).
  if (const char* t = std::getenv("DGEVAL_TEST_SIGNAL_WHEN_PACKING"); t && std::atoi(t) > 0) {
    const int sig = std::atoi(t);
    dgeval::detail::set_npz_pack_hook([sig] { std::raise(sig); });
  }
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  const std::string name = dgeval::printable(command);
  int status;
  try {
    status = dgeval::cli::mpi::common_status(dispatch(command, argc, argv));
  } catch (const dgeval::cli::mpi::peer_failed& e) {
    // Another rank failed in its setup: rank 0 prints its message (the others print nothing).
    if (*e.what()) {
      dgeval::cli::fresh_stderr_line();
      std::fputs(e.what(), stderr);
    }
    return e.status();
  } catch (const dgeval::cli::usage_error& e) {
    // printable(): whatever a message quotes (a path, an argument) reaches stderr escaped.
    return fail(command, 2,
                "dgeval " + name + ": " + dgeval::printable(e.what()) + "\n(see `dgeval " + name + " --help`)\n");
  } catch (const dgeval::cancelled&) {
    if (dgeval::stop_signal() == 0) dgeval::request_stop(SIGINT);  // a stop with no signal reads as Ctrl-C
    return fail(command, 130, "");
  } catch (const dgeval::error& e) {
    return fail(command, 1, "dgeval " + name + ": error: " + dgeval::printable(e.what()) + "\n");
  } catch (const std::bad_alloc&) {
    return fail(command, 1, "dgeval " + name + ": error: out of memory\n");
  } catch (const std::exception& e) {
    return fail(command, 1, "dgeval " + name + ": error: " + dgeval::printable(e.what()) + "\n");
  }
  // A command that finished although a signal came: its outputs were committed (the signal came
  // too late to undo the run, which says so), or it had none to commit.
  if (dgeval::stop_signal() != 0) {
    if (!dgeval::cli::outputs_committed()) return dgeval::cli::exit_interrupted(command);
    dgeval::cli::fresh_stderr_line();
    std::fprintf(stderr, "dgeval %s: note: a signal arrived once the outputs were being committed; they are complete\n",
                 name.c_str());
  }
  return status;
}

}  // namespace
