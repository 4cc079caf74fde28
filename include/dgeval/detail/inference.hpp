// Per-observation math of the inference estimators (docs/MATH.md §6,
// docs/INFERENCE.md), shared by the CPU implementation (host/inference/*.cpp) and a later CUDA
// one. Only the loops live elsewhere: every rule that decides an estimate is here once.
//
// Observed outcomes are visited one at a time with a weight w_s ≥ 0: 1 for a point estimate
// (each distinct observed outcome counts once, as in the authors' code), the multiplicity of the
// outcome in a bootstrap resample otherwise. An outcome with w_s = 0 is not observed.
// Per outcome the 2n utilities are x[v]: agents' u_0..u_{n-1} then principals' û_0..û_{n-1}.
#pragma once

#include <math.h>

#include <cstdint>

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/detail/random.hpp"
#include "dgeval/game.hpp"

namespace dgeval {
namespace detail {

inline constexpr int kMaxUtilities = 2 * kMaxPlayers;

// ---------------------------------------------------------------------------------------------
// Alignment: EPIC over the observed outcomes (docs/MATH.md §6 step 4, §3.5 last item). Three passes.
// ---------------------------------------------------------------------------------------------

/// Pass 1: weighted count, sums, uncentred sums of squares, min and max of each utility.
struct ObservedMoments {
  double weight;                    ///< Σ w_s
  std::int64_t outcomes;            ///< outcomes with w_s > 0
  double sum[kMaxUtilities];        ///< Σ w_s x_v(s)
  double raw_sumsq[kMaxUtilities];  ///< Σ w_s x_v(s)²: the authors' uncentred magnitude (docs/MATH.md §10.9)
  double lo[kMaxUtilities];
  double hi[kMaxUtilities];
};

DGEVAL_HD void moments_init(ObservedMoments& m, int nv) {
  m.weight = 0.0;
  m.outcomes = 0;
  for (int v = 0; v < nv; ++v) {
    m.sum[v] = 0.0;
    m.raw_sumsq[v] = 0.0;
    m.lo[v] = INFINITY;
    m.hi[v] = -INFINITY;
  }
}

DGEVAL_HD void moments_add(ObservedMoments& m, double w, const double* x, int nv) {
  if (!(w > 0.0)) return;
  m.weight += w;
  ++m.outcomes;
  for (int v = 0; v < nv; ++v) {
    m.sum[v] += w * x[v];
    m.raw_sumsq[v] += w * x[v] * x[v];
    m.lo[v] = ::fmin(m.lo[v], x[v]);
    m.hi[v] = ::fmax(m.hi[v], x[v]);
  }
}

/// EPIC shift over the observed outcomes: the weighted mean, or the value itself when every
/// observed value is equal (so the vector standardises to exactly 0, docs/MATH.md §3.5).
DGEVAL_HD double observed_shift(const ObservedMoments& m, int v) {
  return m.lo[v] == m.hi[v] ? m.lo[v] : m.sum[v] / m.weight;
}

/// Pass 2: weighted centred sums of squares, acc[v] += w (x_v − c_v)².
DGEVAL_HD void centred_add(double* acc, double w, const double* x, const double* shift, int nv) {
  if (!(w > 0.0)) return;
  for (int v = 0; v < nv; ++v) {
    const double d = x[v] - shift[v];
    acc[v] += w * d * d;
  }
}

/// EPIC magnitude over the observed outcomes (0 when every observed value is equal).
DGEVAL_HD double observed_magnitude(const ObservedMoments& m, int v, double centred_sumsq) {
  return magnitude_of(Standardisation::epic, centred_sumsq, m.lo[v], m.hi[v]);
}

/// The authors' CA weight: the L2 norm of the raw, uncentred observed vector (docs/MATH.md §6 step 4).
DGEVAL_HD double observed_raw_norm(const ObservedMoments& m, int v) { return ::sqrt(m.raw_sumsq[v]); }

/// Pass 3 accumulators: Σ w (ν_i − ν̂_i)² for IA, and Σ w (ν_i − μ)² for the agents' CA under the
/// two weightings (corrected: centred magnitudes; authors: raw norms).
struct AlignmentSums {
  double ia[kMaxPlayers];
  double ca_corrected[kMaxPlayers];
  double ca_authors[kMaxPlayers];
};

DGEVAL_HD void alignment_init(AlignmentSums& a, int n) {
  for (int i = 0; i < n; ++i) a.ia[i] = a.ca_corrected[i] = a.ca_authors[i] = 0.0;
}

/// Adds one observed outcome. `shift` and `inverse_magnitude` (inverse_magnitude_of) have 2n
/// entries (agents then principals); `omega_c`, `omega_a` are the agents' CA weights (n entries)
/// and `inverse_total_c`, `inverse_total_a` the inverses of their totals (detail/alignment.hpp).
DGEVAL_HD void alignment_add(AlignmentSums& a, double w, const double* x, const double* shift,
                             const double* inverse_magnitude, const double* omega_c, double inverse_total_c,
                             const double* omega_a, double inverse_total_a, int n) {
  if (!(w > 0.0)) return;
  const auto nu = [&](int v) { return standardised_by_inverse(x[v], shift[v], inverse_magnitude[v]); };
  CaMean<double> corrected, authors;  // ca_mean under both weightings, in one pass
  for (int i = 0; i < n; ++i) {
    const double nu_i = nu(i);
    corrected.add(omega_c[i], nu_i);
    authors.add(omega_a[i], nu_i);
  }
  const double mu_c = corrected.value(inverse_total_c);
  const double mu_a = authors.value(inverse_total_a);
  for (int i = 0; i < n; ++i) {
    const double nu_i = nu(i), nu_hat = nu(n + i);
    const double d = nu_i - nu_hat, dc = nu_i - mu_c, da = nu_i - mu_a;
    a.ia[i] += w * d * d;
    a.ca_corrected[i] += w * dc * dc;
    a.ca_authors[i] += w * da * da;
  }
}

/// IA_i from its pass-3 sum: 1 − ‖ν_i − ν̂_i‖₂ / 2, clamped to [0, 1].
DGEVAL_HD double observed_ia(double ia_sum) { return ia_from_norm(L2Norm::finish(ia_sum), Epic::constants()); }

/// CA = 1 − Σ ω_i ‖ν_i − μ‖ / Σ ω_i from the pass-3 sums (CA := 1 when every ω is 0).
DGEVAL_HD double observed_ca(const double* ca_sums, const double* omega, int n) {
  return collective_alignment<double>(n, omega, [&](int i) { return L2Norm::finish(ca_sums[i]); });
}

/// The three passes over `count` observed outcomes: outcome j has weight weight(j) ≥ 0 and
/// utilities row(j) (2n values). Writes IA_i (the same under both families) and CA under the
/// authors' (ca[0]) and corrected (ca[1]) weights. Returns false, leaving them untouched, when
/// fewer than 2 outcomes have a positive weight.
template <class Weight, class Row>
DGEVAL_HD bool observed_alignment(std::int64_t count, const Weight& weight, const Row& row, int n, double* ia,
                                  double* ca) {
  const int nv = 2 * n;
  ObservedMoments m;
  moments_init(m, nv);
  for (std::int64_t j = 0; j < count; ++j) moments_add(m, weight(j), row(j), nv);
  if (m.outcomes < 2) return false;
  double shift[kMaxUtilities], inv[kMaxUtilities], css[kMaxUtilities];
  for (int v = 0; v < nv; ++v) {
    shift[v] = observed_shift(m, v);
    css[v] = 0.0;
  }
  for (std::int64_t j = 0; j < count; ++j) centred_add(css, weight(j), row(j), shift, nv);
  double omega_c[kMaxPlayers], omega_a[kMaxPlayers];
  for (int v = 0; v < nv; ++v) {
    const double magnitude = observed_magnitude(m, v, css[v]);
    if (v < n) omega_c[v] = magnitude;
    inv[v] = inverse_magnitude_of(magnitude);
  }
  for (int i = 0; i < n; ++i) omega_a[i] = observed_raw_norm(m, i);
  const double inverse_total_c = inverse_magnitude_of(ca_weight<double>(n, omega_c));
  const double inverse_total_a = inverse_magnitude_of(ca_weight<double>(n, omega_a));
  AlignmentSums a;
  alignment_init(a, n);
  for (std::int64_t j = 0; j < count; ++j) {
    alignment_add(a, weight(j), row(j), shift, inv, omega_c, inverse_total_c, omega_a, inverse_total_a, n);
  }
  for (int i = 0; i < n; ++i) ia[i] = observed_ia(a.ia[i]);
  ca[0] = observed_ca(a.ca_authors, omega_a, n);
  ca[1] = observed_ca(a.ca_corrected, omega_c, n);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Capabilities (docs/MATH.md §6 step 4 for the authors' ratios; docs/INFERENCE.md for the corrected).
// ---------------------------------------------------------------------------------------------

/// The authors' ratio min/max of non-negative observed values (IC per context, CC over the
/// played welfare). Equal values give 1, also 0/0 (the code's 0/0 is an order-dependent NaN).
/// The caller refuses negative values.
DGEVAL_HD double authors_ratio(double lo, double hi) { return lo == hi ? 1.0 : lo / hi; }

/// Corrected per-context IC: the position of the worst capability-set utility `u` in the
/// observed range [lo, hi] of the context, (u − lo) / (hi − lo). The caller requires hi > lo.
DGEVAL_HD double range_position(double u, double lo, double hi) { return (u - lo) / (hi - lo); }

/// Corrected CC: the docs/MATH.md §4.4 level (w(σ) − w_ε)/(w* − w_0) of the worst observed played
/// welfare, with w_ε, w_0 and w* replaced by the worst observed ε-NE welfare, the worst observed
/// NE welfare and the best observed welfare. NaN when w* ≤ w_0 (no observed span).
DGEVAL_HD double corrected_cc(double played_min, double w_eps, double w_zero, double w_star) {
  const double span = w_star - w_zero;
  return span > 0.0 ? (played_min - w_eps) / span : NAN;
}

// ---------------------------------------------------------------------------------------------
// Random draws (counter-based, detail/random.hpp).
// ---------------------------------------------------------------------------------------------

/// Index in [0, count) from the index-th uniform of stream `stream` under `seed`.
DGEVAL_HD std::int64_t uniform_index(std::uint64_t seed, std::uint64_t stream, std::uint64_t index,
                                     std::int64_t count) {
  const double u = philox_uniform(seed, stream, index);
  std::int64_t k = static_cast<std::int64_t>(u * static_cast<double>(count));
  return k < count ? k : count - 1;
}

/// A standard normal from uniforms 2·index and 2·index + 1 of the stream (Box–Muller).
DGEVAL_HD double philox_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const double u1 = philox_uniform(seed, stream, 2 * index);
  const double u2 = philox_uniform(seed, stream, 2 * index + 1);
  return ::sqrt(-2.0 * ::log1p(-u1)) * ::cos(6.283185307179586 * u2);
}

/// A seed for one purpose derived from a user seed (splitmix64 finaliser), so the streams of
/// generation, sampling and bootstrap never overlap.
DGEVAL_HD std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t purpose) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (purpose + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace detail
}  // namespace dgeval
