// The CPU backend's SIMD vector of doubles (FD, FV) and the loads that widen the stored utilities to
// it, for the Highway kernels (multi_pass_kernel.cpp, fused_two_player_kernel.cpp). foreach_target.h
// compiles those files once per instruction set, so this header has a per-target include guard (the
// Highway idiom), not #pragma once: include it after <hwy/highway.h>.
#if defined(DGEVAL_CPU_SIMD_DOUBLE_INL_HPP_) == defined(HWY_TARGET_TOGGLE)
#ifdef DGEVAL_CPU_SIMD_DOUBLE_INL_HPP_
#undef DGEVAL_CPU_SIMD_DOUBLE_INL_HPP_
#else
#define DGEVAL_CPU_SIMD_DOUBLE_INL_HPP_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace dgeval {
namespace cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using FD = hn::CappedTag<double, 8>;
using FV = hn::Vec<FD>;

HWY_INLINE FV load_as_double(FD d, const double* p) { return hn::LoadU(d, p); }
HWY_INLINE FV load_as_double(FD d, const float* p) {
  const hn::Rebind<float, FD> df;
  return hn::PromoteTo(d, hn::LoadU(df, p));
}

}  // namespace HWY_NAMESPACE
}  // namespace cpu
}  // namespace dgeval
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
