// A small CPU emulation of the CUDA execution model, so the CUDA backend's real kernels and host
// code (kernels/*.cu, host/backends/cuda/*.cu) run in tests on machines without a GPU (CI).
//
// Every thread of a block is a cooperative coroutine (a fiber of
// tests/test_cuda_emulation_fiber.hpp); blocks run one after another, except the blocks of one
// thread block cluster (a launch with a cluster dimension,
// DGEVAL_LAUNCH_CLUSTER), whose threads run together as coroutines of one schedule: the cluster's
// barrier (cooperative_groups::this_cluster().sync(), a barrier over every thread of the cluster,
// reported as an error when some thread of the cluster exited or never reaches it), its block
// rank and number of blocks, and distributed shared memory (map_shared_rank: the same offset in
// another block's dynamic shared memory; an address outside the block's dynamic shared memory or
// a rank outside the cluster, a map before the cluster's first barrier, or to a block whose threads
// have all exited, is an error). Static __shared__ variables are one per program here, not one per
// block: a cluster's kernel keeps everything per block in dynamic shared memory.
// State::starve_block runs one block rank of each cluster only when the others cannot go on, so
// the others get as far ahead as the barriers let them.
// Emulated: atomicAdd/Min/Max on 64-bit integers, atomicOr on 32-bit ones, __syncthreads,
// __syncthreads_or, __syncwarp(mask) and __shfl_xor_sync(mask, ...) as
// barriers over exactly the lanes named in the mask (a lane outside its mask, or a barrier some
// lane never reaches, is reported as an error instead of hanging), dynamic shared memory of exactly
// the requested size (filled with garbage, with a canary checked after each block), the launch
// limits (block size, grid.y/z, dynamic shared memory against cudaFuncSetAttribute), and the
// runtime calls the backend makes (allocations against a fake device memory size, copies, memsets,
// streams and events). The order in which threads run between barriers is shuffled per block, so a
// missing barrier tends to show up as a wrong result.
//
// Streams are queues. Kernels, asynchronous copies, memsets and event records are queued on their
// stream and run only when something waits for them: cudaStreamSynchronize, cudaEventSynchronize,
// cudaDeviceSynchronize, a synchronous cudaMemcpy on the legacy stream, cudaStreamWaitEvent, or an
// implicit dependency. The legacy (NULL) stream and streams created without cudaStreamNonBlocking
// ("blocking" streams) wait for each other; a cudaStreamNonBlocking stream waits for neither, so
// its work may run before work queued earlier on the legacy stream, and does here:
// cudaDeviceSynchronize runs the non-blocking streams first. Copies follow the runtime's documented
// host synchronisation: cudaMemcpy from pageable memory to the device returns once the bytes are
// staged, before the device has them (the copy runs with the legacy stream's next work); copies to
// pageable host memory have completed on return; an asynchronous copy from pinned memory
// (cudaMallocHost) reads it when it runs. So a kernel on a non-blocking stream that reads what a
// cudaMemcpy on the legacy stream wrote reads the garbage that cudaMalloc left, as it can on a GPU.
//
// Global-memory traffic: the kernels' load/store layer (kernels/global_memory.cuh) calls
// DGEVAL_GLOBAL_ACCESS, defined here, on every access; while emu::state().count_accesses is set,
// each launch appends an emu::LaunchAccess (the kernel, its grid, and the bytes read and written
// per class of memory: input, strategy, output, scratch) to emu::state().access_log. An access at
// an address not aligned to its type, or outside every device and pinned allocation, is an error,
// as it is on a GPU.
//
// A dry run (emu::state().dry_run) checks and counts launches without queueing them (nor memsets).
//
// Not emulated: true concurrency (data races between barriers are not detected; compute-sanitizer
// racecheck on the GPU machine covers them), the memory model, timing.
#pragma once

#define DGEVAL_CUDA_EMULATION 1

// The kernels' `#pragma unroll` and anonymous-namespace types inside the backend's Impl are fine.
// (g++ before 13 ignores the first in C++, GCC bug 53431: tests/CMakeLists.txt passes
// -Wno-unknown-pragmas too; clang knows `#pragma unroll` and has no -Wsubobject-linkage.)
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wsubobject-linkage"
#endif

#include "test_cuda_emulation_fiber.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
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
#define DGEVAL_LAUNCH(kernel, grid, block, shared, stream) ::emu::launcher(kernel, grid, block, shared, stream)
#define DGEVAL_LAUNCH_CLUSTER(kernel, grid, block, cluster, shared, stream) \
  ::emu::cluster_launcher(kernel, grid, block, cluster, shared, stream)
