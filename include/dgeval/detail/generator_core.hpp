// The per-game generator of dgeval::generate_games, written once for the host and the device.
//
// A game is a pure function of (seed, game index, GeneratorParams): every random number comes
// from the counter-based Philox stream of detail/random.hpp, addressed by (attempt, purpose,
// element), and every floating-point operation is one that g++ and nvcc round identically:
// +, −, ×, ÷ and sqrt (IEEE, correctly rounded), products that feed a sum through mul_rn (no
// FMA contraction on the device), no libm transcendentals (log and sin/cos for Box–Muller are
// polynomials here), and sums over outcomes in sequential order s = 0, 1, ..., N−1. So one
// thread that runs generate_game() on the device writes the same bits as the CPU.
//
// Construction (docs/MATH.md §7.1, with exact targets; docs/EXPERIMENTS.md explains each step):
//   1. The "base" side (principals, or agents when CA is controlled on the agents) gets
//      magnitudes m_i ~ U(magnitude range) and standardised directions ν_i (i.i.d. normal or
//      uniform draws, mean removed, L2-normalised: EPIC).
//   2. CA target: a one-dimensional family ν_i(s), s ∈ [−1, 1] (monotone in almost every draw,
//      docs/EXPERIMENTS.md), through the drawn directions (s = 0): s > 0 pulls every ν_i along a
//      straight line towards the weighted mean direction a (s = 1: all equal, CA = 1); s < 0 pulls each ν_i towards
//      z_i, the end point of the flow z_i ← normalise(z_i − μ(z)) (s = −1: Σ m_i z_i = 0, CA = 0, or the least CA the
//      magnitudes allow). A bracketed root search on s hits the target. It runs in the n-dimensional coefficient space
//      of the drawn ν_j (Gram matrix), then is polished on the full vectors so the CA the evaluator recomputes is
//      within 1e-12 of the target.
//   3. The "derived" side: with an IA target, ν'_i = cos θ ν_i + sin θ ρ_i with ρ_i a fresh
//      random direction orthogonal to ν_i and sin(θ/2) = 1 − IA_i (exact EPIC distance, no
//      trigonometry: cos θ = 1 − 2d², sin θ = 2d√(1 − d²)); otherwise independent directions.
//      Its magnitudes are m̂_i = r_i m_i or m_i = m̂_i / r_i for calibration targets r_i.
//   4. Utilities u = m ν + c with c ~ U(offset range), or c = −m min ν (`positive`).
//   5. Pure NE: `reject` regenerates (attempt + 1) until the agents' game has a pure NE;
//      `plant` applies one permutation of the outcomes to all 2n utilities (which changes no
//      measure) that puts an NE at a random outcome, regenerating if none is found; `authors`
//      regenerates and raises eps_tol by 0.01 after every 5 failures (docs/MATH.md §7.1).
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/detail/random.hpp"
#include "dgeval/game.hpp"
#include "dgeval/generator_types.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace detail {

/// Status of generate_game.
enum GenerateStatus : int {
  generate_ok = 0,
  generate_out_of_attempts = 1,  ///< max_attempts draws without meeting the targets / a pure NE
};

/// Stream purposes (bits 39..42 of the Philox block counter); the attempt is bits 43..62.
enum StreamPurpose : std::uint64_t {
  purpose_base_directions = 0,
  purpose_derived_directions = 1,
  purpose_base_magnitudes = 2,
  purpose_derived_magnitudes = 3,
  purpose_base_offsets = 4,
  purpose_derived_offsets = 5,
  purpose_misc = 6,
  purpose_experiment = 7,  ///< not used by generate_game: per-game draws of an experiment
};

