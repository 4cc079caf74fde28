// Per-game draws of the bound-surface experiment (docs/MATH.md §7.3), __host__ __device__ like the
// generator, so a device port can draw the same targets and strategies from (seed, game).
// They use stream purpose 7 of attempt 0, which generate_game never touches.
#pragma once

#include <cstdint>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/measures.hpp"

namespace dgeval {
namespace detail {

/// The misalignment targets of docs/MATH.md §7.3: a total T ~ U(0, n) split by a Dirichlet(1, …, 1)
/// draw; if a share exceeds 1, shares ← c·shares + (1 − c)·T/n with c ~ U(0, c_max), the
/// largest c keeping every share ≤ 1 (the notebook adds (1 − c)/n, which loses the total: a
/// quirk not reproduced). IA_i = 1 − share_i.
DGEVAL_HD void surface_ia_targets(std::uint64_t seed, std::uint64_t game, int n, double* ia) {
  const GameStream rng{seed, game, 0};
  const double total = mul_rn(rng.uniform(purpose_experiment, 0), static_cast<double>(n));
  double sum = 0.0, e[kMaxPlayers];
  for (int i = 0; i < n; ++i) {
    e[i] = -gen_log(1.0 - rng.uniform(purpose_experiment, 1 + i));  // Exp(1); 1 − u ∈ (0, 1]
    sum += e[i];
  }
  double largest = 0.0;
  for (int i = 0; i < n; ++i) {
    e[i] = sum > 0.0 ? mul_rn(total, e[i] / sum) : total / n;
    largest = e[i] > largest ? e[i] : largest;
  }
  if (largest > 1.0) {
    const double even = total / n;
    const double c = mul_rn(rng.uniform(purpose_experiment, 1 + n), (1.0 - even) / (largest - even));
    for (int i = 0; i < n; ++i) e[i] = mul_rn(c, e[i]) + mul_rn(1.0 - c, even);
  }
  for (int i = 0; i < n; ++i) {
    const double share = e[i] < 1.0 ? e[i] : 1.0;
    ia[i] = 1.0 - share;
  }
}

/// The strategy of docs/MATH.md §7.3 for one game: a target principals' regret ~ U(0, cap), reached by
/// mixing a uniform random point of the simplex with the optimal (uniform over argmax ŵ) or the
/// pessimal (uniform over argmin ŵ) strategy; the pessimal one when the target exceeds its
/// regret. w_hat: the principals' welfare per outcome (N values). weights: N outputs.
DGEVAL_HD void surface_strategy(std::uint64_t seed, std::uint64_t game, int n, const double* w_hat, std::int64_t N,
                                double cap, double* weights) {
  const GameStream rng{seed, game, 0};
  const double target = mul_rn(rng.uniform(purpose_experiment, 2 + n), cap);
  double hi = w_hat[0], lo = w_hat[0];
  for (std::int64_t s = 1; s < N; ++s) hi = w_hat[s] > hi ? w_hat[s] : hi, lo = w_hat[s] < lo ? w_hat[s] : lo;
  std::int64_t n_hi = 0, n_lo = 0;
  for (std::int64_t s = 0; s < N; ++s) n_hi += w_hat[s] == hi, n_lo += w_hat[s] == lo;
  // σ_r ~ Dirichlet(1): normalised Exp(1) draws.
  double sum = 0.0;
  for (std::int64_t s = 0; s < N; ++s) {
    weights[s] = -gen_log(1.0 - rng.uniform(purpose_experiment, 3 + n + static_cast<std::uint64_t>(s)));
    sum += weights[s];
  }
  double regret_r = 0.0;
  for (std::int64_t s = 0; s < N; ++s) {
    weights[s] = weights[s] / sum;
    regret_r += mul_rn(weights[s], hi - w_hat[s]);
  }
  const double regret_pess = hi - lo;
  if (target >= regret_pess) {
    for (std::int64_t s = 0; s < N; ++s) weights[s] = w_hat[s] == lo ? 1.0 / n_lo : 0.0;
  } else if (target < regret_r) {
    const double lambda = target / regret_r;  // λ σ_r + (1 − λ) σ*
    for (std::int64_t s = 0; s < N; ++s) {
      weights[s] = mul_rn(lambda, weights[s]) + (w_hat[s] == hi ? (1.0 - lambda) / n_hi : 0.0);
    }
  } else {
    const double lambda = (target - regret_r) / (regret_pess - regret_r);  // (1 − λ) σ_r + λ σ_pess
    for (std::int64_t s = 0; s < N; ++s) {
      weights[s] = mul_rn(1.0 - lambda, weights[s]) + (w_hat[s] == lo ? lambda / n_lo : 0.0);
    }
  }
  double total = 0.0;  // renormalise the rounding away
  for (std::int64_t s = 0; s < N; ++s) total += weights[s];
  for (std::int64_t s = 0; s < N; ++s) weights[s] = weights[s] / total;
}

/// Doubles of scratch surface_game needs: the generator's and the principals' welfare per outcome.
DGEVAL_HD std::int64_t surface_scratch_doubles(const GeneratorParams& base) {
  return generator_scratch_doubles(base) + base.outcomes;
}

/// Game `game` of the bound-surface experiment (docs/MATH.md §7.3), host and device alike: the IA targets
/// of surface_ia_targets, the game of generate_game with them, and the strategy of
/// surface_strategy (N weights). Returns generate_game's status.
DGEVAL_HD int surface_game(const GeneratorParams& base, std::uint64_t seed, std::uint64_t game, Welfare welfare,
                           double cap, double* agents, double* principals, double* weights, double* scratch) {
  GeneratorParams p = base;
  const int n = p.players;
  const std::int64_t N = p.outcomes;
  surface_ia_targets(seed, game, n, p.ia);
  const int status = generate_game(p, seed, game, agents, principals, scratch, nullptr);
  if (status != generate_ok) return status;
  double* w_hat = scratch + generator_scratch_doubles(p);
  for (std::int64_t o = 0; o < N; ++o) {
    double sum = 0.0;
    for (int i = 0; i < n; ++i) sum += principals[i * N + o];
    w_hat[o] = welfare_of(sum, n, welfare);
  }
  surface_strategy(seed, game, n, w_hat, N, cap, weights);
  return generate_ok;
}

}  // namespace detail
}  // namespace dgeval
