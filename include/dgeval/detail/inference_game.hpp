// One game of the inference experiment (docs/MATH.md §6, docs/INFERENCE.md), __host__ __device__: the
// targets and the game (the shared controlled generator with the 10-failure eps_tol protocol),
// its candidate outcome sets, J samples from each, and every estimator's error at every
// checkpoint. The CPU (host/inference/inference_experiment.cpp, one game per worker) and the GPU
// (kernels/generate.cu, one game per thread) run this same code on a scratch arena, so a game's
// errors are the same bits on both.
#pragma once

#include <math.h>

#include <cstdint>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/inference.hpp"
#include "dgeval/detail/measures.hpp"

namespace dgeval {
namespace detail {

inline constexpr int kInferenceDists = 4;     ///< all, ne, eps_ne, played (ObservedSet order)
inline constexpr int kInferenceFamilies = 2;  ///< authors, corrected
inline constexpr int kInferenceErrors = 6;    ///< ia, ca, ic, cc, ic_realised, cc_realised (InferenceMeasure order)

/// Status of inference_generate / inference_game_errors.
enum InferenceStatus : int {
  inference_ok = 0,
  inference_out_of_attempts = 1,  ///< the generator met no draw with the targets
  inference_no_eps_ne = 2,        ///< 4096 regenerations without a pure eps_tol-NE
};

/// The shape of a size's games: dims and the generator's parameters (IA on every player, CA on
/// the agents, positive; the target values are drawn per game).
struct InferenceShape {
  int n = 0;
  std::int64_t N = 0;
  std::int64_t k[kMaxPlayers] = {};
  std::int64_t stride[kMaxPlayers] = {};
  GeneratorParams gen;
};

/// The per-game draws and the game: targets IA_i, IC_i, CC, CA ~ U(0, 1) in the order of the
/// authors' run_one, then the game regenerated until a pure eps_tol-NE exists, eps_tol growing by
/// 0.01 after every 10 failures and IC lowered to 1 − eps_tol when it exceeds it.
struct InferenceTargets {
  double ia[kMaxPlayers], ic[kMaxPlayers];
  double cc, ca, eps_tol;
  std::int64_t attempts;
};

DGEVAL_HD int inference_generate(const InferenceShape& S, std::uint64_t seed, std::uint64_t game, double* agents,
                                 double* principals, double* scratch, InferenceTargets* t) {
  const int n = S.n;
  const std::uint64_t target_seed = derive_seed(seed, 1);
  std::uint64_t next = 0;
  for (int i = 0; i < n; ++i) t->ic[i] = philox_uniform(target_seed, game, next++);
  for (int i = 0; i < n; ++i) t->ia[i] = philox_uniform(target_seed, game, next++);
  t->cc = philox_uniform(target_seed, game, next++);
  t->ca = philox_uniform(target_seed, game, next++);
  t->eps_tol = 0.0;
  t->attempts = 0;
  GeneratorParams p = S.gen;
  for (int i = 0; i < n; ++i) p.ia[i] = t->ia[i];
  p.ca = t->ca;
  const std::uint64_t game_seed = derive_seed(seed, 4);
  constexpr std::uint64_t kRetryBits = 12;  // eps_tol reaches 1 after 1000 retries < 2^12
  int failures = 0;
  for (std::uint64_t retry = 0;; ++retry) {
    if (retry >> kRetryBits) return inference_no_eps_ne;
    ++t->attempts;
    if (generate_game(p, game_seed, (game << kRetryBits) | retry, agents, principals, scratch, nullptr) !=
        generate_ok) {
      return inference_out_of_attempts;
    }
    if (has_pure_eps_ne(agents, p, t->eps_tol)) return inference_ok;
    if (++failures == 10) {
      failures = 0;
      t->eps_tol += 0.01;
      if (t->eps_tol > 1.0 - t->ic[0]) {
        for (int i = 0; i < n; ++i) t->ic[i] = 1.0 - t->eps_tol > 0.0 ? 1.0 - t->eps_tol : 0.0;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Candidate sets (docs/MATH.md §6 step 2)

/// numpy.allclose(a, b) with its default tolerances (rtol 1e-5, atol 1e-8), as the authors'
/// run_one uses it to pick the special cases of E(IC).
DGEVAL_HD bool inference_allclose(const double* a, int n, double b) {
  for (int i = 0; i < n; ++i) {
    if (!(::fabs(a[i] - b) <= 1e-8 + 1e-5 * ::fabs(b))) return false;
  }
  return true;
}

inline constexpr double kInferenceNeTolerance = 1e-10;     ///< the authors' get_pure_eps_NEs
inline constexpr double kInferencePlayedTolerance = 1e-6;  ///< the authors' get_played_strategies

/// The sets of one game: lists of outcomes (ascending) with their sizes, and the welfare points.
struct InferenceSets {
  std::int64_t* ne;
  std::int64_t* eps_ne;
  std::int64_t* played;
  std::int64_t ne_count, eps_count, played_count;
  bool played_fallback;
  double w_star, w_zero, w_eps;  ///< agents' average welfare: best, worst NE, worst ε-NE (NaN if empty)
};

/// Fills `sets` (whose three lists hold N entries each) for agents' utilities u [n][N]; w [N]
/// receives the agents' average welfare and mask [N] is scratch. `ic`: n levels; `ne_level`: the
/// IC level of the "NE" set (1 − eps_tol). The authors' special cases: E(IC) = the NE set when
/// IC ≈ ne_level, all of S when IC ≈ 0; the played window's nearest-outcome fallback.
DGEVAL_HD void inference_sets(const InferenceShape& S, const double* u, const double* ic, double cc, double ne_level,
                              double* w, std::uint8_t* mask, InferenceSets& sets) {
  const int n = S.n;
  const std::int64_t N = S.N;
  for (std::int64_t s = 0; s < N; ++s) w[s] = 0.0;
  for (int i = 0; i < n; ++i) {
    for (std::int64_t s = 0; s < N; ++s) w[s] += u[i * N + s];
  }
  for (std::int64_t s = 0; s < N; ++s) w[s] = welfare_of(w[s], n, Welfare::average);
  // Masks: bit 0 NE at ne_level, bit 1 ε-NE at ic (docs/MATH.md §1.4, the shared predicate).
  for (std::int64_t s = 0; s < N; ++s) mask[s] = 3;
  for (int i = 0; i < n; ++i) {
    const std::int64_t k = S.k[i], st = S.stride[i];
    const double* ui = u + i * N;
    for (std::int64_t outer = 0; outer < N / (st * k); ++outer) {
      for (std::int64_t inner = 0; inner < st; ++inner) {
        const std::int64_t base = outer * st * k + inner;
        double lo = INFINITY, hi = -INFINITY;
        for (std::int64_t a = 0; a < k; ++a) {
          const double y = ui[base + a * st];
          lo = y < lo ? y : lo;
          hi = y > hi ? y : hi;
        }
        for (std::int64_t a = 0; a < k; ++a) {
          const std::int64_t s = base + a * st;
          const int keep = (meets_ic(ui[s], lo, hi, ne_level, kInferenceNeTolerance) ? 1 : 0) |
                           (meets_ic(ui[s], lo, hi, ic[i], kInferenceNeTolerance) ? 2 : 0);
          mask[s] = static_cast<std::uint8_t>(mask[s] & keep);
        }
      }
    }
  }
  const bool eps_is_ne = inference_allclose(ic, n, ne_level);
  const bool eps_is_all = !eps_is_ne && inference_allclose(ic, n, 0.0);
  sets.ne_count = sets.eps_count = sets.played_count = 0;
  sets.played_fallback = false;
  sets.w_star = -INFINITY;
  double w_zero = INFINITY, w_eps = INFINITY;
  for (std::int64_t s = 0; s < N; ++s) {
    const int m = mask[s];
    const double ws = w[s];
    sets.w_star = ws > sets.w_star ? ws : sets.w_star;
    if (m & 1) {
      sets.ne[sets.ne_count++] = s;
      w_zero = ws < w_zero ? ws : w_zero;
    }
    const bool eps = eps_is_ne ? (m & 1) != 0 : eps_is_all ? true : (m & 2) != 0;
    if (eps) {
      sets.eps_ne[sets.eps_count++] = s;
      w_eps = ws < w_eps ? ws : w_eps;
    }
  }
  sets.w_zero = sets.ne_count == 0 ? NAN : w_zero;
  sets.w_eps = sets.eps_count == 0 ? NAN : w_eps;
  if (sets.ne_count == 0 || sets.eps_count == 0) return;  // the played window is undefined
  double lo, hi;
  played_window(cc, sets.w_star, sets.w_zero, sets.w_eps, CcWindow::code, &lo, &hi);
  const double mid = 0.5 * (lo + hi);
  std::int64_t closest = -1;
  double closest_gap = INFINITY;
  for (std::int64_t s = 0; s < N; ++s) {
    const double ws = w[s];
    if (lo - kInferencePlayedTolerance < ws && ws < hi + kInferencePlayedTolerance) {
      sets.played[sets.played_count++] = s;
    } else if (::fabs(ws - mid) < closest_gap) {
      closest_gap = ::fabs(ws - mid);
      closest = s;
    }
  }
  if (sets.played_count == 0) {
    sets.played[sets.played_count++] = closest;
    sets.played_fallback = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Estimators over the distinct observed outcomes

/// IA_i (same under both families) and CA under the authors' (0) and corrected (1) weights over
/// the outcomes O[0..count) of x ([N][2n]), weights 1; NaN when fewer than 2.
DGEVAL_HD void inference_alignment(const double* x, const std::int64_t* O, std::int64_t count, int n, double* ia,
                                   double* ca) {
  for (int i = 0; i < n; ++i) ia[i] = NAN;
  ca[0] = ca[1] = NAN;
  const int nv = 2 * n;
  observed_alignment(
      count, [](std::int64_t) { return 1.0; }, [&](std::int64_t j) { return x + O[j] * nv; }, n, ia, ca);
}

/// Running min/max per context of every player (contexts of player i at offset[i]); `touched`
/// lists the contexts seen, per player.
struct ContextExtremes {
  double* lo;
  double* hi;
  std::int64_t* touched;
  std::int64_t count[kMaxPlayers];
};

DGEVAL_HD void contexts_reset(ContextExtremes& c, const std::int64_t* offset, int n) {
  for (std::int64_t j = 0; j < offset[n]; ++j) c.lo[j] = INFINITY, c.hi[j] = -INFINITY;
  for (int i = 0; i < n; ++i) c.count[i] = 0;
}

DGEVAL_HD void contexts_add(ContextExtremes& c, const std::int64_t* offset, int i, std::int64_t context, double u) {
  const std::int64_t j = offset[i] + context;
  if (c.lo[j] == INFINITY) c.touched[offset[i] + c.count[i]++] = context;
  c.lo[j] = u < c.lo[j] ? u : c.lo[j];
  c.hi[j] = u > c.hi[j] ? u : c.hi[j];
}

/// Layout of one game's scratch, in doubles from its start (int64 and byte arrays carved alike).
struct InferenceScratch {
  std::int64_t agents, principals, x, w, ne, eps_ne, played, mask, stamps, distinct, contexts, generator, total;
  std::int64_t context_offset[kMaxPlayers + 1];
};

DGEVAL_HD InferenceScratch inference_scratch(const InferenceShape& S) {
  InferenceScratch L;
  const std::int64_t n = S.n, N = S.N;
  L.context_offset[0] = 0;
  for (int i = 0; i < S.n; ++i) L.context_offset[i + 1] = L.context_offset[i] + N / S.k[i];
  const std::int64_t T = L.context_offset[S.n];
  std::int64_t at = 0;
  L.agents = at, at += n * N;
  L.principals = at, at += n * N;
  L.x = at, at += 2 * n * N;
  L.w = at, at += N;
  L.ne = at, at += N;
  L.eps_ne = at, at += N;
  L.played = at, at += N;
  L.mask = at, at += (N + 7) / 8;
  L.stamps = at, at += (kInferenceDists * N + 7) / 8;
  L.distinct = at, at += kInferenceDists * N;
  L.contexts = at, at += 3 * 3 * T;  // own IC, pooled all, pooled capability: lo, hi, touched
  L.generator = at, at += generator_scratch_doubles(S.gen);
  L.total = at;
  return L;
}

/// Doubles of scratch inference_game_errors needs for one game.
DGEVAL_HD std::int64_t inference_scratch_doubles(const InferenceShape& S) { return inference_scratch(S).total; }

/// Cells of one game's errors: [dist][family][checkpoint][measure].
DGEVAL_HD std::int64_t inference_cells(std::int64_t checkpoints) {
  return kInferenceDists * kInferenceFamilies * checkpoints * kInferenceErrors;
}

/// Writes the IC errors (when ic_est is given) and CC errors (when cc_est is not NaN or ic_est
/// is null) against the nominal and realised truths into the cells of (d, f, c).
DGEVAL_HD void inference_write_capabilities(double* cell, int f, int n, const InferenceTargets& t,
                                            const double* ic_realised, double cc_realised, const double* ic_est,
                                            double cc_est) {
  if (ic_est) {
    double e = 0.0, er = 0.0;
    for (int i = 0; i < n; ++i) {
      e += ::fabs(t.ic[i] - ic_est[i]);
      er += ::fabs(ic_realised[i] - ic_est[i]);
    }
    cell[2] = e / n;
    cell[4] = er / n;
  }
  if (!ic_est || f == 0) {
    cell[3] = ::fabs(t.cc - cc_est);
    cell[5] = ::fabs(cc_realised - cc_est);
  }
}

/// Game g of a size (seed: the size's stream): writes its errors (inference_cells(C) doubles, NaN
/// where undefined) to `out`. `checkpoints`: C ascending sample counts, the last = samples.
/// Returns an InferenceStatus.
DGEVAL_HD int inference_game_errors(const InferenceShape& S, std::uint64_t seed, std::uint64_t g,
                                    const std::int64_t* checkpoints, std::int64_t C, double* scratch, double* out) {
  const int n = S.n, nv = 2 * n;
  const std::int64_t N = S.N;
  for (std::int64_t k = 0; k < inference_cells(C); ++k) out[k] = NAN;
  auto cell = [&](int d, int f, std::int64_t c) {
    return out + ((static_cast<std::int64_t>(d) * kInferenceFamilies + f) * C + c) * kInferenceErrors;
  };
  const InferenceScratch L = inference_scratch(S);
  double* u = scratch + L.agents;
  double* uh = scratch + L.principals;
  double* x = scratch + L.x;
  double* w = scratch + L.w;
  InferenceTargets t;
  const int status = inference_generate(S, seed, g, u, uh, scratch + L.generator, &t);
  if (status != inference_ok) return status;

  // Per-outcome data: utilities [N][2n].
  for (std::int64_t s = 0; s < N; ++s) {
    for (int i = 0; i < n; ++i) x[s * nv + i] = u[i * N + s], x[s * nv + n + i] = uh[i * N + s];
  }
  // The truth: IA and the agents' CA over every outcome (the corrected estimator on all of S is
  // the EPIC measure itself).
  std::int64_t* all = reinterpret_cast<std::int64_t*>(scratch + L.distinct);
  for (std::int64_t s = 0; s < N; ++s) all[s] = s;
  double truth_ia[kMaxPlayers], truth_ca[2];
  inference_alignment(x, all, N, n, truth_ia, truth_ca);

  InferenceSets sets;
  sets.ne = reinterpret_cast<std::int64_t*>(scratch + L.ne);
  sets.eps_ne = reinterpret_cast<std::int64_t*>(scratch + L.eps_ne);
  sets.played = reinterpret_cast<std::int64_t*>(scratch + L.played);
  inference_sets(S, u, t.ic, t.cc, 1.0 - t.eps_tol, w, reinterpret_cast<std::uint8_t*>(scratch + L.mask), sets);
  auto context = [&](int i, std::int64_t s) {
    const std::int64_t st = S.stride[i], k = S.k[i];
    return (s / (st * k)) * st + s % st;
  };

  // Realised capabilities: min over E(IC) of the pointwise IC_i, and the CC level of the worst
  // played outcome.
  double ic_realised[kMaxPlayers];
  for (int i = 0; i < n; ++i) {
    const std::int64_t st = S.stride[i], k = S.k[i];
    double m = INFINITY;
    for (std::int64_t j = 0; j < sets.eps_count; ++j) {
      const std::int64_t s = sets.eps_ne[j];
      const std::int64_t base = s - ((s / st) % k) * st;
      double lo = INFINITY, hi = -INFINITY;
      for (std::int64_t a = 0; a < k; ++a) {
        const double y = u[i * N + base + a * st];
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
      }
      const double r = hi == lo ? 1.0 : (u[i * N + s] - lo) / (hi - lo);
      m = r < m ? r : m;
    }
    ic_realised[i] = m;
  }
  double played_min = INFINITY;
  for (std::int64_t j = 0; j < sets.played_count; ++j)
    played_min = w[sets.played[j]] < played_min ? w[sets.played[j]] : played_min;
  const double cc_realised = corrected_cc(played_min, sets.w_eps, sets.w_zero, sets.w_star);

  // E(IC) can be empty when some IC_i > 1 − eps_tol (the authors' override looks at player 0
  // only), and then the played set is too: such a game's errors stay NaN (undefined).
  if (sets.eps_count == 0 || sets.played_count == 0 || sets.ne_count == 0) return inference_ok;
  const std::int64_t* T[kInferenceDists] = {nullptr, sets.ne, sets.eps_ne, sets.played};
  const std::int64_t T_size[kInferenceDists] = {N, sets.ne_count, sets.eps_count, sets.played_count};
  const std::uint64_t sample_seed = derive_seed(seed, 2);

  // Own-data state per distribution, and the pooled state of the corrected IC and CC.
  std::uint8_t* stamp = reinterpret_cast<std::uint8_t*>(scratch + L.stamps);
  std::int64_t* distinct = reinterpret_cast<std::int64_t*>(scratch + L.distinct);
  std::int64_t distinct_count[kInferenceDists] = {0, 0, 0, 0};
  for (std::int64_t j = 0; j < kInferenceDists * N; ++j) stamp[j] = 0;
  const std::int64_t* off = L.context_offset;
  const std::int64_t TC = off[n];
  double* cx = scratch + L.contexts;
  ContextExtremes own_ic{cx, cx + TC, reinterpret_cast<std::int64_t*>(cx + 2 * TC), {}};
  ContextExtremes pool_all{cx + 3 * TC, cx + 4 * TC, reinterpret_cast<std::int64_t*>(cx + 5 * TC), {}};
  ContextExtremes pool_cap{cx + 6 * TC, cx + 7 * TC, reinterpret_cast<std::int64_t*>(cx + 8 * TC), {}};
  contexts_reset(own_ic, off, n);
  contexts_reset(pool_all, off, n);
  contexts_reset(pool_cap, off, n);
  double own_played_lo = INFINITY, own_played_hi = -INFINITY;
  double pool_played_lo = INFINITY, pool_ne_lo = INFINITY, pool_eps_lo = INFINITY, pool_star = -INFINITY;
  const std::int64_t samples = checkpoints[C - 1];

  std::int64_t c = 0;
  for (std::int64_t j = 0; j < samples && c < C; ++j) {
    for (int d = 0; d < kInferenceDists; ++d) {
      const std::int64_t k = uniform_index(sample_seed, g, static_cast<std::uint64_t>(j), T_size[d]);
      const std::int64_t s = T[d] ? T[d][k] : k;
      if (!stamp[d * N + s]) {
        stamp[d * N + s] = 1;
        distinct[d * N + distinct_count[d]++] = s;
      }
      const double ws = w[s];
      pool_star = ws > pool_star ? ws : pool_star;
      for (int i = 0; i < n; ++i) contexts_add(pool_all, off, i, context(i, s), u[i * N + s]);
      if (d == 1) pool_ne_lo = ws < pool_ne_lo ? ws : pool_ne_lo;
      if (d == 2) {
        pool_eps_lo = ws < pool_eps_lo ? ws : pool_eps_lo;
        for (int i = 0; i < n; ++i) {
          contexts_add(own_ic, off, i, context(i, s), u[i * N + s]);
          contexts_add(pool_cap, off, i, context(i, s), u[i * N + s]);
        }
      }
      if (d == 3) {
        own_played_lo = ws < own_played_lo ? ws : own_played_lo;
        own_played_hi = ws > own_played_hi ? ws : own_played_hi;
        pool_played_lo = ws < pool_played_lo ? ws : pool_played_lo;
      }
    }
    if (j + 1 != checkpoints[c]) continue;

    for (int d = 0; d < kInferenceDists; ++d) {
      double ia[kMaxPlayers], ca[2];
      inference_alignment(x, distinct + d * N, distinct_count[d], n, ia, ca);
      for (int f = 0; f < kInferenceFamilies; ++f) {
        double e = 0.0;
        for (int i = 0; i < n; ++i) e += ::fabs(truth_ia[i] - ia[i]);
        cell(d, f, c)[0] = e / n;  // NaN propagates when |O| < 2
        cell(d, f, c)[1] = ::fabs(truth_ca[1] - ca[f]);
      }
      // The authors' IC and CC: the ratios on their own distribution, 1 elsewhere (their code).
      double ic_est[kMaxPlayers];
      for (int i = 0; i < n; ++i) ic_est[i] = 1.0;
      if (d == 2) {
        for (int i = 0; i < n; ++i) {
          double m = INFINITY;
          for (std::int64_t q = 0; q < own_ic.count[i]; ++q) {
            const std::int64_t at = off[i] + own_ic.touched[off[i] + q];
            const double r = authors_ratio(own_ic.lo[at], own_ic.hi[at]);
            m = r < m ? r : m;
          }
          ic_est[i] = m;
        }
      }
      const double cc_est = d == 3 ? authors_ratio(own_played_lo, own_played_hi) : 1.0;
      inference_write_capabilities(cell(d, 0, c), 0, n, t, ic_realised, cc_realised, ic_est, cc_est);
    }
    // The corrected IC (on eps_ne) and CC (on played) from the four samples together.
    double ic_corr[kMaxPlayers];
    for (int i = 0; i < n; ++i) {
      double m = INFINITY;
      for (std::int64_t q = 0; q < pool_cap.count[i]; ++q) {
        const std::int64_t at = off[i] + pool_cap.touched[off[i] + q];
        const double lo = pool_all.lo[at], hi = pool_all.hi[at];
        if (hi > lo) {
          const double r = range_position(pool_cap.lo[at], lo, hi);
          m = r < m ? r : m;
        }
      }
      ic_corr[i] = m < INFINITY ? m : NAN;
    }
    const double cc_corr = corrected_cc(pool_played_lo, pool_eps_lo, pool_ne_lo, pool_star);
    inference_write_capabilities(cell(2, 1, c), 1, n, t, ic_realised, NAN, ic_corr, NAN);
    inference_write_capabilities(cell(3, 1, c), 1, n, t, nullptr, cc_realised, nullptr, cc_corr);
    ++c;
  }
  return inference_ok;
}

}  // namespace detail
}  // namespace dgeval
