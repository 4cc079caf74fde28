// random_uniform_games_kernel: the counter-based uniform games of dgeval::random_uniform_games
// (host/generators/generate.cpp), generated on the device so the benchmark need not upload gigabytes.
// Mapping: one thread per element of a side (grid-stride, 64-bit indices); element e of game g is
// fma(hi − lo, philox_uniform(seed, first_game + g, e), lo) on the agents' side and the same at
// e + n·N on the principals' side, rounded to T: bit-identical to the host generator then cast.
// Bytes written: 2 · games · n · N · sizeof(T).
//
// generate_games_kernel: the controlled generator of dgeval::generate_games (host/generators/generators.cpp)
// on the device. Mapping: one thread per game (grid-stride), each with its own scratch of
// generator_scratch_doubles(p) doubles; the per-game code is detail::generate_game, shared with
// the host and written so that nvcc rounds every operation as g++ does (mul_rn, no libm), so a
// game is bit-identical on both. Float64 output [games][n][N] per side, a status per game.
//
// surface_bins_kernel: the bound surface's binning of a chunk of evaluated games, on the device.
// Mapping: one thread per game (grid-stride); detail::surface_record gives its bin and bound
// checks from its result columns, and integer atomics add it to its bin (count, 128-bit
// fixed-point Σ PWR as a low word and its carries into a high word, max PWR as ordered bits,
// the two bound checks). Integer sums and maxima do not depend
// on the order of the atomics, so the bins are the same on every run and equal the CPU's for
// the same PWR values. Bytes: reads (6 + 2n) · 8 per game; the bins stay in L2.
//
// convert_kernel: float64 → T, to fill a float32 batch from generated games.
#include "backends/cuda/cuda_check.hpp"
#include "dgeval/detail/dtype.hpp"
#include "dgeval/detail/experiment_core.hpp"
#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/inference_game.hpp"
#include "dgeval/detail/random.hpp"
#include "dgeval/detail/surface_bins.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(256)
    random_uniform_games_kernel(T* agents, T* principals, std::int64_t games, std::int64_t per_side, std::uint64_t seed,
                                std::int64_t first_game, double lo, double hi) {
  const std::int64_t total = games * per_side;
  for (std::int64_t idx = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t g = idx / per_side, e = idx - g * per_side;
    const std::uint64_t game = static_cast<std::uint64_t>(first_game + g);
    store<Mem::input>(
        agents + idx,
        static_cast<T>(fma(hi - lo, detail::philox_uniform(seed, game, static_cast<std::uint64_t>(e)), lo)));
    store<Mem::input>(
        principals + idx,
        static_cast<T>(fma(hi - lo, detail::philox_uniform(seed, game, static_cast<std::uint64_t>(per_side + e)), lo)));
  }
}

__global__ void __launch_bounds__(128)
    generate_games_kernel(detail::GeneratorParams p, std::uint64_t seed, std::int64_t first_game, std::int64_t games,
                          double* agents, double* principals, double* scratch, std::int64_t scratch_doubles,
                          int* status, GameInfo* info) {
  const std::int64_t tid = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t threads = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t per_side = static_cast<std::int64_t>(p.players) * p.outcomes;
  double* sc = scratch + tid * scratch_doubles;
  for (std::int64_t g = tid; g < games; g += threads) {
    status[g] = detail::generate_game(p, seed, static_cast<std::uint64_t>(first_game + g), agents + g * per_side,
                                      principals + g * per_side, sc, info ? info + g : nullptr);
  }
}

__global__ void __launch_bounds__(128)
    surface_games_kernel(detail::GeneratorParams base, std::uint64_t seed, std::int64_t first_game, std::int64_t games,
                         Welfare welfare, double cap, double* agents, double* principals, double* weights,
                         double* scratch, int* status) {
  const std::int64_t tid = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t threads = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t per_side = static_cast<std::int64_t>(base.players) * base.outcomes;
  double* sc = scratch + tid * detail::surface_scratch_doubles(base);
  for (std::int64_t g = tid; g < games; g += threads) {
    status[g] = detail::surface_game(base, seed, static_cast<std::uint64_t>(first_game + g), welfare, cap,
                                     agents + g * per_side, principals + g * per_side, weights + g * base.outcomes, sc);
  }
}

__global__ void __launch_bounds__(128)
    inference_games_kernel(detail::InferenceShape shape, std::uint64_t seed, std::int64_t first_game,
                           std::int64_t games, const std::int64_t* checkpoints, std::int64_t C, double* scratch,
                           std::int64_t scratch_doubles, double* errors, int* status) {
  const std::int64_t tid = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t threads = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const std::int64_t cells = detail::inference_cells(C);
  double* sc = scratch + tid * scratch_doubles;
  for (std::int64_t g = tid; g < games; g += threads) {
    status[g] = detail::inference_game_errors(shape, seed, static_cast<std::uint64_t>(first_game + g), checkpoints, C,
                                              sc, errors + g * cells);
  }
}

