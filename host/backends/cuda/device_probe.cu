// The device probe: whether a device is present and dgeval's kernels load on it
// (dgeval::cuda_available), the facts about a device the benchmark reports, and the tests' checks
// of the team kernels' float64 division on the device (divide_on_device) and of the planner's
// count of the sweep kernel's resident blocks (sweep_occupancy_on_device).
#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/evaluation.hpp"
#include "backends/cuda/resources.hpp"
#include "dgeval/error.hpp"
#include "evaluate.cuh"        // kernels/evaluate.cuh: prepare_kernels
#include "sweep_evaluate.cuh"  // kernels/sweep_evaluate.cuh: sweep_occupancy

namespace dgeval {
namespace cuda {

/// True if a device is present and dgeval's kernels load on it; otherwise *why says why.
bool device_usable(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) *why = std::string("no usable CUDA device (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ")";
    return false;
  }
  if (count <= 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  // The kernels must load on the device: dgeval's fatbin holds the architectures of
  // CMAKE_CUDA_ARCHITECTURES (sm_90 by default, plus PTX for newer devices).
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = 0;
  cudaDeviceProp prop;
  std::memset(&prop, 0, sizeof prop);
  cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe == cudaSuccess) pe = cudaSetDevice(0);
  if (pe == cudaSuccess) pe = prepare_kernels(static_cast<int>(prop.sharedMemPerBlockOptin));
  (void)cudaSetDevice(previous);
  if (pe != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) {
      std::ostringstream m;
      m << "CUDA device 0";
      if (prop.major > 0) m << " (" << prop.name << ", sm_" << prop.major << prop.minor << ")";
      m << " cannot run dgeval's kernels (" << cudaGetErrorName(pe) << ": " << cudaGetErrorString(pe)
        << "); rebuild with CMAKE_CUDA_ARCHITECTURES set for this device";
      *why = m.str();
    }
    return false;
  }
  return true;
}

DeviceInfo device_info(int device) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  cudaDeviceProp prop;
  DGEVAL_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  DeviceInfo d;
  d.name = prop.name;
  d.major = prop.major;
  d.minor = prop.minor;
  d.multiprocessors = prop.multiProcessorCount;
  d.total_memory = prop.totalGlobalMem;
  d.l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess) {
    d.peak_bandwidth_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  } else {
    (void)cudaGetLastError();
  }
  d.limits = limits_of(device);
  return d;
}

std::vector<double> divide_on_device(int device, const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw error("divide_on_device: operand arrays of different sizes");
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  const std::size_t bytes = a.size() * sizeof(double);
  std::vector<double> q(a.size());
  if (a.empty()) return q;
  DeviceScope scope(device);
  Stream stream;
  DeviceBuffer da, db, dq;
  da.allocate(bytes, "the dividends");
  db.allocate(bytes, "the divisors");
  dq.allocate(bytes, "the quotients");
  DGEVAL_CUDA_CHECK(cudaMemcpyAsync(da.get(), a.data(), bytes, cudaMemcpyHostToDevice, stream.get()));
  DGEVAL_CUDA_CHECK(cudaMemcpyAsync(db.get(), b.data(), bytes, cudaMemcpyHostToDevice, stream.get()));
  DGEVAL_CUDA_CHECK(cudaMemsetAsync(dq.get(), 0x5A, bytes, stream.get()));
  launch_division(reinterpret_cast<const double*>(da.get()), reinterpret_cast<const double*>(db.get()),
                  reinterpret_cast<double*>(dq.get()), static_cast<std::int64_t>(a.size()), stream.get());
  DGEVAL_CUDA_CHECK(cudaMemcpyAsync(q.data(), dq.get(), bytes, cudaMemcpyDeviceToHost, stream.get()));
  DGEVAL_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  return q;
}

KernelOccupancy sweep_occupancy_on_device(int device, bool float32, bool linf, int threads, std::size_t shared) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  DeviceScope scope(device);
  KernelOccupancy o;
  DGEVAL_CUDA_CHECK(sweep_occupancy(float32, linf, threads, shared, &o.registers, &o.blocks_per_sm));
  return o;
}

}  // namespace cuda
}  // namespace dgeval
