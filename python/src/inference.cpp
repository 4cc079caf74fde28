// dgeval._core: inference from observations (dgeval/inference.hpp, `dgeval infer`):
// observations read, converted from arrays or sampled from one game, and the estimates.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/inference.hpp"

namespace dgeval_python {
namespace {

using namespace nb::literals;

/// Observations as a tuple for Python: (actions int64 [R, n], agents float64 [R, n],
/// principals, set uint8 [R], dims, dims_known, source, line int64 [R or 0], text_lines).
nb::tuple observations_to_python(dgeval::Observations&& obs) {
  const auto R = static_cast<std::size_t>(obs.rows());
  const int n = obs.players();
  const auto un = static_cast<std::size_t>(n);
  std::vector<std::int64_t> acts(R * un);
  for (std::size_t r = 0; r < R; ++r) {
    std::int64_t s = obs.outcome[r];
    for (int i = n; i-- > 0;) {
      const std::int64_t k = obs.dims.actions(i);
      acts[r * un + static_cast<std::size_t>(i)] = s % k;
      s /= k;
    }
  }
  std::vector<std::uint8_t> set(R);
  for (std::size_t r = 0; r < R; ++r) set[r] = static_cast<std::uint8_t>(obs.set[r]);
  const std::size_t L = obs.line.size();
  return nb::make_tuple(to_numpy(std::move(acts), {R, un}), to_numpy(std::move(obs.agents), {R, un}),
                        to_numpy(std::move(obs.principals), {R, un}), to_numpy(std::move(set), {R}), obs.dims.actions(),
                        obs.dims_known, obs.source, to_numpy(std::move(obs.line), {L}), obs.text_lines);
}

nb::tuple read_observations(const std::string& path, std::vector<std::int64_t> dims, const std::string& default_set) {
  dgeval::ObservationReadOptions ro;
  if (!dims.empty()) {
    ro.dims = dgeval::Dims(std::move(dims));
    ro.has_dims = true;
  }
  ro.default_set = dgeval::parse_observed_set(default_set);
  dgeval::Observations obs;
  {
    nb::gil_scoped_release no_gil;
    obs = dgeval::read_observations(path, ro);
  }
  return observations_to_python(std::move(obs));
}

/// Observations from Python arrays; action tuples are checked against the dims (as the file
/// readers do) and flattened in C order.
dgeval::Observations observations_from_python(std::vector<std::int64_t> dims, bool dims_known, IntArray actions,
                                              RealArray agents, RealArray principals, SetArray set,
                                              const std::string& source, IntArray line, bool text_lines) {
  dgeval::Observations obs;
  obs.dims = dgeval::Dims(std::move(dims));
  obs.dims_known = dims_known;
  obs.source = source;
  obs.text_lines = text_lines;
  const int n = obs.dims.players();
  const auto un = static_cast<std::size_t>(n);
  const std::size_t R = set.size();
  if (actions.size() != R * un || agents.size() != R * un || principals.size() != R * un) {
    throw dgeval::error("observations: actions, agents and principals must be [rows, n] and set [rows]");
  }
  if (line.size() != 0 && line.size() != R) throw dgeval::error("observations: line must have one entry per row");
  obs.line.assign(line.data(), line.data() + line.size());
  obs.outcome.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    std::int64_t s = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t a = actions.data()[r * un + static_cast<std::size_t>(i)];
      if (a < 0 || a >= obs.dims.actions(i)) {
        throw dgeval::error(obs.where(static_cast<std::int64_t>(r)) + ": action " + std::to_string(a) + " of player " +
                            std::to_string(i) + " is outside [0, " + std::to_string(obs.dims.actions(i)) +
                            ") for the game " + obs.dims.to_string() + " (unknown outcome)");
      }
      s += a * obs.dims.stride(i);
    }
    obs.outcome[r] = s;
  }
  obs.agents.assign(agents.data(), agents.data() + R * un);
  obs.principals.assign(principals.data(), principals.data() + R * un);
  obs.set.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    const std::uint8_t k = set.data()[r];
    if (k >= dgeval::kObservedSets) {
      throw dgeval::error(obs.where(static_cast<std::int64_t>(r)) + ": set " + std::to_string(k) +
                          " is not 0 (all), 1 (ne), 2 (eps_ne) or 3 (played)");
    }
    obs.set[r] = static_cast<dgeval::ObservedSet>(k);
  }
  return obs;
}

nb::tuple estimate_tuple(const char* measure, int player, const dgeval::Estimate& e) {
  return nb::make_tuple(measure, player, e.value, e.lo, e.hi, e.replicates, e.reason, e.interval_reason);
}

