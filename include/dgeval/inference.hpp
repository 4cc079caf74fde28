// Inference of IA, CA, IC and CC from limited observations (docs/MATH.md §6;
// docs/INFERENCE.md has every estimator, its bias and how it converges).
//
// An observation is one outcome s (flat C-order index, docs/MATH.md §1.1) with the agents' utilities
// u_i(s) and the principals' û_i(s), tagged with the set it was drawn from: all outcomes, pure
// NE, ε-NE at the agents' IC, or the played set P(IC, CC). Observations come from a file (CSV or
// .npz) or are sampled from a game with the counter-based RNG (reproducible, thread-count
// independent). Two families of estimators are computed:
//   authors   — the code behind the paper (docs/MATH.md §6 step 4): EPIC IA over the observed outcomes,
//               CA weighted by the raw uncentred norms, IC and CC as min/max ratios (non-negative
//               utilities only); |O| = 1 is undefined rather than the code's unstandardised quirk.
//   corrected — affine-invariant: CA weighted by centred magnitudes, IC as the position of the
//               worst ε-NE utility in the observed per-context range, CC as the docs/MATH.md §4.4 level
//               of the worst played welfare with w_0, w_ε and w* taken from the observations.
// Each estimate has a percentile bootstrap interval: the distinct observed outcomes are resampled
// (with multiplicity weights for IA and CA; per set for IC and CC, as the sets are sampled apart).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dgeval/game.hpp"

namespace dgeval {

/// The set an observed outcome was drawn from (docs/MATH.md §6 step 2).
enum class ObservedSet : std::uint8_t {
  all = 0,     ///< any outcome (uniform over S)
  ne = 1,      ///< a pure Nash equilibrium E_0
  eps_ne = 2,  ///< a pure ε-NE at the agents' IC level, E(IC)
  played = 3,  ///< the played set P(IC, CC), or plain observed play
};
inline constexpr int kObservedSets = 4;
/// "all", "ne", "eps_ne" (also "eps-ne"), "played"; throws dgeval::error otherwise.
ObservedSet parse_observed_set(const std::string& s);
const char* to_string(ObservedSet s);

/// Rows of observations. Per-row arrays have rows() entries; utilities are [rows][n].
struct Observations {
  Dims dims;
  /// False when the dims were taken from the largest index of each player in the file (no
  /// `--dims` and no dims array): an unknown outcome index then cannot be detected.
  bool dims_known = true;
  std::vector<std::int64_t> outcome;  ///< flat C-order outcome index
  std::vector<double> agents;         ///< u_i(s), [rows][n]
  std::vector<double> principals;     ///< û_i(s), [rows][n]
  std::vector<ObservedSet> set;
  std::string source;              ///< file name for messages ("" when sampled)
  std::vector<std::int64_t> line;  ///< per row: CSV line or .npz row (messages); empty: row index
  bool text_lines = false;         ///< `line` holds text line numbers (CSV) rather than row indices