#define DGEVAL_MAX_ACTIVE_CLUSTERS(kernel, block, cluster, shared) ::emu::max_active_clusters(cluster)

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
  cudaErrorNotReady = 600,
};

/// A stream: a queue of work that runs when something waits for it (see the top of the file).
struct EmuStream {
  bool legacy = false;   ///< the NULL stream
  bool blocking = true;  ///< waits for (and is waited for by) the legacy stream
  std::deque<std::function<void()>> queue;
  unsigned long long enqueued = 0, completed = 0;
};
/// An event: complete once its stream has run `after` operations.
struct EmuEvent {
  EmuStream* stream = nullptr;  ///< null: never recorded (complete)
  unsigned long long after = 0;
};
using cudaStream_t = EmuStream*;
using cudaEvent_t = EmuEvent*;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice, cudaMemcpyDefault };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
enum cudaDeviceAttr { cudaDevAttrMemoryClockRate, cudaDevAttrGlobalMemoryBusWidth };
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3
};
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
constexpr unsigned cudaStreamDefault = 0;
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
  std::size_t sharedMemPerMultiprocessor;
  std::size_t reservedSharedMemPerBlock;
  int regsPerMultiprocessor;
  int maxThreadsPerMultiProcessor;
  int maxBlocksPerMultiProcessor;
};
struct cudaFuncAttributes {
  std::size_t sharedSizeBytes;
};

