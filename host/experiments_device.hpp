// The experiments' device side (host/cuda_backend.cu): generated games, and the bound surface's
// games evaluated on the device, for the experiments with backend "cuda". Declared in every
// build; without CUDA, host/no_cuda.cpp throws.

#pragma once

#include <cstdint>
#include <vector>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace cuda {

/// dgeval::generate_games computed on `device`: the same games (and GameInfo), bit for bit.
/// Throws dgeval::error naming the first game that ran out of attempts.
Batch generate_games_on_device(int device, const Dims& dims, const GeneratorSpec& spec, std::int64_t games,
                               std::uint64_t seed, std::int64_t first_game = 0, std::vector<GameInfo>* info = nullptr);

/// A producer that generates games [first, first + count) of the bound surface
/// (detail::surface_game: games and per-game strategies) on `device`, evaluates them there with
/// `options` (the selected columns only) and copies those columns back. Chunks of up to `chunk`
/// games; the device buffers live as long as the producer.
detail::SurfaceChunkFn make_surface_producer(int device, const detail::GeneratorParams& base, std::uint64_t seed,
                                             Welfare welfare, double cap, const Options& options, std::int64_t chunk);

}  // namespace cuda
}  // namespace dgeval
