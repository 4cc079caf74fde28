// Stand-ins used when dgeval is built without the CUDA toolkit.
#include "dgeval/backend.hpp"
#include "dgeval/error.hpp"
#include "experiments/experiments_device.hpp"

namespace dgeval {

bool cuda_available(std::string* why) {
  if (why) *why = "dgeval was built without CUDA (nvcc was not found at configure time)";
  return false;
}

std::unique_ptr<Backend> make_cuda_backend(int) {
  throw error("the CUDA backend is not available: dgeval was built without CUDA (nvcc was not found)");
}

namespace cuda {
Batch generate_games_on_device(int, const Dims&, const GeneratorSpec&, std::int64_t, std::uint64_t, std::int64_t,
                               std::vector<GameInfo>*) {
  throw error("the CUDA backend is not available: dgeval was built without CUDA (nvcc was not found)");
}

void inference_errors_on_device(int, const detail::InferenceShape&, std::uint64_t, std::int64_t, std::int64_t,
                                const std::vector<std::int64_t>&, double*, int*) {
  throw error("the CUDA backend is not available: dgeval was built without CUDA (nvcc was not found)");
}

detail::SurfaceChunkFn make_surface_producer(int, const detail::GeneratorParams&, std::uint64_t, Welfare, double,
                                             const Options&, std::int64_t, const detail::SurfaceBinning&) {
  throw error("the CUDA backend is not available: dgeval was built without CUDA (nvcc was not found)");
}
}  // namespace cuda

}  // namespace dgeval