namespace emu {

/// Errors the emulation detects (thrown out of the launch, failing the test).
struct fault : std::runtime_error {
  explicit fault(const std::string& m) : std::runtime_error("CUDA emulation: " + m) {}
};

/// The bytes one launch read and wrote in global memory, per class (cuda::Mem: input, strategy,
/// output, scratch), as the kernels' load/store layer reports them.
struct LaunchAccess {
  const void* kernel = nullptr;
  unsigned long long blocks = 0, threads_per_block = 0;
  unsigned long long read[4] = {0, 0, 0, 0};
  unsigned long long written[4] = {0, 0, 0, 0};
};

struct Thread {
  fiber::Context ctx;
  uint3 tid;
  int linear = 0;  ///< within its block
  int block = 0;   ///< its block's rank in the cluster (0 without clusters)
  bool done = false;
};

struct Barrier {
  int arrived = 0;
  unsigned long generation = 0;
};

/// One block of the running cluster (one block without clusters).
struct Block {
  dim3 idx;
  std::vector<unsigned char> shared;  // dynamic shared memory + canary
  Barrier bar;
  int or_acc = 0, or_result = 0;
  std::map<std::pair<int, unsigned>, Barrier> warp_bars;
  int live = 0;
};

struct State {
  // Launch
  dim3 grid_dim, block_dim;
  std::vector<Thread> threads;  // every thread of the running cluster, block by block
  int current = -1;
  int live = 0;             // threads of the cluster not exited
  fiber::Context main_ctx;  // the scheduler's
  const void* body = nullptr;
  void (*run_body)(const void*) = nullptr;
  std::vector<Block> blocks;  // the running cluster's blocks (one without clusters)
  int block_threads = 0;      // threads per block
  unsigned cluster_dim = 1;   // blocks per cluster of the running launch
  Barrier cluster_bar;
  std::size_t shared_size = 0;
  std::vector<int> slots;  // one per thread: shuffle exchange
  bool released = false;   // a barrier released since the last scheduling round
  std::mt19937 rng{12345};
  /// A block rank of every cluster whose threads run only when the others cannot go on (-1: none):
  /// the others get as far ahead of it as the barriers let them (a test of what a cluster's blocks
  /// may overwrite while one of them still reads).
  int starve_block = -1;
  // Runtime
  cudaError_t last_error = cudaSuccess;
  std::map<const void*, std::size_t> max_dynamic_shared;
  std::size_t device_total = std::size_t{8} << 30;
  int compute_major = 9;     ///< cudaDeviceProp::major of the emulated device (8: no clusters)
  int active_clusters = 16;  ///< cudaOccupancyMaxActiveClusters's answer (0: a cluster cannot be placed)
  std::size_t device_used = 0;
  std::map<void*, std::size_t> allocations;
  long long launches = 0;
  long long blocks_run = 0;
  std::vector<std::vector<char>> stacks;  // one per thread slot, reused across blocks
  std::string thread_fault;               // a fault raised inside a thread (rethrown by the scheduler)
  // Streams and events
  EmuStream legacy_stream{true, false, {}, 0, 0};
  std::vector<EmuStream*> streams;  // created ones, in creation order
  std::vector<EmuEvent*> events;
  std::map<const char*, std::size_t> pinned;  // cudaMallocHost allocations
  // The device allocation the last checked global access fell in (global_addressable), [hit_lo, hit_hi).
  const char* hit_lo = nullptr;
  const char* hit_hi = nullptr;
  cudaError_t async_error = cudaSuccess;  // a fault of queued work, reported by the next sync
  long long deferred_ops = 0;             // operations that were queued (not run at once)
  // Global-memory traffic (see the top of the file)
  bool count_accesses = false;
  std::vector<LaunchAccess> access_log;  // one per launch run while count_accesses is set
  LaunchAccess* counting = nullptr;      // the running launch's entry, if counted
  // A dry run: launches are checked and counted, never queued nor run (the launch sequence of a
  // batch too large to run here; the pointers they are given are never read).
  bool dry_run = false;
  long long dry_launches = 0;
};

inline State& state() {
  static State s;
  return s;
}
inline Thread& current() { return state().threads[static_cast<std::size_t>(state().current)]; }
inline Block& current_block() { return state().blocks[static_cast<std::size_t>(current().block)]; }

inline unsigned char* dynamic_shared() { return current_block().shared.data(); }

/// Gives the processor back to the scheduler.
inline void yield() {
  State& s = state();
  fiber::switch_to(current().ctx, s.main_ctx);
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
  Block& b = current_block();
  const int total = state().block_threads;
  if (b.live != total) throw fault("__syncthreads reached after some threads of the block exited");
  wait_barrier(b.bar, total);
}

inline int syncthreads_or(int p) {
  Block& b = current_block();
  b.or_acc |= p != 0;
  const int total = state().block_threads;
  if (b.live != total) throw fault("__syncthreads_or reached after some threads of the block exited");
  if (b.bar.arrived + 1 == total) {
    b.or_result = b.or_acc;
    b.or_acc = 0;
  }
  wait_barrier(b.bar, total);
  return b.or_result;
}

/// cooperative_groups::this_cluster().sync(): every thread of every block of the cluster.
inline void cluster_sync() {
  State& s = state();
  const int total = static_cast<int>(s.threads.size());
  if (s.live != total) throw fault("cluster.sync() reached after some threads of the cluster exited");
  wait_barrier(s.cluster_bar, total);
}

/// cooperative_groups::this_cluster().map_shared_rank(p, rank): the address at p's offset in the
/// dynamic shared memory of block `rank` of the cluster.
inline void* map_shared_rank(const void* p, int rank) {
  State& s = state();
  if (rank < 0 || static_cast<unsigned>(rank) >= s.cluster_dim) {
    throw fault("map_shared_rank to block " + std::to_string(rank) + " of a cluster of " +
                std::to_string(s.cluster_dim));
  }
  const unsigned char* own = current_block().shared.data();
  const unsigned char* q = static_cast<const unsigned char*>(p);
  if (q < own || q >= own + s.shared_size) {
    throw fault("map_shared_rank of an address outside the block's dynamic shared memory");
  }
  if (s.cluster_bar.generation == 0) {  // a GPU starts a cluster's blocks together, not at once
    throw fault("map_shared_rank before the cluster's first barrier (cluster.sync() first: every block has started)");
  }
  Block& target = s.blocks[static_cast<std::size_t>(rank)];
  if (target.live == 0) {  // on a GPU its shared memory is gone: a cluster kernel ends with cluster.sync()
    throw fault("map_shared_rank to block " + std::to_string(rank) + " of the cluster after all its threads exited");
  }
  return target.shared.data() + (q - own);
}

inline void syncwarp(unsigned mask) {
  State& s = state();
  const int t = current().linear;
  const int warp = t / 32, lane = t % 32;
  if (!((mask >> lane) & 1u))
    throw fault("lane " + std::to_string(lane) + " calls a warp primitive with a mask without it");
  const int warp_base = warp * 32;
  for (int l = 0; l < 32; ++l) {
    if (((mask >> l) & 1u) && warp_base + l >= s.block_threads) {
      throw fault("warp mask names a lane beyond the block");
    }
  }
  wait_barrier(current_block().warp_bars[{warp, mask}], __builtin_popcount(mask));
}

inline int shfl_xor(unsigned mask, int v, int lane_mask, int width) {
  State& s = state();
  const int t = s.current;  // the slot of the thread in the cluster (its block's threads are contiguous)
  const int lane = current().linear % 32;
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
  fiber::started(s.main_ctx);
  try {  // exceptions must not unwind across contexts
    s.run_body(s.body);
  } catch (const std::exception& e) {
    if (s.thread_fault.empty()) s.thread_fault = e.what();
  }
  current().done = true;
  --current_block().live;
  --s.live;
  s.released = true;
  fiber::exit_to(current().ctx, s.main_ctx);
}

constexpr std::size_t kCanary = 64;
constexpr std::size_t kStack = 128 * 1024;

inline void check_launch(dim3 grid, dim3 block, std::size_t shared, const void* kernel, unsigned cluster = 1) {
  State& s = state();
  if (cluster < 1 || cluster > 8) throw fault("cluster of " + std::to_string(cluster) + " blocks (portable: 1 to 8)");
  if (grid.x % cluster != 0) throw fault("grid.x not a multiple of the cluster size");
  const unsigned threads = block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64) throw fault("invalid block size");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) throw fault("invalid grid size");
  std::size_t limit = 48 * 1024;
  const auto it = s.max_dynamic_shared.find(kernel);
  if (it != s.max_dynamic_shared.end()) limit = it->second;
  if (shared > limit) {
    throw fault("dynamic shared memory " + std::to_string(shared) + " over the kernel's limit " +
                std::to_string(limit));
  }
}

