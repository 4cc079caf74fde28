// A minimal generator for the inference protocol (spec §6 step 1): games with target IA_i and
// agents' CA, every utility shifted to minimum 0, regenerated until a pure (eps_tol-)NE exists.
// Written here because the general generators with controlled measures were not available; it
// follows spec §7.1 steps 1–7 with agents_first and positive, except for how CA is reached (see
// set_ca below and docs/INFERENCE.md). Everything is drawn from the counter-based RNG, so game g
// depends only on (dims, seed, g).
#include <algorithm>
#include <cmath>

#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/inference.hpp"

namespace dgeval {

namespace {

class Draws {
 public:
  Draws(std::uint64_t seed, std::uint64_t game) : seed_(seed), game_(game) {}
  double uniform() { return detail::philox_uniform(seed_, game_, next_++); }
  double normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(6.283185307179586 * u2);
  }
  /// A standardised (zero-mean, unit L2 norm) random direction in R^N, or 0 when N = 1.
  void standardised(double* v, std::int64_t N) {
    double mean = 0.0;
    for (std::int64_t s = 0; s < N; ++s) v[s] = normal(), mean += v[s];
    mean /= static_cast<double>(N);
    double norm = 0.0;
    for (std::int64_t s = 0; s < N; ++s) v[s] -= mean, norm += v[s] * v[s];
    norm = std::sqrt(norm);
    for (std::int64_t s = 0; s < N; ++s) v[s] = norm > 0.0 ? v[s] / norm : 0.0;
  }

