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

}  // namespace cuda
}  // namespace dgeval
