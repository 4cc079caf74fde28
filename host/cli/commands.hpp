// The CLI's commands and the helpers they share.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dgeval/output.hpp"

namespace cxxopts {
class Options;
class ParseResult;
}  // namespace cxxopts

namespace dgeval {
struct Options;
struct ReadOptions;
class GameSource;
enum class ShapeRule;
struct BatchView;
struct Batch;
class Dims;
struct NfgGame;
namespace cli {

/// A command-line mistake (unknown flag, missing value): exit code 2.
class usage_error : public std::runtime_error {
 public:
  explicit usage_error(const std::string& what) : std::runtime_error(what) {}
};

/// Exit codes shared by the commands.
enum ExitCode : int {
  exit_ok = 0,
  exit_error = 1,           ///< bad input, I/O error
  exit_usage = 2,           ///< bad command line
  exit_bound_violated = 3,  ///< a bound that is a theorem failed (a bug: please report)
  exit_check_failed = 4,    ///< --check found differences beyond tolerance
  // 128 + N: stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT)
};

int evaluate_command(int argc, char** argv);
int generate_command(int argc, char** argv);
int convert_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int experiment_command(int argc, char** argv);            // cmd_experiment.cpp: grid-scan, bound-surface, throughput
int infer_command(int argc, char** argv);                 // cmd_infer.cpp
int experiment_inference_command(int argc, char** argv);  // cmd_infer.cpp

/// The one exit path. SIGINT, SIGTERM, SIGHUP and SIGQUIT all set the one stop flag
/// (dgeval::request_stop) that every long loop polls through interrupted(); the run unwinds,
/// its staged outputs are discarded, and main() ends with exit_interrupted(): a message on a
/// fresh line and exit status 128 + N. A second signal ends the process at once (removing any
/// temporary file name first) unless the outputs are being committed. Installed by main().
void install_signal_handlers();
bool interrupted();
/// "dgeval CMD: interrupted by SIGx; ..." on stderr; returns 128 + the signal number.
int exit_interrupted(const std::string& command);
/// Whether the run's outputs were committed (a signal after that does not undo the run).
bool outputs_committed();
/// A progress bar is drawn without its newline (set by Progress): messages start a fresh line.
void set_stderr_mid_line(bool mid_line);
/// Ends a progress bar's line on stderr, if one is open, before a message.
void fresh_stderr_line();

/// The files of a run: its inputs (for the same-file check), then its outputs, each staged in
/// one OutputSet and committed together by commit() once the whole run has succeeded. An
/// output that is a directory, or the same file as an input or another output, is refused
/// (usage_error) before anything is computed.
class RunFiles {
 public:
  /// An input named by `--flag` ("-" is standard input).
  void input(const std::string& flag, const std::string& path);
  /// An output named by `--flag` ("-" is standard output), checked and staged.
  StagedOutput& output(const std::string& flag, const std::string& path);
  void commit();

 private:
  std::vector<std::pair<std::string, std::string>> inputs_;
  std::vector<std::pair<std::string, OutputTarget>> outputs_;
  OutputSet set_;
};

/// The `delegation` generator of `dgeval generate` (gen_delegation.cpp).
void add_delegation_options(cxxopts::Options& options);
/// Whether any of its flags (--ia, --ca-principals, ...) was given.
bool delegation_requested(const cxxopts::ParseResult& parsed);
/// Throws usage_error if the flags do not make a valid spec for `dims`.
void check_delegation(const cxxopts::ParseResult& parsed, const Dims& dims);
/// Games [first, first + count) of `total`, on the CPU or (device >= 0) that CUDA device, the
/// same games either way; prints a report of the targets after the last chunk.
Batch make_delegation(const Dims& dims, std::int64_t total, std::uint64_t seed, int threads, int device,
                      const cxxopts::ParseResult& parsed, bool quiet, std::int64_t first, std::int64_t count);

/// The value of option `--name` (declared int64 / int / double), which must lie in [lo, hi]
/// (reals: and be finite); otherwise a usage_error naming the range (`what` describes it).
std::int64_t int64_option(const cxxopts::ParseResult& p, const std::string& name, std::int64_t lo, std::int64_t hi,
                          const std::string& what = "");
int int_option(const cxxopts::ParseResult& p, const std::string& name, int lo, int hi, const std::string& what = "");
double real_option(const cxxopts::ParseResult& p, const std::string& name, double lo, double hi,
                   const std::string& what = "");
/// --threads (0 = every core, up to 65536) and --device (a CUDA ordinal, 0..1023).
int threads_option(const cxxopts::ParseResult& p);
int device_option(const cxxopts::ParseResult& p);

/// The games of an input flag: open_game_file(path), or for "-" a Gambit .nfg read from
/// standard input (the one game format that streams), used for both sides.
std::unique_ptr<GameSource> open_input(const std::string& flag, const std::string& path, ShapeRule rule,
                                       const ReadOptions& options);
/// usage_error for "-" given to an input flag that needs a file (.npy is memory-mapped, .npz seeks).
void refuse_stdin(const std::string& flag, const std::string& path);

/// Parses argv with `o`, turning cxxopts errors and stray arguments into usage_error.
cxxopts::ParseResult parse_or_usage(cxxopts::Options& o, int argc, char** argv);

/// Adds the evaluation options of the core (standardisation, welfare, IC, CC, strategy, ...).
void add_evaluation_options(cxxopts::Options& options);
/// Adds --backend auto | cpu | cuda (described as `where`) and --device, read by resolve_backend.
void add_backend_options(cxxopts::Options& options, const std::string& where);
/// The experiments' --backend auto | cpu | cuda, with auto resolved (a note on stderr, unless
/// quiet, when it falls back to the CPU); a usage_error for anything else.
std::string resolve_backend(const cxxopts::ParseResult& parsed, bool quiet);
/// Reads them back into `out`. Returns the strategy file given with --strategy (empty when
/// --strategy names a built-in kind); the caller reads it once the games' dims are known.
std::string read_evaluation_options(const cxxopts::ParseResult& parsed, Options& out);

/// Writes one side (agents or principals) of a batch to an .npy or .nfg output, chunk by chunk;
/// commit() completes it in its staging (the run's RunFiles commits it).
class SideWriter {
 public:
  virtual ~SideWriter() = default;
  /// Appends the games of one side: [games][n][N] values of `view` (side 0 agents, 1 principals).
  virtual void append(const BatchView& view, int side) = 0;
  virtual void commit() = 0;
};
/// Throws usage_error unless `path` (of `--flag`) ends in .npy, or in .nfg with `games` == 1.
void check_side_path(const std::string& flag, const std::string& path, std::int64_t games);
/// By the extension of `out`'s path (checked by check_side_path): .npy (shape [B, n, k..],
/// float64 or float32 when `float32`) or .nfg (one game). `labels` (optional): an .nfg output
/// keeps that game's title, comment, players and strategy labels (a conversion from .nfg).
std::unique_ptr<SideWriter> make_side_writer(StagedOutput& out, const Dims& dims, std::int64_t games, bool float32,
                                             const NfgGame* labels = nullptr);

/// Writes both sides of a batch to an .npz (arrays agents, principals [B, n, k..] and dims [n]).
class PairNpzWriter {
 public:
  PairNpzWriter(StagedOutput& out, const Dims& dims, bool compress, bool float32);
  ~PairNpzWriter();
  void append(const BatchView& view);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cli
}  // namespace dgeval
