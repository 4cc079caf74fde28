// A small CPU emulation of the CUDA execution model, so the CUDA backend's real kernels and host
// code (kernels/*.cu, host/cuda_backend.cu) run in tests on machines without a GPU (CI).
//
// Every thread of a block is a cooperative coroutine (ucontext); blocks run one after another.
// Emulated: atomicAdd/Min/Max on 64-bit integers, __syncthreads, __syncthreads_or,
// __syncwarp(mask) and __shfl_xor_sync(mask, ...) as
// barriers over exactly the lanes named in the mask (a lane outside its mask, or a barrier some
// lane never reaches, is reported as an error instead of hanging), dynamic shared memory of exactly
// the requested size (filled with garbage, with a canary checked after each block), the launch
// limits (block size, grid.y/z, dynamic shared memory against cudaFuncSetAttribute), and the
// runtime calls the backend makes (allocations against a fake device memory size, copies, memsets,
// streams and events as synchronous no-ops). The order in which threads run between barriers is
// shuffled per block, so a missing barrier tends to show up as a wrong result.
//
// Not emulated: true concurrency (data races between barriers are not detected; compute-sanitizer
// racecheck on the GPU machine covers them), the memory model, timing.
#pragma once

#define DGEVAL_CUDA_EMULATION 1

// The kernels' `#pragma unroll` and anonymous-namespace types inside the backend's Impl are fine.
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wsubobject-linkage"

#include <ucontext.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static
#define DGEVAL_DYNAMIC_SHARED(name) unsigned char* name = ::emu::dynamic_shared()
#define DGEVAL_LAUNCH(kernel, grid, block, shared, stream) ((void)(stream), ::emu::launcher(kernel, grid, block, shared))

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3 {
  unsigned x, y, z;
};

// ---------------------------------------------------------------------------------------------
// Runtime API subset.

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorLaunchFailure = 719,
  cudaErrorInvalidConfiguration = 9,
};
using cudaStream_t = struct EmuStream*;
using cudaEvent_t = struct EmuEvent*;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
enum cudaDeviceAttr { cudaDevAttrMemoryClockRate, cudaDevAttrGlobalMemoryBusWidth };
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDisableTiming = 2;
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  int multiProcessorCount;
  std::size_t totalGlobalMem;
  int l2CacheSize;
  std::size_t sharedMemPerBlockOptin;
  std::size_t sharedMemPerBlock;
};
struct cudaFuncAttributes {
  std::size_t sharedSizeBytes;
};

