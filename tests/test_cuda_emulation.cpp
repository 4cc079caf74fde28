// The stream semantics of the CUDA emulation (tests/test_cuda_emulation.hpp), on a tiny kernel:
// work is queued and runs when waited for; the legacy stream and blocking streams wait for each
// other, non-blocking streams do not; cudaMemcpy from pageable memory reaches the device only with
// the legacy stream's next work; asynchronous copies read pageable memory at the call and pinned
// memory when they run; events order streams; a fault of queued work is reported by the next
// synchronisation; clusters, and what a GPU reports as an error (a barrier some thread never
// reaches, shared memory of a block that has exited, a misaligned or stray global access). tests/test_cuda_emulated.cpp
// relies on these to catch ordering bugs of the backend's host code.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "test_cuda_emulation.hpp"
// (after the emulation)
#include "cluster.cuh"        // kernels/cluster.cuh
#include "global_memory.cuh"  // kernels/global_memory.cuh

namespace {

using dgeval::cuda::dev::Cluster;

__global__ void add_one(const int* in, int* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i] + 1;
}

__global__ void exits_before_the_barrier() {
  if (threadIdx.x == 0) return;
  __syncthreads();
}

/// Round r of thread t's running values h and d (s: a value the thread keeps on its stack).
inline void next_round(unsigned long long& h, double& d, int r, int t, unsigned long long s) {
  h = h * 1000003 + static_cast<unsigned long long>(r) + s;
  d = d * 1.5 + std::sqrt(static_cast<double>(r + t));
}

/// Each thread's running values, in locals across many barriers (so in the registers a switch must
/// keep, or on the thread's own stack), then written: out[t] = the integer, dout[t] = the double.
__global__ void keeps_locals_across_barriers(unsigned long long* out, double* dout, int rounds) {
  const int t = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  unsigned long long h = static_cast<unsigned long long>(t) + 1;
  double d = 1.0 / (t + 3);
  const auto u = static_cast<unsigned long long>(t);
  volatile unsigned long long on_stack[4] = {u, 2 * u, 3 * u, 4 * u};
  for (int r = 0; r < rounds; ++r) {
    next_round(h, d, r, t, on_stack[r & 3]);
    __syncthreads();
  }
  out[t] = h;
  dout[t] = d;
}

constexpr int kN = 40;

