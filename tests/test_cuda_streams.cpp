// On a GPU: what the host copies to the device is there before kernels on a non-blocking stream
// read it. cudaMemcpy from pageable memory returns before its DMA has finished, and non-blocking
// streams do not wait for the legacy stream, so a resident batch uploaded that way (or a strategy
// shared by every game) could be read half-copied. The batch here is large (150 MB) so a copy
// still in flight would be caught; tests/test_cuda_emulated.cpp catches the same bug without a
// GPU (CudaEmulated.CopiesAreOrderedBeforeKernelsOnNonBlockingStreams). Skips without a usable
// GPU; fails instead with DGEVAL_REQUIRE_GPU=1.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/tolerances.hpp"
#include "test_cuda_compare.hpp"
#if DGEVAL_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "backends/cuda/cuda_backend.hpp"
#endif

namespace dgeval {
namespace {

TEST(CudaVsCpu, UploadsAreCompleteBeforeKernelsOnNonBlockingStreams) {
  std::string why;
  if (!cuda_available(&why)) {
    const char* e = std::getenv("DGEVAL_REQUIRE_GPU");
    if (e && std::string(e) == "1") FAIL() << "DGEVAL_REQUIRE_GPU=1 but no usable GPU: " << why;
    GTEST_SKIP() << "no usable GPU: " << why;
  }
#if DGEVAL_HAVE_CUDA
  const char* small = std::getenv("DGEVAL_TEST_SMALL");
  const std::int64_t games = small && std::string(small) == "1" ? 1000 : std::int64_t{1} << 20;
  const Dims d({3, 3});
  const Batch b = random_uniform_games(d, games, 2024);
  Options o;
  o.strategy.kind = StrategyKind::correlated;  // one strategy for every game, copied by the batch
  for (std::int64_t s = 0; s < d.outcomes(); ++s) o.strategy.weights.push_back(static_cast<double>(s + 1) / 45.0);
  std::vector<float> a32, p32;
  const BatchView view = testing::view_as(b, true, a32, p32);
  Results cpu, gpu;
  make_cpu_backend(0)->evaluate(view, o, cpu);

  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  {
    cuda::Tuning t;
    t.poison = true;
    cuda::ResidentBatch rb(0, d, DType::float32, games, o, t);
    rb.upload(b);
    rb.evaluate(st);  // at once: no synchronisation between the upload and the kernels
    ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
    rb.download(gpu);
  }
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
  testing::expect_match(cpu, gpu, tolerances::float32_relative, view, o,
                        "resident batch evaluated on a non-blocking stream right after upload");
#endif
}

}  // namespace
}  // namespace dgeval
