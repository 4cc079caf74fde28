// The inference experiment of docs/MATH.md §6: per game, the four candidate sets, J samples from each,
// and every estimator after every `every` samples, with errors against the truth; aggregated
// over the games of each size into curves (mean, its 90% interval, quantiles).
//
// The estimates are the same as infer() on the same rows with weights 1 (tests check this), but
// kept incrementally: IA and CA are recomputed over the distinct outcomes at each checkpoint (the
// three exact passes of detail/inference.hpp), IC and CC from running per-context extremes.
//
// The per-game work is detail::inference_game_errors (dgeval/detail/inference_game.hpp), run on
// the CPU's workers or on the GPU (one game per thread): the same bits either way.
//
// Determinism: game g of a size depends only on (dims, seed, g); games run in parallel in chunks
// whose per-game results are aggregated in game order, so the output does not depend on threads
// or on the backend.
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>

#include "core/thread_pool.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/format.hpp"
#include "dgeval/inference.hpp"
#include "experiments/experiments_device.hpp"
#include "inference/inference_internal.hpp"

namespace dgeval {

const char* to_string(InferenceMeasure m) {
  switch (m) {
    case InferenceMeasure::ca:
      return "ca";
    case InferenceMeasure::ic:
      return "ic";
    case InferenceMeasure::cc:
      return "cc";
    case InferenceMeasure::ic_realised:
      return "ic_realised";
    case InferenceMeasure::cc_realised:
      return "cc_realised";
    case InferenceMeasure::ia:
    default:
      return "ia";
  }
}

namespace {

constexpr int kDists = kObservedSets;
constexpr int kFamilies = 2;
constexpr int M = kInferenceMeasures;
static_assert(kDists == detail::kInferenceDists && kFamilies == detail::kInferenceFamilies &&
                  M == detail::kInferenceErrors,
              "the experiment's cells are laid out as detail::inference_game_errors writes them");

// Error histogram: bin 0 holds errors below 1e-9, bins 1..kLogBins are 5% wide in log scale
// up to 10, the last bin holds the rest.
constexpr double kHistLo = 1e-9;
constexpr double kHistRatio = 1.05;
constexpr int kLogBins = 473;  // ceil(ln(1e10) / ln(1.05))
constexpr int kBins = kLogBins + 2;

int bin_of(double x) {
  if (x < kHistLo) return 0;
  const int b = 1 + static_cast<int>(std::floor(std::log(x / kHistLo) / std::log(kHistRatio)));
  return std::min(b, kBins - 1);
}
double bin_value(int b) {
  if (b == 0) return 0.0;
  if (b == kBins - 1) return kHistLo * std::pow(kHistRatio, kLogBins);
  return kHistLo * std::pow(kHistRatio, b - 0.5);
}

/// Aggregates of one size: [dist][family][checkpoint][measure] cells.
struct SizeAggregate {
  std::int64_t cells = 0;
  std::vector<std::int64_t> defined, undefined;
  std::vector<double> sum, sumsq;
  std::vector<std::uint32_t> hist;  // [cells][kBins]
  explicit SizeAggregate(std::int64_t c)
      : cells(c),
        defined(static_cast<std::size_t>(c), 0),
        undefined(static_cast<std::size_t>(c), 0),
        sum(static_cast<std::size_t>(c), 0.0),
        sumsq(static_cast<std::size_t>(c), 0.0),
        hist(static_cast<std::size_t>(c * kBins), 0) {}
  void add(const double* e) {
    for (std::int64_t k = 0; k < cells; ++k) {
      const double x = e[k];
      if (std::isnan(x)) {
        ++undefined[static_cast<std::size_t>(k)];
        continue;
      }
      ++defined[static_cast<std::size_t>(k)];
      sum[static_cast<std::size_t>(k)] += x;
      sumsq[static_cast<std::size_t>(k)] += x * x;
      ++hist[static_cast<std::size_t>(k * kBins + bin_of(x))];
    }
  }
  double quantile(std::int64_t k, double q) const {
    const std::int64_t count = defined[static_cast<std::size_t>(k)];
    if (count == 0) return NAN;
    const std::int64_t rank =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count))));
    std::int64_t cum = 0;
    for (int b = 0; b < kBins; ++b) {
      cum += hist[static_cast<std::size_t>(k * kBins + b)];
      if (cum >= rank) return bin_value(b);
    }
    return bin_value(kBins - 1);
  }
};

}  // namespace

