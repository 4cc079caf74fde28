// The per-game finishing step, once for both backends (docs/MATH.md §2–§5): from what the passes
// over a game's outcomes gathered — the per-vector extrema, shifts and magnitudes, IA and CA, the
// welfare extrema, the equilibrium counts and extrema, the strategy's sums — to every result
// column: the zero-magnitude flags, the welfare columns, the equilibria, the agents' strategy σ,
// the regrets, CC, the bounds and the flags.
//
// Each backend keeps its memory layout; only small accessors cross:
//   Arrays  members lo, hi, shift, mag [2n] (agents 0..n−1, then principals), ia [n] and the
//           strategy's sums su, suh [n], each indexable (GameArrays: pointers into the CPU
//           evaluator's arrays, or into shared or global memory on the device)
//   At      at(v, s): utility vector v at flat outcome s, as a double
//   Out     a member pointer per result column, named as in DGEVAL_RESULT_COLUMNS (null: the
//           column is not stored); ColumnPointers on the CPU, cuda::DeviceOutputs on the device
// The utilities σ reads (ū_i, E_σ û_i, u_i(ŝ*)) are read through the accessors where they are
// needed, so the step holds no per-player array: its stack frame does not grow with kMaxPlayers.
#pragma once

#include <math.h>

#include <cstdint>

#include "dgeval/detail/arg_ext.hpp"
#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace detail {

/// What the passes over one game's outcomes gathered (plain data: it lives in device memory
/// between the kernels of the tiled path).
struct GameSummary {
  std::int64_t flags;  ///< ResultFlag bits gathered so far
  std::int64_t nonfinite;
  std::int64_t strategy_defined;  ///< the passes' own record (the device skips work with it)
  std::int64_t ne, eps;           ///< |E_0|, |E(IC)|
  std::int64_t played_count;      ///< |P(IC, CC)| (strategy played)
  ArgExt w_max, w_min, wh_max, wh_min;
  ArgExt worst_ne, best_ne, worst_eps;
  ArgExt closest;  ///< played-set fallback: the outcome nearest the empty window
  double ca_agents, ca_principals;
};

DGEVAL_HD GameSummary summary_empty() {
  GameSummary s;
  s.flags = 0;
  s.nonfinite = 0;
  s.strategy_defined = 0;
  s.ne = s.eps = s.played_count = 0;
  s.w_max = s.w_min = s.wh_max = s.wh_min = arg_empty();
  s.worst_ne = s.best_ne = s.worst_eps = s.closest = arg_empty();
  s.ca_agents = s.ca_principals = 0.0;
  return s;
}

/// Per-vector and per-player arrays of one game (see the file comment).
struct GameArrays {
  double* lo;     ///< [2n] min of each utility vector
  double* hi;     ///< [2n] max
  double* shift;  ///< [2n] c(v)
  double* mag;    ///< [2n] m(v°)
  double* ia;     ///< [n]
  double* su;     ///< [n] Σ u_i over the strategy's set (σ-weighted for correlated and product)
  double* suh;    ///< [n] Σ û_i likewise
};

/// Pointers to every result column (null: not stored), indexed by game, or game·n + player.
struct ColumnPointers {
#define DGEVAL_COLUMN_POINTER_player_real double
#define DGEVAL_COLUMN_POINTER_real double
#define DGEVAL_COLUMN_POINTER_integer std::int64_t
#define DGEVAL_COLUMN_POINTER_boolean double
#define DGEVAL_COLUMN_POINTER(name, kind, desc) DGEVAL_COLUMN_POINTER_##kind* name = nullptr;
  DGEVAL_RESULT_COLUMNS(DGEVAL_COLUMN_POINTER)
#undef DGEVAL_COLUMN_POINTER
#undef DGEVAL_COLUMN_POINTER_player_real
#undef DGEVAL_COLUMN_POINTER_real
#undef DGEVAL_COLUMN_POINTER_integer
#undef DGEVAL_COLUMN_POINTER_boolean
};

/// Stores v at column[i] when the column is stored.
template <class T, class V>
DGEVAL_HD void put(T* column, std::int64_t i, V v) {
  if (column) column[i] = static_cast<T>(v);
}

/// The options the finishing step reads.
struct FinishSettings {
  int players;
  Welfare welfare;
  StandardisationConstants constants;
  double cc;
  CcWindow cc_window;
  StrategyKind strategy;
};