/// Device buffers in and out, and the host values 0..kN-1.
struct Buffers {
  int* in = nullptr;
  int* out = nullptr;
  std::vector<int> host;
  Buffers() : host(kN) {
    for (int i = 0; i < kN; ++i) host[static_cast<std::size_t>(i)] = i;
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&in), kN * sizeof(int)), cudaSuccess);
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), kN * sizeof(int)), cudaSuccess);
  }
  ~Buffers() {
    EXPECT_EQ(cudaFree(in), cudaSuccess);
    EXPECT_EQ(cudaFree(out), cudaSuccess);
    EXPECT_EQ(emu::pending(), 0u);
  }
  void launch(cudaStream_t st) { DGEVAL_LAUNCH(add_one, 2, 32, 0, st)(in, out, kN); }
  /// True if out holds host + 1, read back with a synchronous copy.
  bool incremented() {
    std::vector<int> back(kN);
    EXPECT_EQ(cudaMemcpy(back.data(), out, kN * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
    for (int i = 0; i < kN; ++i) {
      if (back[static_cast<std::size_t>(i)] != i + 1) return false;
    }
    return true;
  }
};

TEST(CudaEmulation, WorkRunsWhenWaitedFor) {
  Buffers b;
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice, st), cudaSuccess);
  b.launch(st);
  cudaEvent_t done = nullptr;
  ASSERT_EQ(cudaEventCreateWithFlags(&done, 0), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(done, st), cudaSuccess);
  EXPECT_EQ(emu::pending(), 3u);
  EXPECT_EQ(cudaEventQuery(done), cudaErrorNotReady);
  EXPECT_EQ(b.out[0], static_cast<int>(0xC3C3C3C3)) << "nothing ran before a wait";
  ASSERT_EQ(cudaEventSynchronize(done), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(done), cudaSuccess);
  EXPECT_EQ(emu::pending(), 0u);
  EXPECT_TRUE(b.incremented());
  ASSERT_EQ(cudaEventDestroy(done), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

TEST(CudaEmulation, NonBlockingStreamDoesNotWaitForTheLegacyStream) {
  Buffers b;
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  // cudaMemcpy from pageable memory: staged, on the legacy stream; the kernel does not wait for it.
  ASSERT_EQ(cudaMemcpy(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  b.launch(st);
  ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
  EXPECT_FALSE(b.incremented()) << "the kernel read the input before the copy reached it";
  // The copy on the consuming stream is ordered.
  ASSERT_EQ(cudaMemcpyAsync(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice, st), cudaSuccess);
  b.launch(st);
  ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
  EXPECT_TRUE(b.incremented());
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

TEST(CudaEmulation, LegacyAndBlockingStreamsWaitForEachOther) {
  Buffers b;
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreate(&st), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  b.launch(st);
  ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
  EXPECT_TRUE(b.incremented());
  // The other way: a kernel on the blocking stream, then a copy back on the legacy stream.
  ASSERT_EQ(cudaMemsetAsync(b.out, 0, kN * sizeof(int), nullptr), cudaSuccess);
  b.launch(st);
  EXPECT_TRUE(b.incremented());
  // The legacy stream alone is ordered with itself.
  ASSERT_EQ(cudaMemsetAsync(b.out, 0, kN * sizeof(int), nullptr), cudaSuccess);
  b.launch(nullptr);
  EXPECT_TRUE(b.incremented());
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

TEST(CudaEmulation, DeviceSynchronizeRunsNonBlockingStreamsFirst) {
  Buffers b;
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  b.launch(st);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_FALSE(b.incremented());
  // An event on the legacy stream orders the copy before the kernel.
  ASSERT_EQ(cudaMemcpy(b.in, b.host.data(), kN * sizeof(int), cudaMemcpyHostToDevice), cudaSuccess);
  cudaEvent_t copied = nullptr;
  ASSERT_EQ(cudaEventCreateWithFlags(&copied, 0), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(copied, nullptr), cudaSuccess);
  ASSERT_EQ(cudaStreamWaitEvent(st, copied, 0), cudaSuccess);
  b.launch(st);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_TRUE(b.incremented());
  ASSERT_EQ(cudaEventDestroy(copied), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

TEST(CudaEmulation, PageableSourcesAreReadAtTheCallPinnedOnesWhenTheCopyRuns) {
  Buffers b;
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  std::vector<int> pageable(b.host);
  ASSERT_EQ(cudaMemcpyAsync(b.in, pageable.data(), kN * sizeof(int), cudaMemcpyHostToDevice, st), cudaSuccess);
  pageable.assign(kN, -7);
  b.launch(st);
  ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
  EXPECT_TRUE(b.incremented()) << "a pageable source is staged by the call";

  int* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), kN * sizeof(int)), cudaSuccess);
  std::memcpy(pinned, b.host.data(), kN * sizeof(int));
  ASSERT_EQ(cudaMemcpyAsync(b.in, pinned, kN * sizeof(int), cudaMemcpyHostToDevice, st), cudaSuccess);
  for (int i = 0; i < kN; ++i) pinned[i] = -7;  // a bug: the copy has not run yet
  b.launch(st);
  ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
  EXPECT_FALSE(b.incremented()) << "a pinned source is read when the copy runs";

  // Results copied to pinned memory arrive when waited for; to pageable memory, on return.
  for (int i = 0; i < kN; ++i) pinned[i] = 5;  // the device input holds -7 now
  std::vector<int> back(kN, 0);
  ASSERT_EQ(cudaMemcpyAsync(pinned, b.in, kN * sizeof(int), cudaMemcpyDeviceToHost, st), cudaSuccess);
  EXPECT_EQ(pinned[0], 5) << "not yet";
  ASSERT_EQ(cudaMemcpyAsync(back.data(), b.in, kN * sizeof(int), cudaMemcpyDeviceToHost, st), cudaSuccess);
  EXPECT_EQ(back[0], -7) << "copied on return";
  EXPECT_EQ(pinned[0], -7) << "the copy queued before it ran first";
  ASSERT_EQ(cudaFreeHost(pinned), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

TEST(CudaEmulation, FaultsOfQueuedWorkAreReportedByTheNextSynchronisation) {
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  DGEVAL_LAUNCH(exits_before_the_barrier, 1, 2, 0, st)();
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the launch itself is valid";
  EXPECT_EQ(cudaStreamSynchronize(st), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaStreamSynchronize(st), cudaSuccess) << "reported once";
  // A bad configuration is an error of the launch.
  EXPECT_THROW(DGEVAL_LAUNCH(exits_before_the_barrier, 1, 2048, 0, st)(), emu::fault);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_EQ(emu::pending(), 0u);
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

// ---------------------------------------------------------------------------------------------
// Thread block clusters: the blocks of a cluster run together, share a barrier and read each
// other's dynamic shared memory.

/// Each block writes its rank into its shared memory (one int per thread), the cluster syncs, and
/// each thread reads the next block's value and rank, and every block's number of blocks.
__global__ void read_the_next_block(int* out) {
  DGEVAL_DYNAMIC_SHARED(smem);
  int* mine = reinterpret_cast<int*>(smem);
  const unsigned rank = Cluster::block_rank(), blocks = Cluster::num_blocks();
  mine[threadIdx.x] = static_cast<int>(blockIdx.x * 100 + rank * 10 + threadIdx.x);
  Cluster::sync();
  const int* next = Cluster::map_shared_rank(mine, (rank + 1) % blocks);
  out[blockIdx.x * blockDim.x + threadIdx.x] = next[threadIdx.x] + static_cast<int>(blocks) * 1000;
  Cluster::sync();  // the next block reads this block's memory until here
}

/// Only block 0 of the cluster reaches the cluster's barrier.
__global__ void only_block_zero_syncs() {
  if (Cluster::block_rank() == 0) Cluster::sync();
}

/// Block 0 waits at the cluster's barrier, the others at their block's barrier.
__global__ void blocks_wait_at_different_barriers() {
  if (Cluster::block_rank() == 0) {
    Cluster::sync();
  } else {
    __syncthreads();
    __syncthreads();
  }
}

/// A map to a block outside the cluster, or of an address outside dynamic shared memory.
__global__ void maps_outside(int what, int* out) {
  DGEVAL_DYNAMIC_SHARED(smem);
  int local = 0;
  int* p = what == 0 ? Cluster::map_shared_rank(reinterpret_cast<int*>(smem), Cluster::num_blocks())
                     : Cluster::map_shared_rank(&local, 0u);
  out[0] = p != nullptr;
}

/// Block 1 leaves at once; block 0 reads its shared memory (an error unless `wait`: then block 1
/// waits at a last cluster barrier for block 0's read, as a cluster kernel must end).
__global__ void reads_a_block_that_may_have_exited(int wait, int* out) {
  DGEVAL_DYNAMIC_SHARED(smem);
  int* mine = reinterpret_cast<int*>(smem);
  mine[threadIdx.x] = static_cast<int>(Cluster::block_rank());
  Cluster::sync();
  if (Cluster::block_rank() == 0) out[threadIdx.x] = Cluster::map_shared_rank(mine, 1u)[threadIdx.x];
  if (wait) Cluster::sync();
}

/// Reads the next block's shared memory before any cluster barrier: nothing says it has started.
__global__ void maps_before_the_first_barrier(int* out) {
  DGEVAL_DYNAMIC_SHARED(smem);
  int* mine = reinterpret_cast<int*>(smem);
  mine[threadIdx.x] = 1;
  out[0] = Cluster::map_shared_rank(mine, (Cluster::block_rank() + 1) % Cluster::num_blocks())[threadIdx.x];
  Cluster::sync();
}

/// A double loaded from `base` + `offset` bytes through the kernels' load layer.
__global__ void loads_a_double_at(const char* base, int offset, double* out) {
  out[0] = dgeval::cuda::load<dgeval::cuda::Mem::input>(reinterpret_cast<const double*>(base + offset));
}

/// The fibers the threads run on (tests/test_cuda_emulation_fiber.hpp) keep every thread's
/// registers and stack across switches: two fibers and the scheduler take turns by hand, then a
/// kernel's threads keep their locals across 200 barriers (with the values a plain loop gives).
namespace fiber_turns {
emu::fiber::Context main_ctx, ctx[2];
std::vector<int> order;
void run(int me) {
  emu::fiber::started(main_ctx);
  double x = me + 0.25;  // live across each switch
  for (int k = 0; k < 3; ++k) {
    order.push_back(me * 10 + k);
    emu::fiber::switch_to(ctx[me], main_ctx);
    x = x * 2 + k;
  }
  order.push_back(static_cast<int>(x * 100));
  emu::fiber::exit_to(ctx[me], main_ctx);
}
void run0() { run(0); }
void run1() { run(1); }
}  // namespace fiber_turns

TEST(CudaEmulation, FibersKeepEachThreadsStateAcrossSwitches) {
  namespace ft = fiber_turns;
  std::vector<char> stacks[2] = {std::vector<char>(64 * 1024), std::vector<char>(64 * 1024)};
  ft::order.clear();
  emu::fiber::prepare(ft::ctx[0], stacks[0].data(), stacks[0].size(), ft::run0);
  emu::fiber::prepare(ft::ctx[1], stacks[1].data(), stacks[1].size(), ft::run1);
  for (int turn = 0; turn < 4; ++turn) {
    for (int f = 1; f >= 0; --f) emu::fiber::switch_to(ft::main_ctx, ft::ctx[f]);
  }
  // x: 0.25 → 0.5 → 2 → 6 (fiber 0), 1.25 → 2.5 → 6 → 14 (fiber 1)
  EXPECT_EQ(ft::order, (std::vector<int>{10, 0, 11, 1, 12, 2, 1400, 600}));

  constexpr int kThreads = 64, kBlocks = 3, kTotal = kThreads * kBlocks, kRounds = 200;
  unsigned long long* out = nullptr;
  double* dout = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), kTotal * sizeof(unsigned long long)), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&dout), kTotal * sizeof(double)), cudaSuccess);
  DGEVAL_LAUNCH(keeps_locals_across_barriers, kBlocks, kThreads, 0, nullptr)(out, dout, kRounds);
  std::vector<unsigned long long> back(kTotal);
  std::vector<double> dback(kTotal);
  ASSERT_EQ(cudaMemcpy(back.data(), out, kTotal * sizeof(unsigned long long), cudaMemcpyDeviceToHost), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(dback.data(), dout, kTotal * sizeof(double), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int t = 0; t < kTotal; ++t) {
    unsigned long long h = static_cast<unsigned long long>(t) + 1;
    double d = 1.0 / (t + 3);
    const auto u = static_cast<unsigned long long>(t);
    for (int r = 0; r < kRounds; ++r) next_round(h, d, r, t, u * static_cast<unsigned long long>((r & 3) + 1));
    EXPECT_EQ(back[static_cast<std::size_t>(t)], h) << "thread " << t;
    EXPECT_EQ(dback[static_cast<std::size_t>(t)], d) << "thread " << t;
  }
  ASSERT_EQ(cudaFree(out), cudaSuccess);
  ASSERT_EQ(cudaFree(dout), cudaSuccess);
}

TEST(CudaEmulation, ClustersRunTogetherAndShareMemory) {
  constexpr int kThreads = 32, kCluster = 4, kClusters = 2, kTotal = kThreads * kCluster * kClusters;
  int* out = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), kTotal * sizeof(int)), cudaSuccess);
  DGEVAL_LAUNCH_CLUSTER(read_the_next_block, kCluster * kClusters, kThreads, kCluster, kThreads * sizeof(int), nullptr)
  (out);
  std::vector<int> back(kTotal);
  ASSERT_EQ(cudaMemcpy(back.data(), out, kTotal * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int b = 0; b < kCluster * kClusters; ++b) {
    const int rank = b % kCluster, next_rank = (rank + 1) % kCluster;
    const int next_block = b - rank + next_rank;
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(back[static_cast<std::size_t>(b * kThreads + t)], next_block * 100 + next_rank * 10 + t + 4000)
          << "block " << b << " thread " << t;
    }
  }
  ASSERT_EQ(cudaFree(out), cudaSuccess);
}

