// Host/device portability macro. Every function marked DGEVAL_HD compiles under g++
// (as a plain inline function) and under nvcc (as __host__ __device__), so the CPU
// reference and the CUDA backend share one definition of each piece of per-element math.
#pragma once

#if defined(__CUDACC__)
#define DGEVAL_HD __host__ __device__ __forceinline__
#else
#define DGEVAL_HD inline
#endif
