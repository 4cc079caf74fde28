// The Backend interface: one evaluation, two implementations (CPU reference, CUDA).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "dgeval/game.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {

/// Called from the evaluating (caller's) thread now and then with the games finished so far.
/// Return false to cancel: evaluate() then throws dgeval::cancelled.
using ProgressFn = std::function<bool(std::int64_t games_done, std::int64_t games_total)>;

/// Thrown when a ProgressFn asked to stop.
class cancelled : public std::runtime_error {
 public:
  cancelled() : std::runtime_error("evaluation cancelled") {}
};

class Backend {
 public:
  virtual ~Backend() = default;
  /// "cpu" or "cuda".
  virtual const char* name() const = 0;
  /// Evaluates every game of `batch` with `options` into `results` (resized here; the columns
  /// options.columns leaves out are empty). Every backend gives the same columns: the CPU
  /// backend's are bit-identical for any thread count, the CUDA backend's agree with them
  /// within dgeval::tolerances (counts and indices exactly).
  /// Throws dgeval::error for bad options or input (non-finite utilities unless
  /// options.allow_nonfinite, naming the game, side, player and outcome),
  /// dgeval::resource_error when device memory runs out, dgeval::cancelled when the progress
  /// callback returns false. Cost: a few passes over the utilities (about 2.5 reads of the
  /// input on the CPU), O(games · n · N) time; memory beyond the results is per-thread scratch
  /// on the CPU and, on the GPU, chunks of the batch sized to the device.
  virtual void evaluate(const BatchView& batch, const Options& options, Results& results) = 0;
  /// Installs a progress callback (empty to remove).
  void set_progress(ProgressFn fn) { progress_ = std::move(fn); }

 protected:
  ProgressFn progress_;
};

struct BackendConfig {
  std::string name = "auto";  ///< "auto" (CUDA if usable, else CPU with a warning), "cpu", "cuda"
  int threads = 0;            ///< CPU worker threads; 0 = all hardware threads
  int device = 0;             ///< CUDA device ordinal
  /// "auto" only: called once when an evaluation falls back from the GPU to the CPU (the device
  /// ran out of memory, dgeval::resource_error); the run goes on on the CPU. Unset: the
  /// message goes to stderr.
  std::function<void(const std::string&)> on_fallback;
};

/// The float64 multi-threaded CPU reference backend (`threads` workers; 0 = all hardware
/// threads). Never throws for lack of a device.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);
/// The CUDA backend; throws dgeval::error when CUDA is not compiled in or no device is usable.
std::unique_ptr<Backend> make_cuda_backend(int device = 0);
/// Backend by name. With "auto": the CUDA backend when usable, else the CPU backend with the
/// reason in *warning; an auto backend that starts on the GPU evaluates on the CPU instead (from
/// then on) when the GPU cannot run a batch, telling config.on_fallback.
std::unique_ptr<Backend> make_backend(const BackendConfig& config, std::string* warning = nullptr);
/// What "auto" makes of a usable GPU backend: `gpu` until it throws dgeval::resource_error, then
/// a CPU backend of config.threads (config.on_fallback is told once).
std::unique_ptr<Backend> make_fallback_backend(std::unique_ptr<Backend> gpu, const BackendConfig& config);
/// True if the CUDA backend is compiled in and a device is present; otherwise *why says why.
bool cuda_available(std::string* why = nullptr);

/// Convenience: evaluates with a CPU backend of `threads` workers (make_cpu_backend), with the
/// contract of Backend::evaluate.
Results evaluate(const BatchView& batch, const Options& options = Options{}, int threads = 0);

}  // namespace dgeval
