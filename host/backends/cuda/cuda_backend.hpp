// Internal interface of the CUDA backend for the tests and the benchmark: tuning knobs that
// force a path, a tile size or streaming (so every code path runs at small sizes), device facts,
// and evaluation of a batch that already lives on the device. The public entry points are
// dgeval::make_cuda_backend and dgeval::cuda_available (dgeval/backend.hpp).
// Only available when dgeval is built with CUDA (DGEVAL_HAVE_CUDA); includes no CUDA header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_plan.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/generators.hpp"
#include "experiments/experiments_device.hpp"  // generate_games_on_device, make_surface_producer

namespace dgeval {
namespace cuda {

/// Knobs of the CUDA backend. The defaults are what make_cuda_backend(device) uses.
struct Tuning {
  std::size_t memory_limit = 0;      ///< device bytes the backend may use; 0: free memory less 256 MiB
  int force_path = -1;               ///< -1: automatic; else a Path (test hook; throws if it does not fit)
  std::int64_t tile_outcomes = 0;    ///< tiled path: outcomes per tile (multiple of 32); cluster team:
                                     ///< outcomes per run (32, 64, 128, 256); two-player path: columns
                                     ///< per tile; 0: automatic
  std::int64_t blocks_per_game = 0;  ///< tiled path: blocks per game; cluster team: blocks per cluster
                                     ///< (1, 2, 4, 8); 0: automatic
  std::int64_t max_chunk_games = 0;  ///< cap on the games resident at once (forces streaming); 0: none
  bool poison = false;               ///< fill device outputs and scratch with 0x5A bytes before each chunk
};

std::unique_ptr<Backend> make_cuda_backend(int device, const Tuning& tuning);

/// True if a device is present and dgeval's kernels load on it; otherwise *why says why
/// (what dgeval::cuda_available reports).
bool device_usable(std::string* why);

/// Facts about a device (throws dgeval::error if there is none).
struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  int multiprocessors = 0;
  std::size_t total_memory = 0;
  std::size_t l2_bytes = 0;
  double peak_bandwidth_gbs = 0.0;  ///< from the memory clock and bus width, if the runtime reports them
  DeviceLimits limits;
};
DeviceInfo device_info(int device);

/// detail::div_rn(a[i], b[i]) computed on `device` (the float64 division of the team kernels'
/// finishing step, which on a GPU is dgeval's own sequence of operations, not the device's
/// division), for the tests: its bits must be the host's a / b. The output is poisoned first.
std::vector<double> divide_on_device(int device, const std::vector<double>& a, const std::vector<double>& b);

/// The sweep kernel's registers a thread and resident blocks per SM on `device`, as the device
/// counts them (kernels/sweep_evaluate.cu sweep_occupancy), for the tests: the planner's
/// blocks_per_sm must give the same count. `linf`: sweep_linf_kernel.
struct KernelOccupancy {
  int registers = 0;
  int blocks_per_sm = 0;
};
KernelOccupancy sweep_occupancy_on_device(int device, bool float32, bool linf, int threads, std::size_t shared);

/// A batch of games resident on the device, with its outputs and scratch, evaluated on the device
/// only (the benchmark's "batch resident on the device" and a check of that path).
class ResidentBatch {
 public:
  ResidentBatch(int device, const Dims& dims, DType dtype, std::int64_t games, const Options& options,
                const Tuning& tuning = Tuning{});
  ~ResidentBatch();
  ResidentBatch(const ResidentBatch&) = delete;
  ResidentBatch& operator=(const ResidentBatch&) = delete;

  /// Fills the device input with dgeval::random_uniform_games(dims, games, seed, 0, lo, hi) in the
  /// batch's dtype (generated on the device) and waits for it.
  void fill_random(std::uint64_t seed, double lo = 0.0, double hi = 1.0);
  /// Fills the device input with dgeval::generate_games(dims, spec, games, seed) (generated on the
  /// device, bit-identical to the host; converted to the batch's dtype) and waits for it. Throws
  /// dgeval::error naming the first game that ran out of attempts.
  void fill_generated(const GeneratorSpec& spec, std::uint64_t seed);
  /// Copies a host batch (float64 values, converted to the batch's dtype) to the device.
  void upload(const Batch& batch);
  /// Enqueues the whole evaluation on `stream` (a cudaStream_t; nullptr: the default stream).
  void evaluate(void* stream = nullptr);
  /// Waits for the device, then copies every result back (NE lists and distance matrices included).
  void download(Results& results);
  /// The utilities of the first `games` games, as float64, for the CPU backend.
  Batch download_input(std::int64_t games);

  Path path() const;
  /// Blocks per game on the sweep path (a thread block cluster where more than 1), else 0.
  int sweep_blocks_per_game() const;
  std::size_t input_bytes() const;   ///< utilities (bytes model: read once)
  std::size_t output_bytes() const;  ///< result columns (bytes model: written once)
  std::size_t device_bytes() const;  ///< every device allocation of this batch
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuda
}  // namespace dgeval