 private:
  std::uint64_t seed_, game_, next_ = 0;
};

/// CA (EPIC, spec §4.2) of centred vectors from their Gram matrix G (n×n, row-major).
double ca_from_gram(const std::vector<double>& G, int n) {
  double M = 0.0, total = 0.0;
  std::vector<double> m(static_cast<std::size_t>(n)), row(static_cast<std::size_t>(n), 0.0);
  for (int i = 0; i < n; ++i) {
    m[static_cast<std::size_t>(i)] = std::sqrt(std::max(0.0, G[static_cast<std::size_t>(i * n + i)]));
    M += m[static_cast<std::size_t>(i)];
    for (int j = 0; j < n; ++j) row[static_cast<std::size_t>(i)] += G[static_cast<std::size_t>(i * n + j)];
    total += row[static_cast<std::size_t>(i)];
  }
  if (!(M > 0.0)) return 1.0;
  double num = 0.0;
  for (int i = 0; i < n; ++i) {
    const double mi = m[static_cast<std::size_t>(i)];
    if (!(mi > 0.0)) continue;
    const double d2 = 1.0 - 2.0 * row[static_cast<std::size_t>(i)] / (mi * M) + total / (M * M);
    num += mi * std::sqrt(std::max(0.0, d2));
  }
  return 1.0 - num / M;
}

/// Sets the agents' CA to `target`. In: standardised ν_i and magnitudes m_i. Out: centred u_i.
/// Family u_i(t) = (1 − t)·z_i + t·m_i·e with z_i = m_i(ν_i − μ) (Σ z_i = 0: constant-sum, CA = 0)
/// and e = μ/‖μ‖ (common interest, CA = 1); CA(t) is continuous, and bisection on its Gram
/// matrix (quadratic in t) finds t with CA(t) = target to 1e-12 in O(n²) per step.
void set_ca(const std::vector<double>& nu, const std::vector<double>& mag, double target, int n, std::int64_t N,
            std::vector<double>& u) {
  double M = 0.0;
  for (double m : mag) M += m;
  std::vector<double> mu(static_cast<std::size_t>(N), 0.0);
  for (int i = 0; i < n; ++i) {
    for (std::int64_t s = 0; s < N; ++s) mu[static_cast<std::size_t>(s)] += mag[static_cast<std::size_t>(i)] * nu[static_cast<std::size_t>(i * N + s)] / M;
  }
  double mu_norm = 0.0;
  for (double x : mu) mu_norm += x * x;
  mu_norm = std::sqrt(mu_norm);
  std::vector<double> e(static_cast<std::size_t>(N));
  for (std::int64_t s = 0; s < N; ++s) {
    e[static_cast<std::size_t>(s)] = mu_norm > 0.0 ? mu[static_cast<std::size_t>(s)] / mu_norm : nu[static_cast<std::size_t>(s)];
  }
  std::vector<double> z(static_cast<std::size_t>(n * N));
  for (int i = 0; i < n; ++i) {
    const double m = mag[static_cast<std::size_t>(i)];
    for (std::int64_t s = 0; s < N; ++s) {
      z[static_cast<std::size_t>(i * N + s)] = m * (nu[static_cast<std::size_t>(i * N + s)] - mu[static_cast<std::size_t>(s)]);
    }
  }
  // Gram pieces: Gz_ij = <z_i, z_j>, Gzc_ij = <z_i, c_j> = m_j <z_i, e>, Gc_ij = m_i m_j.
  std::vector<double> gz(static_cast<std::size_t>(n * n), 0.0), ze(static_cast<std::size_t>(n), 0.0);
  for (int i = 0; i < n; ++i) {
    for (std::int64_t s = 0; s < N; ++s) ze[static_cast<std::size_t>(i)] += z[static_cast<std::size_t>(i * N + s)] * e[static_cast<std::size_t>(s)];
    for (int j = 0; j <= i; ++j) {
      double acc = 0.0;
      for (std::int64_t s = 0; s < N; ++s) acc += z[static_cast<std::size_t>(i * N + s)] * z[static_cast<std::size_t>(j * N + s)];
      gz[static_cast<std::size_t>(i * n + j)] = gz[static_cast<std::size_t>(j * n + i)] = acc;
    }
  }
  std::vector<double> G(static_cast<std::size_t>(n * n));
  auto ca_at = [&](double t) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        const double mi = mag[static_cast<std::size_t>(i)], mj = mag[static_cast<std::size_t>(j)];
        const double cross = mj * ze[static_cast<std::size_t>(i)] + mi * ze[static_cast<std::size_t>(j)];
        G[static_cast<std::size_t>(i * n + j)] =
            (1 - t) * (1 - t) * gz[static_cast<std::size_t>(i * n + j)] + t * (1 - t) * cross + t * t * mi * mj;
      }
    }
    return ca_from_gram(G, n);
  };
  double lo = 0.0, hi = 1.0;
  if (target >= 1.0) {
    lo = 1.0;
  } else if (target > 0.0) {
    for (int it = 0; it < 100 && hi - lo > 1e-15; ++it) {
      const double mid = 0.5 * (lo + hi);
      (ca_at(mid) < target ? lo : hi) = mid;
    }
    lo = std::fabs(ca_at(lo) - target) <= std::fabs(ca_at(hi) - target) ? lo : hi;
  }
  const double t = lo;
  u.assign(static_cast<std::size_t>(n * N), 0.0);
  for (int i = 0; i < n; ++i) {
    for (std::int64_t s = 0; s < N; ++s) {
      u[static_cast<std::size_t>(i * N + s)] =
          (1 - t) * z[static_cast<std::size_t>(i * N + s)] + t * mag[static_cast<std::size_t>(i)] * e[static_cast<std::size_t>(s)];
    }
  }
}

/// Shifts a vector so that its minimum is 0 (positive=True: c_i = −m_i·min ν_i).
void shift_to_zero_min(double* v, std::int64_t N) {
  double lo = INFINITY;
  for (std::int64_t s = 0; s < N; ++s) lo = std::min(lo, v[s]);
  for (std::int64_t s = 0; s < N; ++s) v[s] -= lo;
}

