// The kernels' load/store layer: every access of device global memory by the evaluation kernels
// (kernels/team_evaluate.cu, kernels/tiled_evaluate.cu) and by the fills of kernels/generate.cu
// (random_uniform_games_kernel, convert_kernel) goes through load<C>(p), store<C>(p, v) or a
// Global<C, T> pointer, tagged with the class C of what it touches (the games' utilities, the
// user's strategy, the result columns, the tiled path's scratch). The generator, inference and
// bound-surface kernels of generate.cu run code of include/dgeval/detail shared with the host on
// raw pointers, and are not counted.
//
// On the GPU each is the plain access, inlined (DGEVAL_GLOBAL_ACCESS is empty): the team kernels'
// PTX has the same instructions as with raw pointers; a few tiled kernels differ in address
// arithmetic only (docs/PERFORMANCE.md, "The kernels' cost without a GPU").
// Under the CPU emulation of the tests (tests/test_cuda_emulation.hpp defines
// DGEVAL_GLOBAL_ACCESS before this file is read) each access also adds its bytes to the running
// launch's count of its class, so a test can say how many bytes each path reads and writes.
// Shared memory, registers and the kernels' parameters are not global memory and are not counted.
#pragma once

#include <cstdint>

#include "dgeval/detail/hd.hpp"

/// DGEVAL_GLOBAL_ACCESS(cls, write, bytes, p): the emulation's hook (it counts the bytes and fails
/// an access at an address not aligned to *p's type, or outside every device and pinned
/// allocation, either of which faults on a GPU); nothing on the GPU.
#ifndef DGEVAL_GLOBAL_ACCESS
#define DGEVAL_GLOBAL_ACCESS(cls, write, bytes, p) ((void)0)
#endif

namespace dgeval {
namespace cuda {

/// What a global-memory access touches.
enum class Mem : int {
  input = 0,     ///< the games' utilities (both sides)
  strategy = 1,  ///< the user's strategy (pure actions, correlated or product weights)
  output = 2,    ///< result columns, distance matrices, the NE bitmask
  scratch = 3,   ///< the tiled path's summaries, per-game arrays, partials and fibers
};
constexpr int kMemClasses = 4;

/// *p, counted as a read of sizeof(T) bytes of class C.
template <Mem C, class T>
DGEVAL_HD T load(const T* p) {
  DGEVAL_GLOBAL_ACCESS(C, false, sizeof(T), p);
  return *p;
}

/// *p = v (converted to T), counted as a write of sizeof(T) bytes of class C.
template <Mem C, class T, class V>
DGEVAL_HD void store(T* p, const V& v) {
  DGEVAL_GLOBAL_ACCESS(C, true, sizeof(T), p);
  *p = static_cast<T>(v);
}

/// A pointer into global memory of class C: p[i] loads, p.store(i, v) stores, p + i offsets.
/// The same size and layout as T*, so it passes in kernel parameters as the pointer would.
template <Mem C, class T>
struct Global {
  T* ptr = nullptr;
  Global() = default;
  DGEVAL_HD Global(T* p) : ptr(p) {}  // NOLINT: converts from the raw pointer, as host code assigns it
  DGEVAL_HD T operator[](std::int64_t i) const { return load<C>(ptr + i); }
  template <class V>
  DGEVAL_HD void store(std::int64_t i, const V& v) const {
    ::dgeval::cuda::store<C>(ptr + i, v);
  }
  DGEVAL_HD Global operator+(std::int64_t i) const { return Global(ptr + i); }
  DGEVAL_HD explicit operator bool() const { return ptr != nullptr; }
  DGEVAL_HD T* get() const { return ptr; }
};

#if defined(__CUDACC__) || defined(DGEVAL_CUDA_EMULATION)
/// atomicMin(p, v) / atomicMax(p, v) on 64-bit keys whose result is unused (a reduction performed
/// at the L2 cache: the SM receives nothing back), counted as a write of 8 bytes of class C.
template <Mem C>
__device__ inline void atomic_min_key(unsigned long long* p, unsigned long long v) {
  DGEVAL_GLOBAL_ACCESS(C, true, 8, p);
  atomicMin(p, v);
}
template <Mem C>
__device__ inline void atomic_max_key(unsigned long long* p, unsigned long long v) {
  DGEVAL_GLOBAL_ACCESS(C, true, 8, p);
  atomicMax(p, v);
}
/// atomicOr(p, v) on a 32-bit word whose result is unused (likewise an L2 reduction), counted as
/// a write of 4 bytes of class C.
template <Mem C>
__device__ inline void atomic_or_bits(std::uint32_t* p, std::uint32_t v) {
  DGEVAL_GLOBAL_ACCESS(C, true, 4, p);
  atomicOr(reinterpret_cast<unsigned int*>(p), static_cast<unsigned int>(v));
}
#endif

/// The result columns' store (found by argument-dependent lookup from detail::finish_game and
/// detail::finish_nonfinite_game, whose own detail::put takes a raw pointer): stores v at
/// column[i] when the column is stored.
template <Mem C, class T, class V>
DGEVAL_HD void put(const Global<C, T>& column, std::int64_t i, V v) {
  if (column) column.store(i, v);
}

}  // namespace cuda
}  // namespace dgeval
