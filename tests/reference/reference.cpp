// The plain reference (reference.hpp): one game at a time, every quantity in its own loop over the
// outcomes, in the order docs/MEASURES.md lists the columns.
#include "reference/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dgeval {
namespace reference {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// One game's utilities: vector v < n is agent v, v ≥ n principal v − n.
struct Game {
  const Dims& dims;
  int n;
  std::int64_t N;
  const double* agents;
  const double* principals;
  double at(int v, std::int64_t s) const { return v < n ? agents[v * N + s] : principals[(v - n) * N + s]; }
};

/// Welfare of one side at outcome s (docs/MATH.md §2): players summed in order, then 1/n or 1.
double welfare(const Game& G, bool agents, std::int64_t s, Welfare w) {
  double sum = 0.0;
  for (int i = 0; i < G.n; ++i) sum += G.at(agents ? i : G.n + i, s);
  return w == Welfare::average ? sum / G.n : sum;
}

/// The ε-Nash threshold of docs/MATH.md §1.4 / MEASURES.md "Capabilities" for a fiber [lo, hi].
double threshold(double lo, double hi, double ic) {
  if (ic >= 1.0) return hi;
  if (ic <= 0.0) return lo;
  const double eps = 1.0 - ic;
  const double span = hi - lo;
  if (std::isfinite(span)) return std::fma(-eps, span, hi);
  return 2.0 * std::fma(-eps, 0.5 * hi - 0.5 * lo, 0.5 * hi);  // halved payoffs: finite
}

/// The norm of a standardisation applied to the difference of two standardised vectors.
double norm_of_difference(Standardisation st, const std::vector<double>& a, const std::vector<double>& b) {
  if (st == Standardisation::epic) {
    double squares = 0.0;
    for (std::size_t s = 0; s < a.size(); ++s) squares += (a[s] - b[s]) * (a[s] - b[s]);
    return std::sqrt(squares);
  }
  double largest = 0.0;
  for (std::size_t s = 0; s < a.size(); ++s) largest = std::max(largest, std::fabs(a[s] - b[s]));
  return largest;
}

void evaluate_game(const Batch& batch, std::int64_t g, const Options& o, Results& r) {
  const Dims& dims = batch.dims;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  const Game G{dims, n, N, batch.agents.data() + g * n * N, batch.principals.data() + g * n * N};
  const Constants k = constants_of(o.standardisation);
  const double f = o.welfare == Welfare::average ? 1.0 / n : 1.0;
  auto put = [&](std::vector<double>& column, int i, double v) { column[static_cast<std::size_t>(g * n + i)] = v; };
  auto set = [&](auto& column, auto v) { column[static_cast<std::size_t>(g)] = v; };
  std::int64_t flags = 0;

  // Standardisation (MATH.md §3.3, §3.5): shift, magnitude, standardised vector, per utility.
  std::vector<double> lo(2 * n), hi(2 * n), shift(2 * n), mag(2 * n);
  std::vector<std::vector<double>> nu(2 * n, std::vector<double>(static_cast<std::size_t>(N)));
  for (int v = 0; v < 2 * n; ++v) {
    double sum = 0.0;
    lo[v] = kInf, hi[v] = -kInf;
    for (std::int64_t s = 0; s < N; ++s) {
      sum += G.at(v, s);
      lo[v] = std::min(lo[v], G.at(v, s));
      hi[v] = std::max(hi[v], G.at(v, s));
    }
    const double mean = sum / N;
    if (lo[v] == hi[v]) {
      shift[v] = lo[v], mag[v] = 0.0;  // a constant utility: c = its value, m = 0, ν = 0
    } else if (o.standardisation == Standardisation::epic) {
      shift[v] = mean;
      double squares = 0.0;
      for (std::int64_t s = 0; s < N; ++s) squares += (G.at(v, s) - mean) * (G.at(v, s) - mean);
      mag[v] = std::sqrt(squares);
    } else {
      shift[v] = lo[v] / 2 + hi[v] / 2;  // midrange
      mag[v] = o.standardisation == Standardisation::max ? (hi[v] - lo[v]) / 2 : hi[v] - lo[v];
    }
    if (mag[v] == 0.0) flags |= flag_zero_magnitude;
    for (std::int64_t s = 0; s < N; ++s) nu[v][s] = mag[v] > 0.0 ? (G.at(v, s) - shift[v]) / mag[v] : 0.0;
  }
  for (int i = 0; i < n; ++i) {
    put(r.offset_agents, i, shift[i]);
    put(r.magnitude_agents, i, mag[i]);
    put(r.offset_principals, i, shift[n + i]);
    put(r.magnitude_principals, i, mag[n + i]);
  }

  // IA (MATH.md §4.1), clamped to [0, 1].
  std::vector<double> ia(n);
  for (int i = 0; i < n; ++i) {
    ia[i] = std::clamp(1.0 - norm_of_difference(o.standardisation, nu[i], nu[n + i]) / k.z, 0.0, 1.0);
    put(r.ia, i, ia[i]);
  }
  // CA (MATH.md §4.2): 1 − Σ m_i ‖ν_i − μ‖ / Σ m_i, μ the m-weighted mean; 1 when Σ m_i = 0.
  auto ca = [&](int first) {
    double weight = 0.0;
    for (int i = 0; i < n; ++i) weight += mag[first + i];
    if (weight == 0.0) return 1.0;
    std::vector<double> mu(static_cast<std::size_t>(N), 0.0);
    for (std::int64_t s = 0; s < N; ++s) {
      for (int i = 0; i < n; ++i) mu[s] += mag[first + i] * nu[first + i][s];
      mu[s] /= weight;
    }
    double distances = 0.0;
    for (int i = 0; i < n; ++i) distances += mag[first + i] * norm_of_difference(o.standardisation, nu[first + i], mu);
    return 1.0 - distances / weight;
  };
  const double ca_agents = ca(0), ca_principals = ca(n);
  set(r.ca_agents, ca_agents);
  set(r.ca_principals, ca_principals);
  const double kSlack = 1e-12;
  if (ca_agents < -kSlack || ca_agents > 1 + kSlack || ca_principals < -kSlack || ca_principals > 1 + kSlack)
    flags |= flag_ca_out_of_range;
  // The distance matrix: d(a, b) = ‖ν_a − ν_b‖ / z, agents first.
  const int nv = 2 * n;
  for (int a = 0; a < nv; ++a) {
    for (int b = 0; b < nv; ++b) {
      r.distance_matrix[static_cast<std::size_t>((g * nv + a) * nv + b)] =
          a == b ? 0.0 : norm_of_difference(o.standardisation, nu[a], nu[b]) / k.z;
    }
  }

  // Welfare (MATH.md §2): w*, w_min, ŵ*, ŵ_min with their first outcome in C order; utopia points.
  std::vector<double> w(static_cast<std::size_t>(N)), wh(static_cast<std::size_t>(N));
  for (std::int64_t s = 0; s < N; ++s) w[s] = welfare(G, true, s, o.welfare), wh[s] = welfare(G, false, s, o.welfare);
  std::int64_t s_hat_star = 0;
  double w_star = -kInf, w_min = kInf, wh_star = -kInf, wh_min = kInf;
  for (std::int64_t s = 0; s < N; ++s) {
    w_star = std::max(w_star, w[s]);
    w_min = std::min(w_min, w[s]);
    if (wh[s] > wh_star) wh_star = wh[s], s_hat_star = s;  // the first maximiser
    wh_min = std::min(wh_min, wh[s]);
  }
  double sum_hi = 0.0, sum_lo = 0.0, sum_hi_hat = 0.0, sum_lo_hat = 0.0;
  for (int i = 0; i < n; ++i) sum_hi += hi[i], sum_lo += lo[i], sum_hi_hat += hi[n + i], sum_lo_hat += lo[n + i];
  const double w_utopia = f == 1.0 ? sum_hi : sum_hi / n, w_dystopia = f == 1.0 ? sum_lo : sum_lo / n;
  const double wh_utopia = f == 1.0 ? sum_hi_hat : sum_hi_hat / n;
  const double wh_dystopia = f == 1.0 ? sum_lo_hat : sum_lo_hat / n;
  set(r.welfare_agents_max, w_star);
  set(r.welfare_agents_min, w_min);
  set(r.welfare_principals_max, wh_star);
  set(r.welfare_principals_min, wh_min);
  set(r.welfare_agents_utopia, w_utopia);
  set(r.welfare_agents_dystopia, w_dystopia);
  set(r.welfare_principals_utopia, wh_utopia);
  set(r.welfare_principals_dystopia, wh_dystopia);
  set(r.ideal_gap, wh_utopia - wh_star);

  // Equilibria (MATH.md §1.4): s is in E_0 (E(IC)) when every player's u_i(s) + tol reaches the
  // threshold of its fiber, the utilities of i's deviations from s.
  std::vector<bool> in_ne(static_cast<std::size_t>(N)), in_eps(static_cast<std::size_t>(N));
  for (std::int64_t s = 0; s < N; ++s) {
    bool ne = true, eps = true;
    for (int i = 0; i < n; ++i) {
      const std::int64_t stride = dims.stride(i), actions = dims.actions(i);
      const std::int64_t first = s - (s / stride) % actions * stride;
      double fiber_lo = kInf, fiber_hi = -kInf;
      for (std::int64_t a = 0; a < actions; ++a) {
        fiber_lo = std::min(fiber_lo, G.at(i, first + a * stride));
        fiber_hi = std::max(fiber_hi, G.at(i, first + a * stride));
      }
      const double u = G.at(i, s);
      ne = ne && u + o.ne_tolerance >= threshold(fiber_lo, fiber_hi, 1.0);
      eps = eps && u + o.ne_tolerance >= threshold(fiber_lo, fiber_hi, o.ic_level(i));
    }
    in_ne[s] = ne, in_eps[s] = eps;
  }
  std::int64_t ne_count = 0, eps_count = 0, worst_ne = -1, best_ne = -1, worst_eps = -1;
  r.pure_ne[static_cast<std::size_t>(g)].clear();
  for (std::int64_t s = 0; s < N; ++s) {
    if (in_ne[s]) {
      ++ne_count;
      r.pure_ne[static_cast<std::size_t>(g)].push_back(s);
      if (worst_ne < 0 || w[s] < w[worst_ne]) worst_ne = s;  // first in C order on ties
      if (best_ne < 0 || w[s] > w[best_ne]) best_ne = s;
    }
    if (in_eps[s]) {
      ++eps_count;
      if (worst_eps < 0 || w[s] < w[worst_eps]) worst_eps = s;
    }
  }
  const double w_zero = worst_ne >= 0 ? w[worst_ne] : kNaN;
  const double w_eps = worst_eps >= 0 ? w[worst_eps] : kNaN;
  set(r.pure_ne_count, ne_count);
  set(r.eps_ne_count, eps_count);
  set(r.worst_ne_agents_welfare, w_zero);
  set(r.worst_eps_ne_agents_welfare, w_eps);
  if (ne_count == 0) flags |= flag_no_pure_ne;
  if (eps_count == 0) flags |= flag_no_eps_ne;

  // The agents' strategy σ (MEASURES.md "Strategies") as weights over the outcomes; empty: undefined.
  std::vector<double> sigma;
  auto uniform_over = [&](const std::vector<bool>& set_of) {
    std::int64_t count = 0;
    for (std::int64_t s = 0; s < N; ++s) count += set_of[s] ? 1 : 0;
    if (count == 0) return;
    sigma.assign(static_cast<std::size_t>(N), 0.0);
    for (std::int64_t s = 0; s < N; ++s) sigma[s] = set_of[s] ? 1.0 / count : 0.0;
  };
  auto at_outcome = [&](std::int64_t outcome) {
    sigma.assign(static_cast<std::size_t>(N), 0.0);
    sigma[outcome] = 1.0;
  };
  const Strategy& st = o.strategy;
  switch (st.kind) {
    case StrategyKind::worst_ne:
      if (worst_ne >= 0) at_outcome(worst_ne);
      break;
    case StrategyKind::best_ne:
      if (best_ne >= 0) at_outcome(best_ne);
      break;
    case StrategyKind::uniform_ne:
      uniform_over(in_ne);
      break;
    case StrategyKind::uniform_eps_ne:
      uniform_over(in_eps);
      break;
    case StrategyKind::played: {
      if (ne_count == 0 || eps_count == 0) break;
      // The window of MATH.md §4.4 (code) or §11.3 (natural), its slack, and its fallback.
      double window_lo, window_hi;
      if (o.cc_window == CcWindow::code) {
        const double product = o.cc * (w_star - w_zero);
        window_lo = w_eps + product;
        window_hi = w_eps + (w_star - w_zero);
      } else {
        const double product = o.cc * (w_star - w_eps);
        window_lo = w_eps + product;
        window_hi = w_star;
      }
      std::vector<bool> played(static_cast<std::size_t>(N));
      bool any = false;
      for (std::int64_t s = 0; s < N; ++s) {
        played[s] = window_lo - o.played_tolerance < w[s] && w[s] < window_hi + o.played_tolerance;
        any = any || played[s];
      }
      if (any) {
        uniform_over(played);
      } else {
        flags |= flag_played_fallback;
        const double mid = (window_lo + window_hi) / 2;
        std::int64_t closest = 0;
        for (std::int64_t s = 1; s < N; ++s) {
          if (std::fabs(w[s] - mid) < std::fabs(w[closest] - mid)) closest = s;
        }
        at_outcome(closest);
      }
      break;
    }
    case StrategyKind::pure: {
      std::int64_t outcome = 0;
      for (int i = 0; i < n; ++i)
        outcome += st.actions[static_cast<std::size_t>((st.per_game ? g * n : 0) + i)] * dims.stride(i);
      at_outcome(outcome);
      break;
    }
    case StrategyKind::correlated:
      sigma.assign(st.weights.begin() + (st.per_game ? g * N : 0), st.weights.begin() + (st.per_game ? g * N : 0) + N);
      break;
    case StrategyKind::product: {
      std::int64_t per_game = 0;
      for (int i = 0; i < n; ++i) per_game += dims.actions(i);
      const double* weights = st.weights.data() + (st.per_game ? g * per_game : 0);
      sigma.assign(static_cast<std::size_t>(N), 0.0);
      for (std::int64_t s = 0; s < N; ++s) {
        double p = 1.0;
        std::int64_t offset = 0;
        for (int i = 0; i < n; ++i) {
          p *= weights[offset + (s / dims.stride(i)) % dims.actions(i)];
          offset += dims.actions(i);
        }
        sigma[s] = p;
      }
      break;
    }
  }
  const bool defined = !sigma.empty();
  if (!defined) flags |= flag_strategy_undefined;
  // ū_i = E_σ u_i and E_σ û_i; w(σ), ŵ(σ).
  std::vector<double> expected(2 * n, kNaN);
  if (defined) {
    for (int v = 0; v < 2 * n; ++v) {
      expected[v] = 0.0;
      for (std::int64_t s = 0; s < N; ++s) expected[v] += sigma[s] * G.at(v, s);
    }
  }
  double sum_u = 0.0, sum_uh = 0.0;
  for (int i = 0; i < n; ++i) sum_u += expected[i], sum_uh += expected[n + i];
  const double w_sigma = sum_u * f, wh_sigma = sum_uh * f;
  const double wr = w_star - w_sigma, pwr = wh_star - wh_sigma;
  set(r.agents_welfare_regret, wr);
  set(r.principals_welfare_regret, pwr);
  const double cc_span = o.cc_window == CcWindow::code ? w_star - w_zero : w_star - w_eps;
  set(r.cc_achieved, cc_span != 0.0 ? (w_sigma - w_eps) / cc_span : kNaN);

  // Calibration and bounds (MATH.md §4.5, §5; MEASURES.md "Calibration and bounds").
  std::vector<double> ratio(n);
  double sum_m_hat = 0.0, misfit = 0.0;  // Σ m̂_i and Σ m̂_i(1 − IA_i)
  for (int i = 0; i < n; ++i) {
    ratio[i] = mag[i] > 0.0 ? mag[n + i] / mag[i] : kNaN;
    put(r.calibration_ratio, i, ratio[i]);
    sum_m_hat += mag[n + i];
    misfit += mag[n + i] * (1.0 - ia[i]);
  }
  const double misalignment = 2 * k.z * k.K * f * misfit;
  auto r2 = [&](double R) {
    double c = 0.0;
    for (int i = 0; i < n; ++i) {
      if (mag[i] > 0.0) c += mag[i] * std::fabs(R - ratio[i]);
    }
    return R * wr + misalignment + k.K_m * f * c;
  };
  double best = kNaN, best_r = kNaN;
  if (defined) {
    best = r2(0.0), best_r = 0.0;
    for (int i = 0; i < n; ++i) {
      if (mag[i] > 0.0 && r2(ratio[i]) < best) best = r2(ratio[i]), best_r = ratio[i];  // the first minimum
    }
  }
  const double cap = k.K_m * f * sum_m_hat;  // R8
  const double bound = std::min(best, cap);
  set(r.bound, defined ? bound : kNaN);
  set(r.bound_r, best_r);
  const double tolerance = 1e-9 * (1 + std::max(std::fabs(wh_utopia), std::fabs(wh_dystopia)));
  const bool holds = pwr <= bound + tolerance;
  set(r.bound_holds, defined ? (holds ? 1.0 : 0.0) : kNaN);
  if (defined && !holds) flags |= flag_bound_violated;
  const double ideal_gap_bound = k.K * f * (1 - ca_principals) * sum_m_hat;  // R5
  set(r.ideal_gap_bound, ideal_gap_bound);
  if (wh_utopia - wh_star > ideal_gap_bound + tolerance) flags |= flag_ideal_gap_bound_violated;
  double calibration_exact = 0.0, calibration_max = 0.0;  // R3's and R4's calibration terms
  for (int i = 0; i < n; ++i) {
    if (mag[i] > 0.0) {
      calibration_exact += (ratio[i] - 1) * (G.at(i, s_hat_star) - expected[i]);
      calibration_max = std::max(calibration_max, std::fabs(ratio[i] - 1));
    }
  }
  set(r.bound_r3, (1 - o.cc) * (w_star - w_zero) + (w_zero - w_eps) + misalignment + f * calibration_exact);
  set(r.bound_r4, wr + misalignment + calibration_max * (w_utopia - w_dystopia));
  set(r.bound_r6, ideal_gap_bound + best);
  set(r.flags, flags);
}

}  // namespace