/// True if some outcome is a pure ε-NE at level `level` for every player (spec §1.4).
bool has_pure_eps_ne(const Dims& dims, const double* u, double level) {
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  std::vector<std::uint8_t> ok(static_cast<std::size_t>(N), 1);
  for (int i = 0; i < n; ++i) {
    const std::int64_t k = dims.actions(i), st = dims.stride(i);
    const double* ui = u + i * N;
    for (std::int64_t outer = 0; outer < N / (st * k); ++outer) {
      for (std::int64_t inner = 0; inner < st; ++inner) {
        const std::int64_t base = outer * st * k + inner;
        double lo = INFINITY, hi = -INFINITY;
        for (std::int64_t a = 0; a < k; ++a) lo = std::min(lo, ui[base + a * st]), hi = std::max(hi, ui[base + a * st]);
        for (std::int64_t a = 0; a < k; ++a) {
          const std::int64_t s = base + a * st;
          if (!detail::meets_ic(ui[s], lo, hi, level, 1e-10)) ok[static_cast<std::size_t>(s)] = 0;
        }
      }
    }
  }
  return std::find(ok.begin(), ok.end(), 1) != ok.end();
}

}  // namespace

InferenceGame generate_inference_game(const Dims& dims, std::uint64_t seed, std::uint64_t game) {
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  Draws draw(detail::derive_seed(seed, 1), game);
  InferenceGame out;
  // Targets in the order of the authors' run_one: ic, ia, cc, ca.
  out.ic.resize(static_cast<std::size_t>(n));
  out.ia.resize(static_cast<std::size_t>(n));
  for (double& x : out.ic) x = draw.uniform();
  for (double& x : out.ia) x = draw.uniform();
  out.cc = draw.uniform();
  out.ca = draw.uniform();

  out.game = Batch(dims, 1);
  std::vector<double> nu(static_cast<std::size_t>(n * N)), mag(static_cast<std::size_t>(n)), u, r(static_cast<std::size_t>(N));
  std::int64_t failures = 0;
  for (;;) {
    ++out.attempts;
    // The CA-controlled set (the agents, agents_first): directions, magnitudes ~ U(0.5, 1.5).
    for (int i = 0; i < n; ++i) draw.standardised(nu.data() + i * N, N);
    for (double& m : mag) m = 0.5 + draw.uniform();
    set_ca(nu, mag, out.ca, n, N, u);
    double* agents = out.game.agents.data();
    double* principals = out.game.principals.data();
    std::copy(u.begin(), u.end(), agents);
    // The IA-derived set (the principals): rotate each agent's direction by θ = 2·asin(1 − IA)
    // towards a fresh random direction; the EPIC distance is then sin(θ/2) = 1 − IA.
    for (int i = 0; i < n; ++i) {
      double* a = agents + i * N;
      double norm = 0.0;
      for (std::int64_t s = 0; s < N; ++s) norm += a[s] * a[s];
      norm = std::sqrt(norm);
      draw.standardised(r.data(), N);
      double dot = 0.0;
      for (std::int64_t s = 0; s < N; ++s) dot += r[static_cast<std::size_t>(s)] * (norm > 0 ? a[s] / norm : 0.0);
      double e2 = 0.0;
      for (std::int64_t s = 0; s < N; ++s) {
        r[static_cast<std::size_t>(s)] -= dot * (norm > 0 ? a[s] / norm : 0.0);
        e2 += r[static_cast<std::size_t>(s)] * r[static_cast<std::size_t>(s)];
      }
      e2 = std::sqrt(e2);
      const double theta = 2.0 * std::asin(1.0 - out.ia[static_cast<std::size_t>(i)]);
      const double m_hat = 0.5 + draw.uniform();
      double* p = principals + i * N;
      for (std::int64_t s = 0; s < N; ++s) {
        const double v = norm > 0 ? a[s] / norm : 0.0;
        const double w = e2 > 0 ? r[static_cast<std::size_t>(s)] / e2 : 0.0;
        p[s] = m_hat * (std::cos(theta) * v + std::sin(theta) * w);
      }
    }
    // positive=True: every utility's minimum is 0.
    for (int i = 0; i < n; ++i) {
      shift_to_zero_min(agents + i * N, N);
      shift_to_zero_min(principals + i * N, N);
    }
    if (has_pure_eps_ne(dims, agents, 1.0 - out.eps_tol)) break;
    if (++failures == 10) {
      failures = 0;
      out.eps_tol += 0.01;
      if (out.eps_tol > 1.0 - out.ic[0]) {
        for (double& x : out.ic) x = std::max(0.0, 1.0 - out.eps_tol);
      }
    }
  }
  return out;
}

}  // namespace dgeval
