// Contract between the CUDA backend's host side (host/backends/cuda/) and its kernels: the
// plain-data parameter blocks passed by value to every kernel, and the launchers (the only
// callers of <<< >>>). Each launcher takes a stream, enqueues its kernels, checks every launch,
// and never synchronises (except in Debug builds, see host/cuda_check.hpp).
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
/// A kernel launch: the one spelling of <<< >>> in dgeval, used by the launchers only (the CPU
/// emulation of tests/test_cuda_emulated.cpp runs the same launchers with its own definition).
#define DGEVAL_LAUNCH(kernel, grid, block, shared, stream) kernel<<<grid, block, shared, stream>>>
#endif

#include <cstdint>

#include "backends/cuda/cuda_plan.hpp"
#include "backends/cuda/two_player_plan.hpp"
#include "dgeval/detail/experiment_core.hpp"
#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/inference_game.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/detail/surface_bins.hpp"
#include "dgeval/game.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"
#include "global_memory.cuh"

namespace dgeval {
namespace cuda {

/// Everything a kernel needs to know about the options and the game shape (by value, < 2 KiB).
struct EvalParams {
  int n = 0;                         ///< players
  std::int64_t N = 0;                ///< outcomes
  std::int64_t k[kMaxPlayers];       ///< actions per player
  std::int64_t stride[kMaxPlayers];  ///< ∏_{j>i} k_j
  double ic[kMaxPlayers];            ///< IC level per player
  Standardisation standardisation = Standardisation::epic;
  Welfare welfare = Welfare::average;
  CcWindow cc_window = CcWindow::code;
  StrategyKind strategy = StrategyKind::worst_ne;
  detail::StandardisationConstants constants;
  double cc = 0.0;
  double ne_tolerance = 1e-10;
  double played_tolerance = 1e-6;
  bool list_equilibria = false;
  bool distance_matrix = false;
  /// User strategy (device memory, for the chunk's games): pure → actions [n] per game;
  /// correlated → weights [N] per game; product → weights [Σk] per game. With a shared strategy
  /// `strategy_stride` is 0 and every game reads the same entries.
  const std::int64_t* actions = nullptr;
  const double* weights = nullptr;
  std::int64_t strategy_stride = 0;
  std::int64_t product_offset[kMaxPlayers];  ///< offset of player i's weights within a product strategy
};

#define DGEVAL_DEVICE_COLUMN_player_real double
#define DGEVAL_DEVICE_COLUMN_real double
#define DGEVAL_DEVICE_COLUMN_integer std::int64_t
#define DGEVAL_DEVICE_COLUMN_boolean double

/// Device pointers of every result column of a chunk, indexed by the game's index in the chunk
/// (Global: the load/store layer of kernels/global_memory.cuh, assigned from raw pointers).
struct DeviceOutputs {
#define DGEVAL_DEVICE_COLUMN(name, kind, desc) Global<Mem::output, DGEVAL_DEVICE_COLUMN_##kind> name = nullptr;
  DGEVAL_RESULT_COLUMNS(DGEVAL_DEVICE_COLUMN)
#undef DGEVAL_DEVICE_COLUMN
  Global<Mem::output, double> distance_matrix = nullptr;  ///< [games][2n][2n] if requested
  Global<Mem::output, std::uint32_t> ne_bits = nullptr;   ///< [games][ne_words] pure-NE bitmask if requested
  std::int64_t ne_words = 0;
};

/// Utilities of a chunk on the device: each side [games][n][N] of `T`.
struct DeviceInput {
  const void* agents = nullptr;
  const void* principals = nullptr;
  std::int64_t games = 0;
  bool float32 = true;
};

/// Scratch of the tiled path (one slot), carved from one allocation by the host.
struct TiledScratch {
  GameSummary* summaries = nullptr;                 ///< [games_per_pass] (read and written field by field)
  Global<Mem::scratch, double> arrays = nullptr;    ///< [games_per_pass][state_doubles(n)]
  Global<Mem::scratch, double> partials = nullptr;  ///< [games_per_pass][blocks_per_game][partial_width]
  void* fibers = nullptr;                           ///< [games_per_pass][fiber_values_per_game] of T
  void* segments = nullptr;                         ///< segmented-fiber scratch of T
};

/// Evaluates every game of `in` with one team per game (one thread, a quad, warp or block team).
void launch_team_evaluate(const TeamGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                          const DeviceOutputs& out, cudaStream_t stream);

/// Evaluates every game of `in` on the tiled path, `geometry.games_per_pass` games at a time.
void launch_tiled_evaluate(const TiledGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                           const DeviceOutputs& out, const TiledScratch& scratch, cudaStream_t stream);

/// Evaluates every game of `in` on the two-player path (kernels/two_player_evaluate.cu),
/// `geometry.games_per_pass` games at a time; `scratch`: two_player_scratch_bytes(geometry) bytes.
void launch_two_player_evaluate(const TwoPlayerGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                                const DeviceOutputs& out, char* scratch, cudaStream_t stream);

/// Evaluates every game of `in` on the cluster team (sm_90): one thread block cluster per game.
void launch_cluster_evaluate(const ClusterGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                             const DeviceOutputs& out, cudaStream_t stream);
/// Whether the device can place one cluster of the cluster team's `geometry` now
/// (cudaOccupancyMaxActiveClusters: not on a partitioned device whose SMs, or whose GPCs' free SMs,
/// are too few for it). After prepare_kernels.
bool cluster_team_placeable(const ClusterGeometry& geometry, bool float32);

/// Raises the dynamic shared-memory limit of every kernel to what the device allows (once per
/// device); returns the first error instead of throwing so cuda_available() can use it as a probe
/// that the kernels' code loads on the device.
cudaError_t prepare_kernels(int max_dynamic_shared_bytes);

/// Fills a device batch with the counter-based uniform games of dgeval::random_uniform_games
/// (same values, bit for bit, converted to T): the benchmark generates its input on the device.
void launch_random_uniform_games(void* agents, void* principals, bool float32, std::int64_t games,
                                 std::int64_t values_per_game, std::uint64_t seed, std::int64_t first_game, double lo,
                                 double hi, cudaStream_t stream);

/// Games [first_game, first_game + games) of dgeval::generate_games with parameters `p`, float64,
/// [games][n][N] per side, on `threads` threads rounded up to whole blocks of 128, each owning
/// generator_scratch_doubles(p) doubles of `scratch` (which holds that many for every thread of
/// the rounded count); status[g] is a detail::GenerateStatus, info[g] (if not null) the game's
/// GameInfo.
void launch_generate_games(const detail::GeneratorParams& p, std::uint64_t seed, std::int64_t first_game,
                           std::int64_t games, double* agents, double* principals, double* scratch, int threads,
                           int* status, GameInfo* info, cudaStream_t stream);

/// Games [first_game, first_game + games) of the bound surface (detail::surface_game): float64
/// games [games][n][N] per side and strategies [games][N]; scratch as launch_generate_games but
/// of detail::surface_scratch_doubles(base) doubles per thread.
void launch_surface_games(const detail::GeneratorParams& base, std::uint64_t seed, std::int64_t first_game,
                          std::int64_t games, Welfare welfare, double cap, double* agents, double* principals,
                          double* weights, double* scratch, int threads, int* status, cudaStream_t stream);

/// detail::inference_game_errors for games [first_game, first_game + games), one per thread, on
/// `threads` threads (whole blocks of 128) each owning inference_scratch_doubles(shape) doubles of
/// `scratch`; errors [games][inference_cells(C)], status [games]; checkpoints: C on the device.
void launch_inference_games(const detail::InferenceShape& shape, std::uint64_t seed, std::int64_t first_game,
                            std::int64_t games, const std::int64_t* checkpoints, std::int64_t C, double* scratch,
                            int threads, double* errors, int* status, cudaStream_t stream);

/// The device columns the bound surface's binning reads (games [count], per-player [count][n]).
struct SurfaceColumns {
  const double* agents_welfare_regret;
  const double* principals_welfare_regret;
  const double* magnitude_principals;
  const double* ia;
  const double* welfare_principals_utopia;
  const double* welfare_principals_dystopia;
  const double* bound_holds;  ///< 1, 0 or NaN (undefined)
};

/// Adds games [0, count) to the bins' accumulators `bins` (detail::surface_fields arrays of
/// bins_x · bins_y, then the count of invalid games and the least invalid index), with
/// detail::surface_record and integer atomics. The caller zeroes `bins` (the least invalid
/// index to all ones) before the first chunk it adds.
void launch_surface_bins(const detail::SurfaceBinning& binning, const SurfaceColumns& columns, std::int64_t count,
                         std::uint64_t* bins, cudaStream_t stream);

/// out[i] = T(in[i]) for i < count, T = float or double.
void launch_convert(const double* in, void* out, bool float32, std::int64_t count, cudaStream_t stream);

/// q[i] = detail::div_rn(a[i], b[i]) for i < count (kernels/division_check.cu: the tests' check of
/// the team kernels' division against the host's).
void launch_division(const double* a, const double* b, double* q, std::int64_t count, cudaStream_t stream);

namespace dev {
cudaError_t prepare_team_kernels(int max_dynamic_shared_bytes);
cudaError_t prepare_tiled_kernels(int max_dynamic_shared_bytes);
cudaError_t prepare_cluster_kernels(int max_dynamic_shared_bytes);
}  // namespace dev

}  // namespace cuda
}  // namespace dgeval