/// A non-finite game (allow_nonfinite): every real and boolean column NaN, every count 0, flags =
/// flag_nonfinite; the distance matrix, where asked for, is the caller's to fill with NaN.
template <class Out>
DGEVAL_HD void finish_nonfinite_game(int players, const Out& out, std::int64_t g) {
  const int n = players;
#define DGEVAL_NF_player_real(name) \
  for (int i = 0; i < n; ++i) put(out.name, g* n + i, NAN);
#define DGEVAL_NF_real(name) put(out.name, g, NAN);
#define DGEVAL_NF_integer(name) put(out.name, g, 0);
#define DGEVAL_NF_boolean(name) put(out.name, g, NAN);
#define DGEVAL_NF(name, kind, desc) DGEVAL_NF_##kind(name)
  DGEVAL_RESULT_COLUMNS(DGEVAL_NF)
#undef DGEVAL_NF
#undef DGEVAL_NF_player_real
#undef DGEVAL_NF_real
#undef DGEVAL_NF_integer
#undef DGEVAL_NF_boolean
  put(out.flags, g, std::int64_t{flag_nonfinite});
}

/// Where the agents' strategy σ takes its expectations from: one outcome, the sums over a set of
/// `count` outcomes (their mean), the sums themselves (σ-weighted), or nowhere (undefined: NaN).
template <class Arrays, class At>
struct Expectations {
  enum Kind { undefined, outcome, mean, sum };
  Kind kind;
  std::int64_t s;  ///< the outcome (kind outcome) or the set's size (kind mean)
  const Arrays& A;
  const At& at;
  int n;
  /// ū_i = E_σ u_i (v = i) or E_σ û_i (v = n + i).
  DGEVAL_HD double operator()(int v) const {
    const bool agent = v < n;
    const int i = agent ? v : v - n;
    switch (kind) {
      case outcome:
        return at(v, s);
      case mean:
        return (agent ? A.su[i] : A.suh[i]) / static_cast<double>(s);
      case sum:
        return agent ? A.su[i] : A.suh[i];
      default:
        return NAN;
    }
  }
};

/// The per-player terms of the bounds, read where they are.
template <class Arrays, class At, class E>
struct FinishBoundTerms {
  const Arrays& A;
  const At& at;
  const E& expected_value;
  int n;
  std::int64_t best_principal_outcome;  ///< ŝ*
  DGEVAL_HD double m(int i) const { return A.mag[i]; }
  DGEVAL_HD double m_hat(int i) const { return A.mag[n + i]; }
  DGEVAL_HD double ia(int i) const { return A.ia[i]; }
  DGEVAL_HD double at_best(int i) const { return at(i, best_principal_outcome); }
  DGEVAL_HD double expected(int i) const { return expected_value(i); }
};

