// The sweep path's launcher (kernels/sweep_evaluate.cu; planned in
// host/backends/cuda/sweep_plan.hpp).
#pragma once

#include "backends/cuda/sweep_plan.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {

/// Evaluates every game of `in` on the sweep path: one launch, one block per game;
/// `scratch`: sweep_scratch_bytes(geometry) bytes.
void launch_sweep_evaluate(const SweepGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                           const DeviceOutputs& out, char* scratch, cudaStream_t stream);

/// The device's own count for the sweep kernel (sweep_linf_kernel where `linf`) in `float32` or
/// float64: its registers a thread (cudaFuncGetAttributes) and its resident blocks per SM of
/// `threads` threads and `shared` bytes of dynamic shared memory
/// (cudaOccupancyMaxActiveBlocksPerMultiprocessor), which the planner's blocks_per_sm must match.
/// cudaErrorInvalidValue under the CPU emulation, which has no registers to count.
cudaError_t sweep_occupancy(bool float32, bool linf, int threads, std::size_t shared, int* registers, int* blocks);

}  // namespace cuda
}  // namespace dgeval
