// The experiments' device side (host/backends/cuda/experiments_device.cu): generated games, and the bound surface's
// games evaluated on the device, for the experiments with backend "cuda". Declared in every
// build; without CUDA, host/backends/cuda/no_cuda.cpp throws.

#pragma once

#include <cstdint>
#include <vector>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/inference_game.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace cuda {

/// dgeval::generate_games computed on `device`: the same games (and GameInfo), bit for bit.
/// Throws dgeval::error naming the first game that ran out of attempts.
Batch generate_games_on_device(int device, const Dims& dims, const GeneratorSpec& spec, std::int64_t games,
                               std::uint64_t seed, std::int64_t first_game = 0, std::vector<GameInfo>* info = nullptr);

/// detail::inference_game_errors for games [first_game, first_game + count) of a size on
/// `device`, one game per thread: errors[count][inference_cells(C)] and status[count] on the host.
void inference_errors_on_device(int device, const detail::InferenceShape& shape, std::uint64_t seed,
                                std::int64_t first_game, std::int64_t count,
                                const std::vector<std::int64_t>& checkpoints, double* errors, int* status);

/// A producer that generates games [first, first + count) of the bound surface
/// (detail::surface_game: games and per-game strategies) on `device`, evaluates them there with
/// `options` (the selected columns only) and bins them there (detail::surface_record, integer
/// atomics): only the bins come back, and the columns of the games kept as points. Chunks of up
/// to `chunk` games; the device buffers live as long as the producer.
detail::SurfaceChunkFn make_surface_producer(int device, const detail::GeneratorParams& base, std::uint64_t seed,
                                             Welfare welfare, double cap, const Options& options, std::int64_t chunk,
                                             const detail::SurfaceBinning& binning);

}  // namespace cuda
}  // namespace dgeval
