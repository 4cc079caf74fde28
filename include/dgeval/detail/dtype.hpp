// The one branch from a batch's dtype (float32 or float64 utilities) to the type its code is
// instantiated for. Host code: the kernel launchers and the CPU backend's SIMD kernels.
#pragma once

namespace dgeval {
namespace detail {

/// f(float{}) for float32 utilities, f(double{}) otherwise: the caller's generic lambda takes the
/// type as decltype of its argument (`[&](auto t) { run<decltype(t)>(...); }`).
template <class F>
inline auto visit_dtype(bool float32, F&& f) {
  return float32 ? f(float{}) : f(double{});
}

}  // namespace detail
}  // namespace dgeval