template <class F>
void run_grid(const F& body, dim3 grid, dim3 block, std::size_t shared, const void* kernel, unsigned cluster = 1) {
  State& s = state();
  ++s.launches;
  check_launch(grid, block, shared, kernel, cluster);
  const unsigned threads = block.x * block.y * block.z;
  const unsigned total = threads * cluster;
  s.counting = nullptr;
  if (s.count_accesses) {
    LaunchAccess entry;
    entry.kernel = kernel;
    entry.blocks = static_cast<unsigned long long>(grid.x) * grid.y * grid.z;
    entry.threads_per_block = threads;
    s.access_log.push_back(entry);
    s.counting = &s.access_log.back();
  }
  s.grid_dim = grid;
  s.block_dim = block;
  s.body = &body;
  s.run_body = [](const void* b) { (*static_cast<const F*>(b))(); };
  s.block_threads = static_cast<int>(threads);
  s.cluster_dim = cluster;
  s.shared_size = shared;
  for (unsigned bz = 0; bz < grid.z; ++bz) {
    for (unsigned by = 0; by < grid.y; ++by) {
      for (unsigned bx0 = 0; bx0 < grid.x; bx0 += cluster) {
        // One cluster (one block without clusters): its blocks' threads in one schedule.
        s.blocks.assign(cluster, Block{});
        for (unsigned c = 0; c < cluster; ++c) {
          ++s.blocks_run;
          Block& b = s.blocks[c];
          b.idx = dim3(bx0 + c, by, bz);
          b.shared.assign(shared + kCanary, 0xA5);
          b.live = static_cast<int>(threads);
        }
        s.threads.assign(total, Thread{});
        s.slots.assign(total, 0);
        s.cluster_bar = Barrier{};
        s.live = static_cast<int>(total);
        if (s.stacks.size() < total) s.stacks.resize(total);
        for (unsigned u = 0; u < total; ++u) {
          Thread& th = s.threads[u];
          const unsigned t = u % threads;
          th.linear = static_cast<int>(t);
          th.block = static_cast<int>(u / threads);
          th.tid = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
          std::vector<char>& stack = s.stacks[u];
          if (stack.size() < kStack) stack.resize(kStack);
          fiber::prepare(th.ctx, stack.data(), stack.size(), thread_entry);
        }
        std::vector<int> order(total);
        for (unsigned t = 0; t < total; ++t) order[t] = static_cast<int>(t);
        int idle_rounds = 0;
        bool everyone = false;  // this round runs the starved block too
        while (s.live > 0) {
          std::shuffle(order.begin(), order.end(), s.rng);
          s.released = false;
          const bool starving = s.starve_block >= 0 && cluster > 1 && !everyone;
          for (int t : order) {
            if (s.threads[static_cast<std::size_t>(t)].done) continue;
            if (starving && s.threads[static_cast<std::size_t>(t)].block == s.starve_block) continue;
            s.current = t;
            fiber::switch_to(s.main_ctx, s.threads[static_cast<std::size_t>(t)].ctx);
            if (!s.thread_fault.empty()) {
              const std::string m = s.thread_fault;
              s.thread_fault.clear();
              s.current = -1;
              throw std::runtime_error(m);
            }
          }
          s.current = -1;
          if (starving) {  // the others went as far as they could: the starved block's turn
            everyone = !s.released;
            continue;
          }
          everyone = false;
          idle_rounds = s.released ? 0 : idle_rounds + 1;
          if (idle_rounds > 2) throw fault("deadlock: threads wait at a barrier that can never complete");
        }
        for (const Block& b : s.blocks) {
          for (std::size_t j = 0; j < kCanary; ++j) {
            if (b.shared[shared + j] != 0xA5) throw fault("write past the end of dynamic shared memory");
          }
        }
      }
    }
  }
  s.counting = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Streams: queues run on demand.

inline EmuStream& stream_of(cudaStream_t st) { return st ? *st : state().legacy_stream; }

/// Runs the next queued operation of `s`. A fault is printed and kept for the next
/// synchronising call, as a GPU reports a kernel's fault.
inline void run_next(EmuStream& s) {
  std::function<void()> op = std::move(s.queue.front());
  s.queue.pop_front();
  try {
    op();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    if (state().async_error == cudaSuccess) state().async_error = cudaErrorLaunchFailure;
  }
  ++s.completed;
}
/// Runs `s` until it has completed `upto` operations.
inline void run_until(EmuStream& s, unsigned long long upto) {
  while (s.completed < upto && !s.queue.empty()) run_next(s);
}
inline void run_all(EmuStream& s) { run_until(s, s.enqueued); }
/// Everything queued anywhere: the non-blocking streams first (nothing orders them after the
/// legacy stream), then the blocking ones and the legacy stream.
inline void run_everything() {
  State& S = state();
  for (EmuStream* st : S.streams) {
    if (!st->blocking) run_all(*st);
  }
  for (EmuStream* st : S.streams) {
    if (st->blocking) run_all(*st);
  }
  run_all(S.legacy_stream);
}
/// Queues `op` on `st` after the implicit dependencies: work on the legacy stream waits for every
/// blocking stream, work on a blocking stream for the legacy stream (run first here); work on a
/// non-blocking stream waits for nothing but its own stream.
inline void enqueue(cudaStream_t st, std::function<void()> op) {
  State& S = state();
  EmuStream& s = stream_of(st);
  if (s.legacy) {
    for (EmuStream* b : S.streams) {
      if (b->blocking) run_all(*b);
    }
  } else if (s.blocking) {
    run_all(S.legacy_stream);
  }
  s.queue.push_back(std::move(op));
  ++s.enqueued;
  ++S.deferred_ops;
}
/// The fault of queued work since the last report, if any (and clears it).
inline cudaError_t take_async_error() {
  const cudaError_t e = state().async_error;
  state().async_error = cudaSuccess;
  return e;
}
/// Operations queued and not yet run, on every stream.
inline std::size_t pending() {
  std::size_t n = state().legacy_stream.queue.size();
  for (EmuStream* st : state().streams) n += st->queue.size();
  return n;
}
/// True if [p, p + n) lies in a cudaMallocHost allocation.
inline bool is_pinned(const void* p, std::size_t n) {
  const auto& m = state().pinned;
  const char* c = static_cast<const char*>(p);
  auto it = m.upper_bound(c);
  if (it == m.begin()) return false;
  --it;
  return c >= it->first && c + n <= it->first + it->second;
}
/// True if p lies in a cudaMalloc allocation.
inline bool is_device(const void* p) {
  const auto& m = state().allocations;
  auto it = m.upper_bound(const_cast<void*>(p));
  if (it == m.begin()) return false;
  --it;
  return static_cast<const char*>(p) < static_cast<const char*>(it->first) + it->second;
}
/// The device allocation holding p, [*base, *base + *size) (what cuMemGetAddressRange gives on a
/// GPU); false when p is in none.
inline bool allocation_range(const void* p, const char** base, std::size_t* size) {
  const auto& m = state().allocations;
  auto it = m.upper_bound(const_cast<void*>(p));
  if (it == m.begin()) return false;
  --it;
  if (static_cast<const char*>(p) >= static_cast<const char*>(it->first) + it->second) return false;
  *base = static_cast<const char*>(it->first);
  *size = it->second;
  return true;
}

template <class... P>
struct Launcher {
  void (*kernel)(P...);
  dim3 grid, block;
  std::size_t shared;
  cudaStream_t stream;
  unsigned cluster = 0;  ///< blocks per cluster of a cluster launch; 0: a plain launch
  /// Checks the launch now (a bad configuration is an error of the launch itself) and queues the
  /// grid on the stream with its arguments copied, as CUDA copies them at launch.
  template <class... A>
  void operator()(const A&... args) const {
    const unsigned cl = cluster == 0 ? 1u : cluster;
    try {
      if (cluster > 0 && state().compute_major < 9) throw fault("a cluster launch on a device without clusters");
      if (cl > 1 && state().active_clusters < 1) throw fault("a cluster launch the device cannot place");
      check_launch(grid, block, shared, reinterpret_cast<const void*>(kernel), cl);
    } catch (const std::exception& f) {
      std::fprintf(stderr, "%s\n", f.what());
      state().last_error = cudaErrorLaunchFailure;
      throw;
    }
    if (state().dry_run) {
      ++state().dry_launches;
      return;
    }
    auto values = std::make_tuple(static_cast<P>(args)...);
    void (*k)(P...) = kernel;
    const dim3 g = grid, b = block;
    const std::size_t sh = shared;
    enqueue(stream, [k, g, b, sh, values, cl]() {
      auto body = [&]() { std::apply(k, values); };
      run_grid(body, g, b, sh, reinterpret_cast<const void*>(k), cl);
    });
  }
};
template <class... P>
Launcher<P...> launcher(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t shared, cudaStream_t stream) {
  return Launcher<P...>{kernel, grid, block, shared, stream, 0};
}
/// A launch with a cluster dimension (cudaLaunchKernelEx with cudaLaunchAttributeClusterDimension
/// on a GPU): `cluster` consecutive blocks along x form a cluster and run together.
template <class... P>
Launcher<P...> cluster_launcher(void (*kernel)(P...), dim3 grid, dim3 block, unsigned cluster, std::size_t shared,
                                cudaStream_t stream) {
  return Launcher<P...>{kernel, grid, block, shared, stream, cluster == 0 ? 1u : cluster};
}

/// cudaOccupancyMaxActiveClusters: State::active_clusters (none without clusters), a cluster of
/// 1 to 8 blocks.
inline int max_active_clusters(unsigned cluster) {
  if (cluster < 1 || cluster > 8) throw fault("max_active_clusters for a cluster of " + std::to_string(cluster));
  return state().compute_major < 9 ? 0 : state().active_clusters;
}

/// True if [p, p + n) lies in one cudaMalloc allocation (allocation_range; the last one found is
/// tried first: a kernel's accesses mostly stay in one) or one cudaMallocHost allocation (is_pinned).
inline bool global_addressable(const void* p, std::size_t n) {
  State& s = state();
  const char* c = static_cast<const char*>(p);
  if (c >= s.hit_lo && c + n <= s.hit_hi) return true;
  const char* base = nullptr;
  std::size_t size = 0;
  if (allocation_range(p, &base, &size) && c + n <= base + size) {
    s.hit_lo = base;
    s.hit_hi = base + size;
    return true;
  }
  return is_pinned(p, n);
}

/// The kernels' load/store layer (kernels/global_memory.cuh) reports each access here.
template <class T>
void count_access(int cls, bool write, unsigned long long bytes, const T* p) {
  // A GPU faults on a global access at an address that is not a multiple of the type's alignment
  // (a struct is accessed member by member, so its alignment, not its size).
  if (reinterpret_cast<std::uintptr_t>(p) % alignof(T) != 0) {
    throw fault(std::string("a global ") + (write ? "store" : "load") + " of " + std::to_string(bytes) +
                " bytes at an address not aligned to " + std::to_string(alignof(T)));
  }
  // A kernel reaches device memory and pinned host memory (cudaMallocHost) only: a pointer to
  // pageable host memory, or past the end of an allocation, faults on a GPU (or reads another's).
  if (!global_addressable(p, bytes)) {
    throw fault(std::string("a global ") + (write ? "store" : "load") + " of " + std::to_string(bytes) +
                " bytes outside every device and pinned allocation");
  }
  LaunchAccess* c = state().counting;
  if (c) (write ? c->written : c->read)[cls] += bytes;
}

}  // namespace emu

