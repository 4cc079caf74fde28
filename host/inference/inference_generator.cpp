// Games for the inference experiment (docs/MATH.md §6 step 1): per game, targets IA_i, IC_i, CC, CA ~
// U(0, 1) in the order of the authors' run_one; the game from the shared controlled generator
// (dgeval/generators.hpp) with IA_i exact, CA exact on the agents (agents_first) and every
// utility shifted to minimum 0 (positive); regenerated until a pure eps_tol-NE exists, eps_tol
// growing by 0.01 after every 10 failures (the grid scan uses 5, which the generator's
// PureNe::authors implements; inference uses 10, so the loop is detail::inference_generate) and
// IC lowered to 1 − eps_tol when it exceeds it. Game g depends only on (dims, seed, g).
#include <vector>

#include "dgeval/detail/inference_game.hpp"
#include "dgeval/error.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/inference.hpp"
#include "inference/inference_internal.hpp"

namespace dgeval {

namespace detail {

InferenceShape sets_shape(const Dims& dims) {
  InferenceShape S;
  S.n = dims.players();
  S.N = dims.outcomes();
  for (int i = 0; i < S.n; ++i) S.k[i] = dims.actions(i), S.stride[i] = dims.stride(i);
  return S;
}

InferenceShape experiment_shape(const Dims& dims) {
  InferenceShape S = sets_shape(dims);
  GeneratorSpec spec;  // the targets are drawn per game: these values only switch the controls on
  spec.ia = std::vector<double>(static_cast<std::size_t>(S.n), 0.5);
  spec.ca_agents = 0.5;
  spec.positive = true;
  spec.pure_ne = PureNe::none;
  S.gen = generator_params(spec, dims);
  return S;
}

std::string describe_inference_failure(int status, std::uint64_t game) {
  if (status == inference_no_eps_ne) {
    return "inference generator: game " + std::to_string(game) + ": no pure eps-NE after 4096 games";
  }
  return "inference generator: game " + std::to_string(game) + " ran out of attempts for its targets";
}

}  // namespace detail

InferenceGame generate_inference_game(const Dims& dims, std::uint64_t seed, std::uint64_t game) {
  const detail::InferenceShape S = detail::experiment_shape(dims);
  const int n = S.n;
  std::vector<double> scratch(static_cast<std::size_t>(detail::generator_scratch_doubles(S.gen)));
  InferenceGame out;
  out.game = Batch(dims, 1);
  detail::InferenceTargets t;
  const int status =
      detail::inference_generate(S, seed, game, out.game.agents.data(), out.game.principals.data(), scratch.data(), &t);
  if (status != detail::inference_ok) throw error(detail::describe_inference_failure(status, game));
  out.ia.assign(t.ia, t.ia + n);
  out.ic.assign(t.ic, t.ic + n);
  out.cc = t.cc;
  out.ca = t.ca;
  out.eps_tol = t.eps_tol;
  out.attempts = t.attempts;
  return out;
}

}  // namespace dgeval
