// Games for the inference experiment (spec §6 step 1): per game, targets IA_i, IC_i, CC, CA ~
// U(0, 1) in the order of the authors' run_one; the game from the shared controlled generator
// (dgeval/generators.hpp) with IA_i exact, CA exact on the agents (agents_first) and every
// utility shifted to minimum 0 (positive); regenerated until a pure eps_tol-NE exists, eps_tol
// growing by 0.01 after every 10 failures (the grid scan uses 5, which the generator's
// PureNe::authors implements; inference uses 10, so the loop is here) and IC lowered to
// 1 − eps_tol when it exceeds it. Game g depends only on (dims, seed, g).
#include <algorithm>
#include <cmath>

#include "dgeval/detail/generator_core.hpp"
#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/inference.hpp"

namespace dgeval {

InferenceGame generate_inference_game(const Dims& dims, std::uint64_t seed, std::uint64_t game) {
  const int n = dims.players();
  const std::uint64_t target_seed = detail::derive_seed(seed, 1);
  std::uint64_t next = 0;
  auto uniform = [&]() { return detail::philox_uniform(target_seed, game, next++); };
  InferenceGame out;
  out.ic.resize(static_cast<std::size_t>(n));
  out.ia.resize(static_cast<std::size_t>(n));
  for (double& x : out.ic) x = uniform();
  for (double& x : out.ia) x = uniform();
  out.cc = uniform();
  out.ca = uniform();

  GeneratorSpec spec;
  spec.ia = out.ia;
  spec.ca_agents = out.ca;
  spec.positive = true;
  spec.pure_ne = PureNe::none;
  const detail::GeneratorParams params = generator_params(spec, dims);
  std::vector<double> scratch(static_cast<std::size_t>(detail::generator_scratch_doubles(params)));
  out.game = Batch(dims, 1);
  const std::uint64_t game_seed = detail::derive_seed(seed, 4);
  constexpr std::uint64_t kRetryBits = 12;  // eps_tol reaches 1 after 1000 retries < 2^12
  int failures = 0;
  for (std::uint64_t retry = 0;; ++retry) {
    if (retry >> kRetryBits) throw error("inference generator: no pure eps-NE after 4096 games");
    ++out.attempts;
    GameInfo info;
    const int status = detail::generate_game(params, game_seed, (game << kRetryBits) | retry, out.game.agents.data(),
                                             out.game.principals.data(), scratch.data(), &info);
    if (status != detail::generate_ok) {
      throw error("inference generator: game " + std::to_string(game) + " ran out of attempts for its targets");
    }
    if (detail::has_pure_eps_ne(out.game.agents.data(), params, out.eps_tol)) break;
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
