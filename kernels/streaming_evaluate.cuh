// The streaming path's launcher (kernels/streaming_evaluate.cu; planned in
// host/backends/cuda/streaming_plan.hpp).
#pragma once

#include "backends/cuda/streaming_plan.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {

/// Evaluates every game of `in` on the streaming path: one launch, one block per game;
/// `scratch`: streaming_scratch_bytes(geometry) bytes.
void launch_streaming_evaluate(const StreamingGeometry& geometry, const EvalParams& params, const DeviceInput& in,
                               const DeviceOutputs& out, char* scratch, cudaStream_t stream);

}  // namespace cuda
}  // namespace dgeval
