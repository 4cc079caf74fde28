// Per-game results, stored column by column. The column names are the names used
// everywhere: C++ fields, CLI/CSV columns (per-player columns expand to name_0, name_1, ...),
// JSON keys and the Python API. Meanings follow docs/MATH.md; every welfare
// quantity is in the chosen welfare scale (average by default).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgeval {

/// How a column is shaped and typed.
enum class ColumnKind {
  player_real,  ///< double, one per player: [games][n]
  real,         ///< double, one per game
  integer,      ///< int64, one per game
  boolean,      ///< double holding 1 (true), 0 (false) or NaN (undefined), one per game
};

/// Whether a column of `kind` is stored as doubles (every kind but integer): Results::real_column
/// gives its data; integer columns are int64, through Results::integer_column.
inline bool stored_as_double(ColumnKind kind) { return kind != ColumnKind::integer; }

// X(name, kind, description). The order is the output order.
#define DGEVAL_RESULT_COLUMNS(X)                                                                            \
  X(offset_agents, player_real, "shift c(u_i) of agent i's utility (docs/MATH.md §3.1)")                    \
  X(magnitude_agents, player_real, "magnitude m_i of agent i's utility (0 if constant)")                    \
  X(offset_principals, player_real, "shift ĉ_i of principal i's utility")                                   \
  X(magnitude_principals, player_real, "magnitude m̂_i of principal i's utility")                            \
  X(ia, player_real, "individual alignment IA_i = 1 − ‖ν_i − ν̂_i‖/z (docs/MATH.md §4.1)")                   \
  X(ca_principals, real, "collective alignment CA(û) of the principals (docs/MATH.md §4.2)")                \
  X(ca_agents, real, "collective alignment CA(u) of the agents")                                            \
  X(welfare_agents_max, real, "w* = max_s w(s)")                                                            \
  X(welfare_agents_min, real, "w_min = min_s w(s)")                                                         \
  X(welfare_principals_max, real, "ŵ* = max_s ŵ(s)")                                                        \
  X(welfare_principals_min, real, "ŵ_min = min_s ŵ(s)")                                                     \
  X(welfare_agents_utopia, real, "w⁺ = welfare of each agent's own maximum")                                \
  X(welfare_agents_dystopia, real, "w⁻ = welfare of each agent's own minimum")                              \
  X(welfare_principals_utopia, real, "ŵ⁺")                                                                  \
  X(welfare_principals_dystopia, real, "ŵ⁻")                                                                \
  X(pure_ne_count, integer, "|E_0|, the number of pure Nash equilibria")                                    \
  X(eps_ne_count, integer, "|E(IC)|, the number of pure ε-NE at the IC level")                              \
  X(worst_ne_agents_welfare, real, "w_0 = min over E_0 of w (NaN if E_0 is empty)")                         \
  X(worst_eps_ne_agents_welfare, real, "w_ε = min over E(IC) of w (NaN if empty)")                          \
  X(agents_welfare_regret, real, "WR(σ) = w* − w(σ) at the agents' strategy σ")                             \
  X(principals_welfare_regret, real, "PWR(σ) = ŵ* − ŵ(σ)")                                                  \
  X(calibration_ratio, player_real, "r_i = m̂_i / m_i (NaN if m_i = 0)")                                     \
  X(bound, real, "R2 minimised over R in {0} ∪ {r_i}, capped by R8 (docs/MATH.md §5.2, §5.7, §5.8)")        \
  X(bound_r, real, "the R attaining the R2 minimum")                                                        \
  X(bound_holds, boolean, "PWR(σ) ≤ bound: 1 or 0; NaN if undefined (strategy undefined, game non-finite)") \
  X(ideal_gap, real, "ŵ⁺ − ŵ*")                                                                             \
  X(ideal_gap_bound, real, "R5: (K/n)(1 − CA(û)) Σ m̂_i")                                                    \
  X(cc_achieved, real, "CC(σ) of the strategy played (NaN where the denominator is 0)")                     \
  X(bound_r3, real, "R3: the grid-scan bound at the target CC (docs/MATH.md §5.3)")                         \
  X(bound_r4, real, "R4: WR + misalignment + max_i |r_i − 1| (w⁺ − w⁻) (docs/MATH.md §5.4)")                \
  X(bound_r6, real, "R6: bound on ŵ⁺ − ŵ(σ), R5 plus the uncapped R2 minimum (docs/MATH.md §5.6)")          \
  X(flags, integer, "bit set of ResultFlag values")

