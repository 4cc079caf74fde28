// Evaluation options. Defaults follow docs/MATH.md §11: EPIC
// standardisation, average welfare, IC = 1 (the agents play pure Nash equilibria), CC = 0,
// the authors' ε-Nash tolerance 1e-10, and the worst pure NE as the agents' strategy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dgeval/detail/standardisation.hpp"  // enum Standardisation (its one definition)
#include "dgeval/game.hpp"
#include "dgeval/results.hpp"

namespace dgeval {

/// Welfare function of docs/MATH.md §2.
enum class Welfare {
  average,  ///< w = (1/n) Σ_i u_i (default, the paper's)
  sum,      ///< w = Σ_i u_i (the authors' regret_bounds convention)
};

/// The CC window of docs/MATH.md §4.4 and §11.3.
enum class CcWindow {
  code,     ///< [w_ε + CC(w*−w_0), w_ε + (w*−w_0)] (default, the authors' code)
  natural,  ///< [w_ε + CC(w*−w_ε), w*]
};

/// What the agents play; the regrets and bounds are evaluated at this strategy σ.
enum class StrategyKind {
  worst_ne,        ///< the pure NE of least agents' welfare, first in C order on ties (default)
  best_ne,         ///< the pure NE of greatest agents' welfare, first in C order on ties
  uniform_ne,      ///< uniform over the pure NE set E_0
  uniform_eps_ne,  ///< uniform over the pure ε-NE set E(IC)
  played,          ///< uniform over the played set P(IC, CC) of docs/MATH.md §4.4
  pure,            ///< a user-supplied pure outcome
  correlated,      ///< a user-supplied distribution over outcomes (N weights)
  product,         ///< a user-supplied product of mixed strategies (Σ_i k_i weights)
};

/// Whether the strategy σ is given as weights (correlated, product): its sums Σ_s σ(s)·u(s) are
/// made from the weights in the read, rather than over a set of outcomes found by the passes.
/// Device code calls it too.
DGEVAL_HD constexpr bool strategy_has_weights(StrategyKind k) {
  return k == StrategyKind::correlated || k == StrategyKind::product;
}

/// How many numbers one game's strategy takes: n action indices (pure), N weights (correlated),
/// Σ_i k_i weights (product); 0 for the strategies dgeval finds itself.
inline std::int64_t strategy_size(StrategyKind k, const Dims& d) {
  std::int64_t s = 0;
  if (k == StrategyKind::pure) s = d.players();
  if (k == StrategyKind::correlated) s = d.outcomes();
  if (k == StrategyKind::product) {
    for (int i = 0; i < d.players(); ++i) s += d.actions(i);
  }
  return s;
}

struct Strategy {
  StrategyKind kind = StrategyKind::worst_ne;
  /// pure: one action index per player, size n (or games * n when per_game).
  std::vector<std::int64_t> actions;
  /// correlated: N weights in C order; product: player 0's k_0 weights, then player 1's, ...
  /// (size per game, or games times that when per_game).
  std::vector<double> weights;
  /// One strategy per game instead of one shared by all games.
  bool per_game = false;
};

struct Options {
  Standardisation standardisation = Standardisation::epic;
  Welfare welfare = Welfare::average;
  /// IC level per player; ε_i = 1 − IC_i. Empty means 1 for every player; one value is
  /// used for every player. Each must lie in [0, 1].
  std::vector<double> ic;
  /// CC level in [0, 1]: the played set's window and the R3 bound use it.
  double cc = 0.0;
  CcWindow cc_window = CcWindow::code;
  /// Additive slack of the ε-Nash test: s passes when u_i(s) + tol ≥ hi − (1 − IC_i)(hi − lo)
  /// (docs/MATH.md §1.4). With 0, the IC = 1 set is exactly the pure Nash set for any payoffs.
  double ne_tolerance = 1e-10;
  /// Slack of the played-set window (docs/MATH.md §4.4: lo − tol < w(s) < hi + tol).
  double played_tolerance = 1e-6;
  Strategy strategy;
  /// Also return the list of pure NE outcomes of each game.
  bool list_equilibria = false;
  /// Also return each game's 2n×2n matrix of standardised distances (agents first).
  bool distance_matrix = false;
  /// Accept NaN/±Inf utilities: the affected game's results become NaN and its flags say so.
  /// When false (the default) such input is refused with a dgeval::error.
  bool allow_nonfinite = false;
  /// The result columns to return (dgeval::parse_columns); every column by default. The
  /// others come back as empty vectors; the CUDA backend neither stores nor copies them.
  /// `flags` is always returned, and with it the bound checks.
  ColumnMask columns = kAllColumns;

  /// IC level of player i (applies the empty/broadcast rules above).
  double ic_level(int player) const;
};

/// Parse/print helpers shared by the CLI and the Python API (names as in docs/MATH.md). The
/// parsers throw dgeval::error naming the accepted values when `s` is none of them; to_string
/// gives the name the parser accepts.
Standardisation parse_standardisation(const std::string& s);
Welfare parse_welfare(const std::string& s);
StrategyKind parse_strategy_kind(const std::string& s);
CcWindow parse_cc_window(const std::string& s);
const char* to_string(Standardisation s);
const char* to_string(Welfare w);
const char* to_string(StrategyKind k);
const char* to_string(CcWindow c);

/// Throws dgeval::error if an option is out of range or a user strategy does not fit the
/// dims / game count or is not a probability distribution (negative, non-finite, or weights
/// not summing to 1 within 1e-9).
void validate(const Options& options, const Dims& dims, std::int64_t games);

}  // namespace dgeval