/// The bits of a double and back (exact, host and device).
DGEVAL_HD std::uint64_t gen_bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
DGEVAL_HD double gen_from_bits(std::uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

/// Natural logarithm of a positive normal double from +, ×, ÷ only (deterministic; ≤ 1 ulp
/// on (0, 1], checked in the tests against std::log).
DGEVAL_HD double gen_log(double x) {
  const std::uint64_t bits = gen_bits(x);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1022;
  double m = gen_from_bits((bits & 0x000fffffffffffffULL) | 0x3fe0000000000000ULL);  // [0.5, 1)
  if (m < 0.70710678118654752440) {
    m = m * 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0);  // |s| ≤ 0.1716, s² ≤ 0.0295
  const double s2 = mul_rn(s, s);
  double p = 1.0 / 21.0;  // Σ_{k≤10} s^{2k} / (2k + 1); the next term is below 1e-17 relative
  for (int k = 19; k >= 1; k -= 2) p = mul_rn(p, s2) + 1.0 / static_cast<double>(k);
  const double log_m = mul_rn(2.0 * s, p);
  const double de = static_cast<double>(e);
  return mul_rn(de, 6.93147180369123816490e-01) + (mul_rn(de, 1.90821492927058770002e-10) + log_m);
}

/// sin(2πu) and cos(2πu) for u ∈ [0, 1) from +, × only (deterministic; ~1 ulp).
DGEVAL_HD void gen_sincos_2pi(double u, double* sin_out, double* cos_out) {
  const double q = ::floor(u * 4.0 + 0.5);             // quadrant 0..4; u*4 is exact
  const double f = u - q * 0.25;                       // exact, |f| ≤ 1/8
  const double r = mul_rn(f, 6.28318530717958647692);  // |r| ≤ π/4
  const double r2 = mul_rn(r, r);
  // Taylor to r^17 (sin) and r^16 (cos): the next terms are below 1e-17.
  double sp = 1.0 / 355687428096000.0;  // 1/17!
  sp = mul_rn(sp, r2) - 1.0 / 1307674368000.0;
  sp = mul_rn(sp, r2) + 1.0 / 6227020800.0;
  sp = mul_rn(sp, r2) - 1.0 / 39916800.0;
  sp = mul_rn(sp, r2) + 1.0 / 362880.0;
  sp = mul_rn(sp, r2) - 1.0 / 5040.0;
  sp = mul_rn(sp, r2) + 1.0 / 120.0;
  sp = mul_rn(sp, r2) - 1.0 / 6.0;
  const double s = r + mul_rn(mul_rn(r, r2), sp);
  double cp = 1.0 / 20922789888000.0;  // 1/16!
  cp = mul_rn(cp, r2) - 1.0 / 87178291200.0;
  cp = mul_rn(cp, r2) + 1.0 / 479001600.0;
  cp = mul_rn(cp, r2) - 1.0 / 3628800.0;
  cp = mul_rn(cp, r2) + 1.0 / 40320.0;
  cp = mul_rn(cp, r2) - 1.0 / 720.0;
  cp = mul_rn(cp, r2) + 1.0 / 24.0;
  cp = mul_rn(cp, r2) - 0.5;
  const double c = 1.0 + mul_rn(r2, cp);
  switch (static_cast<int>(q) & 3) {
    case 0:
      *sin_out = s, *cos_out = c;
      break;
    case 1:
      *sin_out = c, *cos_out = -s;
      break;
    case 2:
      *sin_out = -s, *cos_out = -c;
      break;
    default:
      *sin_out = -c, *cos_out = s;
      break;
  }
}

/// One game's random numbers: block j of purpose p in attempt a is Philox block
/// (a << 43) | (p << 39) | j of (seed, game). Element e uses block e >> 1.
struct GameStream {
  std::uint64_t seed;
  std::uint64_t game;
  std::uint64_t attempt;

  DGEVAL_HD r123::Philox4x32::ctr_type block(std::uint64_t purpose, std::uint64_t j) const {
    return philox_block(seed, game, (attempt << 43) | (purpose << 39) | j);
  }
  /// Uniform [0, 1): element e of `purpose`.
  DGEVAL_HD double uniform(std::uint64_t purpose, std::uint64_t e) const {
    const r123::Philox4x32::ctr_type r = block(purpose, e >> 1);
    return (e & 1) ? u01_from_words(r[2], r[3]) : u01_from_words(r[0], r[1]);
  }
  /// Standard normal: Box–Muller on the two uniforms of block e >> 1 (cos for even e, sin for odd).
  DGEVAL_HD double normal(std::uint64_t purpose, std::uint64_t e) const {
    const r123::Philox4x32::ctr_type r = block(purpose, e >> 1);
    const double u1 = 1.0 - u01_from_words(r[0], r[1]);  // (0, 1]
    const double u2 = u01_from_words(r[2], r[3]);
    const double rad = ::sqrt(-2.0 * gen_log(u1));
    double s, c;
    gen_sincos_2pi(u2, &s, &c);
    return mul_rn(rad, (e & 1) ? s : c);
  }
  /// Fills x[0..count) with elements [first, first + count) of `purpose` in `dist`.
  DGEVAL_HD void fill(Distribution dist, std::uint64_t purpose, std::uint64_t first, std::int64_t count,
                      double* x) const {
    for (std::int64_t s = 0; s < count; ++s) {
      const std::uint64_t e = first + static_cast<std::uint64_t>(s);
      if ((e & 1) == 0 && s + 1 < count && dist == Distribution::uniform) {
        const r123::Philox4x32::ctr_type r = block(purpose, e >> 1);  // elements e, e + 1
        x[s] = u01_from_words(r[0], r[1]);
        x[s + 1] = u01_from_words(r[2], r[3]);
        ++s;
      } else if (dist == Distribution::uniform) {
        x[s] = uniform(purpose, e);
      } else if ((e & 1) == 0 && s + 1 < count) {
        normal_pair(purpose, e >> 1, x + s, x + s + 1);  // elements e and e + 1 share a block
        ++s;
      } else {
        x[s] = normal(purpose, e);
      }
    }
  }
  /// Both normals of block j: elements 2j (cos) and 2j + 1 (sin).
  DGEVAL_HD void normal_pair(std::uint64_t purpose, std::uint64_t j, double* even, double* odd) const {
    const r123::Philox4x32::ctr_type r = block(purpose, j);
    const double u1 = 1.0 - u01_from_words(r[0], r[1]);
    const double u2 = u01_from_words(r[2], r[3]);
    const double rad = ::sqrt(-2.0 * gen_log(u1));
    double s, c;
    gen_sincos_2pi(u2, &s, &c);
    *even = mul_rn(rad, c);
    *odd = mul_rn(rad, s);
  }
};

/// Σ_s x[s] y[s], sequential.
DGEVAL_HD double gen_dot(const double* x, const double* y, std::int64_t N) {
  double acc = 0.0;
  for (std::int64_t s = 0; s < N; ++s) acc += mul_rn(x[s], y[s]);
  return acc;
}

/// Removes the mean and scales to unit L2 norm (EPIC standardisation). Returns false if the
/// vector is constant (probability 0 for N ≥ 2 continuous draws).
DGEVAL_HD bool gen_standardise(double* x, std::int64_t N) {
  double sum = 0.0;
  for (std::int64_t s = 0; s < N; ++s) sum += x[s];
  const double mean = sum / static_cast<double>(N);
  for (std::int64_t s = 0; s < N; ++s) x[s] = x[s] - mean;
  const double norm = ::sqrt(gen_dot(x, x, N));
  if (!(norm > 0.0)) return false;
  for (std::int64_t s = 0; s < N; ++s) x[s] = x[s] / norm;
  return true;
}

/// Magnitude under `scale` of a direction x standardised by gen_standardise (mean 0, so its
/// centred sum of squares is its squared L2 norm, 1): 1 (EPIC), its half-range (MAX) or range.
DGEVAL_HD double gen_direction_scale(const double* x, std::int64_t N, Standardisation scale) {
  double lo = x[0], hi = x[0];
  for (std::int64_t s = 1; s < N; ++s) lo = x[s] < lo ? x[s] : lo, hi = x[s] > hi ? x[s] : hi;
  return magnitude_of(scale, 1.0, lo, hi);
}

// ---------------------------------------------------------------------------------------------
// Collective alignment in the coefficient space of n base directions ν_j (Gram matrix G).
// A vector Σ_j y_j ν_j is the row y; ⟨y, y'⟩ = y G y'ᵀ. Matrices are n×n, row-major, stride n.

DGEVAL_HD double coef_inner(const double* G, int n, const double* y, const double* z) {
  double acc = 0.0;
  for (int j = 0; j < n; ++j) {
    double gz = 0.0;
    for (int k = 0; k < n; ++k) gz += mul_rn(G[j * n + k], z[k]);
    acc += mul_rn(y[j], gz);
  }
  return acc;
}

/// Scales row y to unit norm; returns false if it is (numerically) zero.
DGEVAL_HD bool coef_normalise(const double* G, int n, double* y) {
  const double q = coef_inner(G, n, y, y);
  if (!(q > 1e-300)) return false;
  const double norm = ::sqrt(q);
  for (int j = 0; j < n; ++j) y[j] = y[j] / norm;
  return true;
}

/// CA = 1 − Σ p_i ‖y_i − μ‖ of the unit rows Y (docs/MATH.md §4.2), p the normalised weights: the
/// search's model in coefficient space. The CA the generator reports and polishes to is full_ca's,
/// the evaluator's definitions (detail/alignment.hpp) on the full vectors.
/// `work` holds 2n doubles.
DGEVAL_HD double coef_ca(const double* G, int n, const double* p, const double* Y, double* work) {
  double* mu = work;
  double* d = work + n;
  for (int j = 0; j < n; ++j) {
    double acc = 0.0;
    for (int i = 0; i < n; ++i) acc += mul_rn(p[i], Y[i * n + j]);
    mu[j] = acc;
  }
  double spread = 0.0;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) d[j] = Y[i * n + j] - mu[j];
    const double q = coef_inner(G, n, d, d);
    spread += mul_rn(p[i], ::sqrt(q > 0.0 ? q : 0.0));
  }
  return 1.0 - spread;
}