TEST(CudaEmulation, ClusterMisuseIsReported) {
  cudaStream_t st = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
  // The cluster's barrier reached by some blocks only: an error, not a hang.
  DGEVAL_LAUNCH_CLUSTER(only_block_zero_syncs, 4, 32, 2, 0, st)();
  EXPECT_EQ(cudaStreamSynchronize(st), cudaErrorLaunchFailure);
  DGEVAL_LAUNCH_CLUSTER(blocks_wait_at_different_barriers, 2, 32, 2, 0, st)();
  EXPECT_EQ(cudaStreamSynchronize(st), cudaErrorLaunchFailure);
  // A block outside the cluster, an address outside dynamic shared memory.
  int* out = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), sizeof(int)), cudaSuccess);
  for (int what : {0, 1}) {
    DGEVAL_LAUNCH_CLUSTER(maps_outside, 2, 32, 2, 64, st)(what, out);
    EXPECT_EQ(cudaStreamSynchronize(st), cudaErrorLaunchFailure) << what;
  }
  // A map before the cluster's first barrier (a GPU may not have started the other block yet).
  DGEVAL_LAUNCH_CLUSTER(maps_before_the_first_barrier, 2, 32, 2, 32 * sizeof(int), st)(out);
  EXPECT_EQ(cudaStreamSynchronize(st), cudaErrorLaunchFailure);
  // Launch errors: a grid not made of whole clusters, a cluster over the portable 8 blocks, and a
  // cluster launch on a device without clusters (compute capability 8).
  EXPECT_THROW(DGEVAL_LAUNCH_CLUSTER(only_block_zero_syncs, 3, 32, 2, 0, st)(), emu::fault);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_THROW(DGEVAL_LAUNCH_CLUSTER(only_block_zero_syncs, 16, 32, 16, 0, st)(), emu::fault);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  emu::state().compute_major = 8;
  EXPECT_THROW(DGEVAL_LAUNCH_CLUSTER(read_the_next_block, 2, 32, 2, 128, st)(out), emu::fault);
  emu::state().compute_major = 9;
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_EQ(emu::pending(), 0u);
  ASSERT_EQ(cudaFree(out), cudaSuccess);
  ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
}

