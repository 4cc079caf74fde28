// dgeval._core: the built-in examples (dgeval/examples.hpp) and the generators: uniform
// (dgeval/generate.hpp) and delegation (dgeval/generators.hpp, on the CPU or the GPU).
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
#include "dgeval/generators.hpp"
#include "experiments/experiments_device.hpp"  // dgeval::cuda::generate_games_on_device
#include "interrupt.hpp"

namespace dgeval_python {
namespace {

using namespace nb::literals;

nb::tuple generate_uniform(std::vector<std::int64_t> actions, std::int64_t games, std::uint64_t seed,
                           std::int64_t first_game, double lo, double hi, int threads) {
  if (games < 0) throw dgeval::error("generate_uniform: the number of games must be non-negative");
  if (first_game < 0) throw dgeval::error("generate_uniform: first_game must be non-negative");
  if (!(lo < hi)) throw dgeval::error("generate_uniform: low must be below high");
  const dgeval::Dims dims(std::move(actions));
  dgeval::Batch batch;
  {
    nb::gil_scoped_release no_gil;
    batch = dgeval::random_uniform_games(dims, games, seed, first_game, lo, hi, threads);
  }
  std::vector<std::size_t> shape{static_cast<std::size_t>(games), static_cast<std::size_t>(dims.players())};
  for (std::int64_t k : dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  return nb::make_tuple(to_numpy(std::move(batch.agents), shape), to_numpy(std::move(batch.principals), shape));
}

/// (name, description, agents [n, k_1..k_n], principals, options as evaluate() keywords).
nb::tuple example(const std::string& name) {
  dgeval::Example e = dgeval::make_example(name);
  std::vector<std::size_t> shape{static_cast<std::size_t>(e.batch.dims.players())};
  for (std::int64_t k : e.batch.dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  nb::dict options;
  options["standardisation"] = dgeval::to_string(e.options.standardisation);
  options["welfare"] = dgeval::to_string(e.options.welfare);
  if (!e.options.ic.empty()) options["ic"] = e.options.ic;
  options["cc"] = e.options.cc;
  options["cc_window"] = dgeval::to_string(e.options.cc_window);
  options["strategy"] = dgeval::to_string(e.options.strategy.kind);
  return nb::make_tuple(e.name, e.description, to_numpy(std::move(e.batch.agents), shape),
                        to_numpy(std::move(e.batch.principals), shape), options);
}

/// dgeval.generate: the CLI's `delegation` generator (dgeval::generate_games) chunk by chunk,
/// polling for Ctrl-C between chunks (game g depends only on the seed and g, so the chunking does
/// not change the games). Returns (agents, principals, attempts, flags, eps_tol, ca_achieved,
/// ia_error, pure_ne_failures): the utilities float64 [B, n, k..] and the generator's GameInfo per game.
nb::tuple generate(std::vector<std::int64_t> actions, std::int64_t games, std::uint64_t seed, std::int64_t first_game,
                   const std::string& distribution, bool raw, double magnitude_min, double magnitude_max,
                   double offset_min, double offset_max, bool positive, std::vector<double> ia, double ca_principals,
                   double ca_agents, std::vector<double> calibration, const std::string& scale,
                   const std::string& pure_ne, int max_attempts, int threads, const std::string& backend, int device,
                   nb::object progress) {
  if (games < 0) throw dgeval::error("generate: the number of games must be non-negative");
  if (backend != "auto" && backend != "cpu" && backend != "cuda") {
    throw dgeval::error("generate: unknown backend \"" + backend + "\"; expected one of: auto, cpu, cuda");
  }
  const bool on_device = backend == "cuda" || (backend == "auto" && dgeval::cuda_available());
  if (first_game < 0) throw dgeval::error("generate: first_game must be non-negative");
  const dgeval::Dims dims(std::move(actions));
  dgeval::GeneratorSpec s;
  s.distribution = dgeval::parse_distribution(distribution);
  s.raw = raw;
  s.magnitude_min = magnitude_min;
  s.magnitude_max = magnitude_max;
  s.offset_min = offset_min;
  s.offset_max = offset_max;
  s.positive = positive;
  s.ia = std::move(ia);
  s.ca_principals = ca_principals;
  s.ca_agents = ca_agents;
  s.calibration = std::move(calibration);
  s.scale = dgeval::parse_standardisation(scale);
  s.pure_ne = dgeval::parse_pure_ne(pure_ne);
  s.max_attempts = max_attempts;
  dgeval::validate(s, dims);

  const std::int64_t per = dims.players() * dims.outcomes();
  const auto total = static_cast<std::size_t>(dgeval::checked_mul(games, per, "games x n x N"));
  std::vector<double> agents(total), principals(total);
  const auto B = static_cast<std::size_t>(games);
  std::vector<std::int32_t> attempts(B), flags(B), pure_ne_failures(B);
  std::vector<double> eps_tol(B), ca_achieved(B), ia_error(B);
  Interruptible stop(std::move(progress), "generation");
  stop.run([&] {
    const std::int64_t chunk = dgeval::games_per_chunk(dims, std::int64_t{1} << 21, std::int64_t{1} << 16);
    std::vector<dgeval::GameInfo> info;
    for (std::int64_t g0 = 0; g0 < games; g0 += chunk) {
      const std::int64_t count = std::min(chunk, games - g0);
      info.clear();
      const dgeval::Batch b =
          on_device ? dgeval::cuda::generate_games_on_device(device, dims, s, count, seed, first_game + g0, &info)
                    : dgeval::generate_games(dims, s, count, seed, first_game + g0, threads, &info);
      std::copy(b.agents.begin(), b.agents.end(), agents.begin() + g0 * per);
      std::copy(b.principals.begin(), b.principals.end(), principals.begin() + g0 * per);
      for (std::int64_t g = 0; g < count; ++g) {
        const dgeval::GameInfo& gi = info[static_cast<std::size_t>(g)];
        const auto at = static_cast<std::size_t>(g0 + g);
        attempts[at] = gi.attempts;
        flags[at] = gi.flags;
        eps_tol[at] = gi.eps_tol;
        ca_achieved[at] = gi.ca_achieved;
        ia_error[at] = gi.ia_error;
        pure_ne_failures[at] = gi.pure_ne_failures;
      }
      if (!stop.poll(g0 + count, games)) throw dgeval::cancelled();
    }
  });
  const auto shape = side_shape(dims, games, true);
  return nb::make_tuple(to_numpy(std::move(agents), shape), to_numpy(std::move(principals), shape),
                        to_numpy(std::move(attempts), {B}), to_numpy(std::move(flags), {B}),
                        to_numpy(std::move(eps_tol), {B}), to_numpy(std::move(ca_achieved), {B}),
                        to_numpy(std::move(ia_error), {B}), to_numpy(std::move(pure_ne_failures), {B}));
}

}  // namespace

void bind_generators(nb::module_& m) {
  m.def("generator_flags", [] {
    return nb::make_tuple(nb::make_tuple("MAGNITUDES_REDRAWN", std::int64_t{dgeval::info_magnitudes_redrawn}),
                          nb::make_tuple("MAGNITUDES_SHRUNK", std::int64_t{dgeval::info_magnitudes_shrunk}),
                          nb::make_tuple("PLANTED", std::int64_t{dgeval::info_planted}),
                          nb::make_tuple("CA_POLISHED", std::int64_t{dgeval::info_ca_polished}));
  });
  m.def("example_names", &dgeval::example_names);
  m.def("example", &example, "name"_a);
  m.def("generate_uniform", &generate_uniform, "actions"_a, "games"_a, "seed"_a, "first_game"_a, "low"_a, "high"_a,
        "threads"_a);
  m.def("generate", &generate, "actions"_a, "games"_a, "seed"_a, "first_game"_a, "distribution"_a, "raw"_a,
        "magnitude_min"_a, "magnitude_max"_a, "offset_min"_a, "offset_max"_a, "positive"_a, "ia"_a, "ca_principals"_a,
        "ca_agents"_a, "calibration"_a, "scale"_a, "pure_ne"_a, "max_attempts"_a, "threads"_a, "backend"_a, "device"_a,
        "progress"_a.none());
}

}  // namespace dgeval_python