Constants constants_of(Standardisation s) {
  switch (s) {
    case Standardisation::epic:
      return {2.0, 1.0, 2.0, std::sqrt(2.0)};
    case Standardisation::max:
      return {2.0, 1.0, 2.0, 2.0};
    case Standardisation::max_range:
      return {1.0, 1.0, 1.0, 1.0};
  }
  return {kNaN, kNaN, kNaN, kNaN};
}

Results evaluate(const Batch& batch, const Options& options) {
  Results r;
  r.resize(batch.games, batch.dims.players(), true, true);
  for (std::int64_t g = 0; g < batch.games; ++g) evaluate_game(batch, g, options, r);
  return r;
}

double bound_r2_at(const Results& ref, std::int64_t g, const Options& options, double R) {
  const int n = ref.players;
  const Constants k = constants_of(options.standardisation);
  const double f = options.welfare == Welfare::average ? 1.0 / n : 1.0;
  double misfit = 0.0, c = 0.0;
  for (int i = 0; i < n; ++i) {
    const std::size_t gi = static_cast<std::size_t>(g * n + i);
    misfit += ref.magnitude_principals[gi] * (1.0 - ref.ia[gi]);
    if (ref.magnitude_agents[gi] > 0.0) c += ref.magnitude_agents[gi] * std::fabs(R - ref.calibration_ratio[gi]);
  }
  return R * ref.agents_welfare_regret[static_cast<std::size_t>(g)] + 2 * k.z * k.K * f * misfit + k.K_m * f * c;
}

}  // namespace reference
}  // namespace dgeval
