// The CLI's commands and the helpers they share.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace cxxopts {
class Options;
class ParseResult;
}  // namespace cxxopts

namespace dgeval {
struct Options;
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
  exit_error = 1,          ///< bad input, I/O error
  exit_usage = 2,          ///< bad command line
  exit_bound_violated = 3, ///< a bound that is a theorem failed (a bug: please report)
  exit_check_failed = 4,   ///< --check found differences beyond tolerance
};

int evaluate_command(int argc, char** argv);
int generate_command(int argc, char** argv);
int convert_command(int argc, char** argv);
int bench_command(int argc, char** argv);
int experiment_command(int argc, char** argv);  // cmd_experiment.cpp: grid-scan, bound-surface, throughput
int infer_command(int argc, char** argv);                 // cmd_infer.cpp
int experiment_inference_command(int argc, char** argv);  // cmd_infer.cpp

/// Ctrl-C / SIGTERM set a flag instead of killing the process, so that a run stops between
/// steps and its output files are discarded (no partial output is left behind).
void install_interrupt_handler();
bool interrupted();

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

/// Writes one side (agents or principals) of a batch to an .npy or .nfg file, chunk by chunk,
/// atomically (temporary file beside the target, renamed by commit()).
class SideWriter {
 public:
  virtual ~SideWriter() = default;
  /// Appends the games of one side: [games][n][N] values of `view` (side 0 agents, 1 principals).
  virtual void append(const BatchView& view, int side) = 0;
  virtual void commit() = 0;
};
/// By extension: .npy (shape [B, n, k..], float64 or float32 when `float32`) or .nfg (one game).
/// `labels` (optional): an .nfg output keeps that game's title, comment, players and strategy
/// labels (a conversion from .nfg).
std::unique_ptr<SideWriter> make_side_writer(const std::string& path, const Dims& dims, std::int64_t games,
                                             bool float32, const NfgGame* labels = nullptr);

/// Writes both sides of a batch to an .npz (arrays agents, principals [B, n, k..] and dims [n]).
class PairNpzWriter {
 public:
  PairNpzWriter(const std::string& path, const Dims& dims, bool compress, bool float32);
  ~PairNpzWriter();
  void append(const BatchView& view);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cli
}  // namespace dgeval
