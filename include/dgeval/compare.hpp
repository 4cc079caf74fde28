// The comparison of two evaluations of the same games, column by column: the one rule of the CLI's
// `--check` and of the tests that compare backends (CPU against CUDA, float32 against float64).
//   reals     tolerances::close(a, b, relative, scale): within `relative` of max(|a|, |b|, scale),
//             the scale floor of the game being comparison_scale (its welfare values' size)
//   counts, flags and boolean columns (1, 0 or NaN: undefined)   exactly
//   distance matrices   tolerances::close with floor 1 (distances lie in [0, 1])
//   equilibrium lists   exactly
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dgeval/game.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {

/// The scale floor of game g's real results: max(1, |w⁺|, |w⁻|, |ŵ⁺|, |ŵ⁻|) (docs/MATH.md §2), the
/// largest size of any welfare value of the game, from its utilities (so it does not depend on
/// which columns were kept); non-finite terms are left out.
double comparison_scale(const BatchView& games, std::int64_t g, Welfare welfare);

/// Differences found in one column (or in "distance_matrix", "pure_ne").
struct ColumnComparison {
  std::string column;
  double max_abs = 0.0;  ///< largest |a − b| (infinite when NaN-ness or infinities differ)
  double max_rel = 0.0;  ///< largest |a − b| / max(|a|, |b|, scale)
  std::int64_t compared = 0, beyond = 0;
  /// Adds the statistics of another comparison of the same column (more games).
  void add(const ColumnComparison& o);
};

/// One value beyond tolerance.
struct Mismatch {
  std::string column;
  std::int64_t game;   ///< the reference's game
  std::int64_t entry;  ///< player (per-player columns), matrix entry, or 0
  double reference, other;
};

struct Comparison {
  /// Every result column in result_columns() order, then "distance_matrix" and "pure_ne"; a column
  /// absent from either result has compared = 0.
  std::vector<ColumnComparison> columns;
  std::vector<Mismatch> mismatches;  ///< the first ones, at most the limit asked for
  std::int64_t beyond() const;
};

/// Compares `other` with `reference`, both evaluations of the games `games` (the reference's input)
/// under `options` (its welfare gives the scale floors). Game j of the reference is game
/// other_index[j] of `other`, or game j when other_index is null. Reals agree within `relative`
/// (tolerances::float64_relative, or float32_relative for float32 input).
Comparison compare_results(const Results& reference, const Results& other, const BatchView& games,
                           const Options& options, double relative, const std::int64_t* other_index = nullptr,
                           std::size_t max_mismatches = 12);

}  // namespace dgeval
