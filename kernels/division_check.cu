// division_kernel: detail::div_rn (include/dgeval/detail/division.hpp), the float64 division the
// team kernels' finishing step takes without the device's division subroutine, applied to operand
// pairs, so that a test on a GPU can compare its bits with the host's a / b (CudaVsCpu; the CPU
// emulation runs the host's division, so there it checks the plumbing only). Mapping: one thread
// per pair (grid-stride). Bytes: reads 16, writes 8 per pair.
#include "backends/cuda/cuda_check.hpp"
#include "dgeval/detail/division.hpp"
#include "evaluate.cuh"

namespace dgeval {
namespace cuda {
namespace {

__global__ void __launch_bounds__(256)
    division_kernel(const double* a, const double* b, double* q, std::int64_t count) {
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    store<Mem::output>(q + i, detail::div_rn(load<Mem::input>(a + i), load<Mem::input>(b + i)));
  }
}

}  // namespace

void launch_division(const double* a, const double* b, double* q, std::int64_t count, cudaStream_t stream) {
  if (count <= 0) return;
  const std::int64_t blocks = (count + 255) / 256;
  const unsigned grid = static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
  DGEVAL_LAUNCH(division_kernel, grid, 256, 0, stream)(a, b, q, count);
  DGEVAL_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace dgeval
