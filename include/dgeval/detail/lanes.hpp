// Lanes<W>: W doubles as one value, element by element — the batch value type of values.hpp for
// host code. The CPU backend evaluates the shared per-outcome definitions (the CA mean) on W
// consecutive outcomes at once with it, which the compiler turns into SIMD instructions; each
// lane rounds exactly as the same definition on a double does. Tests instantiate the shared
// measures with it to keep them expressible for batches.
#pragma once

#include <cmath>

#include "dgeval/detail/values.hpp"

namespace dgeval {
namespace detail {

template <int W>
struct LaneMask {
  bool m[W];
};

template <int W>
struct Lanes {
  double v[W];
  Lanes() = default;
  explicit Lanes(double x) {
    for (int q = 0; q < W; ++q) v[q] = x;
  }
  static Lanes load(const double* p) {
    Lanes r;
    for (int q = 0; q < W; ++q) r.v[q] = p[q];
    return r;
  }
  void store(double* p) const {
    for (int q = 0; q < W; ++q) p[q] = v[q];
  }
};

template <int W, class F>
inline Lanes<W> lanewise(F&& f) {
  Lanes<W> r;
  for (int q = 0; q < W; ++q) r.v[q] = f(q);
  return r;
}
template <int W, class F>
inline LaneMask<W> maskwise(F&& f) {
  LaneMask<W> r;
  for (int q = 0; q < W; ++q) r.m[q] = f(q);
  return r;
}

template <int W>
inline double lane(const Lanes<W>& a, int q) {
  return a.v[q];
}
template <int W>
inline double lane(double a, int) {
  return a;
}

#define DGEVAL_LANES_BINARY(op)                                       \
  template <int W>                                                    \
  inline Lanes<W> operator op(const Lanes<W>& a, const Lanes<W>& b) { \
    return lanewise<W>([&](int q) { return a.v[q] op b.v[q]; });      \
  }                                                                   \
  template <int W>                                                    \
  inline Lanes<W> operator op(double a, const Lanes<W>& b) {          \
    return lanewise<W>([&](int q) { return a op b.v[q]; });           \
  }                                                                   \
  template <int W>                                                    \
  inline Lanes<W> operator op(const Lanes<W>& a, double b) {          \
    return lanewise<W>([&](int q) { return a.v[q] op b; });           \
  }
DGEVAL_LANES_BINARY(+)
DGEVAL_LANES_BINARY(-)
DGEVAL_LANES_BINARY(*)
DGEVAL_LANES_BINARY(/)
#undef DGEVAL_LANES_BINARY

#define DGEVAL_LANES_COMPARE(op)                                         \
  template <int W>                                                       \
  inline LaneMask<W> operator op(const Lanes<W>& a, const Lanes<W>& b) { \
    return maskwise<W>([&](int q) { return a.v[q] op b.v[q]; });         \
  }                                                                      \
  template <int W>                                                       \
  inline LaneMask<W> operator op(double a, const Lanes<W>& b) {          \
    return maskwise<W>([&](int q) { return a op b.v[q]; });              \
  }                                                                      \
  template <int W>                                                       \
  inline LaneMask<W> operator op(const Lanes<W>& a, double b) {          \
    return maskwise<W>([&](int q) { return a.v[q] op b; });              \
  }
DGEVAL_LANES_COMPARE(<)
DGEVAL_LANES_COMPARE(<=)
DGEVAL_LANES_COMPARE(>)
DGEVAL_LANES_COMPARE(>=)
DGEVAL_LANES_COMPARE(==)
DGEVAL_LANES_COMPARE(!=)
#undef DGEVAL_LANES_COMPARE

template <int W>
inline LaneMask<W> operator&(const LaneMask<W>& a, const LaneMask<W>& b) {
  return maskwise<W>([&](int q) { return a.m[q] && b.m[q]; });
}
template <int W>
inline LaneMask<W> operator|(const LaneMask<W>& a, const LaneMask<W>& b) {
  return maskwise<W>([&](int q) { return a.m[q] || b.m[q]; });
}
template <int W>
inline LaneMask<W> operator!(const LaneMask<W>& a) {
  return maskwise<W>([&](int q) { return !a.m[q]; });
}
template <int W>
inline bool any(const LaneMask<W>& a) {
  bool r = false;
  for (int q = 0; q < W; ++q) r = r || a.m[q];
  return r;
}
template <int W>
inline bool all(const LaneMask<W>& a) {
  bool r = true;
  for (int q = 0; q < W; ++q) r = r && a.m[q];
  return r;
}

template <int W, class A, class B>
inline Lanes<W> select(const LaneMask<W>& mask, const A& a, const B& b) {
  return lanewise<W>([&](int q) { return mask.m[q] ? lane<W>(a, q) : lane<W>(b, q); });
}
template <int W>
inline LaneMask<W> is_nan(const Lanes<W>& a) {
  return maskwise<W>([&](int q) { return a.v[q] != a.v[q]; });
}
template <int W>
inline Lanes<W> vmin(const Lanes<W>& a, const Lanes<W>& b) {
  return lanewise<W>([&](int q) { return std::fmin(a.v[q], b.v[q]); });
}
template <int W>
inline Lanes<W> vmax(const Lanes<W>& a, const Lanes<W>& b) {
  return lanewise<W>([&](int q) { return std::fmax(a.v[q], b.v[q]); });
}
template <int W>
inline Lanes<W> vabs(const Lanes<W>& a) {
  return lanewise<W>([&](int q) { return std::fabs(a.v[q]); });
}
template <int W>
inline Lanes<W> vsqrt(const Lanes<W>& a) {
  return lanewise<W>([&](int q) { return std::sqrt(a.v[q]); });
}
template <int W, class A, class B, class C>
inline Lanes<W> vfma(const A& a, const B& b, const C& c) {
  return lanewise<W>([&](int q) { return std::fma(lane<W>(a, q), lane<W>(b, q), lane<W>(c, q)); });
}
template <int W>
inline Lanes<W> vfma(double a, const Lanes<W>& b, const Lanes<W>& c) {
  return vfma<W, double, Lanes<W>, Lanes<W>>(a, b, c);
}
template <int W>
inline Lanes<W> mul_rn(double a, const Lanes<W>& b) {
  return a * b;
}
template <int W>
inline Lanes<W> mul_rn(const Lanes<W>& a, const Lanes<W>& b) {
  return a * b;
}

}  // namespace detail
}  // namespace dgeval
