// The generators' public types (dgeval/generators.hpp): the draws' distribution, the pure-NE
// protocol, what each generated game reports, and the plain-data parameters of the per-game
// generator. Plain data only: the generator itself (detail/generator_core.hpp, with Random123)
// is not included.
#pragma once

#include <math.h>

#include <cstdint>

#include "dgeval/game.hpp"
#include "dgeval/options.hpp"

namespace dgeval {

/// Distribution of the i.i.d. draws behind every utility direction.
enum class Distribution {
  normal,   ///< standard normal (Box–Muller), as the authors' Metric.sample (default)
  uniform,  ///< uniform on [0, 1)
};

/// How a generator makes sure the agents' game has a pure Nash equilibrium.
enum class PureNe {
  none,     ///< no check (default)
  reject,   ///< regenerate the whole game until it has a pure NE; keeps every target exact
  plant,    ///< permute the outcomes (changes no measure) so that a pure NE sits at a random outcome
  authors,  ///< the authors' protocol: regenerate, eps_tol += 0.01 after every 5 failures
};

/// What the generator reports for each game (the evaluator recomputes the measures).
struct GameInfo {
  std::int32_t attempts = 0;  ///< draws used, 1 = first (a regenerated game uses a fresh stream)
  std::int32_t flags = 0;     ///< GameInfoFlag bits
  /// Draws rejected for lacking a pure (eps_tol-)NE; `authors` raises eps_tol by 0.01 after
  /// every 5 of them. attempts − 1 can be larger: a draw that misses the CA target is redrawn
  /// too, and does not count here.
  std::int32_t pure_ne_failures = 0;
  double eps_tol = 0.0;      ///< `authors`: the ε of the ε-NE that was accepted (0 = an exact NE)
  double ca_achieved = NAN;  ///< CA of the controlled side as the generator computed it
  double ia_error = NAN;     ///< max_i |IA_i − target_i| as the generator computed it
};

enum GameInfoFlag : std::int32_t {
  info_magnitudes_redrawn = 1,  ///< the CA target was below what the first magnitudes allow
  info_magnitudes_shrunk = 2,   ///< magnitudes shrunk towards their mean to make the CA target reachable
  info_planted = 4,             ///< `plant` permuted the outcomes
  info_ca_polished = 8,         ///< the full-vector polish of the CA search took a step
};

namespace detail {

/// Everything a generator needs, as plain data (copyable to the device).
struct GeneratorParams {
  int players = 0;
  std::int64_t outcomes = 0;
  std::int64_t actions[kMaxPlayers] = {};
  std::int64_t strides[kMaxPlayers] = {};
  Distribution distribution = Distribution::normal;
  bool raw = false;  ///< utilities are the raw draws (no magnitudes, offsets or targets)
  double magnitude_min = 0.5, magnitude_max = 1.5;
  double offset_min = -1.0, offset_max = 1.0;
  bool positive = false;
  Standardisation scale = Standardisation::epic;  ///< the magnitude m the draws are scaled to
  bool control_ia = false;
  double ia[kMaxPlayers] = {};
  bool control_ca = false;
  double ca = 1.0;
  bool base_is_agents = false;  ///< CA is controlled on the agents (the principals are derived)
  bool control_calibration = false;
  double calibration[kMaxPlayers] = {};
  PureNe pure_ne = PureNe::none;
  int max_attempts = 10000;
  double ne_tolerance = 1e-10;
};

}  // namespace detail
}  // namespace dgeval
