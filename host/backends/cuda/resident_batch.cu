// cuda::ResidentBatch (backends/cuda/cuda_backend.hpp): a batch of games that lives on the
// device with its outputs and scratch, filled, evaluated and read back on demand (the benchmark's
// "batch resident on the device").
#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/evaluation.hpp"
#include "backends/cuda/resources.hpp"
#include "dgeval/error.hpp"
#include "evaluate.cuh"  // kernels/evaluate.cuh

namespace dgeval {
namespace cuda {

struct ResidentBatch::Impl {
  int device;
  Dims dims;
  DType dtype;
  std::int64_t games;
  Options options;
  Tuning tuning;
  Plan plan;
  OutputLayout layout;
  DeviceBuffer input, output, scratch, strategy;
};

ResidentBatch::ResidentBatch(int device, const Dims& dims, DType dtype, std::int64_t games, const Options& options,
                             const Tuning& tuning)
    : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  if (games < 1) throw error("resident batch: needs at least one game");
  validate(options, dims, games);
  Impl& m = *impl_;
  m.device = device;
  m.dims = dims;
  m.dtype = dtype;
  m.games = games;
  m.options = options;
  m.tuning = tuning;
  DeviceScope scope(device);
  const DeviceLimits lim = limits_of(device);
  prepare_current_device(lim);
  m.plan = make_plan(dims, dtype, options, games, lim, tuning);
  m.layout = output_layout(dims.players(), dims.outcomes(), games, options.distance_matrix, options.list_equilibria,
                           options.columns);
  m.input.allocate(static_cast<std::size_t>(games) * m.plan.input_bytes_per_game(), "the games' utilities");
  m.output.allocate(m.layout.bytes, "the result columns");
  m.scratch.allocate(m.plan.scratch_bytes, "the tiled path's scratch");
  if (m.plan.strategy_elements > 0) {
    const std::size_t b = static_cast<std::size_t>(m.plan.strategy_elements) * 8 *
                          (m.plan.strategy_per_game ? static_cast<std::size_t>(games) : 1);
    m.strategy.allocate(b, "the strategy");
    const void* src = m.plan.strategy_actions ? static_cast<const void*>(options.strategy.actions.data())
                                              : static_cast<const void*>(options.strategy.weights.data());
    copy_to_device_now(m.strategy.get(), src, b, nullptr);  // evaluate() may run on any stream
  }
}

ResidentBatch::~ResidentBatch() {
  if (impl_) {
    DeviceScope scope(impl_->device);
    DGEVAL_CUDA_CHECK_NOTHROW(cudaDeviceSynchronize());
  }
}

void ResidentBatch::fill_random(std::uint64_t seed, double lo, double hi) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  launch_random_uniform_games(m.input.get(), m.input.get() + side, m.plan.float32, m.games,
                              static_cast<std::int64_t>(m.dims.players()) * m.dims.outcomes(), seed, 0, lo, hi,
                              nullptr);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
}

void ResidentBatch::upload(const Batch& batch) {
  Impl& m = *impl_;
  if (batch.dims != m.dims || batch.games != m.games) throw error("resident batch: upload of a batch of another shape");
  DeviceScope scope(m.device);
  const std::size_t values = batch.agents.size();
  const std::size_t side = values * m.plan.value_bytes;
  // Complete on return: evaluate() may run on a non-blocking stream, which would not wait for
  // a cudaMemcpy on the legacy stream.
  if (m.plan.float32) {
    std::vector<float> a(batch.agents.begin(), batch.agents.end()), p(batch.principals.begin(), batch.principals.end());
    copy_to_device_now(m.input.get(), a.data(), side, nullptr);
    copy_to_device_now(m.input.get() + side, p.data(), side, nullptr);
  } else {
    copy_to_device_now(m.input.get(), batch.agents.data(), side, nullptr);
    copy_to_device_now(m.input.get() + side, batch.principals.data(), side, nullptr);
  }
}

void ResidentBatch::evaluate(void* stream) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  if (m.tuning.poison) {
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(m.output.get(), kPoison, m.output.bytes(), st));
    if (m.scratch.bytes()) DGEVAL_CUDA_CHECK(cudaMemsetAsync(m.scratch.get(), kPoison, m.scratch.bytes(), st));
  }
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  enqueue_evaluation(m.plan, m.games, m.input.get(), m.input.get() + side, m.output.get(), m.layout, m.scratch.get(),
                     m.plan.strategy_actions ? reinterpret_cast<const std::int64_t*>(m.strategy.get()) : nullptr,
                     m.plan.strategy_weights ? reinterpret_cast<const double*>(m.strategy.get()) : nullptr, st);
}

void ResidentBatch::download(Results& r) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
  r.resize(m.games, m.dims.players(), m.options.list_equilibria, m.options.distance_matrix, m.options.columns);
  std::vector<char> host(m.layout.bytes);
  DGEVAL_CUDA_CHECK(cudaMemcpy(host.data(), m.output.get(), m.layout.bytes, cudaMemcpyDeviceToHost));
  scatter_results(host.data(), m.layout, m.dims.players(), m.dims.outcomes(), 0, m.games, m.options.distance_matrix,
                  m.options.list_equilibria, r);
}

Batch ResidentBatch::download_input(std::int64_t games) {
  Impl& m = *impl_;
  games = std::min(games, m.games);
  DeviceScope scope(m.device);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
  Batch b(m.dims, games);
  const std::size_t values = b.agents.size();
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  if (m.plan.float32) {
    std::vector<float> tmp(values);
    DGEVAL_CUDA_CHECK(cudaMemcpy(tmp.data(), m.input.get(), values * 4, cudaMemcpyDeviceToHost));
    std::copy(tmp.begin(), tmp.end(), b.agents.begin());
    DGEVAL_CUDA_CHECK(cudaMemcpy(tmp.data(), m.input.get() + side, values * 4, cudaMemcpyDeviceToHost));
    std::copy(tmp.begin(), tmp.end(), b.principals.begin());
  } else {
    DGEVAL_CUDA_CHECK(cudaMemcpy(b.agents.data(), m.input.get(), values * 8, cudaMemcpyDeviceToHost));
    DGEVAL_CUDA_CHECK(cudaMemcpy(b.principals.data(), m.input.get() + side, values * 8, cudaMemcpyDeviceToHost));
  }
  return b;
}

void ResidentBatch::fill_generated(const GeneratorSpec& spec, std::uint64_t seed) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  generate_on_device(m.dims, spec, seed, 0, m.games, m.input.get(), m.input.get() + side, m.plan.float32,
                     limits_of(m.device).multiprocessors);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
}

Path ResidentBatch::path() const { return impl_->plan.path; }
int ResidentBatch::sweep_blocks_per_game() const {
  return impl_->plan.path == Path::sweep ? impl_->plan.sweep.cluster : 0;
}
std::size_t ResidentBatch::input_bytes() const {
  return cuda::input_bytes(impl_->dims, impl_->games, impl_->plan.value_bytes);
}
std::size_t ResidentBatch::output_bytes() const { return impl_->layout.useful_bytes; }
std::size_t ResidentBatch::device_bytes() const {
  return impl_->input.bytes() + impl_->output.bytes() + impl_->scratch.bytes() + impl_->strategy.bytes();
}

}  // namespace cuda
}  // namespace dgeval
