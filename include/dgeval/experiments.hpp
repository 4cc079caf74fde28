// The paper's experiments (docs/MATH.md §7.1 grid scan, §7.3 bound surface) at any scale, as library
// functions: generate with controlled measures, evaluate with the CPU backend, aggregate.
// Results are one row per grid point or per 2-D bin, not per game. docs/EXPERIMENTS.md shows
// the commands, the CSV columns and the figures.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dgeval/detail/surface_bins.hpp"
#include "dgeval/game.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/options.hpp"

namespace dgeval {

/// The four measures a grid scan sweeps.
enum class Measure { ia, ic, ca, cc };
/// The measure's name as the CLI takes it; parse_measure throws dgeval::error naming the
/// accepted values.
Measure parse_measure(const std::string& s);
const char* to_string(Measure m);

/// Called now and then with the games finished so far; return false to cancel (throws
/// dgeval::cancelled).
using ExperimentProgress = std::function<bool(std::int64_t games_done, std::int64_t games_total)>;

// ---------------------------------------------------------------------------------------------
// Grid scan (docs/MATH.md §7.1)

struct GridScanConfig {
  std::vector<Dims> sizes = {Dims({3, 3})};
  std::vector<Measure> variables = {Measure::ia, Measure::ic, Measure::ca, Measure::cc};
  /// Values of the measures not swept (IA and IC the same for every player).
  std::vector<double> others = {0.9};
  /// The swept values are linspace(0, 1, increments + 1).
  int increments = 25;
  /// Games per grid point (the paper: 25 for the main text, 10 for the appendix).
  std::int64_t games_per_point = 25000;
  std::uint64_t seed = 1282;
  /// Distribution, ranges and pure-NE mode of the games (`reject` by default: E_0 ≠ ∅ is what
  /// the protocol needs; `authors` reproduces the eps_tol protocol with its IC overwrite).
  GeneratorSpec generator = [] {
    GeneratorSpec g;
    g.pure_ne = PureNe::reject;
    return g;
  }();
  /// Evaluation options: welfare, CC window, tolerances. IC, CC and the strategy (the played
  /// set of docs/MATH.md §4.4) are set per point.
  Options options;
  int threads = 0;
  /// Games generated and evaluated at once.
  std::int64_t chunk = 1 << 15;
  /// "cpu", "cuda" (games generated and evaluated on the device, the same games as on the CPU)
  /// or "auto" (cuda when usable).
  std::string backend = "auto";
  int device = 0;
};

/// Mean, 90% confidence interval of the mean, and the 5% / 95% quantiles of one quantity.
struct Stats {
  double mean = NAN, ci_low = NAN, ci_high = NAN, q05 = NAN, q95 = NAN;
};

/// One grid point. Welfare quantities are normalised per game to (x − ŵ⁻)/(ŵ⁺ − ŵ⁻) as in the
/// authors' plots (docs/MATH.md §7.1), over the games whose strategy is defined.
struct GridScanPoint {
  Dims dims;
  Measure variable = Measure::ia;
  double others = 0, value = 0;
  double ia_target = 0, ca_target = 0, ic = 0, cc = 0;
  std::int64_t games = 0;                     ///< generated
  std::int64_t evaluated = 0;                 ///< with a defined strategy (E_0 and E(IC) non-empty)
  double measure_actual = NAN;                ///< mean measured IA (mean over players) or CA; nominal IC, CC
  double ia_error_max = 0, ca_error_max = 0;  ///< max |measured − target| after evaluation
  Stats w_hat_max;                            ///< ŵ*
  Stats w_hat_min;                            ///< ŵ_min
  Stats w_hat_avg;                            ///< ŵ(σ), σ uniform over the played set
  Stats bound_1;                              ///< ŵ* − R3 (the authors' plotted bound)
  Stats bound_2;                              ///< ŵ⁺ − R5 (lower bound on ŵ*)
  Stats bound_r2;                             ///< ŵ* − R2 (the theorem bound of docs/MATH.md §5.2)
  std::int64_t r2_fail = 0;                   ///< PWR > R2 (a theorem: expected 0)
  std::int64_t r5_fail = 0;                   ///< ŵ⁺ − ŵ* > R5 (a theorem: expected 0)
  std::int64_t r3_fail = 0;                   ///< PWR > R3 with a non-empty played window (expected 0)
  std::int64_t fallback = 0;                  ///< the played window was empty (docs/MATH.md §4.4)
  std::int64_t r3_fail_fallback = 0;          ///< PWR > R3 in the fallback case (can happen, docs/MATH.md §5.3)
  std::int64_t eps_tol_raised = 0;            ///< `authors`: games accepted with eps_tol > 0
  double ic_effective_min = NAN;              ///< `authors`: the least IC after the overwrite
  double attempts_mean = 0;                   ///< draws per game
  std::int64_t magnitudes_adjusted = 0;       ///< CA target below what the first magnitudes allow
};

/// Runs the grid scan; points in the order sizes × variables × others × values. Game g of a
/// point is game (point index · games_per_point + g) of the stream `seed`, so any point can be
/// recomputed alone.
std::vector<GridScanPoint> run_grid_scan(const GridScanConfig& config, const ExperimentProgress& progress = {});

/// CSV with a header; one row per point; summaries expand to name_mean, name_ci_low, ...
void write_grid_scan_csv(std::ostream& out, const std::vector<GridScanPoint>& points);

namespace detail {
/// One unit of a grid scan's work: games [first, first + count) of point `point` (games_per_point
/// cut into pieces of at most `chunk`). The units, in order, are the single-process run's.
struct GridUnit {
  std::int64_t point = 0;
  std::int64_t first = 0;  ///< the first game, counted within the point
  std::int64_t count = 0;
  /// `authors`: the IC state restarts at this unit from its point's IC (the first unit of each
  /// line of a sweep, and of every point when IC is swept); else it carries from the unit before.
  bool reset = false;
};
/// The games of a unit and what the generator said of each.
struct GridGames {
  Batch batch;
  std::vector<GameInfo> info;
};
/// A unit's contribution to its point, as the single-process run accumulates it: integer counts,
/// maxima and minima (exact in any grouping), and the per-game values whose sums depend on order
/// (merged by run_grid_scan below in unit order, game by game: the same bits whatever produced them).
struct GridChunk {
  std::int64_t games = 0, evaluated = 0, r2_fail = 0, r5_fail = 0, r3_fail = 0, fallback = 0, r3_fail_fallback = 0,
               eps_tol_raised = 0, magnitudes_adjusted = 0, attempts = 0;
  double ia_error_max = 0, ca_error_max = 0;
  double ic_min = INFINITY;     ///< `authors`: the least IC state in the unit (else +inf)
  double ic_state_out = NAN;    ///< `authors`: the IC state after the unit's last game
  std::vector<double> measure;  ///< per game: the measured IA (mean over players) or CA; nominal IC, CC
  std::vector<double> q[6];     ///< per game with a defined strategy: ŵ*, ŵ_min, ŵ(σ), bound_1, bound_2, bound_r2
};
/// `authors`: the IC state after the games whose accepted eps_tol values (those > 0, in game
/// order) are `raised`, from `state` (the update of docs/MATH.md §7.1; games with eps_tol = 0 leave
/// it as it is). A unit's IC states depend only on the state before it and these values, which the
/// generator gives without the state: so MPI ranks exchange them to start their units.
double grid_ic_carry(double state, const std::vector<double>& raised);
/// The accepted eps_tol values > 0 of a unit's games, in game order.
std::vector<double> grid_raised(const GridGames& games);

/// A grid scan's units and points, and the generation and evaluation of any unit (the backend of
/// `config`, resolved: "auto" is "cuda" when usable, else "cpu").
class GridScanProducer {
 public:
  explicit GridScanProducer(const GridScanConfig& config);
  ~GridScanProducer();
  GridScanProducer(const GridScanProducer&) = delete;
  GridScanProducer& operator=(const GridScanProducer&) = delete;
  const GridScanConfig& config() const;
  /// The backend resolved: "cpu" or "cuda".
  const std::string& backend() const;
  const std::vector<GridUnit>& units() const;
  /// The points with their parameters set and no results yet, in the output order.
  const std::vector<GridScanPoint>& points() const;
  /// The first game of unit `u` in the stream `seed` (point · games_per_point + first).
  std::int64_t first_game(std::int64_t u) const;
  void generate(std::int64_t u, GridGames& games) const;
  /// Evaluates unit `u`'s games; `ic_state` is the IC state before its first game (`authors`:
  /// its point's IC when the unit resets; ignored otherwise).
  void evaluate(std::int64_t u, const GridGames& games, double ic_state, GridChunk& chunk) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
/// Produces unit `u` into `chunk`, given the IC state before it (see GridScanProducer::evaluate).
using GridChunkFn = std::function<void(std::int64_t u, double ic_state, GridChunk& chunk)>;
/// run_grid_scan with the units produced by `produce` (by this process, or received from other
/// MPI ranks), merged in unit order exactly as the single-process run accumulates them.
std::vector<GridScanPoint> run_grid_scan(const GridScanProducer& producer, const ExperimentProgress& progress,
                                         const GridChunkFn& produce);
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Bound surface (docs/MATH.md §7.3)

struct BoundSurfaceConfig {
  int players = 4;
  /// Outcomes of the flat game (dims N×1×…×1: the strategy is any distribution over outcomes).
  std::int64_t outcomes = 4;
  std::int64_t games = 100000;
  std::uint64_t seed = 9622709;
  Standardisation standardisation = Standardisation::max;
  Welfare welfare = Welfare::sum;
  /// Calibration ratios r_i (one value = every player): m̂_i = 1, m_i = 1 / r_i.
  std::vector<double> calibration = {1.0};
  Distribution distribution = Distribution::uniform;
  int bins_x = 40;  ///< agents' welfare regret
  int bins_y = 40;  ///< total misalignment
  int threads = 0;
  /// Games generated and evaluated at once; 0: 2^16 on the CPU, 2^21 on a GPU.
  std::int64_t chunk = 0;
  /// Keep the first `keep_points` games' (WR, TM, PWR, bound) for scatter plots.
  std::int64_t keep_points = 0;
  /// "cpu", "cuda" (games generated, evaluated and binned on the device: only the bins come
  /// back, and the kept points' columns) or "auto" (cuda when usable).
  std::string backend = "auto";
  int device = 0;
};

struct SurfaceBin {
  int ix = 0, iy = 0;
  double wr_low = 0, wr_high = 0, tm_low = 0, tm_high = 0;
  std::int64_t count = 0;
  double pwr_mean = NAN, pwr_max = NAN;
  double bound_centre = 0;        ///< the R2 surface at the bin's centre
  double bound_upper = 0;         ///< the R2 surface at the bin's upper corner: ≥ every PWR in the bin
  std::int64_t above_simple = 0;  ///< PWR > R·WR + misalignment with R = 1, no calibration term
  std::int64_t above_bound = 0;   ///< PWR > the evaluator's R2 bound (a theorem: expected 0)
};

struct SurfacePoint {
  double wr, tm, pwr, bound;
};

struct BoundSurfaceResult {
  double wr_max = 0, tm_max = 0;  ///< the axes' ranges (largest possible WR and TM)
  std::vector<SurfaceBin> bins;   ///< bins_x × bins_y, row-major in (ix, iy)
  std::int64_t games = 0, above_simple = 0, above_bound = 0, bin_bound_exceeded = 0;
  std::vector<SurfacePoint> points;
};

/// The R2 surface (constant form, minimised over R ∈ {0} ∪ {r_i}, capped) for magnitudes
/// m_i = 1 / r_i, m̂_i = 1, as a function of (WR, TM = Σ m̂_i (1 − IA_i)).
double r2_surface(const BoundSurfaceConfig& config, double wr, double tm);

BoundSurfaceResult run_bound_surface(const BoundSurfaceConfig& config, const ExperimentProgress& progress = {});

/// A shard of a bound-surface run, for running one run as several processes (MPI ranks, mpi4py,
/// a job array): shard `index` of `count` holds the games [first_game, first_game + games), the
/// `index`-th of `count` contiguous near-equal ranges of config.games, and the exact integer
/// accumulators of its bins. merge_bound_surface() of every shard of a run gives the
/// BoundSurfaceResult of run_bound_surface(config) to the bit, whatever `count` and the
/// backends the shards ran on (docs/SCALING.md).
struct BoundSurfaceShard {
  int index = 0, count = 1;
  std::int64_t first_game = 0, games = 0;
  /// The bins' accumulators: detail::surface_fields arrays of bins_x · bins_y integers
  /// (dgeval/detail/surface_bins.hpp's layout): count, Σ PWR in 128-bit fixed point (low and high
  /// words), the largest PWR's orderable bits, and the two counts above the bounds.
  std::vector<std::uint64_t> accumulators;
  /// Its games among the first config.keep_points, in game order.
  std::vector<SurfacePoint> points;
};

/// Shard `index` of `count` (0 <= index < count <= config.games) of run_bound_surface(config);
/// `progress` counts this shard's games.
BoundSurfaceShard run_bound_surface_shard(const BoundSurfaceConfig& config, int index, int count,
                                          const ExperimentProgress& progress = {});
/// The run whose shards are `shards` (every index of one count exactly once, in any order),
/// each made with this `config` (its backend, threads and chunk aside).
BoundSurfaceResult merge_bound_surface(const BoundSurfaceConfig& config, const std::vector<BoundSurfaceShard>& shards);

namespace detail {
/// One chunk's contribution to the bound surface: the bins' integer accumulators
/// (detail/surface_bins.hpp: surface_fields arrays of bins_x · bins_y), the chunk's first games
/// as points (as many as asked for), and the games whose regrets came out non-finite.
struct SurfaceChunk {
  std::vector<std::uint64_t> bins;
  std::vector<SurfacePoint> points;
  std::int64_t invalid = 0;
  std::int64_t first_invalid = -1;  ///< index in the chunk of the first invalid game
};
/// Bins the bound surface's games [first, first + count), keeping the first `points_wanted`
/// of them as points.
using SurfaceChunkFn =
    std::function<void(std::int64_t first, std::int64_t count, std::int64_t points_wanted, SurfaceChunk& chunk)>;
/// The binning of a run (axes, bins, the simple bound's factor and the fixed-point scale).
SurfaceBinning surface_binning(const BoundSurfaceConfig& config);
/// The CPU side of a chunk: adds games [0, count) of `results` (the columns of
/// surface_options) to `chunk` with detail::surface_record, as the device kernel does.
void bin_surface_results(const SurfaceBinning& binning, const Results& results, std::int64_t count,
                         std::int64_t points_wanted, SurfaceChunk& chunk);
/// The producer that run_bound_surface(config, progress) uses, with `config` completed as that
/// run completes it: its backend resolved ("auto": "cuda" when usable, else "cpu") and its chunk
/// set (0: the backend's default). A caller may then produce the chunks itself, e.g. a shard of
/// them per MPI rank, and merge them in order with run_bound_surface below (docs/SCALING.md).
SurfaceChunkFn surface_producer(BoundSurfaceConfig& config);
/// run_bound_surface with the games produced by `produce` (the CPU or the device), chunk by chunk.
BoundSurfaceResult run_bound_surface(const BoundSurfaceConfig& config, const ExperimentProgress& progress,
                                     const SurfaceChunkFn& produce);
/// The evaluation options, the generator parameters (IA targets drawn per game) and the
/// strategies' regret range of a bound-surface run.
Options surface_options(const BoundSurfaceConfig& config);
GeneratorParams surface_generator_params(const BoundSurfaceConfig& config);
double surface_strategy_cap(const BoundSurfaceConfig& config);
}  // namespace detail

/// CSV of the bins; and of the kept points.
void write_bound_surface_csv(std::ostream& out, const BoundSurfaceResult& result);
void write_surface_points_csv(std::ostream& out, const BoundSurfaceResult& result);

// ---------------------------------------------------------------------------------------------
// Throughput

struct ThroughputRow {
  Dims dims;
  std::string generator;  ///< "plain" or "controlled" (IA, CA targets)
  std::int64_t games = 0;
  double generate_seconds = 0, evaluate_seconds = 0;
  double games_per_second() const { return games / (generate_seconds + evaluate_seconds); }
};

/// Times generation and evaluation (default options) of `games` games per size on the CPU.
std::vector<ThroughputRow> measure_throughput(const std::vector<Dims>& sizes, std::int64_t games, int threads = 0);

}  // namespace dgeval