/// The Inference as a dict: counts, then "estimates": (family, measure, player or -1, value, lo,
/// hi, replicates, reason, interval_reason) in the CLI's order.
nb::dict infer(std::vector<std::int64_t> dims, bool dims_known, IntArray actions, RealArray agents,
               RealArray principals, SetArray set, const std::string& source, IntArray line, bool text_lines,
               std::int64_t resamples, double level, std::uint64_t seed, int threads) {
  const dgeval::Observations obs =
      observations_from_python(std::move(dims), dims_known, actions, agents, principals, set, source, line, text_lines);
  dgeval::InferenceOptions io;
  io.resamples = resamples;
  io.level = level;
  io.seed = seed;
  io.threads = threads;
  dgeval::Inference r;
  {
    nb::gil_scoped_release no_gil;
    r = dgeval::infer(obs, io);
  }
  nb::dict out;
  out["players"] = r.players;
  out["rows"] = r.rows;
  out["outcomes"] = r.outcomes;
  nb::dict rows_per_set, outcomes_per_set;
  for (int k = 0; k < dgeval::kObservedSets; ++k) {
    const char* name = dgeval::to_string(static_cast<dgeval::ObservedSet>(k));
    rows_per_set[name] = r.rows_per_set[k];
    outcomes_per_set[name] = r.outcomes_per_set[k];
  }
  out["rows_per_set"] = rows_per_set;
  out["outcomes_per_set"] = outcomes_per_set;
  out["ic_set"] = dgeval::to_string(r.ic_set);
  out["resamples"] = r.options.resamples;
  out["level"] = r.options.level;
  out["seed"] = r.options.seed;
  nb::list estimates;
  for (int f = 0; f < 2; ++f) {
    const dgeval::EstimateSet& es = f ? r.corrected : r.authors;
    nb::list fam;
    for (int i = 0; i < r.players; ++i) fam.append(estimate_tuple("ia", i, es.ia[static_cast<std::size_t>(i)]));
    fam.append(estimate_tuple("ca", -1, es.ca));
    for (int i = 0; i < r.players; ++i) fam.append(estimate_tuple("ic", i, es.ic[static_cast<std::size_t>(i)]));
    fam.append(estimate_tuple("cc", -1, es.cc));
    out[f ? "corrected" : "authors"] = fam;
  }
  return out;
}

dgeval::Batch one_game(RealArray agents, RealArray principals, std::vector<std::int64_t> actions) {
  dgeval::Batch game(dgeval::Dims(std::move(actions)), 1);
  if (agents.size() != game.agents.size() || principals.size() != game.principals.size()) {
    throw dgeval::error("agents / principals: array size does not match n x N");
  }
  std::copy_n(agents.data(), game.agents.size(), game.agents.begin());
  std::copy_n(principals.data(), game.principals.size(), game.principals.begin());
  return game;
}

nb::object flat_to_actions(const dgeval::Dims& dims, const std::vector<std::int64_t>& flat) {
  const auto un = static_cast<std::size_t>(dims.players());
  std::vector<std::int64_t> out(flat.size() * un);
  for (std::size_t r = 0; r < flat.size(); ++r) {
    const std::vector<std::int64_t> a = dims.unflatten(flat[r]);
    std::copy(a.begin(), a.end(), out.begin() + r * un);
  }
  return to_numpy(std::move(out), {flat.size(), un});
}

/// dgeval.outcome_sets: the candidate sets of one game (action tuples [E, n]) and the welfare levels.
nb::dict outcome_sets(RealArray agents, RealArray principals, std::vector<std::int64_t> actions, std::vector<double> ic,
                      double cc, double ne_level) {
  const dgeval::Batch game = one_game(agents, principals, std::move(actions));
  dgeval::OutcomeSets sets;
  {
    nb::gil_scoped_release no_gil;
    sets = dgeval::outcome_sets(game, 0, ic, cc, ne_level);
  }
  nb::dict out;
  out["ne"] = flat_to_actions(game.dims, sets.ne);
  out["eps_ne"] = flat_to_actions(game.dims, sets.eps_ne);
  out["played"] = flat_to_actions(game.dims, sets.played);
  out["played_fallback"] = sets.played_fallback;
  out["w_star"] = sets.w_star;
  out["w_zero"] = sets.w_zero;
  out["w_eps"] = sets.w_eps;
  return out;
}

/// dgeval.sample_observations: as `dgeval infer --game/--example --sample SETS`: `samples` draws
/// from each set in turn, every set with the same seed.
nb::tuple sample_observations(RealArray agents, RealArray principals, std::vector<std::int64_t> actions,
                              std::vector<std::string> sets, std::int64_t samples, std::uint64_t seed,
                              std::vector<double> ic, double cc, const std::string& source) {
  const dgeval::Batch game = one_game(agents, principals, std::move(actions));
  std::vector<dgeval::ObservedSet> which;
  for (const std::string& name : sets) which.push_back(dgeval::parse_observed_set(name));
  if (which.empty()) throw dgeval::error("sample_observations: no set to sample from");
  if (samples < 1) throw dgeval::error("sample_observations: at least one sample is needed");
  dgeval::Observations obs;
  {
    nb::gil_scoped_release no_gil;
    const dgeval::OutcomeSets os = dgeval::outcome_sets(game, 0, ic, cc);
    obs.dims = game.dims;
    obs.source = source;
    for (dgeval::ObservedSet w : which) {
      const dgeval::Observations part = dgeval::sample_observations(game, 0, os, w, samples, seed);
      obs.outcome.insert(obs.outcome.end(), part.outcome.begin(), part.outcome.end());
      obs.agents.insert(obs.agents.end(), part.agents.begin(), part.agents.end());
      obs.principals.insert(obs.principals.end(), part.principals.begin(), part.principals.end());
      obs.set.insert(obs.set.end(), part.set.begin(), part.set.end());
    }
  }
  return observations_to_python(std::move(obs));
}

}  // namespace

void bind_inference(nb::module_& m) {
  m.def("read_observations", &read_observations, "path"_a, "dims"_a, "default_set"_a);
  m.def("infer", &infer, "dims"_a, "dims_known"_a, "actions"_a, "agents"_a, "principals"_a, "set"_a, "source"_a,
        "line"_a, "text_lines"_a, "resamples"_a, "level"_a, "seed"_a, "threads"_a);
  m.def("outcome_sets", &outcome_sets, "agents"_a, "principals"_a, "actions"_a, "ic"_a, "cc"_a, "ne_level"_a);
  m.def("sample_observations", &sample_observations, "agents"_a, "principals"_a, "actions"_a, "sets"_a, "samples"_a,
        "seed"_a, "ic"_a, "cc"_a, "source"_a);
}

}  // namespace dgeval_python
