// Side::to_device of the parity scenarios (test_cuda_parity.hpp): a copy of a host batch in device
// memory. Included after the CUDA runtime's declarations: the real ones (test_cuda.cpp) or the
// emulation's (test_cuda_emulated.cpp); internal linkage, so each translation unit has its own.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "test_cuda_parity.hpp"

namespace dgeval {
namespace testing {
namespace parity {
namespace {

/// Both sides of `host` in device memory, `offset` bytes into an allocation each (the allocation
/// ends with the side), written by cudaMemcpyAsync on a new non-blocking stream that is not waited
/// for: view.stream is that stream. The copy's source is pinned, so it is read when the copy runs.
inline DeviceGames copy_to_device(const BatchView& host, std::size_t offset) {
  auto check = [](cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e));
  };
  const std::size_t value = host.dtype == DType::float32 ? 4 : 8;
  const std::size_t bytes = static_cast<std::size_t>(host.games * host.values_per_game()) * value;
  struct Owned {
    void* agents = nullptr;
    void* principals = nullptr;
    void* staging = nullptr;
    cudaStream_t stream = nullptr;
    ~Owned() {
      if (stream) {
        (void)cudaStreamSynchronize(stream);
        (void)cudaStreamDestroy(stream);
      }
      (void)cudaFree(agents);
      (void)cudaFree(principals);
      (void)cudaFreeHost(staging);
    }
  };
  auto owned = std::make_shared<Owned>();
  check(cudaMalloc(&owned->agents, offset + bytes), "cudaMalloc");
  check(cudaMalloc(&owned->principals, offset + bytes), "cudaMalloc");
  check(cudaMallocHost(&owned->staging, 2 * bytes + 1), "cudaMallocHost");
  check(cudaStreamCreateWithFlags(&owned->stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  char* staging = static_cast<char*>(owned->staging);
  std::memcpy(staging, host.agents, bytes);
  std::memcpy(staging + bytes, host.principals, bytes);
  char* a = static_cast<char*>(owned->agents) + offset;
  char* p = static_cast<char*>(owned->principals) + offset;
  check(cudaMemcpyAsync(a, staging, bytes, cudaMemcpyHostToDevice, owned->stream), "cudaMemcpyAsync");
  check(cudaMemcpyAsync(p, staging + bytes, bytes, cudaMemcpyHostToDevice, owned->stream), "cudaMemcpyAsync");
  DeviceGames d;
  d.view = host;
  d.view.agents = a;
  d.view.principals = p;
  d.view.memory = Memory::device;
  d.view.stream = owned->stream;
  d.keep = owned;
  return d;
}

}  // namespace
}  // namespace parity
}  // namespace testing
}  // namespace dgeval
