// The FP64 peak of this machine, measured: every thread runs kChains independent chains of vector
// fused multiply-adds (acc = acc·m + a, with m just below 1 so the values stay finite and normal),
// enough chains to cover the FMA units' latency, on the widest instruction set Highway dispatches
// to at run time (the same dispatch as the CPU backend's SIMD paths). The figure is what the
// arithmetic units deliver on this machine, clock and all, not a datasheet's: the denominator of
// the "% of FP64 peak" in bench/compare_baseline.py.
#include "peak_fp64.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#ifndef DGEVAL_BENCH_PEAK_FP64_ONCE
#define DGEVAL_BENCH_PEAK_FP64_ONCE
namespace dgeval_bench {
/// Independent chains per thread: more than the FMA units' latency times their count.
constexpr int kChains = 16;
}  // namespace dgeval_bench
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "peak_fp64.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
// (foreach_target.h includes this file again once per instruction set)
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace dgeval_bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// Runs `iterations` rounds of kChains fused multiply-adds on vectors of doubles; returns a value
/// that depends on every chain (so none is optimised away) and sets *lanes to the vector's width.
double FmaChains(std::int64_t iterations, std::int64_t* lanes) {
  const hn::ScalableTag<double> d;
  *lanes = static_cast<std::int64_t>(hn::Lanes(d));
  const auto m = hn::Set(d, 0.999999999);
  const auto a = hn::Set(d, 1e-9);
  hn::Vec<decltype(d)> acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = hn::Set(d, 1.0 + c * 1e-3);
  for (std::int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = hn::MulAdd(acc[c], m, a);
  }
  auto sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = hn::Add(sum, acc[c]);
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

std::int64_t TargetBit() { return static_cast<std::int64_t>(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace dgeval_bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dgeval_bench {

HWY_EXPORT(FmaChains);
HWY_EXPORT(TargetBit);

double fp64_peak_flops(int threads, std::string* target) {
  using Clock = std::chrono::steady_clock;
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (target) *target = hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetBit)());
  std::int64_t lanes = 1;
  volatile double sink = HWY_DYNAMIC_DISPATCH(FmaChains)(1000, &lanes);  // warm-up, and the width
  // About 0.1 s per run at 100 GFLOP/s per thread (8.6e9 operations); the best of 5 runs.
  const std::int64_t iterations = std::int64_t{1} << 25;
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> out(static_cast<std::size_t>(t));
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < t; ++i) {
      pool.emplace_back([&, i] {
        std::int64_t l = 0;
        out[static_cast<std::size_t>(i)] = HWY_DYNAMIC_DISPATCH(FmaChains)(iterations, &l);
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (double v : out) sink = sink + v;
    const double ops = 2.0 * static_cast<double>(kChains) * static_cast<double>(lanes) *
                       static_cast<double>(iterations) * static_cast<double>(t);
    best = std::max(best, ops / s);
  }
  (void)sink;
  return best;
}

}  // namespace dgeval_bench
#endif  // HWY_ONCE
