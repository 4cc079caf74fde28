// Checking of every CUDA runtime call and kernel launch (CUDA translation units only).
//
//   DGEVAL_CUDA_CHECK(call)          throws dgeval::error naming the call, the error, file and line
//   DGEVAL_CUDA_CHECK_NOTHROW(call)  for destructors and unwinding: reports to stderr, never throws
//   DGEVAL_CUDA_CHECK_LAUNCH()       after every <<<>>>: the launch error; with DGEVAL_CUDA_SYNC_CHECK
//                                    defined (Debug builds) it also synchronises the device so a fault
//                                    is reported at the launch that caused it
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <cstdio>
#include <sstream>
#include <string>

#include "dgeval/error.hpp"

namespace dgeval {
namespace cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  std::ostringstream m;
  m << "CUDA error " << cudaGetErrorName(e) << " (" << cudaGetErrorString(e) << ") in `" << call << "` at " << file
    << ":" << line;
  throw error(m.str());
}

inline void report_cuda_error(cudaError_t e, const char* call, const char* file, int line) noexcept {
  std::fprintf(stderr, "dgeval: CUDA error %s (%s) in `%s` at %s:%d (ignored during cleanup)\n", cudaGetErrorName(e),
               cudaGetErrorString(e), call, file, line);
}

}  // namespace cuda
}  // namespace dgeval

#define DGEVAL_CUDA_CHECK(call)                                                         \
  do {                                                                                  \
    const cudaError_t dgeval_cuda_status_ = (call);                                     \
    if (dgeval_cuda_status_ != cudaSuccess) {                                           \
      ::dgeval::cuda::throw_cuda_error(dgeval_cuda_status_, #call, __FILE__, __LINE__); \
    }                                                                                   \
  } while (0)

#define DGEVAL_CUDA_CHECK_NOTHROW(call)                                                  \
  do {                                                                                   \
    const cudaError_t dgeval_cuda_status_ = (call);                                      \
    if (dgeval_cuda_status_ != cudaSuccess) {                                            \
      ::dgeval::cuda::report_cuda_error(dgeval_cuda_status_, #call, __FILE__, __LINE__); \
    }                                                                                    \
  } while (0)

#if defined(DGEVAL_CUDA_SYNC_CHECK) || !defined(NDEBUG)
#define DGEVAL_CUDA_CHECK_LAUNCH()              \
  do {                                          \
    DGEVAL_CUDA_CHECK(cudaGetLastError());      \
    DGEVAL_CUDA_CHECK(cudaDeviceSynchronize()); \
  } while (0)
#else
#define DGEVAL_CUDA_CHECK_LAUNCH() DGEVAL_CUDA_CHECK(cudaGetLastError())
#endif
