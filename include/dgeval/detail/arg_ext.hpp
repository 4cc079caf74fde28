// (value, outcome index) extrema, the one type both backends use for w*, ŵ*, the worst and best
// equilibria and the played-set fallback. Plain data (it lives in device memory on the tiled path).
#pragma once

#include <cstdint>

#include "dgeval/detail/hd.hpp"

namespace dgeval {
namespace detail {

/// (value, flat outcome index) of an extremum; index < 0 means "no element yet".
struct ArgExt {
  double value;
  std::int64_t index;
};

DGEVAL_HD ArgExt arg_empty() { return ArgExt{0.0, -1}; }

/// The lesser of a and b; on equal values the smaller outcome index (the first in C order), so
/// the result does not depend on the order in which partial extrema are combined. Commutative
/// and associative for non-NaN values.
DGEVAL_HD ArgExt arg_min(const ArgExt& a, const ArgExt& b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  return (b.value < a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}
/// The greater of a and b, with the same tie rule.
DGEVAL_HD ArgExt arg_max(const ArgExt& a, const ArgExt& b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}

/// The extremum's value, NaN when there is none.
DGEVAL_HD double arg_value_or_nan(const ArgExt& a) { return a.index >= 0 ? a.value : NAN; }

}  // namespace detail
}  // namespace dgeval
