// Writing results: human-readable text, CSV and JSON Lines, a batch summary, and atomic
// file output (temporary file in the same folder, then rename).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "dgeval/game.hpp"
#include "dgeval/results.hpp"

namespace dgeval {

/// A duration with 3 significant digits in a fitting unit: "1.23 s", "45.6 ms", "789 µs"
/// (whole seconds from 100 s on); negative or NaN as 0.
std::string duration_text(double seconds);

/// npz (an .npz of columns) is written by ResultsNpzWriter (dgeval/io.hpp), not by write_results.
enum class OutputFormat { text, csv, jsonl, npz };
/// The format's name as the CLI's --format takes it; parse_output_format throws dgeval::error
/// naming the accepted values.
OutputFormat parse_output_format(const std::string& s);
const char* to_string(OutputFormat f);

/// Shortest text that reads back to the same double ("nan", "inf", "-inf" for non-finite).
std::string format_double(double v);
/// The most significant digits format_double(v, digits) takes: 17 read back any double exactly.
inline constexpr int kMaxDigits = 17;
/// v with `digits` significant digits (printf's %.{digits}g), 1..kMaxDigits; 0 gives the
/// shortest text that reads back exactly, as format_double(v). Non-finite as format_double(v).
std::string format_double(double v, int digits);

/// Writes per-game rows. `first_game` is added to the game index column; `header` controls
/// the CSV header row. Per-player columns are expanded to name_0..name_{n−1}; pure_ne and
/// distance_matrix are written when present in `results`. CSV and JSON Lines rows are formatted
/// on `threads` threads (0: all hardware threads); the output does not depend on it. Boolean
/// columns (1, 0 or NaN = undefined) are written as 1 / 0 / an empty field (CSV), true / false /
/// null (JSON Lines) and 1 / 0 / undefined (text). `digits` (text only): significant digits of
/// reals, as format_double(v, digits); 0, the default, prints each exactly (shortest round trip).
void write_results(std::ostream& out, const Results& results, const Dims& dims, OutputFormat format,
                   std::int64_t first_game = 0, bool header = true, int threads = 1, int digits = 0);

/// Counts, means and ranges of every column, and the checks that must hold; accumulates
/// over any number of Results (e.g. the chunks of a long run).
struct Summary {
  struct ColumnStat {
    std::string name;
    std::int64_t count = 0;  ///< finite values seen (a boolean column: its defined values)
    double sum = 0.0, min = 0.0, max = 0.0;
  };
  std::int64_t games = 0;
  std::int64_t games_without_pure_ne = 0;
  std::int64_t games_with_undefined_strategy = 0;
  std::int64_t played_fallbacks = 0;
  std::int64_t nonfinite_games = 0;
  /// Games whose bound_holds is defined (1 or 0): neither an undefined strategy nor a
  /// non-finite game. The R2 check's denominator; the others are left out of it.
  std::int64_t bound_holds_defined = 0;
  std::int64_t bound_violations = 0;            ///< PWR > bound (R2), among defined games: must be 0
  std::int64_t ideal_gap_bound_violations = 0;  ///< ideal gap > R5 bound: must be 0
  std::int64_t ca_out_of_range = 0;
  std::vector<ColumnStat> columns;  ///< one per result column but flags
  /// Why a strategy can be undefined, for the text summary ("no pure NE" for the NE-based and
  /// played strategies, "no eps-NE" for uniform-eps-ne); set by whoever knows the strategy.
  std::string undefined_reason = "the strategy's set is empty";

  /// Adds every game of `results`.
  void add(const Results& results);
  /// Writes the counts and per-column count/mean/min/max as text or as one JSON object.
  void write(std::ostream& out, bool json) const;
};

/// The summary of one Results.
Summary summarise(const Results& results);

/// Writes `fill`'s bytes to `path` as a one-output dgeval::OutputSet (dgeval/output.hpp): a
/// regular file is replaced atomically and durably (on any error it is left untouched), "-" is
/// standard output, a device, FIFO or socket is written directly. Throws dgeval::error naming
/// the path.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& fill);

}  // namespace dgeval