/// Every result column of finite game g but the distance matrix and the equilibrium list, from
/// the passes' summary S and arrays A (docs/MATH.md §2–§5). `pure_outcome` is the flat outcome of
/// a pure strategy (StrategyKind::pure), ignored otherwise. `players` is cfg.players, as an int
/// or as Players<N>. S is a GameSummary, or any type with the members read here under the same
/// names, the extrema convertible to ArgExt and their `value` to double (the device's thread
/// path finds the extrema's values again from the staged game where they are read).
template <class P, class Summary, class Arrays, class At, class Out>
DGEVAL_HD void finish_game(const FinishSettings& cfg, P players, std::int64_t g, std::int64_t pure_outcome,
                           const Summary& S, const Arrays& A, const At& at, const Out& out) {
  const int n = players_of(players);
  std::int64_t flags = S.flags;

  // Standardisation and alignment (docs/MATH.md §3, §4.1, §4.2).
  for (int v = 0; v < 2 * players_of(players); ++v) {
    if (A.mag[v] == 0.0) flags |= flag_zero_magnitude;
  }
  for (int i = 0; i < players_of(players); ++i) {
    put(out.offset_agents, g * n + i, A.shift[i]);
    put(out.magnitude_agents, g * n + i, A.mag[i]);
    put(out.offset_principals, g * n + i, A.shift[n + i]);
    put(out.magnitude_principals, g * n + i, A.mag[n + i]);
    put(out.calibration_ratio, g * n + i, calibration_ratio_of(A.mag[n + i], A.mag[i]));
    put(out.ia, g * n + i, A.ia[i]);
  }
  put(out.ca_agents, g, S.ca_agents);
  put(out.ca_principals, g, S.ca_principals);
  if (ca_out_of_range(S.ca_agents, S.ca_principals)) flags |= flag_ca_out_of_range;

  // Welfare (docs/MATH.md §2); the utopia points with the bounds below, where they are made (not
  // kept live across the sections between).
  const double w_star = S.w_max.value, wh_star = S.wh_max.value;
  put(out.welfare_agents_max, g, w_star);
  put(out.welfare_agents_min, g, S.w_min.value);
  put(out.welfare_principals_max, g, wh_star);
  put(out.welfare_principals_min, g, S.wh_min.value);

  // Equilibria (docs/MATH.md §1.4, §4.3).
  put(out.pure_ne_count, g, S.ne);
  put(out.eps_ne_count, g, S.eps);
  const double w_zero = arg_value_or_nan(S.worst_ne);
  const double w_eps = arg_value_or_nan(S.worst_eps);
  put(out.worst_ne_agents_welfare, g, w_zero);
  put(out.worst_eps_ne_agents_welfare, g, w_eps);
  if (S.ne == 0) flags |= flag_no_pure_ne;
  if (S.eps == 0) flags |= flag_no_eps_ne;

  // The agents' strategy σ (docs/MATH.md §4.3, §4.4).
  using E = Expectations<Arrays, At>;
  E expected{E::undefined, 0, A, at, n};
  switch (cfg.strategy) {
    case StrategyKind::worst_ne:
    case StrategyKind::best_ne: {
      const ArgExt x = cfg.strategy == StrategyKind::worst_ne ? S.worst_ne : S.best_ne;
      if (x.index >= 0) expected.kind = E::outcome, expected.s = x.index;
      break;
    }
    case StrategyKind::uniform_ne:
    case StrategyKind::uniform_eps_ne: {
      const std::int64_t count = cfg.strategy == StrategyKind::uniform_ne ? S.ne : S.eps;
      if (count > 0) expected.kind = E::mean, expected.s = count;
      break;
    }
    case StrategyKind::played:
      if (S.ne > 0 && S.eps > 0) {
        if (S.played_count > 0) {
          expected.kind = E::mean, expected.s = S.played_count;
        } else {
          flags |= flag_played_fallback;
          expected.kind = E::outcome, expected.s = S.closest.index;
        }
      }
      break;
    case StrategyKind::pure:
      expected.kind = E::outcome, expected.s = pure_outcome;
      break;
    case StrategyKind::correlated:
    case StrategyKind::product:
      expected.kind = E::sum;
      break;
  }
  const bool defined = expected.kind != E::undefined;
  if (!defined) flags |= flag_strategy_undefined;
  double su = 0.0, suh = 0.0;
  for (int i = 0; i < players_of(players); ++i) su += expected(i), suh += expected(n + i);
  const double w_sigma = welfare_of(su, n, cfg.welfare);
  const double wh_sigma = welfare_of(suh, n, cfg.welfare);
  const double wr = w_star - w_sigma;
  const double pwr = wh_star - wh_sigma;
  put(out.agents_welfare_regret, g, wr);
  put(out.principals_welfare_regret, g, pwr);
  put(out.cc_achieved, g, cc_of(w_sigma, w_star, w_zero, w_eps, cfg.cc_window));

  // Welfare utopia points and the bounds (docs/MATH.md §2, §5).
  const UtopiaPoints up = utopia_points<double>(A.lo, A.hi, players, cfg.welfare);
  put(out.welfare_agents_utopia, g, up.agents_utopia);
  put(out.welfare_agents_dystopia, g, up.agents_dystopia);
  put(out.welfare_principals_utopia, g, up.principals_utopia);
  put(out.welfare_principals_dystopia, g, up.principals_dystopia);
  put(out.ideal_gap, g, up.principals_utopia - wh_star);
  const BoundScalarsOf<double> in = bound_scalars<double>(n, cfg.welfare, cfg.constants, cfg.cc, w_star, w_zero, w_eps,
                                                          up, wr, pwr, wh_star, S.ca_principals);
  const FinishBoundTerms<Arrays, At, E> terms{A, at, expected, n, S.wh_max.index};
  const BoundOutputs b = compute_bounds(in, players, terms);
  put(out.bound, g, b.bound);
  put(out.bound_r, g, b.bound_r);
  put(out.bound_holds, g, bound_holds_value(defined, b.holds));
  put(out.ideal_gap_bound, g, b.ideal_gap_bound);
  put(out.bound_r3, g, b.r3);
  put(out.bound_r4, g, b.r4);
  put(out.bound_r6, g, b.r6);
  if (defined && !b.holds) flags |= flag_bound_violated;
  if (!b.ideal_gap_holds) flags |= flag_ideal_gap_bound_violated;
  put(out.flags, g, flags);
}

}  // namespace detail
}  // namespace dgeval
