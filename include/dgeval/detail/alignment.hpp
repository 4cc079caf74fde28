// Individual and collective alignment from standardised values (docs/MATH.md §4.1, §4.2): the one
// definition of the CA weight W = Σ_i m_i, the weighted mean μ and the IA / CA finishing, used by
// the CPU backend, the team and tiled kernels, the inference and the generator. Players are summed
// in order 0..n−1 and every product is rounded on its own (mul_rn), so host and device give the
// same bits from the same inputs.
//
// `players` is an int (a run-time count) or Players<N> (a count known at compile time, so the
// loops unroll). Per-player inputs are anything indexable (a pointer, or an accessor with
// operator[]); per-player functions are callables f(i).
#pragma once

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/standardisation.hpp"
#include "dgeval/detail/values.hpp"

namespace dgeval {
namespace detail {

/// A player count known at compile time.
template <int N>
struct Players {
  static_assert(N >= 1, "a game has at least one player");
};
/// The number of players of an int (run time) or of Players<N> (compile time).
DGEVAL_HD int players_of(int n) { return n; }
template <int N>
DGEVAL_HD constexpr int players_of(Players<N>) {
  return N;
}

/// W = Σ_i m_i, players in order: the weight of collective alignment.
template <class V, class P, class M>
DGEVAL_HD V ca_weight(P players, const M& m) {
  V w = V(0.0);
  for (int i = 0; i < players_of(players); ++i) w = w + m[i];
  return w;
}

/// μ at one outcome accumulated player by player, in order: add(m_i, ν_i) for i = 0..n−1, then
/// value(1/W) (see ca_mean).
/// The weights m_i and 1/W are doubles, or values of type V where each element is its own game's
/// (the CPU backend's small-game path, one game per SIMD lane).
template <class V>
struct CaMean {
  V acc = V(0.0);
  template <class M>
  DGEVAL_HD void add(const M& m, V nu) {
    acc = acc + mul_rn(m, nu);
  }
  template <class W>
  DGEVAL_HD V value(const W& inverse_weight) const {
    return acc * inverse_weight;
  }
};

/// μ = (Σ_i m_i·ν_i)·(1/W) at one outcome, with `inverse_weight` = inverse_magnitude_of(W)
/// computed once per game: one rounding for the mean on every backend, no division per outcome
/// (μ = 0 when W = 0, every ν_i then being 0 too).
template <class V, class P, class M, class Nu, class W = double>
DGEVAL_HD V ca_mean(P players, const M& m, const Nu& nu, const W& inverse_weight) {
  CaMean<V> mean;
  for (int i = 0; i < players_of(players); ++i) mean.add(m[i], nu(i));
  return mean.value(inverse_weight);
}

/// IA = 1 − d, clamped to [0, 1] (its mathematical range; rounding can step outside by an ulp).
template <class V>
DGEVAL_HD V ia_from_distance(V d) {
  const V ia = 1.0 - d;
  return select(ia < 0.0, V(0.0), select(ia > 1.0, V(1.0), ia));  // NaN stays NaN
}

/// CA = 1 − Σ m_i ‖ν_i − μ‖ / Σ m_i (docs/MATH.md §4.2, no z), with CA := 1 when every weight is 0.
template <class V>
DGEVAL_HD V ca_from_sums(V weighted_distance_sum, V weight_sum) {
  return select(weight_sum > 0.0, 1.0 - weighted_distance_sum / weight_sum, V(1.0));
}

/// CA accumulated player by player, in order: add(m_i, ‖ν_i − μ‖) for i = 0..n−1, then value().
template <class V>
struct CaSum {
  V num = V(0.0), weight = V(0.0);
  DGEVAL_HD void add(V m, V norm) {
    num = num + mul_rn(m, norm);
    weight = weight + m;  // the order of ca_weight
  }
  DGEVAL_HD V value() const { return ca_from_sums(num, weight); }
};

/// CA from the weights m_i and the norms ‖ν_i − μ‖ (a callable of i), players in order.
template <class V, class P, class M, class Norms>
DGEVAL_HD V collective_alignment(P players, const M& m, const Norms& norm) {
  CaSum<V> ca;
  for (int i = 0; i < players_of(players); ++i) ca.add(m[i], norm(i));
  return ca.value();
}

/// IA_i from the finished norm ‖ν_i − ν̂_i‖.
template <class V>
DGEVAL_HD V ia_from_norm(V norm, const StandardisationConstants& k) {
  return ia_from_distance(distance_from_norm(norm, k));
}

}  // namespace detail
}  // namespace dgeval
