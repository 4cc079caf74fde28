// The CPU backend's SIMD-lane helpers: the fixed chunk and lane widths that make its results
// bit-identical for any number of threads, and the loops that sum, bound and compare a run of
// values in L interleaved partial results (L = 1 or kLanes) combined in a fixed tree, so that the
// compiler can vectorise them and the order never depends on the machine's threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "dgeval/detail/arg_ext.hpp"

namespace dgeval {
namespace cpu {

using detail::ArgExt;

/// Outcomes per chunk. Fixed (never derived from the thread count) so results are
/// bit-identical for any number of threads.
inline constexpr std::int64_t kChunk = std::int64_t{1} << 14;
/// Interleaved partial sums per accumulator (a multiple of every SIMD width in doubles).
inline constexpr int kLanes = 8;
/// Outcomes per block of the standardised-vector and welfare scratch (a multiple of kLanes).
inline constexpr std::int64_t kBlock = 256;
/// Games of fewer outcomes than this sum in one lane: for them the lanes' set-up and
/// combining would cost more than the loop. Fixed per shape, so still deterministic.
inline constexpr std::int64_t kNarrow = 64;

inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// L lanes of partial results (L = 1 or kLanes), combined in a fixed tree.
template <int L>
double combine_sum(const double* l) {
  static_assert(L == 1 || L == 8, "combine_sum is written for 1 or 8 lanes");
  if (L == 1) return l[0];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}
/// L lanes of norm partials, combined in the same fixed tree.
template <class Norm, int L>
double combine_lanes(const double* l) {
  static_assert(L == 1 || L == 8, "combine_lanes is written for 1 or 8 lanes");
  if (L == 1) return l[0];
  return Norm::combine(Norm::combine(Norm::combine(l[0], l[1]), Norm::combine(l[2], l[3])),
                       Norm::combine(Norm::combine(l[4], l[5]), Norm::combine(l[6], l[7])));
}
template <int L>
double combine_max(const double* l) {
  double m = l[0];
  for (int q = 1; q < L; ++q) m = l[q] > m ? l[q] : m;
  return m;
}
template <int L>
double combine_min(const double* l) {
  double m = l[0];
  for (int q = 1; q < L; ++q) m = l[q] < m ? l[q] : m;
  return m;
}

/// Sum, minimum and maximum of x[0, len) in float64, in L lanes. NaN never becomes the min or
/// max (the caller detects non-finite input from the sum).
template <int L, class T>
void sum_min_max(const T* __restrict x, std::int64_t len, double* sum, double* lo, double* hi) {
  double s[L], l[L], h[L];
  for (int q = 0; q < L; ++q) s[q] = 0.0, l[q] = kInf, h[q] = -kInf;
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      const double y = static_cast<double>(x[j + q]);
      s[q] += y;
      l[q] = y < l[q] ? y : l[q];
      h[q] = y > h[q] ? y : h[q];
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    const double y = static_cast<double>(x[j]);
    s[q] += y;
    l[q] = y < l[q] ? y : l[q];
    h[q] = y > h[q] ? y : h[q];
  }
  *sum = combine_sum<L>(s);
  *lo = combine_min<L>(l);
  *hi = combine_max<L>(h);
}

/// Count, mean and centred sum of squares of x[0, len) − pivot: the deviations from a pivot
/// (the vector's first value) are small where the values share a large offset, so the chunk
/// means merged by Chan's formula carry no error of the offset's size.
struct Moments {
  double count = 0.0, mean = 0.0, m2 = 0.0;
};
template <int L, class T>
Moments pivoted_moments(const T* __restrict x, std::int64_t len, double pivot) {
  double s[L] = {};
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) s[q] += static_cast<double>(x[j + q]) - pivot;
  }
  for (int q = 0; j < len; ++j, ++q) s[q] += static_cast<double>(x[j]) - pivot;
  const double mean = combine_sum<L>(s) / static_cast<double>(len);
  for (int q = 0; q < L; ++q) s[q] = 0.0;
  j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      const double d = (static_cast<double>(x[j + q]) - pivot) - mean;
      s[q] += d * d;
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    const double d = (static_cast<double>(x[j]) - pivot) - mean;
    s[q] += d * d;
  }
  return {static_cast<double>(len), mean, combine_sum<L>(s)};
}

/// Chan, Golub and LeVeque's pairwise update: the moments of the union of a and b.
inline Moments merge_moments(const Moments& a, const Moments& b) {
  if (a.count == 0.0) return b;
  const double total = a.count + b.count, delta = b.mean - a.mean;
  return {total, a.mean + delta * (b.count / total), a.m2 + b.m2 + delta * delta * (a.count * b.count / total)};
}

/// acc[lane] = Norm::accumulate(acc[lane], a[j] − b[j]) over j in [0, len), lane = j mod L.
template <class Norm, int L>
void accumulate_differences(const double* __restrict a, const double* __restrict b, std::int64_t len,
                            double* __restrict acc) {
  double t[L];
  for (int q = 0; q < L; ++q) t[q] = acc[q];
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) t[q] = Norm::accumulate(t[q], a[j + q] - b[j + q]);
  }
  for (int q = 0; j < len; ++j, ++q) t[q] = Norm::accumulate(t[q], a[j] - b[j]);
  for (int q = 0; q < L; ++q) acc[q] = t[q];
}

/// The first (least index) maximum and minimum of w[0, len) into running extrema; s0 is the
/// outcome index of w[0]. Values are finite or ±Inf, never NaN.
template <int L>
void block_extrema(const double* __restrict w, std::int64_t len, std::int64_t s0, ArgExt& mx, ArgExt& mn) {
  double l[L], h[L];
  for (int q = 0; q < L; ++q) l[q] = kInf, h[q] = -kInf;
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      l[q] = w[j + q] < l[q] ? w[j + q] : l[q];
      h[q] = w[j + q] > h[q] ? w[j + q] : h[q];
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    l[q] = w[j] < l[q] ? w[j] : l[q];
    h[q] = w[j] > h[q] ? w[j] : h[q];
  }
  // The first index holding the extremum, and its value (so a zero keeps that outcome's sign).
  const double hi = combine_max<L>(h), lo = combine_min<L>(l);
  // The block's outcomes follow the running extrema's, so a tie keeps those (detail::arg_max's rule).
  if (mx.index < 0 || hi > mx.value) {
    std::int64_t k = 0;
    while (w[k] != hi) ++k;
    mx.value = w[k], mx.index = s0 + k;
  }
  if (mn.index < 0 || lo < mn.value) {
    std::int64_t k = 0;
    while (w[k] != lo) ++k;
    mn.value = w[k], mn.index = s0 + k;
  }
}

}  // namespace cpu
}  // namespace dgeval