  std::int64_t rows() const { return static_cast<std::int64_t>(outcome.size()); }
  int players() const { return dims.players(); }
  /// "obs.csv, line 12", "obs.npz, row 11" or "row 11": where row r came from.
  std::string where(std::int64_t row) const;
  /// Appends one row (utilities: n values each).
  void add(std::int64_t outcome_index, const double* u, const double* u_hat, ObservedSet s, std::int64_t at = -1);
};

/// How observation files are read.
struct ObservationReadOptions {
  /// The game's dims. Needed to detect unknown outcome indices and to read a flat `outcome`
  /// column; without them (and without a `dims` array in an .npz) they are the largest index of
  /// each player plus one, and `dims_known` is false.
  Dims dims;
  bool has_dims = false;
  /// The set of rows without a `set` column.
  ObservedSet default_set = ObservedSet::played;
};

/// Reads observations from a CSV or .npz file (by extension).
///  * CSV: a header row naming the columns, then one row per observation. Columns: the outcome as
///    `action_0..action_{n-1}` (or one flat `outcome` index with known dims), `agent_0..` and
///    `principal_0..` (utilities), optional `set` (all | ne | eps_ne | played). '#' starts a
///    comment line; blank lines are skipped.
///  * .npz: arrays `actions` int [R, n] (or `outcome` int [R]), `agents` and `principals` float
///    [R, n], optional `set` int [R] (0 all, 1 ne, 2 eps_ne, 3 played), optional `dims` int [n].
/// Throws dgeval::error naming the file, the line/row and column, and what was expected: a
/// malformed number, a missing column, an action index outside [0, k_i), a non-finite utility.
/// Consistency between rows is checked by infer().
Observations read_observations(const std::string& path, const ObservationReadOptions& options = {});
/// Parses CSV observations from a stream; `name` is used in messages.
Observations parse_observations_csv(std::istream& in, const std::string& name,
                                    const ObservationReadOptions& options = {});
/// Writes observations as CSV (action_*, agent_*, principal_*, set), readable by the above.
void write_observations_csv(std::ostream& out, const Observations& obs);

/// One estimate with its bootstrap interval.
struct Estimate {
  double value = NAN;
  double lo = NAN, hi = NAN;    ///< percentile interval at InferenceOptions::level
  std::string reason;           ///< why value is NaN; empty when it is defined
  std::string interval_reason;  ///< why the interval is NaN (besides `reason`); empty otherwise
  std::int64_t replicates = 0;  ///< bootstrap replicates in which the estimate was defined
};

/// The four measures under one family of estimators.
struct EstimateSet {
  std::vector<Estimate> ia;  ///< IA_i, i = 0..n-1
  Estimate ca;               ///< CA of the agents (docs/MATH.md §6 controls CA on the agents)
  std::vector<Estimate> ic;  ///< IC_i
  Estimate cc;
};

struct InferenceOptions {
  std::int64_t resamples = 1000;  ///< bootstrap replicates B (0: point estimates only)
  double level = 0.95;            ///< interval level in (0, 1)
  std::uint64_t seed = 0;         ///< bootstrap seed (replicate b depends only on seed and b)
  int threads = 0;                ///< 0 = all hardware threads; results do not depend on it
};

struct Inference {
  int players = 0;
  std::int64_t rows = 0;
  std::int64_t outcomes = 0;  ///< distinct observed outcomes |O|
  std::int64_t rows_per_set[kObservedSets] = {0, 0, 0, 0};
  std::int64_t outcomes_per_set[kObservedSets] = {0, 0, 0, 0};
  /// The set whose rows measure IC: eps_ne when present, else played (see docs/INFERENCE.md).
  ObservedSet ic_set = ObservedSet::eps_ne;
  EstimateSet authors;
  EstimateSet corrected;
  InferenceOptions options;
};

/// Estimates every measure with both families and bootstrap intervals. Throws dgeval::error for
/// no rows, an outcome index outside the dims, non-finite utilities, or two rows of one outcome
/// with different utilities (naming both rows, the side, the player and the two values).
Inference infer(const Observations& obs, const InferenceOptions& options = {});

namespace detail {
/// Computes bootstrap replicates [first, first + count) of an infer() run into `reps`
/// (count x slots values, replicate by replicate). Replicate b depends only on the data, the seed
/// and b.
using InferenceReplicatesFn = std::function<void(std::int64_t first, std::int64_t count, double* reps)>;
/// Fills all `resamples` x `slots` values of `reps`, e.g. with some ranges computed by `compute`
/// here and the others received from other MPI ranks (docs/SCALING.md).
using InferenceBootstrapFn =
    std::function<void(std::int64_t resamples, std::int64_t slots, const InferenceReplicatesFn& compute, double* reps)>;
/// infer() with the bootstrap's replicates gathered by `bootstrap` (called once when resamples > 0).
Inference infer(const Observations& obs, const InferenceOptions& options, const InferenceBootstrapFn& bootstrap);
}  // namespace detail

/// Writes an Inference as a text table, CSV (one row per estimate) or one JSON object.
enum class InferenceFormat { text, csv, json };
void write_inference(std::ostream& out, const Inference& inference, InferenceFormat format);

// ---------------------------------------------------------------------------------------------
// Sampling observations from a game (docs/MATH.md §6 steps 2–3)
// ---------------------------------------------------------------------------------------------

/// The candidate outcome sets of one game (flat indices, ascending). `all` is implicit.
struct OutcomeSets {
  std::vector<std::int64_t> ne;      ///< E at level ne_level (1 = pure NE; 1 − eps_tol in docs/MATH.md §6)
  std::vector<std::int64_t> eps_ne;  ///< E(IC)
  std::vector<std::int64_t> played;  ///< P(IC, CC), code window with the nearest-outcome fallback
  bool played_fallback = false;
  double w_star = NAN, w_zero = NAN, w_eps = NAN;  ///< agents' average welfare: best, worst NE, worst ε-NE
};

/// Computes the sets of game `g` of `batch` (average welfare, ε-Nash tolerance 1e-10, played
/// window slack 1e-6, as in the authors' code). `ic` has one level per player (or one for all);
/// `ne_level` is the IC level of the "NE" set (1 − eps_tol). The special cases of the authors'
/// run_one are applied: E(IC) = the NE set when IC ≈ ne_level, and all of S when IC ≈ 0.
OutcomeSets outcome_sets(const Batch& batch, std::int64_t g, const std::vector<double>& ic, double cc,
                         double ne_level = 1.0);

/// `samples` outcomes drawn i.i.d. uniformly, with replacement, from `which` (docs/MATH.md §6 step 3),
/// with their utilities from game `g` of `batch`. Draw j is uniform j of stream `stream` under
/// `seed`; every set uses the same uniforms, as the authors reset their RNG before each set.
/// Throws dgeval::error if the set is empty.
Observations sample_observations(const Batch& batch, std::int64_t g, const OutcomeSets& sets, ObservedSet which,
                                 std::int64_t samples, std::uint64_t seed, std::uint64_t stream = 0);

// ---------------------------------------------------------------------------------------------
// The inference experiment (docs/MATH.md §6)
// ---------------------------------------------------------------------------------------------

/// A game with controlled measures for the inference protocol (docs/MATH.md §6 step 1): targets IA_i,
/// IC_i, CC, CA ~ U(0, 1); the game from the controlled generator (dgeval/generators.hpp) with
/// IA_i exact, CA exact on the agents (agents_first) and every utility shifted to minimum 0
/// (positive); regenerated until a pure eps_tol-NE exists, eps_tol growing by 0.01 after every 10
/// failures and IC lowered to 1 − eps_tol when it exceeds it.
struct InferenceGame {
  Batch game;              ///< one game
  std::vector<double> ia;  ///< targets IA_i (met to 1e-12)
  std::vector<double> ic;  ///< nominal IC_i (after the eps_tol override)
  double ca = NAN;         ///< target CA of the agents (met to 1e-10)
  double cc = NAN;         ///< target CC
  double eps_tol = 0.0;    ///< the NE set is E(1 − eps_tol)
  std::int64_t attempts = 0;
};
/// Game `game` of the stream `seed`; depends only on (dims, seed, game).
InferenceGame generate_inference_game(const Dims& dims, std::uint64_t seed, std::uint64_t game);

/// Measures whose estimation error the experiment tracks.
enum class InferenceMeasure { ia, ca, ic, cc, ic_realised, cc_realised };
inline constexpr int kInferenceMeasures = 6;
const char* to_string(InferenceMeasure m);

struct InferenceExperimentConfig {
  std::vector<Dims> sizes;      ///< default: the first four paper SIZES (docs/MATH.md §7.1)
  std::int64_t games = 25;      ///< games per size
  std::int64_t samples = 1000;  ///< J
  std::int64_t every = 10;      ///< checkpoint after every `every` samples (and at J)
  std::uint64_t seed = 1282;
  int threads = 0;
  /// "cpu", "cuda" (one game per GPU thread: the same errors, bit for bit) or "auto".
  std::string backend = "auto";
  int device = 0;
  /// Games computed at once (a unit of work; under MPI, the unit dealt to the ranks); 0: the
  /// backend's (32 per CPU thread, at least 16; on a GPU as many as 256 MiB of errors hold). The
  /// results do not depend on it.
  std::int64_t chunk = 0;
};

/// One per-game error row: the errors of one estimator family on one distribution of one game
/// after `samples` samples. Errors are |truth − estimate| (mean over players for IA and IC);
/// NaN where the estimate is undefined or the family does not estimate that measure there.
struct InferenceErrorRow {
  int size = 0;  ///< index into sizes
  std::int64_t game = 0;
  ObservedSet distribution = ObservedSet::all;
  bool corrected = false;
  std::int64_t samples = 0;  ///< samples seen (the paper's axis stores this minus one)
  double error[kInferenceMeasures];
};

/// Aggregate over the games of one size: one row per (size, distribution, family, checkpoint,
/// measure).
struct InferenceCurveRow {
  int size = 0;
  ObservedSet distribution = ObservedSet::all;
  bool corrected = false;
  InferenceMeasure measure = InferenceMeasure::ia;
  std::int64_t samples = 0;
  std::int64_t defined = 0, undefined = 0;  ///< games with a defined / NaN error
  double mean = NAN, sd = NAN;
  double mean_lo = NAN, mean_hi = NAN;     ///< 90% normal interval of the mean over games
  double q05 = NAN, q50 = NAN, q95 = NAN;  ///< quantiles over games (histogram, 1% relative bins)
};

/// Runs the experiment: for every size and game, generates the game, builds the four sets,
/// samples J outcomes from each and estimates after every `every` samples. IA and CA are
/// estimated from each distribution's own sample; IC on eps_ne and CC on played (the authors'
/// code returns 1 elsewhere, which is reproduced for the authors' family); the corrected IC and
/// CC use the four samples of the game together (docs/INFERENCE.md). Truths: the evaluated IA
/// and agents' CA of the game, the nominal IC and target CC, and their realised values.
/// `per_game` (optional) receives every row in (size, game) order. `progress(done, total)` is
/// called from the calling thread. Results do not depend on `threads`.
std::vector<InferenceCurveRow> run_inference_experiment(
    const InferenceExperimentConfig& config, const std::function<void(const InferenceErrorRow&)>& per_game = nullptr,
    const std::function<void(std::int64_t, std::int64_t)>& progress = nullptr);

namespace detail {
/// One unit of the inference experiment's work: games [first, first + count) of size `size`.
struct InferenceUnit {
  int size = 0;
  std::int64_t first = 0, count = 0;
};
/// The inference experiment's units and the per-game errors of any unit, on the backend of the
/// configuration (resolved: "auto" is "cuda" when usable, else "cpu"). Not thread-safe.
class InferenceExperimentProducer {
 public:
  explicit InferenceExperimentProducer(const InferenceExperimentConfig& config);
  ~InferenceExperimentProducer();
  InferenceExperimentProducer(const InferenceExperimentProducer&) = delete;
  InferenceExperimentProducer& operator=(const InferenceExperimentProducer&) = delete;
  /// The configuration completed: its sizes (the default four when none) and its chunk.
  const InferenceExperimentConfig& config() const;
  const std::string& backend() const;
  const std::vector<std::int64_t>& checkpoints() const;
  /// Errors per game: 4 distributions x 2 families x checkpoints x kInferenceMeasures.
  std::int64_t cells() const;
  /// The units in order: each size's games, `chunk` at a time.
  const std::vector<InferenceUnit>& units() const;
  /// Unit `u`'s errors (count x cells() doubles, game by game); throws dgeval::error naming the
  /// first game that could not be generated.
  void produce(std::int64_t u, std::vector<double>& errors) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
/// Produces unit `u`'s errors (by this process, or received from another MPI rank).
using InferenceChunkFn = std::function<void(std::int64_t u, std::vector<double>& errors)>;
/// run_inference_experiment with the units produced by `produce`, aggregated game by game in
/// unit order exactly as the single-process run does (docs/SCALING.md).
std::vector<InferenceCurveRow> run_inference_experiment(const InferenceExperimentProducer& producer,
                                                        const std::function<void(const InferenceErrorRow&)>& per_game,
                                                        const std::function<void(std::int64_t, std::int64_t)>& progress,
                                                        const InferenceChunkFn& produce);
}  // namespace detail

/// Writes curve rows (CSV with a header), with size as dims text.
void write_inference_curves(std::ostream& out, const InferenceExperimentConfig& config,
                            const std::vector<InferenceCurveRow>& rows);

}  // namespace dgeval