__global__ void __launch_bounds__(256)
    surface_bins_kernel(detail::SurfaceBinning b, SurfaceColumns c, std::int64_t count, unsigned long long* bins) {
  const std::int64_t cells = static_cast<std::int64_t>(b.bins_x) * b.bins_y;
  unsigned long long* invalid = bins + detail::surface_fields * cells;
  for (std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < count;
       g += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double pwr = c.principals_welfare_regret[g];
    const detail::SurfaceRecord r = detail::surface_record(
        b, c.agents_welfare_regret[g], pwr, c.magnitude_principals + g * b.players, c.ia + g * b.players,
        c.welfare_principals_utopia[g], c.welfare_principals_dystopia[g], c.bound_holds[g]);
    if (!r.valid) {
      atomicAdd(invalid, 1ull);
      atomicMin(invalid + 1, static_cast<unsigned long long>(g));
      continue;
    }
    atomicAdd(bins + detail::surface_count * cells + r.bin, 1ull);
    const std::uint64_t q = detail::surface_fixed(pwr, b.fixed_scale);
    const unsigned long long old_low =
        atomicAdd(bins + detail::surface_sum_low * cells + r.bin, static_cast<unsigned long long>(q));
    const std::uint64_t high = detail::surface_high_increment(old_low, q);
    if (high != 0) atomicAdd(bins + detail::surface_sum_high * cells + r.bin, static_cast<unsigned long long>(high));
    atomicMax(bins + detail::surface_max * cells + r.bin,
              static_cast<unsigned long long>(detail::surface_orderable(pwr)));
    if (r.above_simple) atomicAdd(bins + detail::surface_above_simple * cells + r.bin, 1ull);
    if (r.above_bound) atomicAdd(bins + detail::surface_above_bound * cells + r.bin, 1ull);
  }
}

template <class T>
__global__ void __launch_bounds__(256) convert_kernel(const double* in, T* out, std::int64_t count) {
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    store<Mem::input>(out + i, static_cast<T>(load<Mem::input>(in + i)));
  }
}

}  // namespace

void launch_generate_games(const detail::GeneratorParams& p, std::uint64_t seed, std::int64_t first_game,
                           std::int64_t games, double* agents, double* principals, double* scratch, int threads,
                           int* status, GameInfo* info, cudaStream_t stream) {
  if (games <= 0) return;
  const int blocks = (threads + 127) / 128;
  DGEVAL_LAUNCH(generate_games_kernel, blocks, 128, 0, stream)
  (p, seed, first_game, games, agents, principals, scratch, detail::generator_scratch_doubles(p), status, info);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

void launch_surface_games(const detail::GeneratorParams& base, std::uint64_t seed, std::int64_t first_game,
                          std::int64_t games, Welfare welfare, double cap, double* agents, double* principals,
                          double* weights, double* scratch, int threads, int* status, cudaStream_t stream) {
  if (games <= 0) return;
  const int blocks = (threads + 127) / 128;
  DGEVAL_LAUNCH(surface_games_kernel, blocks, 128, 0, stream)
  (base, seed, first_game, games, welfare, cap, agents, principals, weights, scratch, status);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

void launch_inference_games(const detail::InferenceShape& shape, std::uint64_t seed, std::int64_t first_game,
                            std::int64_t games, const std::int64_t* checkpoints, std::int64_t C, double* scratch,
                            int threads, double* errors, int* status, cudaStream_t stream) {
  if (games <= 0) return;
  const int blocks = (threads + 127) / 128;
  DGEVAL_LAUNCH(inference_games_kernel, blocks, 128, 0, stream)
  (shape, seed, first_game, games, checkpoints, C, scratch, detail::inference_scratch_doubles(shape), errors, status);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

void launch_surface_bins(const detail::SurfaceBinning& binning, const SurfaceColumns& columns, std::int64_t count,
                         std::uint64_t* bins, cudaStream_t stream) {
  if (count <= 0) return;
  const std::int64_t blocks = (count + 255) / 256;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  DGEVAL_LAUNCH(surface_bins_kernel, grid, 256, 0, stream)
  (binning, columns, count, reinterpret_cast<unsigned long long*>(bins));
  DGEVAL_CUDA_CHECK_LAUNCH();
}

void launch_convert(const double* in, void* out, bool float32, std::int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const std::int64_t blocks = (count + 255) / 256;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  detail::visit_dtype(float32, [&](auto t) {
    using T = decltype(t);
    DGEVAL_LAUNCH(convert_kernel<T>, grid, 256, 0, stream)(in, static_cast<T*>(out), count);
  });
  DGEVAL_CUDA_CHECK_LAUNCH();
}

void launch_random_uniform_games(void* agents, void* principals, bool float32, std::int64_t games,
                                 std::int64_t values_per_game, std::uint64_t seed, std::int64_t first_game, double lo,
                                 double hi, cudaStream_t stream) {
  const std::int64_t total = games * values_per_game;
  if (total <= 0) return;
  const std::int64_t blocks = (total + 255) / 256;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  detail::visit_dtype(float32, [&](auto t) {
    using T = decltype(t);
    DGEVAL_LAUNCH(random_uniform_games_kernel<T>, grid, 256, 0, stream)
    (static_cast<T*>(agents), static_cast<T*>(principals), games, values_per_game, seed, first_game, lo, hi);
  });
  DGEVAL_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace dgeval