namespace emu {

/// Errors the emulation detects (thrown out of the launch, failing the test).
struct fault : std::runtime_error {
  explicit fault(const std::string& m) : std::runtime_error("CUDA emulation: " + m) {}
};

struct Thread {
  ucontext_t ctx;
  uint3 tid;
  int linear = 0;
  bool done = false;
};

struct Barrier {
  int arrived = 0;
  unsigned long generation = 0;
};

struct State {
  // Launch
  dim3 grid_dim, block_dim, block_idx;
  std::vector<Thread> threads;
  int current = -1;
  int live = 0;
  ucontext_t main_ctx;
  const void* body = nullptr;
  void (*run_body)(const void*) = nullptr;
  std::vector<unsigned char> shared;  // dynamic shared memory + canary
  std::size_t shared_size = 0;
  Barrier block_bar;
  int or_acc = 0, or_result = 0;
  std::map<std::pair<int, unsigned>, Barrier> warp_bars;
  std::vector<int> slots;  // one per thread: shuffle exchange
  bool released = false;   // a barrier released since the last scheduling round
  std::mt19937 rng{12345};
  // Runtime
  cudaError_t last_error = cudaSuccess;
  std::map<const void*, std::size_t> max_dynamic_shared;
  std::size_t device_total = std::size_t{8} << 30;
  std::size_t device_used = 0;
  std::map<void*, std::size_t> allocations;
  long long launches = 0;
  long long blocks_run = 0;
  std::vector<std::vector<char>> stacks;  // one per thread slot, reused across blocks
  std::string thread_fault;               // a fault raised inside a thread (rethrown by the scheduler)
};

inline State& state() {
  static State s;
  return s;
}
inline Thread& current() { return state().threads[static_cast<std::size_t>(state().current)]; }

inline unsigned char* dynamic_shared() { return state().shared.data(); }

/// Gives the processor back to the scheduler.
inline void yield() {
  State& s = state();
  swapcontext(&current().ctx, &s.main_ctx);
}

inline void wait_barrier(Barrier& b, int expected) {
  const unsigned long g = b.generation;
  if (++b.arrived == expected) {
    b.arrived = 0;
    ++b.generation;
    state().released = true;
    return;
  }
  while (b.generation == g) yield();
}

inline void syncthreads() {
  State& s = state();
  const int total = static_cast<int>(s.threads.size());
  if (s.live != total) throw fault("__syncthreads reached after some threads of the block exited");
  wait_barrier(s.block_bar, total);
}

inline int syncthreads_or(int p) {
  State& s = state();
  s.or_acc |= p != 0;
  const unsigned long g = s.block_bar.generation;
  const int total = static_cast<int>(s.threads.size());
  if (s.live != total) throw fault("__syncthreads_or reached after some threads of the block exited");
  if (s.block_bar.arrived + 1 == total) {
    s.or_result = s.or_acc;
    s.or_acc = 0;
  }
  wait_barrier(s.block_bar, total);
  (void)g;
  return s.or_result;
}

inline void syncwarp(unsigned mask) {
  State& s = state();
  const int t = current().linear;
  const int warp = t / 32, lane = t % 32;
  if (!((mask >> lane) & 1u)) throw fault("lane " + std::to_string(lane) + " calls a warp primitive with a mask without it");
  const int warp_base = warp * 32;
  for (int l = 0; l < 32; ++l) {
    if (((mask >> l) & 1u) && warp_base + l >= static_cast<int>(s.threads.size())) {
      throw fault("warp mask names a lane beyond the block");
    }
  }
  wait_barrier(s.warp_bars[{warp, mask}], __builtin_popcount(mask));
}

inline int shfl_xor(unsigned mask, int v, int lane_mask, int width) {
  State& s = state();
  const int t = current().linear;
  const int lane = t % 32;
  if (width <= 0 || width > 32 || (width & (width - 1)) || lane_mask >= width) throw fault("bad shuffle width");
  s.slots[static_cast<std::size_t>(t)] = v;
  syncwarp(mask);
  const int src_lane = lane ^ lane_mask;
  if (!((mask >> src_lane) & 1u)) throw fault("shuffle reads a lane outside the mask");
  const int r = s.slots[static_cast<std::size_t>(t - lane + src_lane)];
  syncwarp(mask);
  return r;
}

inline void thread_entry() {
  State& s = state();
  try {  // exceptions must not unwind across contexts
    s.run_body(s.body);
  } catch (const std::exception& e) {
    if (s.thread_fault.empty()) s.thread_fault = e.what();
  }
  current().done = true;
  --s.live;
  s.released = true;
  // returning resumes uc_link (the scheduler)
}

constexpr std::size_t kCanary = 64;
constexpr std::size_t kStack = 128 * 1024;

template <class F>
void run_grid(const F& body, dim3 grid, dim3 block, std::size_t shared, const void* kernel) {
  State& s = state();
  ++s.launches;
  const unsigned threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64) throw fault("invalid block size");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) throw fault("invalid grid size");
  std::size_t limit = 48 * 1024;
  const auto it = s.max_dynamic_shared.find(kernel);
  if (it != s.max_dynamic_shared.end()) limit = it->second;
  if (shared > limit) {
    throw fault("dynamic shared memory " + std::to_string(shared) + " over the kernel's limit " + std::to_string(limit));
  }
  s.grid_dim = grid;
  s.block_dim = block;
  s.body = &body;
  s.run_body = [](const void* b) { (*static_cast<const F*>(b))(); };
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        ++s.blocks_run;
        s.block_idx = dim3(bx, by, bz);
        s.shared_size = shared;
        s.shared.assign(shared + kCanary, 0xA5);
        s.threads.assign(threads, Thread{});
        s.slots.assign(threads, 0);
        s.block_bar = Barrier{};
        s.warp_bars.clear();
        s.or_acc = s.or_result = 0;
        s.live = static_cast<int>(threads);
        if (s.stacks.size() < threads) s.stacks.resize(threads);
        for (unsigned t = 0; t < threads; ++t) {
          Thread& th = s.threads[t];
          th.linear = static_cast<int>(t);
          th.tid = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
          std::vector<char>& stack = s.stacks[t];
          if (stack.size() < kStack) stack.resize(kStack);
          getcontext(&th.ctx);
          th.ctx.uc_stack.ss_sp = stack.data();
          th.ctx.uc_stack.ss_size = stack.size();
          th.ctx.uc_link = &s.main_ctx;
          makecontext(&th.ctx, thread_entry, 0);
        }
        std::vector<int> order(threads);
        for (unsigned t = 0; t < threads; ++t) order[t] = static_cast<int>(t);
        int idle_rounds = 0;
        while (s.live > 0) {
          std::shuffle(order.begin(), order.end(), s.rng);
          s.released = false;
          for (int t : order) {
            if (s.threads[static_cast<std::size_t>(t)].done) continue;
            s.current = t;
            swapcontext(&s.main_ctx, &s.threads[static_cast<std::size_t>(t)].ctx);
            if (!s.thread_fault.empty()) {
              const std::string m = s.thread_fault;
              s.thread_fault.clear();
              s.current = -1;
              throw std::runtime_error(m);
            }
          }
          s.current = -1;
          idle_rounds = s.released ? 0 : idle_rounds + 1;
          if (idle_rounds > 2) throw fault("deadlock: threads wait at a barrier that can never complete");
        }
        for (std::size_t j = 0; j < kCanary; ++j) {
          if (s.shared[shared + j] != 0xA5) throw fault("write past the end of dynamic shared memory");
        }
      }
    }
  }
}

