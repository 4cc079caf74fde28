// Tolerances for comparing two evaluations of the same games (CPU reference against the CUDA
// backend, against float32 input, or against `--check`). One place, used by the tests and the
// CLI, so a tolerance cannot be loosened in one spot only.
#pragma once

#include <cmath>

namespace dgeval {
namespace tolerances {

/// Relative tolerance for real-valued results computed from float32 input on another backend.
inline constexpr double float32_relative = 1e-5;
/// Relative tolerance for real-valued results computed from float64 input on another backend.
inline constexpr double float64_relative = 1e-9;
/// Golden values of docs/MATH.md §8 (hand-computed to 10 decimals).
inline constexpr double golden_absolute = 1e-9;

/// |a − b| ≤ relative · max(|a|, |b|, scale), where `scale` is the size of the quantities
/// the value was computed from (a floor near zero: a regret of 0 computed from welfare values
/// near 10 carries rounding of size 10·ε). NaN equals NaN; infinities must match exactly.
inline bool close(double a, double b, double relative, double scale = 1.0) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  const double size = std::fmax(std::fmax(std::fabs(a), std::fabs(b)), scale);
  return std::fabs(a - b) <= relative * size;
}

}  // namespace tolerances
}  // namespace dgeval
