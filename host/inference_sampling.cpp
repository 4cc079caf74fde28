// The candidate outcome sets of spec §6 step 2 (pure NE, ε-NE at IC, the played set) and i.i.d.
// uniform sampling from them with the counter-based RNG (spec §6 step 3).
#include <algorithm>
#include <cmath>

#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/inference.hpp"

namespace dgeval {

namespace {

/// numpy.allclose(a, b) with its default tolerances (rtol 1e-5, atol 1e-8), as the authors'
/// run_one uses it to pick the special cases of E(IC).
bool allclose(const std::vector<double>& a, double b) {
  for (double x : a) {
    if (!(std::fabs(x - b) <= 1e-8 + 1e-5 * std::fabs(b))) return false;
  }
  return true;
}

constexpr double kNeTolerance = 1e-10;       // the authors' get_pure_eps_NEs
constexpr double kPlayedTolerance = 1e-6;    // the authors' get_played_strategies

}  // namespace

OutcomeSets outcome_sets(const Batch& batch, std::int64_t g, const std::vector<double>& ic_in, double cc,
                         double ne_level) {
  const Dims& dims = batch.dims;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  if (g < 0 || g >= batch.games) throw error("outcome_sets: game index out of range");
  std::vector<double> ic(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    ic[static_cast<std::size_t>(i)] = ic_in.empty() ? 1.0 : ic_in.size() == 1 ? ic_in[0] : ic_in.at(static_cast<std::size_t>(i));
    if (!(ic[static_cast<std::size_t>(i)] >= 0.0 && ic[static_cast<std::size_t>(i)] <= 1.0)) {
      throw error("outcome_sets: IC levels must lie in [0, 1]");
    }
  }
  if (!(cc >= 0.0 && cc <= 1.0)) throw error("outcome_sets: the CC level must lie in [0, 1]");
  const double* u = batch.agents.data() + g * n * N;

  std::vector<double> w(static_cast<std::size_t>(N), 0.0);
  for (int i = 0; i < n; ++i) {
    for (std::int64_t s = 0; s < N; ++s) w[static_cast<std::size_t>(s)] += u[i * N + s];
  }
  for (double& x : w) x = detail::welfare_of(x, n, Welfare::average);

  // Masks: bit 0 NE at ne_level, bit 1 ε-NE at ic (spec §1.4, the shared predicate).
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(N), 3);
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
          const std::uint8_t keep = static_cast<std::uint8_t>(
              (detail::meets_ic(ui[s], lo, hi, ne_level, kNeTolerance) ? 1 : 0) |
              (detail::meets_ic(ui[s], lo, hi, ic[static_cast<std::size_t>(i)], kNeTolerance) ? 2 : 0));
          mask[static_cast<std::size_t>(s)] &= keep;
        }
      }
    }
  }
  OutcomeSets out;
  const bool eps_is_ne = allclose(ic, ne_level);
  const bool eps_is_all = !eps_is_ne && allclose(ic, 0.0);
  out.w_star = -INFINITY;
  double w_zero = INFINITY, w_eps = INFINITY;
  for (std::int64_t s = 0; s < N; ++s) {
    const std::uint8_t m = mask[static_cast<std::size_t>(s)];
    const double ws = w[static_cast<std::size_t>(s)];
    out.w_star = std::max(out.w_star, ws);
    if (m & 1) out.ne.push_back(s), w_zero = std::min(w_zero, ws);
    const bool eps = eps_is_ne ? (m & 1) : eps_is_all ? true : (m & 2);
    if (eps) out.eps_ne.push_back(s), w_eps = std::min(w_eps, ws);
  }
  out.w_zero = out.ne.empty() ? NAN : w_zero;
  out.w_eps = out.eps_ne.empty() ? NAN : w_eps;
  if (out.ne.empty() || out.eps_ne.empty()) return out;  // the played window is undefined

  double lo, hi;
  detail::played_window(cc, out.w_star, out.w_zero, out.w_eps, CcWindow::code, &lo, &hi);
  const double mid = 0.5 * (lo + hi);
  std::int64_t closest = -1;
  double closest_gap = INFINITY;
  for (std::int64_t s = 0; s < N; ++s) {
    const double ws = w[static_cast<std::size_t>(s)];
    if (lo - kPlayedTolerance < ws && ws < hi + kPlayedTolerance) {
      out.played.push_back(s);
    } else if (std::fabs(ws - mid) < closest_gap) {
      closest_gap = std::fabs(ws - mid);
      closest = s;
    }
  }
  if (out.played.empty()) {
    out.played.push_back(closest);
    out.played_fallback = true;
  }
  return out;
}

Observations sample_observations(const Batch& batch, std::int64_t g, const OutcomeSets& sets, ObservedSet which,
                                 std::int64_t samples, std::uint64_t seed, std::uint64_t stream) {
  const Dims& dims = batch.dims;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  if (g < 0 || g >= batch.games) throw error("sample_observations: game index out of range");
  if (samples < 1) throw error("sample_observations: at least one sample is needed");
  const std::vector<std::int64_t>* T = nullptr;
  switch (which) {
    case ObservedSet::ne: T = &sets.ne; break;
    case ObservedSet::eps_ne: T = &sets.eps_ne; break;
    case ObservedSet::played: T = &sets.played; break;
    case ObservedSet::all: break;
  }
  const std::int64_t size = T ? static_cast<std::int64_t>(T->size()) : N;
  if (size == 0) {
    throw error(std::string("cannot sample from the set ") + to_string(which) + ": it is empty in this game" +
                (which == ObservedSet::played ? " (it needs a pure NE and an ε-NE)" : ""));
  }
  Observations obs;
  obs.dims = dims;
  const double* u = batch.agents.data() + g * n * N;
  const double* uh = batch.principals.data() + g * n * N;
  const std::uint64_t sample_seed = detail::derive_seed(seed, 2);
  double a[kMaxPlayers], p[kMaxPlayers];
  for (std::int64_t j = 0; j < samples; ++j) {
    const std::int64_t k = detail::uniform_index(sample_seed, stream, static_cast<std::uint64_t>(j), size);
    const std::int64_t s = T ? (*T)[static_cast<std::size_t>(k)] : k;
    for (int i = 0; i < n; ++i) a[i] = u[i * N + s], p[i] = uh[i * N + s];
    obs.add(s, a, p, which);
  }
  return obs;
}

}  // namespace dgeval