template <class... P>
struct Launcher {
  void (*kernel)(P...);
  dim3 grid, block;
  std::size_t shared;
  template <class... A>
  void operator()(const A&... args) const {
    auto body = [&]() { kernel(static_cast<P>(args)...); };
    try {
      run_grid(body, grid, block, shared, reinterpret_cast<const void*>(kernel));
    } catch (const std::exception& f) {
      std::fprintf(stderr, "%s\n", f.what());
      state().last_error = cudaErrorLaunchFailure;
      throw;
    }
  }
};
template <class... P>
Launcher<P...> launcher(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t shared) {
  return Launcher<P...>{kernel, grid, block, shared};
}

}  // namespace emu

#define threadIdx (::emu::current().tid)
#define blockIdx (::emu::state().block_idx)
#define blockDim (::emu::state().block_dim)
#define gridDim (::emu::state().grid_dim)

inline void __syncthreads() { emu::syncthreads(); }
inline int __syncthreads_or(int p) { return emu::syncthreads_or(p); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::syncwarp(mask); }
inline int __shfl_xor_sync(unsigned mask, int v, int lane_mask, int width = 32) {
  return emu::shfl_xor(mask, v, lane_mask, width);
}
// Atomics: the emulated threads of a block run one at a time between barriers, so a plain
// read-modify-write is atomic here.
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  *p = old + v;
  return old;
}
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  if (v > old) *p = v;
  return old;
}
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  const unsigned long long old = *p;
  if (v < old) *p = v;
  return old;
}
inline double __longlong_as_double(long long x) {
  double d;
  std::memcpy(&d, &x, 8);
  return d;
}
inline long long __double_as_longlong(double x) {
  long long v;
  std::memcpy(&v, &x, 8);
  return v;
}

// Runtime API (inline, C++ linkage: no clash with the real C symbols of cudart in the same binary).
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    default: return "cudaErrorInvalidValue";
  }
}
inline const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::state().last_error;
  emu::state().last_error = cudaSuccess;
  return e;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* c) {
  *c = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
  if (d != 0) return cudaErrorInvalidValue;
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "dgeval CPU emulation of an H100");
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 4;  // small, so the planner spreads few blocks
  p->totalGlobalMem = emu::state().device_total;
  p->l2CacheSize = 1 << 20;
  p->sharedMemPerBlockOptin = 232448;
  p->sharedMemPerBlock = 49152;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) {
  *v = a == cudaDevAttrMemoryClockRate ? 2619000 : 5120;
  return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(std::size_t* free_b, std::size_t* total_b) {
  *total_b = emu::state().device_total;
  *free_b = *total_b - emu::state().device_used;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  emu::State& s = emu::state();
  if (s.device_used + bytes > s.device_total) {
    s.last_error = cudaErrorMemoryAllocation;
    return cudaErrorMemoryAllocation;
  }
  *p = std::malloc(bytes ? bytes : 1);
  std::memset(*p, 0xC3, bytes);  // fresh device memory holds garbage
  s.allocations[*p] = bytes;
  s.device_used += bytes;
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* p) {
  emu::State& s = emu::state();
  const auto it = s.allocations.find(p);
  if (it == s.allocations.end()) return cudaErrorInvalidValue;
  s.device_used -= it->second;
  s.allocations.erase(it);
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* d, const void* s, std::size_t n, cudaMemcpyKind) {
  std::memcpy(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, std::size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* d, int v, std::size_t n, cudaStream_t) {
  std::memset(d, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = reinterpret_cast<cudaStream_t>(new char);
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete reinterpret_cast<char*>(s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = reinterpret_cast<cudaEvent_t>(new char);
  return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<char*>(e);
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
template <class F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) {
  a->sharedSizeBytes = 2048;
  return cudaSuccess;
}
template <class F>
cudaError_t cudaFuncSetAttribute(F f, cudaFuncAttribute, int bytes) {
  if (bytes < 0 || bytes > 232448) return cudaErrorInvalidValue;
  emu::state().max_dynamic_shared[reinterpret_cast<const void*>(f)] = static_cast<std::size_t>(bytes);
  return cudaSuccess;
}