/// Rows of the family member at s ∈ [−1, 1]: normalise((1 − |s|) e_i + |s| end_i), with end the
/// axis row `axis` (s > 0, the same for every i) or the flow end point Z (s < 0). Returns false
/// if a row vanishes (an end point antipodal to its start: probability 0).
DGEVAL_HD bool coef_family(const double* G, int n, const double* axis, const double* Z, double s, double* Y) {
  const double t = s < 0.0 ? -s : s;
  for (int i = 0; i < n; ++i) {
    double* y = Y + i * n;
    for (int j = 0; j < n; ++j) {
      const double end = s > 0.0 ? axis[j] : Z[i * n + j];
      y[j] = mul_rn(1.0 - t, i == j ? 1.0 : 0.0) + mul_rn(t, end);
    }
    if (!coef_normalise(G, n, y)) return false;
  }
  return true;
}

/// The least CA that magnitudes with normalised weights p allow (n ≥ 2, dimension ≥ 2):
/// 0 when the largest weight is at most the sum of the others, else ((2 p_max − 1))².
DGEVAL_HD double least_ca_for_weights(const double* p, int n) {
  double pmax = 0.0;
  for (int i = 0; i < n; ++i) pmax = p[i] > pmax ? p[i] : pmax;
  const double excess = 2.0 * pmax - 1.0;
  return excess > 0.0 ? mul_rn(excess, excess) : 0.0;
}

