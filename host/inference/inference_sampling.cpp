// The candidate outcome sets of docs/MATH.md §6 step 2 (pure NE, ε-NE at IC, the played set) and i.i.d.
// uniform sampling from them with the counter-based RNG (docs/MATH.md §6 step 3).
#include <algorithm>
#include <cmath>

#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/inference.hpp"
#include "inference/inference_internal.hpp"

namespace dgeval {

OutcomeSets outcome_sets(const Batch& batch, std::int64_t g, const std::vector<double>& ic_in, double cc,
                         double ne_level) {
  const Dims& dims = batch.dims;
  const int n = dims.players();
  const std::int64_t N = dims.outcomes();
  if (g < 0 || g >= batch.games) throw error("outcome_sets: game index out of range");
  double ic[kMaxPlayers];
  for (int i = 0; i < n; ++i) {
    ic[i] = ic_in.empty() ? 1.0 : ic_in.size() == 1 ? ic_in[0] : ic_in.at(static_cast<std::size_t>(i));
    if (!(ic[i] >= 0.0 && ic[i] <= 1.0)) throw error("outcome_sets: IC levels must lie in [0, 1]");
  }
  if (!(cc >= 0.0 && cc <= 1.0)) throw error("outcome_sets: the CC level must lie in [0, 1]");
  std::vector<std::int64_t> lists(static_cast<std::size_t>(3 * N));
  std::vector<double> w(static_cast<std::size_t>(N));
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(N));
  detail::InferenceSets sets;
  sets.ne = lists.data();
  sets.eps_ne = lists.data() + N;
  sets.played = lists.data() + 2 * N;
  detail::inference_sets(detail::sets_shape(dims), batch.agents.data() + g * n * N, ic, cc, ne_level, w.data(),
                         mask.data(), sets);
  OutcomeSets out;
  out.ne.assign(sets.ne, sets.ne + sets.ne_count);
  out.eps_ne.assign(sets.eps_ne, sets.eps_ne + sets.eps_count);
  out.played.assign(sets.played, sets.played + sets.played_count);
  out.played_fallback = sets.played_fallback;
  out.w_star = sets.w_star;
  out.w_zero = sets.w_zero;
  out.w_eps = sets.w_eps;
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
    case ObservedSet::ne:
      T = &sets.ne;
      break;
    case ObservedSet::eps_ne:
      T = &sets.eps_ne;
      break;
    case ObservedSet::played:
      T = &sets.played;
      break;
    case ObservedSet::all:
      break;
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