#define DGEVAL_GLOBAL_ACCESS(cls, write, bytes, p) ::emu::count_access(static_cast<int>(cls), (write), (bytes), (p))

#define threadIdx (::emu::current().tid)
#define blockIdx (::emu::current_block().idx)
#define blockDim (::emu::state().block_dim)
#define gridDim (::emu::state().grid_dim)

inline void __syncthreads() { emu::syncthreads(); }

// The thread block cluster of cooperative_groups (<cooperative_groups.h>), as kernels/cluster.cuh
// uses it.
namespace cooperative_groups {
struct cluster_group {
  void sync() const { emu::cluster_sync(); }
  unsigned block_rank() const { return static_cast<unsigned>(emu::current().block); }
  unsigned num_blocks() const { return emu::state().cluster_dim; }
  template <class T>
  T* map_shared_rank(T* addr, int rank) const {
    return static_cast<T*>(emu::map_shared_rank(addr, rank));
  }
};
inline cluster_group this_cluster() { return cluster_group{}; }
}  // namespace cooperative_groups
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
inline unsigned atomicOr(unsigned* p, unsigned v) {
  const unsigned old = *p;
  *p = old | v;
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
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    default:
      return "cudaErrorInvalidValue";
  }
}
inline const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = emu::state().last_error;
  emu::state().last_error = cudaSuccess;
  return e != cudaSuccess ? e : emu::take_async_error();
}
inline cudaError_t cudaDeviceSynchronize() {
  emu::run_everything();
  return emu::take_async_error();
}
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
  p->major = emu::state().compute_major;
  p->minor = 0;
  p->multiProcessorCount = 4;  // small, so the planner spreads few blocks
  p->totalGlobalMem = emu::state().device_total;
  p->l2CacheSize = 1 << 20;
  p->sharedMemPerBlockOptin = 232448;
  p->sharedMemPerBlock = 49152;
  p->sharedMemPerMultiprocessor = 233472;
  p->reservedSharedMemPerBlock = 1024;
  p->regsPerMultiprocessor = 65536;
  p->maxThreadsPerMultiProcessor = 2048;
  p->maxBlocksPerMultiProcessor = 32;
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
  emu::run_everything();  // cudaFree synchronises the device
  s.device_used -= it->second;
  s.allocations.erase(it);
  s.hit_lo = s.hit_hi = nullptr;
  std::free(p);
  return cudaSuccess;
}
/// Device memory (cudaMalloc), pinned host memory (cudaMallocHost) or unregistered host memory,
/// as the runtime reports them since CUDA 11 (unregistered memory is not an error).
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  *a = cudaPointerAttributes{cudaMemoryTypeUnregistered, -2, nullptr, nullptr};
  if (emu::is_device(p)) {
    a->type = cudaMemoryTypeDevice;
    a->device = 0;
    a->devicePointer = const_cast<void*>(p);
  } else if (emu::is_pinned(p, 1)) {
    a->type = cudaMemoryTypeHost;
    a->device = 0;
    a->hostPointer = const_cast<void*>(p);
  }
  return cudaSuccess;
}
inline cudaError_t cudaMallocHost(void** p, std::size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  emu::state().pinned[static_cast<const char*>(*p)] = bytes;
  return cudaSuccess;
}
inline cudaError_t cudaFreeHost(void* p) {
  emu::State& s = emu::state();
  const auto it = s.pinned.find(static_cast<const char*>(p));
  if (it == s.pinned.end()) return cudaErrorInvalidValue;
  emu::run_everything();  // as cudaFree
  s.pinned.erase(it);
  std::free(p);
  return cudaSuccess;
}

