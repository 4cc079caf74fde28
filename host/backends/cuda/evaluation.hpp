// One evaluation on the device, shared by the backend (cuda_backend.cu), the resident batch
// (resident_batch.cu) and the experiments' device side (experiments_device.cu): the plan of an
// evaluation (path, geometry, byte sizes, kernel parameters), its enqueueing on a stream, and the
// scatter of its result block into dgeval::Results. The planner's pure arithmetic (path choice,
// geometries, output layout, chunking) is backends/cuda/cuda_plan.hpp.
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <cstddef>
#include <cstdint>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_plan.hpp"
#include "backends/cuda/sweep_plan.hpp"
#include "dgeval/game.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"
#include "evaluate.cuh"  // kernels/evaluate.cuh: EvalParams, DeviceOutputs, the launchers

namespace dgeval {
namespace cuda {

/// The byte written over device outputs and scratch before each chunk when Tuning::poison is set.
inline constexpr unsigned char kPoison = 0x5A;

/// Planning of one evaluation (game shape, dtype, options).
struct Plan {
  Dims dims;
  int n = 0;
  std::int64_t N = 0;
  bool float32 = false;
  std::size_t value_bytes = 8;
  Path path = Path::tiled;
  TeamGeometry team;
  ClusterGeometry cluster;
  TiledGeometry tiled;
  TwoPlayerGeometry two_player;
  SweepGeometry sweep;
  std::size_t scratch_bytes = 0;
  EvalParams params;
  // User strategy: elements (int64 actions or double weights) per game, and whether per game.
  bool strategy_actions = false, strategy_weights = false, strategy_per_game = false;
  std::int64_t strategy_elements = 0;
  std::size_t strategy_bytes_per_game() const {
    return strategy_per_game ? static_cast<std::size_t>(strategy_elements) * 8 : 0;
  }
  std::size_t input_bytes_per_game() const {
    return static_cast<std::size_t>(2 * n) * static_cast<std::size_t>(N) * value_bytes;
  }
};

/// The kernels' parameters for games of shape `d` under `o`.
EvalParams make_params(const Dims& d, const Options& o);
/// The device's shared memory, multiprocessors and L2 (keeps 4 KiB of shared memory for the
/// kernels' static shared memory). Throws dgeval::error on a CUDA error.
DeviceLimits limits_of(int device);
/// Raises the kernels' dynamic shared-memory limits on the current device (the attribute is
/// per device context; `lim` comes from limits_of).
void prepare_current_device(const DeviceLimits& lim);
/// The plan of evaluating `games` games: the path (or Tuning::force_path, which throws if the
/// game does not fit), its geometry, the scratch and strategy sizes. Where the path would be the
/// cluster team but the device cannot place its cluster now (cluster_team_placeable), the plan is
/// that of a device without clusters (`lim` with clusters false).
Plan make_plan(const Dims& dims, DType dtype, const Options& o, std::int64_t games, DeviceLimits lim, const Tuning& t);
/// Enqueues the evaluation of `games` games whose utilities are on the device, writing the
/// output block `out_base` laid out by `layout`. Asynchronous on `stream`.
void enqueue_evaluation(const Plan& p, std::int64_t games, const void* agents, const void* principals, char* out_base,
                        const OutputLayout& layout, char* scratch, const std::int64_t* actions, const double* weights,
                        cudaStream_t stream);
/// Copies `count` games of results from an output block laid out by `L` into r at game g0, and
/// rebuilds the NE lists from the bitmask. Throws if a list disagrees with its count.
void scatter_results(const char* base, const OutputLayout& L, int n, std::int64_t N, std::int64_t g0,
                     std::int64_t count, bool dm, bool lists, Results& r);
/// Device bytes one evaluation may use: free memory less 256 MiB, capped by Tuning::memory_limit.
std::size_t memory_budget(const Tuning& t);

/// Games [first_game, first_game + games) of (spec, seed) generated on the current device into
/// the device arrays `agents` and `principals` ([games][n][N] of float or double). Float64
/// games are generated in place; float32 ones through float64 staging of at most 256 MiB.
/// Defined with the experiments' device side (experiments_device.cu). Throws dgeval::error
/// naming the first game that ran out of attempts.
void generate_on_device(const Dims& dims, const GeneratorSpec& spec, std::uint64_t seed, std::int64_t first_game,
                        std::int64_t games, char* agents, char* principals, bool float32, int multiprocessors,
                        GameInfo* host_info = nullptr);

}  // namespace cuda
}  // namespace dgeval
