// RAII wrappers of the CUDA backend's resources: device and pinned host buffers, streams, events,
// and the current device for a scope. Constructors throw dgeval::error (dgeval::resource_error when
// memory runs out, naming what was being allocated); destructors never throw: they report CUDA
// errors to stderr.
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <cstddef>
#include <sstream>
#include <string>

#include "backends/cuda/cuda_check.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace cuda {

/// `b` bytes as "x.yz MiB", for the messages.
inline std::string bytes_text(std::size_t b) {
  std::ostringstream m;
  m.precision(3);
  m << static_cast<double>(b) / (1024.0 * 1024.0) << " MiB";
  return m.str();
}

/// Device memory (cudaMalloc): out of memory names what was being allocated and what is free.
struct DeviceMemory {
  static cudaError_t allocate(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
  static cudaError_t release(void* p) { return cudaFree(p); }
  static std::string failure(std::size_t bytes, const char* what, cudaError_t e) {
    std::size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    std::ostringstream m;
    m << "CUDA backend: out of device memory allocating " << bytes_text(bytes) << " for " << what << " ("
      << cudaGetErrorName(e) << "; " << bytes_text(free_b) << " free of " << bytes_text(total_b)
      << "); use fewer games per call or the CPU backend";
    return m.str();
  }
};

/// Page-locked host memory (cudaMallocHost), for the copies that overlap the kernels.
struct PinnedMemory {
  static cudaError_t allocate(void** p, std::size_t bytes) { return cudaMallocHost(p, bytes); }
  static cudaError_t release(void* p) { return cudaFreeHost(p); }
  static std::string failure(std::size_t bytes, const char* what, cudaError_t e) {
    return "CUDA backend: cannot allocate " + bytes_text(bytes) + " of pinned host memory for " + what + " (" +
           cudaGetErrorName(e) + ")";
  }
};

/// A buffer of `Memory` (DeviceMemory or PinnedMemory), owned: allocate() replaces the contents,
/// throwing dgeval::resource_error with Memory::failure's message when the memory is not there.
template <class Memory>
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }
  void allocate(std::size_t bytes, const char* what) {
    reset();
    if (bytes == 0) return;
    const cudaError_t e = Memory::allocate(&p_, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      throw resource_error(Memory::failure(bytes, what, e));
    }
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (p_) DGEVAL_CUDA_CHECK_NOTHROW(Memory::release(p_));
    p_ = nullptr;
    bytes_ = 0;
  }
  char* get() const { return static_cast<char*>(p_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

using DeviceBuffer = Buffer<DeviceMemory>;
using PinnedBuffer = Buffer<PinnedMemory>;

/// Copies `bytes` from host memory to the device and waits for the copy, so that work queued
/// afterwards on any stream sees the data. cudaMemcpy alone is not enough: from pageable memory it
/// returns once the bytes are staged, before the device has them, and the backend's kernels run on
/// non-blocking streams, which do not wait for the legacy stream that cudaMemcpy uses.
inline void copy_to_device_now(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  DGEVAL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  DGEVAL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

class Stream {
 public:
  Stream() { DGEVAL_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() {
    DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(s_));
    DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s_));
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() { DGEVAL_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  ~Event() { DGEVAL_CUDA_CHECK_NOTHROW(cudaEventDestroy(e_)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

/// Makes `device` current for the scope and restores the caller's device afterwards.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    DGEVAL_CUDA_CHECK(cudaGetDevice(&previous_));
    DGEVAL_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceScope() { DGEVAL_CUDA_CHECK_NOTHROW(cudaSetDevice(previous_)); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace cuda
}  // namespace dgeval