namespace detail {

struct InferenceExperimentProducer::Impl {
  InferenceExperimentConfig config;
  std::string where;
  bool device = false;
  std::vector<std::int64_t> checkpoints;
  std::int64_t cells = 0;
  std::vector<InferenceUnit> units;
  std::unique_ptr<ThreadPool> pool;
  mutable std::vector<std::vector<double>> scratch;
  mutable std::vector<int> status;
};

InferenceExperimentProducer::InferenceExperimentProducer(const InferenceExperimentConfig& config_in)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  InferenceExperimentConfig& config = m.config;
  config = config_in;
  if (config.sizes.empty()) {
    config.sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
  }
  if (config.games < 1) throw error("inference experiment: at least one game per size is needed");
  if (config.samples < 1) throw error("inference experiment: at least one sample is needed");
  if (config.every < 1) throw error("inference experiment: the checkpoint interval must be at least 1");
  if (config.chunk < 0) throw error("inference experiment: the chunk must be 0 (automatic) or positive");
  std::vector<std::int64_t>& checkpoints = m.checkpoints;
  for (std::int64_t j = config.every; j <= config.samples; j += config.every) checkpoints.push_back(j);
  if (checkpoints.empty() || checkpoints.back() != config.samples) checkpoints.push_back(config.samples);
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
  m.cells = kDists * kFamilies * C * M;

  m.where = config.backend;
  if (m.where == "auto") m.where = cuda_available() ? "cuda" : "cpu";
  if (m.where != "cpu" && m.where != "cuda") {
    throw error("inference experiment: unknown backend \"" + config.backend + "\"; expected one of: auto, cpu, cuda");
  }
  m.device = m.where == "cuda";
  m.pool = std::make_unique<ThreadPool>(m.device ? 1 : config.threads);
  m.scratch.resize(static_cast<std::size_t>(m.pool->size()));
  // On a GPU, as many games at a time as 256 MiB of errors hold (~7000 at the paper's 100
  // checkpoints, 38 KiB each), at least 1024.
  if (config.chunk == 0) {
    config.chunk = m.device ? std::max<std::int64_t>(1024, (std::int64_t{256} << 20) / (m.cells * 8))
                            : std::max<std::int64_t>(16, 32 * m.pool->size());
  }
  for (std::size_t z = 0; z < config.sizes.size(); ++z) {
    for (std::int64_t g0 = 0; g0 < config.games; g0 += config.chunk) {
      m.units.push_back({static_cast<int>(z), g0, std::min(config.chunk, config.games - g0)});
    }
  }
}

InferenceExperimentProducer::~InferenceExperimentProducer() = default;
const InferenceExperimentConfig& InferenceExperimentProducer::config() const { return impl_->config; }
const std::string& InferenceExperimentProducer::backend() const { return impl_->where; }
const std::vector<std::int64_t>& InferenceExperimentProducer::checkpoints() const { return impl_->checkpoints; }
std::int64_t InferenceExperimentProducer::cells() const { return impl_->cells; }
const std::vector<InferenceUnit>& InferenceExperimentProducer::units() const { return impl_->units; }

void InferenceExperimentProducer::produce(std::int64_t u, std::vector<double>& errors) const {
  const Impl& m = *impl_;
  const InferenceUnit& unit = m.units.at(static_cast<std::size_t>(u));
  const Dims& dims = m.config.sizes[static_cast<std::size_t>(unit.size)];
  const InferenceShape shape = experiment_shape(dims);
  const std::size_t scratch_size = static_cast<std::size_t>(inference_scratch_doubles(shape));
  const std::uint64_t seed = derive_seed(m.config.seed, 1000 + static_cast<std::uint64_t>(unit.size));
  const std::int64_t C = static_cast<std::int64_t>(m.checkpoints.size());
  const std::int64_t cells = m.cells, g0 = unit.first, count = unit.count;
  errors.resize(static_cast<std::size_t>(count * cells));
  m.status.assign(static_cast<std::size_t>(count), 0);
  if (m.device) {
    cuda::inference_errors_on_device(m.config.device, shape, seed, g0, count, m.checkpoints, errors.data(),
                                     m.status.data());
  } else {
    m.pool->parallel_for(count, [&](std::int64_t t, int worker) {
      std::vector<double>& sc = m.scratch[static_cast<std::size_t>(worker)];
      if (sc.size() < scratch_size) sc.resize(scratch_size);
      m.status[static_cast<std::size_t>(t)] =
          inference_game_errors(shape, seed, static_cast<std::uint64_t>(g0 + t), m.checkpoints.data(), C, sc.data(),
                                errors.data() + t * cells);
    });
  }
  for (std::int64_t t = 0; t < count; ++t) {
    if (m.status[static_cast<std::size_t>(t)] != inference_ok) {
      throw error(
          describe_inference_failure(m.status[static_cast<std::size_t>(t)], static_cast<std::uint64_t>(g0 + t)));
    }
  }
}