// A block's shared memory is gone once its threads have exited: block 0, starved (it runs only when
// block 1 cannot go on), reads block 1's after block 1 left (an error), or before it leaves when
// block 1 waits at a last cluster barrier (block 0's values are then block 1's rank, 1).
TEST(CudaEmulation, SharedMemoryOfAnExitedBlockIsNotThere) {
  struct Restore {
    ~Restore() { emu::state().starve_block = -1; }
  } restore;
  emu::state().starve_block = 0;
  int* out = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), 32 * sizeof(int)), cudaSuccess);
  DGEVAL_LAUNCH_CLUSTER(reads_a_block_that_may_have_exited, 2, 32, 2, 32 * sizeof(int), nullptr)(0, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  (void)cudaGetLastError();
  ASSERT_EQ(cudaMemsetAsync(out, 0, 32 * sizeof(int), nullptr), cudaSuccess);
  DGEVAL_LAUNCH_CLUSTER(reads_a_block_that_may_have_exited, 2, 32, 2, 32 * sizeof(int), nullptr)(1, out);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  std::vector<int> back(32);
  ASSERT_EQ(cudaMemcpy(back.data(), out, 32 * sizeof(int), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int v : back) EXPECT_EQ(v, 1);
  ASSERT_EQ(cudaFree(out), cudaSuccess);
}

// A global access at an address not aligned to its type, or outside device and pinned memory,
// faults on a GPU, and here.
TEST(CudaEmulation, MisalignedOrStrayGlobalAccessIsReported) {
  char* base = nullptr;
  double* out = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&base), 64), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&out), sizeof(double)), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(base, 0, 64, nullptr), cudaSuccess);
  DGEVAL_LAUNCH(loads_a_double_at, 1, 1, 0, nullptr)(base, 8, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  DGEVAL_LAUNCH(loads_a_double_at, 1, 1, 0, nullptr)(base, 4, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  (void)cudaGetLastError();
  // Outside every allocation: past the end of a device one, and in pageable host memory (pinned
  // host memory is reachable, as on a GPU with unified addressing).
  DGEVAL_LAUNCH(loads_a_double_at, 1, 1, 0, nullptr)(base, 64, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  (void)cudaGetLastError();
  std::vector<double> pageable(4, 1.0);
  DGEVAL_LAUNCH(loads_a_double_at, 1, 1, 0, nullptr)(reinterpret_cast<const char*>(pageable.data()), 0, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  (void)cudaGetLastError();
  char* pinned = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), 64), cudaSuccess);
  DGEVAL_LAUNCH(loads_a_double_at, 1, 1, 0, nullptr)(pinned, 8, out);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ASSERT_EQ(cudaFreeHost(pinned), cudaSuccess);
  ASSERT_EQ(cudaFree(base), cudaSuccess);
  ASSERT_EQ(cudaFree(out), cudaSuccess);
}

}  // namespace
