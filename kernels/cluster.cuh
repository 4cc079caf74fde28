// Thread block clusters (sm_90): the project's thin wrapper over cooperative_groups' cluster_group
// and the cluster launch, so the kernels name the cluster the same way on the GPU and under the CPU
// emulation of the tests (tests/test_cuda_emulation.hpp provides cooperative_groups::this_cluster()
// and DGEVAL_LAUNCH_CLUSTER there; CUB and <cooperative_groups.h> do not compile as host C++).
//
//   Cluster::block_rank()            this block's rank in its cluster
//   Cluster::num_blocks()            blocks per cluster
//   Cluster::sync()                  barrier over every thread of the cluster; orders shared-memory
//                                    accesses across its blocks
//   Cluster::map_shared_rank(p, r)   p (in this block's dynamic shared memory) at the same offset in
//                                    block r's shared memory (distributed shared memory)
//   DGEVAL_LAUNCH_CLUSTER(kernel, grid, block, cluster, shared, stream)(args...)
//                                    a launch whose consecutive groups of `cluster` blocks along x
//                                    form clusters (cudaLaunchKernelEx with
//                                    cudaLaunchAttributeClusterDimension); grid.x a multiple of it
//   DGEVAL_MAX_ACTIVE_CLUSTERS(kernel, block, cluster, shared)
//                                    clusters of that launch the device runs at once (0: none fits)
//
// DGEVAL_CLUSTER_CODE is 0 in device code compiled for an architecture without clusters (sm_80,
// sm_86, sm_89): a cluster kernel's body is left out there, and the planner never launches it on
// such a device (DeviceLimits::clusters, host/backends/cuda/cuda_plan.hpp).
#pragma once

#ifndef DGEVAL_CUDA_EMULATION
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include "backends/cuda/cuda_check.hpp"
#endif

#if !defined(DGEVAL_CUDA_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define DGEVAL_CLUSTER_CODE 0
#else
#define DGEVAL_CLUSTER_CODE 1
#endif

namespace dgeval {
namespace cuda {
namespace dev {

#if DGEVAL_CLUSTER_CODE
struct Cluster {
  __device__ static unsigned block_rank() { return cooperative_groups::this_cluster().block_rank(); }
  __device__ static unsigned num_blocks() { return cooperative_groups::this_cluster().num_blocks(); }
  __device__ static void sync() { cooperative_groups::this_cluster().sync(); }
  template <class T>
  __device__ static T* map_shared_rank(T* p, unsigned rank) {
    return cooperative_groups::this_cluster().map_shared_rank(p, static_cast<int>(rank));
  }
};
#endif

#ifndef DGEVAL_CUDA_EMULATION
/// A launch configuration with a cluster dimension of `cluster` blocks along x: `attribute` (kept by
/// the caller while the configuration is used) holds the dimension.
inline cudaLaunchConfig_t cluster_config(dim3 grid, dim3 block, unsigned cluster, std::size_t shared,
                                         cudaStream_t stream, cudaLaunchAttribute* attribute) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = shared;
  config.stream = stream;
  attribute->id = cudaLaunchAttributeClusterDimension;
  attribute->val.clusterDim.x = cluster;
  attribute->val.clusterDim.y = 1;
  attribute->val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  return config;
}
/// The launch DGEVAL_LAUNCH_CLUSTER makes: cudaLaunchKernelEx with a cluster dimension along x.
template <class... P>
struct ClusterLaunch {
  void (*kernel)(P...);
  dim3 grid, block;
  unsigned cluster;
  std::size_t shared;
  cudaStream_t stream;
  template <class... A>
  void operator()(const A&... args) const {
    cudaLaunchAttribute attribute;
    const cudaLaunchConfig_t config = cluster_config(grid, block, cluster, shared, stream, &attribute);
    DGEVAL_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, static_cast<P>(args)...));
  }
};
template <class... P>
ClusterLaunch<P...> cluster_launch(void (*kernel)(P...), dim3 grid, dim3 block, unsigned cluster, std::size_t shared,
                                   cudaStream_t stream) {
  return ClusterLaunch<P...>{kernel, grid, block, cluster, shared, stream};
}
/// Clusters of `cluster` blocks of `block` threads and `shared` bytes of dynamic shared memory
/// that the device runs at once (cudaOccupancyMaxActiveClusters): 0 where one cannot be placed.
/// The kernel's shared-memory attribute must already allow `shared`.
template <class... P>
int max_active_clusters(void (*kernel)(P...), unsigned block, unsigned cluster, std::size_t shared) {
  cudaLaunchAttribute attribute;
  const cudaLaunchConfig_t config = cluster_config(dim3(cluster), dim3(block), cluster, shared, nullptr, &attribute);
  int clusters = 0;
  DGEVAL_CUDA_CHECK(cudaOccupancyMaxActiveClusters(&clusters, kernel, &config));
  return clusters;
}
#endif

}  // namespace dev
}  // namespace cuda
}  // namespace dgeval

#ifndef DGEVAL_CUDA_EMULATION
#define DGEVAL_LAUNCH_CLUSTER(kernel, grid, block, cluster, shared, stream) \
  ::dgeval::cuda::dev::cluster_launch(kernel, grid, block, cluster, shared, stream)
#define DGEVAL_MAX_ACTIVE_CLUSTERS(kernel, block, cluster, shared) \
  ::dgeval::cuda::dev::max_active_clusters(kernel, block, cluster, shared)
#endif