/// Bits of the `flags` column.
enum ResultFlag : std::int64_t {
  flag_no_pure_ne = 1,                  ///< E_0 is empty: w_0 and NE-based strategies are NaN
  flag_no_eps_ne = 2,                   ///< E(IC) is empty: w_ε is NaN
  flag_played_fallback = 4,             ///< the played window was empty; the closest outcome was used
  flag_ca_out_of_range = 8,             ///< a CA fell outside [0, 1] (possible under MAX, docs/MATH.md §4.2)
  flag_nonfinite = 16,                  ///< the game holds NaN or ±Inf utilities (allow_nonfinite)
  flag_zero_magnitude = 32,             ///< some utility is constant (m = 0, ν := 0, docs/MATH.md §3.5)
  flag_strategy_undefined = 64,         ///< the strategy's set is empty: regrets and bounds are NaN
  flag_bound_violated = 128,            ///< the strategy is defined and PWR(σ) > bound: a theorem failed
  flag_ideal_gap_bound_violated = 256,  ///< ideal_gap > ideal_gap_bound (R5): a theorem failed
};

/// Description of one column, for writers and bindings.
struct ColumnInfo {
  const char* name;
  ColumnKind kind;
  const char* description;
};

/// All columns in output order.
const std::vector<ColumnInfo>& result_columns();

/// A set of result columns: bit j is result_columns()[j]. `flags` is always in a set, so the
/// bound checks (flag_bound_violated, flag_ideal_gap_bound_violated) survive any selection.
using ColumnMask = std::uint64_t;
inline constexpr ColumnMask kAllColumns = ~ColumnMask{0};

/// Index of `name` in result_columns(), or -1.
int column_index(const std::string& name);
/// The bit of the `flags` column.
ColumnMask flags_column_bit();
/// Parses a comma-separated list of column names ("all" for every column; per-player columns by
/// their base name, e.g. `ia`); throws dgeval::error naming an unknown column and listing the
/// known ones. `flags` is added.
ColumnMask parse_columns(const std::string& list);
/// The comma-separated names of the columns in `mask`.
std::string columns_text(ColumnMask mask);

/// Results of a batch, one std::vector per column.
struct Results {
  std::int64_t games = 0;
  int players = 0;
  /// The columns present; the others are empty vectors (Options::columns).
  ColumnMask columns = kAllColumns;

#define DGEVAL_DECLARE_COLUMN_player_real(name) std::vector<double> name;
#define DGEVAL_DECLARE_COLUMN_real(name) std::vector<double> name;
#define DGEVAL_DECLARE_COLUMN_integer(name) std::vector<std::int64_t> name;
#define DGEVAL_DECLARE_COLUMN_boolean(name) std::vector<double> name;
#define DGEVAL_DECLARE_COLUMN(name, kind, desc) DGEVAL_DECLARE_COLUMN_##kind(name)
  DGEVAL_RESULT_COLUMNS(DGEVAL_DECLARE_COLUMN)
#undef DGEVAL_DECLARE_COLUMN

  /// On request (Options::list_equilibria): each game's pure NE as flat outcome indices,
  /// ascending (C order). Use Dims::unflatten for the action tuples.
  std::vector<std::vector<std::int64_t>> pure_ne;
  /// On request (Options::distance_matrix): [games][2n][2n] standardised distances d = ‖ν_a − ν_b‖/z
  /// between the 2n utility functions, agents 0..n−1 first, then principals.
  std::vector<double> distance_matrix;

  /// Sizes every column of `mask` (plus flags) for `games` games of `players` players, and
  /// empties the others; optional parts as asked.
  void resize(std::int64_t games, int players, bool with_pure_ne, bool with_distance_matrix,
              ColumnMask mask = kAllColumns);
  /// Frees the columns outside `mask` (flags stays).
  void keep_columns(ColumnMask mask);
  /// True if column `index` of result_columns() is present.
  bool has_column(std::size_t index) const { return (columns >> index) & 1u; }
  bool has_column(const std::string& name) const;

  /// Pointer to the double data of a real, player_real or boolean column, or nullptr.
  const double* real_column(const std::string& name) const;
  /// Pointer to the int64 data of an integer column, or nullptr.
  const std::int64_t* integer_column(const std::string& name) const;
  double* real_column(const std::string& name);
  std::int64_t* integer_column(const std::string& name);
};

}  // namespace dgeval