std::vector<InferenceCurveRow> run_inference_experiment(const InferenceExperimentProducer& producer,
                                                        const std::function<void(const InferenceErrorRow&)>& per_game,
                                                        const std::function<void(std::int64_t, std::int64_t)>& progress,
                                                        const InferenceChunkFn& produce) {
  const InferenceExperimentConfig& config = producer.config();
  const std::vector<std::int64_t>& checkpoints = producer.checkpoints();
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
  const std::int64_t cells = producer.cells();
  const std::vector<InferenceUnit>& units = producer.units();
  const std::int64_t total = config.games * static_cast<std::int64_t>(config.sizes.size());
  std::int64_t done = 0;
  std::vector<InferenceCurveRow> rows;
  std::vector<double> errors;
  std::unique_ptr<SizeAggregate> agg;
  for (std::size_t u = 0; u < units.size(); ++u) {
    const InferenceUnit& unit = units[u];
    const int z = unit.size;
    if (unit.first == 0) agg = std::make_unique<SizeAggregate>(cells);
    produce(static_cast<std::int64_t>(u), errors);
    if (static_cast<std::int64_t>(errors.size()) != unit.count * cells) {
      throw error("inference experiment: unit " + std::to_string(u) + " came back with " +
                  std::to_string(errors.size()) + " errors, expected " + std::to_string(unit.count * cells));
    }
    for (std::int64_t t = 0; t < unit.count; ++t) {
      const double* e = errors.data() + t * cells;
      agg->add(e);
      if (!per_game) continue;
      for (int d = 0; d < kDists; ++d) {
        for (int f = 0; f < kFamilies; ++f) {
          for (std::int64_t c = 0; c < C; ++c) {
            InferenceErrorRow row;
            row.size = z;
            row.game = unit.first + t;
            row.distribution = static_cast<ObservedSet>(d);
            row.corrected = f == 1;
            row.samples = checkpoints[static_cast<std::size_t>(c)];
            std::copy(e + ((d * kFamilies + f) * C + c) * M, e + ((d * kFamilies + f) * C + c) * M + M, row.error);
            per_game(row);
          }
        }
      }
    }
    done += unit.count;
    if (progress) progress(done, total);
    if (unit.first + unit.count < config.games) continue;
    for (int d = 0; d < kDists; ++d) {
      for (int f = 0; f < kFamilies; ++f) {
        for (int m = 0; m < M; ++m) {
          for (std::int64_t c = 0; c < C; ++c) {
            const std::int64_t k = ((static_cast<std::int64_t>(d) * kFamilies + f) * C + c) * M + m;
            InferenceCurveRow row;
            row.size = z;
            row.distribution = static_cast<ObservedSet>(d);
            row.corrected = f == 1;
            row.measure = static_cast<InferenceMeasure>(m);
            row.samples = checkpoints[static_cast<std::size_t>(c)];
            row.defined = agg->defined[static_cast<std::size_t>(k)];
            row.undefined = agg->undefined[static_cast<std::size_t>(k)];
            if (row.defined == 0) continue;  // not estimated here (e.g. the corrected IC off eps_ne)
            const double cnt = static_cast<double>(row.defined);
            row.mean = agg->sum[static_cast<std::size_t>(k)] / cnt;
            const double var =
                row.defined > 1
                    ? std::max(0.0, (agg->sumsq[static_cast<std::size_t>(k)] - cnt * row.mean * row.mean) / (cnt - 1))
                    : 0.0;
            row.sd = std::sqrt(var);
            const double half = 1.6448536269514722 * row.sd / std::sqrt(cnt);
            row.mean_lo = row.mean - half;
            row.mean_hi = row.mean + half;
            row.q05 = agg->quantile(k, 0.05);
            row.q50 = agg->quantile(k, 0.50);
            row.q95 = agg->quantile(k, 0.95);
            rows.push_back(row);
          }
        }
      }
    }
  }
  return rows;
}

}  // namespace detail

std::vector<InferenceCurveRow> run_inference_experiment(
    const InferenceExperimentConfig& config, const std::function<void(const InferenceErrorRow&)>& per_game,
    const std::function<void(std::int64_t, std::int64_t)>& progress) {
  const detail::InferenceExperimentProducer producer(config);
  return detail::run_inference_experiment(producer, per_game, progress,
                                          [&](std::int64_t u, std::vector<double>& e) { producer.produce(u, e); });
}

void write_inference_curves(std::ostream& out, const InferenceExperimentConfig& config,
                            const std::vector<InferenceCurveRow>& rows) {
  std::vector<Dims> sizes = config.sizes;
  if (sizes.empty()) sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
  out << "size,outcomes,distribution,estimator,measure,samples,games,undefined,mean,sd,mean_lo,mean_hi,q05,q50,q95\n";
  for (const InferenceCurveRow& r : rows) {
    const Dims& d = sizes[static_cast<std::size_t>(r.size)];
    out << d.to_string() << ',' << d.outcomes() << ',' << to_string(r.distribution) << ','
        << (r.corrected ? "corrected" : "authors") << ',' << to_string(r.measure) << ',' << r.samples << ','
        << r.defined << ',' << r.undefined << ',' << format_double(r.mean) << ',' << format_double(r.sd) << ','
        << format_double(r.mean_lo) << ',' << format_double(r.mean_hi) << ',' << format_double(r.q05) << ','
        << format_double(r.q50) << ',' << format_double(r.q95) << '\n';
  }
}

}  // namespace dgeval
