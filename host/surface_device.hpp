// The bound-surface experiment's games produced on the device (host/cuda_backend.cu), for
// dgeval::run_bound_surface with backend "cuda". Without CUDA, host/no_cuda.cpp throws.
#pragma once

#include <cstdint>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace cuda {

/// A producer that generates games [first, first + count) of the bound surface
/// (detail::surface_game: games and per-game strategies) on `device`, evaluates them there with
/// `options` (the selected columns only) and copies those columns back. Chunks of up to `chunk`
/// games; the device buffers live as long as the producer.
detail::SurfaceChunkFn make_surface_producer(int device, const detail::GeneratorParams& base, std::uint64_t seed,
                                             Welfare welfare, double cap, const Options& options, std::int64_t chunk);

}  // namespace cuda
}  // namespace dgeval