namespace emu {
inline cudaMemcpyKind copy_kind(cudaMemcpyKind kind, const void* d, const void* s) {
  if (kind != cudaMemcpyDefault) return kind;
  const bool dd = is_device(d), sd = is_device(s);
  return dd && sd ? cudaMemcpyDeviceToDevice
         : dd     ? cudaMemcpyHostToDevice
         : sd     ? cudaMemcpyDeviceToHost
                  : cudaMemcpyDefault;
}
/// A copy whose source is read when the call is made (pageable memory staged by the driver).
inline std::function<void()> staged_copy(void* d, const void* s, std::size_t n) {
  auto bytes = std::make_shared<std::vector<char>>(static_cast<const char*>(s), static_cast<const char*>(s) + n);
  return [d, bytes]() { std::memcpy(d, bytes->data(), bytes->size()); };
}
inline std::function<void()> plain_copy(void* d, const void* s, std::size_t n) {
  return [d, s, n]() { std::memcpy(d, s, n); };
}
}  // namespace emu

/// The legacy stream, with the runtime's documented host synchronisation (see the top of the file).
inline cudaError_t cudaMemcpy(void* d, const void* s, std::size_t n, cudaMemcpyKind kind) {
  emu::State& S = emu::state();
  switch (emu::copy_kind(kind, d, s)) {
    case cudaMemcpyHostToDevice:
      if (emu::is_pinned(s, n)) {
        emu::enqueue(nullptr, emu::plain_copy(d, s, n));
        emu::run_all(S.legacy_stream);
      } else {
        // The legacy stream is synchronised, the bytes staged; the device gets them later.
        emu::run_all(S.legacy_stream);
        emu::enqueue(nullptr, emu::staged_copy(d, s, n));
      }
      break;
    case cudaMemcpyDeviceToHost:
      emu::enqueue(nullptr, emu::plain_copy(d, s, n));
      emu::run_all(S.legacy_stream);
      break;
    case cudaMemcpyDeviceToDevice:
      emu::enqueue(nullptr, emu::plain_copy(d, s, n));
      break;
    default:
      std::memcpy(d, s, n);
  }
  return emu::take_async_error();
}
/// Queued on `st`. From pageable memory the source is read at the call; from pinned memory when
/// the copy runs. To pageable memory the copy has completed on return.
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, std::size_t n, cudaMemcpyKind kind, cudaStream_t st) {
  switch (emu::copy_kind(kind, d, s)) {
    case cudaMemcpyHostToDevice:
      emu::enqueue(st, emu::is_pinned(s, n) ? emu::plain_copy(d, s, n) : emu::staged_copy(d, s, n));
      break;
    case cudaMemcpyDeviceToHost:
      emu::enqueue(st, emu::plain_copy(d, s, n));
      if (!emu::is_pinned(d, n)) emu::run_all(emu::stream_of(st));
      break;
    case cudaMemcpyDeviceToDevice:
      emu::enqueue(st, emu::plain_copy(d, s, n));
      break;
    default:
      std::memcpy(d, s, n);
  }
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* d, int v, std::size_t n, cudaStream_t st) {
  if (emu::state().dry_run) return cudaSuccess;  // a dry run queues nothing (its addresses are fake)
  emu::enqueue(st, [d, v, n]() { std::memset(d, v, n); });
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags) {
  *s = new EmuStream{false, (flags & cudaStreamNonBlocking) == 0, {}, 0, 0};
  emu::state().streams.push_back(*s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreate(cudaStream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamDefault); }
/// Queued work still runs (here: now); events recorded on the stream become complete.
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  emu::State& S = emu::state();
  const auto it = std::find(S.streams.begin(), S.streams.end(), s);
  if (!s || it == S.streams.end()) return cudaErrorInvalidValue;
  emu::run_all(*s);
  S.streams.erase(it);
  for (EmuEvent* e : S.events) {
    if (e->stream == s) e->stream = nullptr;
  }
  delete s;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  emu::run_all(emu::stream_of(s));
  return emu::take_async_error();
}
inline cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new EmuEvent{};
  emu::state().events.push_back(*e);
  return cudaSuccess;
}
inline cudaError_t cudaEventCreate(cudaEvent_t* e) { return cudaEventCreateWithFlags(e, 0); }
inline cudaError_t cudaEventDestroy(cudaEvent_t e) {
  emu::State& S = emu::state();
  const auto it = std::find(S.events.begin(), S.events.end(), e);
  if (it == S.events.end()) return cudaErrorInvalidValue;
  S.events.erase(it);
  delete e;
  return cudaSuccess;
}
/// The event completes when the work queued on `st` before it has run.
inline cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t st) {
  emu::enqueue(st, []() {});
  e->stream = &emu::stream_of(st);
  e->after = e->stream->enqueued;
  return cudaSuccess;
}
inline cudaError_t cudaEventQuery(cudaEvent_t e) {
  return !e->stream || e->stream->completed >= e->after ? cudaSuccess : cudaErrorNotReady;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (e->stream) emu::run_until(*e->stream, e->after);
  return emu::take_async_error();
}
/// Later work on `st` waits for the work queued before the event's record.
inline cudaError_t cudaStreamWaitEvent(cudaStream_t st, cudaEvent_t e, unsigned = 0) {
  EmuStream* on = e->stream;
  const unsigned long long after = e->after;
  emu::enqueue(st, [on, after]() {
    if (on) emu::run_until(*on, after);
  });
  return cudaSuccess;
}
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
