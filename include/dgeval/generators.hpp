// Generators of delegation games with controlled measures (docs/MATH.md §7.1), counter-based.
//
// Game g of a run is a pure function of (seed, g, spec): the same bits for any thread count,
// any split of the run (first_game), and on the device (detail/generator_core.hpp holds the
// per-game code, __host__ __device__; this header includes only its plain-data types,
// dgeval/generator_types.hpp). Every target is exact under EPIC, the standardisation
// of the paper's experiments: IA_i and CA (of the principals or of the agents) to 1e-12 as the
// generator computes them, and to ~1e-15 more once the evaluator recomputes them from the
// rounded utilities; calibration ratios r_i = m̂_i / m_i to rounding. docs/EXPERIMENTS.md
// explains the construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dgeval/game.hpp"
#include "dgeval/generator_types.hpp"
#include "dgeval/options.hpp"

namespace dgeval {

/// What to generate. Defaults: the authors' plain game (docs/MATH.md §7.1 steps 1, 3 with no targets):
/// normal directions, magnitudes U(0.5, 1.5), offsets U(−1, 1), both sides independent.
struct GeneratorSpec {
  Distribution distribution = Distribution::normal;
  /// Utilities are the raw i.i.d. draws (standard normal or U(0, 1)); no magnitudes, offsets,
  /// `positive` or targets.
  bool raw = false;
  double magnitude_min = 0.5, magnitude_max = 1.5;  ///< m ~ U(min, max); min > 0
  double offset_min = -1.0, offset_max = 1.0;       ///< c ~ U(min, max)
  /// Shift every utility so its minimum is 0 (docs/MATH.md §7.1 step 5; replaces the offsets).
  bool positive = false;
  /// The standardisation whose magnitude the draws are scaled to (so calibration ratios are
  /// exact under it). IA targets are exact under EPIC whatever this is; CA needs `epic`.
  Standardisation scale = Standardisation::epic;
  /// IA_i targets in [0, 1]: empty = not controlled (the two sides are independent), one value
  /// = every player, else one per player.
  std::vector<double> ia;
  /// CA target in [0, 1] on the principals (the authors' default) or on the agents (their
  /// `agents_first`); NaN = not controlled. At most one of the two.
  double ca_principals = NAN;
  double ca_agents = NAN;
  /// Calibration ratio targets r_i = m̂_i / m_i > 0 (empty = free; one value = every player).
  std::vector<double> calibration;
  PureNe pure_ne = PureNe::none;
  /// Draws per game before giving up (dgeval::error). At most 2^20.
  int max_attempts = 10000;
  /// Additive slack of the pure-NE test, as Options::ne_tolerance.
  double ne_tolerance = 1e-10;
};

/// Throws dgeval::error if the spec does not fit the dims (a target out of range, a CA target
/// with one player, targets with fewer than 3 outcomes, a CA target with a non-EPIC scale, ...).
void validate(const GeneratorSpec& spec, const Dims& dims);

/// The plain-data form of (spec, dims) that detail::generate_game takes (validates first).
detail::GeneratorParams generator_params(const GeneratorSpec& spec, const Dims& dims);

/// Games [first_game, first_game + games) of the stream `seed`. Multi-threaded (0 = all
/// hardware threads); the result does not depend on `threads`. With `info`, one GameInfo per
/// game. Throws dgeval::error if a game runs out of attempts (naming it).
Batch generate_games(const Dims& dims, const GeneratorSpec& spec, std::int64_t games, std::uint64_t seed,
                     std::int64_t first_game = 0, int threads = 0, std::vector<GameInfo>* info = nullptr);

/// The error message for game `game` of stream `seed` running out of attempts.
std::string describe_generator_failure(const GeneratorSpec& spec, std::uint64_t seed, std::uint64_t game);

/// Names as the CLI's flags take them ("normal", "uniform"; "none", "reject", "plant",
/// "authors"). The parsers throw dgeval::error naming the accepted values.
Distribution parse_distribution(const std::string& s);
PureNe parse_pure_ne(const std::string& s);
const char* to_string(Distribution d);
const char* to_string(PureNe p);

/// Whether `spec` controls any measure (IA, CA or calibration).
bool has_targets(const GeneratorSpec& spec);

}  // namespace dgeval