/// Flow z_i ← normalise(z_i − μ(z)) from Z = I until ‖μ‖² ≤ 1e-22, stops decreasing, or
/// `max_iterations`.
/// It decreases ‖Σ p_i z_i‖ towards its least value (0 when the weights allow).
DGEVAL_HD void coef_flow(const double* G, int n, const double* p, double* Z, double* work, int max_iterations) {
  double* mu = work;
  for (int i = 0; i < n * n; ++i) Z[i] = 0.0;
  for (int i = 0; i < n; ++i) Z[i * n + i] = 1.0;
  double previous = 4.0;
  for (int it = 0; it < max_iterations; ++it) {
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int i = 0; i < n; ++i) acc += mul_rn(p[i], Z[i * n + j]);
      mu[j] = acc;
    }
    const double q = coef_inner(G, n, mu, mu);
    if (q <= 1e-22 || !(q < previous * (1.0 - 1e-13))) return;  // converged, or no more progress
    previous = q;
    for (int i = 0; i < n; ++i) {
      double* z = Z + i * n;
      for (int j = 0; j < n; ++j) z[j] = z[j] - mu[j];
      if (!coef_normalise(G, n, z)) return;  // z_i = μ: a collinear critical point; stop here
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Full vectors.

/// CA of n unit vectors V ([n][N]) with weights p: the evaluator's definitions (detail/alignment.hpp)
/// with explicit differences.
DGEVAL_HD double full_ca(const double* V, int n, std::int64_t N, const double* p) {
  double dist2[kMaxPlayers];
  for (int i = 0; i < n; ++i) dist2[i] = 0.0;
  const double inverse_weight = inverse_magnitude_of(ca_weight<double>(n, p));
  for (std::int64_t s = 0; s < N; ++s) {
    const double mu = ca_mean<double>(
        n, p, [&](int i) { return V[i * N + s]; }, inverse_weight);
    for (int i = 0; i < n; ++i) {
      const double d = V[i * N + s] - mu;
      dist2[i] += mul_rn(d, d);
    }
  }
  return collective_alignment<double>(n, p, [&](int i) { return ::sqrt(dist2[i]); });
}

/// out_i = normalise(Σ_j Y_ij V_j) for every i ([n][N] each). Returns false on a zero row.
DGEVAL_HD bool materialise(const double* V, const double* Y, int n, std::int64_t N, double* out) {
  for (int i = 0; i < n; ++i) {
    double* o = out + i * N;
    for (std::int64_t s = 0; s < N; ++s) {
      double acc = 0.0;
      for (int j = 0; j < n; ++j) acc += mul_rn(Y[i * n + j], V[j * N + s]);
      o[s] = acc;
    }
    if (!gen_standardise(o, N)) return false;
  }
  return true;
}

/// Scratch a generator needs for one game, in doubles; see GeneratorScratch.
DGEVAL_HD std::int64_t generator_scratch_doubles(const GeneratorParams& p) {
  const std::int64_t n = p.players, N = p.outcomes;
  std::int64_t d = n * N + N + 6 * n * n + 4 * n;            // vectors, work, small matrices
  if (p.pure_ne == PureNe::plant) d += 2 * N + (N + 3) / 4;  // perm + inverse (int64), marks (2 bytes each)
  return d;
}

/// Views into one game's scratch (`generator_scratch_doubles` doubles).
struct GeneratorScratch {
  double* vectors;        ///< [n][N]
  double* work;           ///< [N]
  double* G;              ///< [n][n] Gram matrix
  double* Z;              ///< [n][n] flow end point
  double* Y;              ///< [n][n] family member
  double* Y2;             ///< [n][n]
  double* small;          ///< [2n][n]: weights, axis, ...
  std::int64_t* perm;     ///< [N] (plant)
  std::int64_t* inverse;  ///< [N] (plant)
  std::uint8_t* marks;    ///< [2N] (plant)

  DGEVAL_HD static GeneratorScratch carve(const GeneratorParams& p, double* base) {
    const std::int64_t n = p.players, N = p.outcomes;
    GeneratorScratch s;
    s.vectors = base;
    s.work = s.vectors + n * N;
    s.G = s.work + N;
    s.Z = s.G + n * n;
    s.Y = s.Z + n * n;
    s.Y2 = s.Y + n * n;
    s.small = s.Y2 + n * n;  // 2n·n + 4n doubles
    double* end = s.small + 2 * n * n + 4 * n;
    s.perm = reinterpret_cast<std::int64_t*>(end);
    s.inverse = s.perm + N;
    s.marks = reinterpret_cast<std::uint8_t*>(s.inverse + N);
    return s;
  }
};

/// Tolerance the CA search aims for on the full vectors (the evaluator recomputes CA from the
/// rounded utilities, adding ~1e-15).
constexpr double kCaTolerance = 1e-12;

/// Moves the unit base directions V ([n][N], weights p) to CA = target. On success V holds the
/// result and *achieved its CA. Returns false when the target is out of reach of this draw.
DGEVAL_HD bool adjust_ca(const GeneratorParams& prm, const double* p, double target, double* V, GeneratorScratch& sc,
                         double* achieved, std::int32_t* flags) {
  const int n = prm.players;
  const std::int64_t N = prm.outcomes;
  double* G = sc.G;
  double* axis = sc.small;
  double* work = sc.small + n;  // 2n
  for (int i = 0; i < n; ++i) {
    for (int j = i; j < n; ++j) G[i * n + j] = G[j * n + i] = gen_dot(V + i * N, V + j * N, N);
  }
  // Axis: the weighted mean direction (falls back to ν_1 if the mean vanishes).
  for (int j = 0; j < n; ++j) axis[j] = p[j];
  if (!coef_normalise(G, n, axis)) {
    for (int j = 0; j < n; ++j) axis[j] = j == 0 ? 1.0 : 0.0;
  }
  coef_flow(G, n, p, sc.Z, work, 4000);

  auto ca_at = [&](double s, bool* ok) {
    *ok = coef_family(G, n, axis, sc.Z, s, sc.Y);
    return *ok ? coef_ca(G, n, p, sc.Y, work) : NAN;
  };
  bool ok = true;
  double s_root = 0.0;
  const double quiet = kCaTolerance * 1e-3;  // stop the coefficient search here
  if (target >= 1.0) {
    s_root = 1.0;
  } else {
    const double f0 = ca_at(0.0, &ok) - target;
    if (!ok) return false;
    double lo_s, hi_s, f_lo, f_hi;
    bool search = true;
    if ((f0 < 0.0 ? -f0 : f0) <= quiet) {
      s_root = 0.0, search = false;
    } else if (f0 < 0.0) {
      lo_s = 0.0, f_lo = f0, hi_s = 1.0, f_hi = 1.0 - target;
    } else {
      hi_s = 0.0, f_hi = f0, lo_s = -1.0;
      f_lo = ca_at(-1.0, &ok) - target;
      if (!ok || f_lo > kCaTolerance) return false;  // below the least CA this draw reaches
      if (f_lo >= -quiet) s_root = -1.0, search = false;
    }
    // Illinois (modified regula falsi) on the bracket [lo_s, hi_s], f_lo < 0 < f_hi.
    for (int it = 0, side = 0; search && it < 200; ++it) {
      double s = (mul_rn(lo_s, f_hi) - mul_rn(hi_s, f_lo)) / (f_hi - f_lo);
      if (!(s > lo_s && s < hi_s)) s = 0.5 * (lo_s + hi_s);
      const double f = ca_at(s, &ok) - target;
      if (!ok) return false;
      s_root = s;
      if ((f < 0.0 ? -f : f) <= quiet || !(hi_s - lo_s > 1e-16)) break;
      if (f < 0.0) {
        lo_s = s, f_lo = f;
        if (side == -1) f_hi *= 0.5;
        side = -1;
      } else {
        hi_s = s, f_hi = f;
        if (side == 1) f_lo *= 0.5;
        side = 1;
      }
    }
  }
  // Materialise on the full vectors and polish with Newton steps on s (slope from the
  // coefficient model), so the CA recomputed from the vectors themselves meets the target.
  double s = s_root;
  for (int polish = 0; polish < 8; ++polish) {
    if (!coef_family(G, n, axis, sc.Z, s, sc.Y)) return false;
    if (!materialise(V, sc.Y, n, N, sc.vectors)) return false;
    const double ca = full_ca(sc.vectors, n, N, p);
    const double err = ca - target;
    *achieved = ca;
    if ((err < 0.0 ? -err : err) <= kCaTolerance || s >= 1.0) break;
    *flags |= info_ca_polished;
    const double h = 1e-6;
    const double s1 = s + h <= 1.0 ? s + h : s - h;
    bool ok1 = true, ok2 = true;
    const double c1 = ca_at(s1, &ok1);
    const double c0 = ca_at(s, &ok2);
    if (!ok1 || !ok2 || c1 == c0) break;
    double next = s - mul_rn(err, (s1 - s) / (c1 - c0));
    next = next < -1.0 ? -1.0 : (next > 1.0 ? 1.0 : next);
    if (next == s) break;
    s = next;
  }
  for (std::int64_t e = 0; e < static_cast<std::int64_t>(n) * N; ++e) V[e] = sc.vectors[e];
  return true;
}

/// Rotates the unit direction v (EPIC) to distance d = 1 − IA from it: out = cos θ v + sin θ ρ
/// with ρ the part of the unit direction r orthogonal to v. r is overwritten. Returns false if
/// r is parallel to v (probability 0).
DGEVAL_HD bool rotate_to_ia(const double* v, double* r, std::int64_t N, double ia, double* out) {
  const double d = 1.0 - ia;
  const double cos_minus_one = -2.0 * mul_rn(d, d);
  const double sin_theta = 2.0 * mul_rn(d, ::sqrt(1.0 - mul_rn(d, d)));
  if (sin_theta == 0.0) {  // IA = 1 (out = v) or IA = 0 (out = −v)
    for (std::int64_t s = 0; s < N; ++s) out[s] = v[s] + mul_rn(cos_minus_one, v[s]);
    return true;
  }
  const double proj = gen_dot(r, v, N);
  for (std::int64_t s = 0; s < N; ++s) r[s] = r[s] - mul_rn(proj, v[s]);
  const double norm = ::sqrt(gen_dot(r, r, N));
  if (!(norm > 1e-8)) return false;
  for (std::int64_t s = 0; s < N; ++s) {
    out[s] = v[s] + mul_rn(cos_minus_one, v[s]) + mul_rn(sin_theta, r[s] / norm);
  }
  return true;
}

/// Whether agents' utilities u ([n][N]) have a pure ε-NE (docs/MATH.md §1.4, the evaluator's predicate).
DGEVAL_HD bool has_pure_eps_ne(const double* u, const GeneratorParams& p, double eps) {
  const int n = p.players;
  const std::int64_t N = p.outcomes;
  for (std::int64_t s = 0; s < N; ++s) {
    bool ne = true;
    for (int i = 0; i < n && ne; ++i) {
      const double* ui = u + i * N;
      const std::int64_t k = p.actions[i], stride = p.strides[i];
      const std::int64_t base = s - ((s / stride) % k) * stride;
      double lo = ui[base], hi = ui[base];
      for (std::int64_t a = 1; a < k; ++a) {
        const double y = ui[base + a * stride];
        lo = y < lo ? y : lo;
        hi = y > hi ? y : hi;
      }
      ne = meets_ic(ui[s], lo, hi, 1.0 - eps, p.ne_tolerance);
    }
    if (ne) return true;
  }
  return false;
}

/// Tries to plant with source outcome `source` (see plant_pure_ne); fills sc.marks.
DGEVAL_HD bool assign_deviations(const double* agents, const GeneratorParams& p, std::int64_t source,
                                 GeneratorScratch& sc) {
  const int n = p.players;
  const std::int64_t N = p.outcomes;
  // marks[b]: number of agents (with ≥ 2 actions) that like b no more than the source;
  // marks[N + b]: owner + 1 once b is assigned (the source is owner 255).
  std::uint8_t* useful = sc.marks;
  std::uint8_t* owner = sc.marks + N;
  std::int64_t eligible_count[kMaxPlayers];
  for (int i = 0; i < n; ++i) eligible_count[i] = 0;
  for (std::int64_t b = 0; b < N; ++b) {
    useful[b] = 0;
    owner[b] = 0;
    if (b == source) continue;
    for (int i = 0; i < n; ++i) {
      if (p.actions[i] > 1 && agents[i * N + b] <= agents[i * N + source]) {
        ++useful[b];
        ++eligible_count[i];
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (eligible_count[i] < p.actions[i] - 1) return false;
  }
  owner[source] = 255;
  bool done[kMaxPlayers];
  for (int i = 0; i < n; ++i) done[i] = p.actions[i] < 2;
  for (int round = 0; round < n; ++round) {
    int i = -1;  // the agent with the least slack still to serve
    for (int j = 0; j < n; ++j) {
      if (!done[j] && (i < 0 || eligible_count[j] - p.actions[j] < eligible_count[i] - p.actions[i])) i = j;
    }
    if (i < 0) break;
    done[i] = true;
    std::int64_t need = p.actions[i] - 1;
    for (int level = 1; level <= n && need > 0; ++level) {  // outcomes few others could use first
      for (std::int64_t b = 0; b < N && need > 0; ++b) {
        if (owner[b] == 0 && useful[b] == level && agents[i * N + b] <= agents[i * N + source]) {
          owner[b] = static_cast<std::uint8_t>(i + 1);
          --need;
        }
      }
    }
    if (need > 0) return false;
  }
  return true;
}

/// Plants a pure NE at a random outcome by permuting the outcomes of all 2n utilities at once
/// (a common permutation changes no measure). The source outcome o* (whose values go to the
/// planted cell) is tried among the 8 with the greatest least normalised agent utility; for
/// each agent i, k_i − 1 distinct outcomes it likes no more than o* fill its deviations
/// (greedy, most constrained agent first). Returns false if no candidate works.
DGEVAL_HD bool plant_pure_ne(double* agents, double* principals, const GeneratorParams& p, const GameStream& rng,
                             GeneratorScratch& sc) {
  const int n = p.players;
  const std::int64_t N = p.outcomes;
  std::int64_t cell = static_cast<std::int64_t>(rng.uniform(purpose_misc, 0) * static_cast<double>(N));
  cell = cell < N ? cell : N - 1;
  double lo[kMaxPlayers], hi[kMaxPlayers];
  for (int i = 0; i < n; ++i) {
    const double* u = agents + i * N;
    lo[i] = hi[i] = u[0];
    for (std::int64_t s = 1; s < N; ++s) lo[i] = u[s] < lo[i] ? u[s] : lo[i], hi[i] = u[s] > hi[i] ? u[s] : hi[i];
  }
  constexpr int kCandidates = 8;
  std::int64_t cand[kCandidates];
  double cand_score[kCandidates];
  int count = 0;
  for (std::int64_t s = 0; s < N; ++s) {
    double worst = 1.0;
    for (int i = 0; i < n; ++i) {
      if (p.actions[i] < 2 || hi[i] == lo[i]) continue;
      const double q = (agents[i * N + s] - lo[i]) / (hi[i] - lo[i]);
      worst = q < worst ? q : worst;
    }
    // Insert into the sorted top list (ties keep the earlier outcome first).
    int at = count < kCandidates ? count : kCandidates;
    while (at > 0 && cand_score[at - 1] < worst) --at;
    if (at >= kCandidates) continue;
    for (int k = (count < kCandidates ? count : kCandidates - 1); k > at; --k) {
      cand[k] = cand[k - 1], cand_score[k] = cand_score[k - 1];
    }
    cand[at] = s, cand_score[at] = worst;
    count = count < kCandidates ? count + 1 : kCandidates;
  }
  std::int64_t source = -1;
  for (int k = 0; k < count && source < 0; ++k) {
    if (assign_deviations(agents, p, cand[k], sc)) source = cand[k];
  }
  if (source < 0) return false;
  const std::uint8_t* owner = sc.marks + N;
  // Permutation by swaps: perm[c] = outcome whose values go to cell c.
  for (std::int64_t s = 0; s < N; ++s) sc.perm[s] = sc.inverse[s] = s;
  auto place = [&](std::int64_t c, std::int64_t o) {
    const std::int64_t c2 = sc.inverse[o];
    const std::int64_t o2 = sc.perm[c];
    sc.perm[c] = o, sc.inverse[o] = c;
    sc.perm[c2] = o2, sc.inverse[o2] = c2;
  };
  place(cell, source);
  for (int i = 0; i < n; ++i) {
    const std::int64_t k = p.actions[i], stride = p.strides[i];
    if (k < 2) continue;
    const std::int64_t own = (cell / stride) % k;
    const std::int64_t base = cell - own * stride;
    std::int64_t a = 0;
    for (std::int64_t b = 0; b < N; ++b) {
      if (owner[b] != i + 1) continue;
      if (a == own) ++a;
      place(base + a * stride, b);
      ++a;
    }
  }
  for (int v = 0; v < 2 * n; ++v) {
    double* x = v < n ? agents + v * N : principals + (v - n) * N;
    for (std::int64_t s = 0; s < N; ++s) sc.work[s] = x[sc.perm[s]];
    for (std::int64_t s = 0; s < N; ++s) x[s] = sc.work[s];
  }
  return true;
}

/// Generates game `game` of the stream `seed` into agents and principals ([n][N] each, float64).
/// `scratch` holds generator_scratch_doubles(p) doubles. Pure: the output depends only on
/// (p, seed, game). Returns a GenerateStatus; *info (optional) receives the report.
DGEVAL_HD int generate_game(const GeneratorParams& p, std::uint64_t seed, std::uint64_t game, double* agents,
                            double* principals, double* scratch, GameInfo* info) {
  const int n = p.players;
  const std::int64_t N = p.outcomes;
  GeneratorScratch sc = GeneratorScratch::carve(p, scratch);
  GameInfo local;
  GameInfo& out = info ? *info : local;
  out = GameInfo{};
  double* base = p.base_is_agents ? agents : principals;
  double* derived = p.base_is_agents ? principals : agents;
  int failures = 0;  // draws rejected for lacking a pure (eps_tol-)NE so far
  for (int attempt = 0; attempt < p.max_attempts; ++attempt) {
    const GameStream rng{seed, game, static_cast<std::uint64_t>(attempt)};
    out = GameInfo{};
    out.attempts = attempt + 1;
    out.pure_ne_failures = failures;
    if (p.raw) {
      rng.fill(p.distribution, purpose_base_directions, 0, n * N, base);
      rng.fill(p.distribution, purpose_derived_directions, 0, n * N, derived);
    } else {
      // 1. Base side: directions and magnitudes.
      double m_base[kMaxPlayers], m_derived[kMaxPlayers], weights[kMaxPlayers];
      bool ok = true;
      for (int i = 0; i < n && ok; ++i) {
        rng.fill(p.distribution, purpose_base_directions, static_cast<std::uint64_t>(i) * N, N, base + i * N);
        ok = gen_standardise(base + i * N, N);
      }
      if (!ok) continue;
      const double m_span = p.magnitude_max - p.magnitude_min;
      double total = 0.0;
      for (int i = 0; i < n; ++i) {
        m_base[i] = p.magnitude_min + mul_rn(m_span, rng.uniform(purpose_base_magnitudes, i));
        total += m_base[i];
      }
      for (int i = 0; i < n; ++i) weights[i] = m_base[i] / total;
      // 2. CA target: magnitudes that allow it (redraw up to 16 times, then shrink towards the
      //    mean), then the one-dimensional search.
      if (p.control_ca && p.ca < 1.0) {
        for (int redraw = 1; redraw <= 16 && least_ca_for_weights(weights, n) > 0.5 * p.ca; ++redraw) {
          out.flags |= info_magnitudes_redrawn;
          total = 0.0;
          for (int i = 0; i < n; ++i) {
            m_base[i] = p.magnitude_min + mul_rn(m_span, rng.uniform(purpose_base_magnitudes,
                                                                     static_cast<std::uint64_t>(redraw) * 64 + i));
            total += m_base[i];
          }
          for (int i = 0; i < n; ++i) weights[i] = m_base[i] / total;
        }
        if (least_ca_for_weights(weights, n) > 0.5 * p.ca) {
          // m' = m̄ + κ (m − m̄) with 2 p'_max − 1 = g: least CA g² = CA/4 (or 0, or −0.05 slack).
          out.flags |= info_magnitudes_shrunk;
          double pmax = 0.0;
          for (int i = 0; i < n; ++i) pmax = weights[i] > pmax ? weights[i] : pmax;
          const double mean_w = 1.0 / n;
          const double g = p.ca > 0.0 ? 0.5 * ::sqrt(p.ca) : (n == 2 ? 0.0 : -0.05);
          double kappa = (0.5 * (1.0 + g) - mean_w) / (pmax - mean_w);
          kappa = kappa < 0.0 ? 0.0 : (kappa > 1.0 ? 1.0 : kappa);
          const double mean_m = total / n;
          total = 0.0;
          for (int i = 0; i < n; ++i) {
            m_base[i] = mean_m + mul_rn(kappa, m_base[i] - mean_m);
            total += m_base[i];
          }
          for (int i = 0; i < n; ++i) weights[i] = m_base[i] / total;
        }
        double achieved = NAN;
        if (!adjust_ca(p, weights, p.ca, base, sc, &achieved, &out.flags)) continue;
        if (!(::fabs(achieved - p.ca) <= 1e-10)) continue;
        out.ca_achieved = achieved;
      } else if (p.control_ca) {  // CA = 1: every direction equals the weighted mean direction
        double achieved = NAN;
        if (!adjust_ca(p, weights, 1.0, base, sc, &achieved, &out.flags)) continue;
        out.ca_achieved = achieved;
      }
      // 3. Derived side: IA rotation of the base directions, or independent directions.
      double ia_error = 0.0;
      for (int i = 0; i < n && ok; ++i) {
        double* r = sc.work;
        rng.fill(p.distribution, purpose_derived_directions, static_cast<std::uint64_t>(i) * N, N, r);
        ok = gen_standardise(r, N);
        if (!ok) break;
        if (p.control_ia) {
          ok = rotate_to_ia(base + i * N, r, N, p.ia[i], derived + i * N);
          if (ok) {
            double d2 = 0.0;
            for (std::int64_t s = 0; s < N; ++s) {
              const double diff = derived[i * N + s] - base[i * N + s];
              d2 += mul_rn(diff, diff);
            }
            const double err = ::fabs(1.0 - 0.5 * ::sqrt(d2) - p.ia[i]);
            ia_error = err > ia_error ? err : ia_error;
          }
        } else {
          for (std::int64_t s = 0; s < N; ++s) derived[i * N + s] = r[s];
        }
      }
      if (!ok) continue;
      if (p.control_ia) out.ia_error = ia_error;
      for (int i = 0; i < n; ++i) {
        if (p.control_calibration) {
          // r_i = m̂_i / m_i: agents' magnitude m̂_i / r_i, or principals' r_i m_i.
          m_derived[i] = p.base_is_agents ? mul_rn(p.calibration[i], m_base[i]) : m_base[i] / p.calibration[i];
        } else {
          m_derived[i] = p.magnitude_min + mul_rn(m_span, rng.uniform(purpose_derived_magnitudes, i));
        }
      }
      // 4. Utilities u = m ν / scale(ν) + c.
      const double c_span = p.offset_max - p.offset_min;
      for (int side = 0; side < 2; ++side) {
        double* x = side == 0 ? base : derived;
        const double* m = side == 0 ? m_base : m_derived;
        const std::uint64_t purpose = side == 0 ? purpose_base_offsets : purpose_derived_offsets;
        for (int i = 0; i < n; ++i) {
          double* v = x + i * N;
          const double scale = gen_direction_scale(v, N, p.scale);
          const double mi = m[i] / scale;
          double c;
          if (p.positive) {
            double lo = v[0];
            for (std::int64_t s = 1; s < N; ++s) lo = v[s] < lo ? v[s] : lo;
            c = -mul_rn(mi, lo);
          } else {
            c = p.offset_min + mul_rn(c_span, rng.uniform(purpose, i));
          }
          for (std::int64_t s = 0; s < N; ++s) v[s] = mul_rn(mi, v[s]) + c;
        }
      }
    }
    // 5. Pure NE.
    if (p.pure_ne == PureNe::reject) {
      if (!has_pure_eps_ne(agents, p, 0.0)) {
        ++failures;
        continue;
      }
    } else if (p.pure_ne == PureNe::plant) {
      if (!has_pure_eps_ne(agents, p, 0.0)) {
        if (!plant_pure_ne(agents, principals, p, rng, sc)) {
          ++failures;
          continue;
        }
        out.flags |= info_planted;
      }
    } else if (p.pure_ne == PureNe::authors) {
      const double eps_tol = 0.01 * static_cast<double>(failures / 5);
      if (!has_pure_eps_ne(agents, p, eps_tol)) {
        ++failures;
        continue;
      }
      out.eps_tol = eps_tol;
    }
    return generate_ok;
  }
  return generate_out_of_attempts;
}

}  // namespace detail
}  // namespace dgeval
