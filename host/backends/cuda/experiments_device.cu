// The experiments' device side (experiments/experiments_device.hpp): games of the controlled
// generators generated on the device, the bound surface's games generated, evaluated and binned
// on the device, and the inference experiment's games on the device.
#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/evaluation.hpp"
#include "backends/cuda/resources.hpp"
#include "dgeval/error.hpp"
#include "evaluate.cuh"  // kernels/evaluate.cuh
#include "experiments/experiments_device.hpp"

namespace dgeval {
namespace cuda {

void generate_on_device(const Dims& dims, const GeneratorSpec& spec, std::uint64_t seed, std::int64_t first_game,
                        std::int64_t games, char* agents, char* principals, bool float32, int multiprocessors,
                        GameInfo* host_info) {
  if (games <= 0) return;
  const detail::GeneratorParams p = generator_params(spec, dims);
  const std::int64_t per_side = static_cast<std::int64_t>(p.players) * p.outcomes;
  const std::size_t scratch_bytes_per_thread = static_cast<std::size_t>(detail::generator_scratch_doubles(p)) * 8;
  constexpr std::size_t kBudget = std::size_t{256} << 20;
  std::int64_t threads = std::min<std::int64_t>(games, static_cast<std::int64_t>(std::max(multiprocessors, 1)) * 1024);
  threads = std::min<std::int64_t>(
      threads, std::max<std::int64_t>(128, static_cast<std::int64_t>(kBudget / scratch_bytes_per_thread)));
  threads = round_up(static_cast<std::size_t>(threads), 128);
  const std::int64_t chunk =
      float32 ? std::max<std::int64_t>(
                    1, std::min<std::int64_t>(
                           games, static_cast<std::int64_t>(kBudget / (16 * static_cast<std::size_t>(per_side)))))
              : games;
  DeviceBuffer scratch, staging, status, info;
  scratch.allocate(static_cast<std::size_t>(threads) * scratch_bytes_per_thread, "the generator's scratch");
  if (float32)
    staging.allocate(static_cast<std::size_t>(chunk) * 16 * static_cast<std::size_t>(per_side),
                     "generated games in float64");
  status.allocate(static_cast<std::size_t>(chunk) * sizeof(int), "the generator's status");
  if (host_info) info.allocate(static_cast<std::size_t>(chunk) * sizeof(GameInfo), "the generator's reports");
  std::vector<int> host_status(static_cast<std::size_t>(chunk));
  const std::size_t value_bytes = float32 ? 4 : 8;
  for (std::int64_t g0 = 0; g0 < games; g0 += chunk) {
    const std::int64_t count = std::min(chunk, games - g0);
    const std::size_t at = static_cast<std::size_t>(g0) * static_cast<std::size_t>(per_side) * value_bytes;
    double* a = float32 ? reinterpret_cast<double*>(staging.get()) : reinterpret_cast<double*>(agents + at);
    double* b = float32 ? a + count * per_side : reinterpret_cast<double*>(principals + at);
    launch_generate_games(
        p, seed, first_game + g0, count, a, b, reinterpret_cast<double*>(scratch.get()),
        static_cast<int>(std::min<std::int64_t>(threads, round_up(static_cast<std::size_t>(count), 128))),
        reinterpret_cast<int*>(status.get()), host_info ? reinterpret_cast<GameInfo*>(info.get()) : nullptr, nullptr);
    if (float32) {
      launch_convert(a, agents + at, true, count * per_side, nullptr);
      launch_convert(b, principals + at, true, count * per_side, nullptr);
    }
    DGEVAL_CUDA_CHECK(cudaMemcpy(host_status.data(), status.get(), static_cast<std::size_t>(count) * sizeof(int),
                                 cudaMemcpyDeviceToHost));
    for (std::int64_t j = 0; j < count; ++j) {
      if (host_status[static_cast<std::size_t>(j)] != detail::generate_ok) {
        throw error(describe_generator_failure(spec, seed, static_cast<std::uint64_t>(first_game + g0 + j)));
      }
    }
    if (host_info) {
      DGEVAL_CUDA_CHECK(cudaMemcpy(host_info + g0, info.get(), static_cast<std::size_t>(count) * sizeof(GameInfo),
                                   cudaMemcpyDeviceToHost));
    }
  }
}

Batch generate_games_on_device(int device, const Dims& dims, const GeneratorSpec& spec, std::int64_t games,
                               std::uint64_t seed, std::int64_t first_game, std::vector<GameInfo>* info) {
  if (games < 0 || first_game < 0) throw error("generator: negative game count or first game");
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  validate(spec, dims);
  DeviceScope scope(device);
  const std::size_t side =
      static_cast<std::size_t>(
          checked_mul(games, static_cast<std::int64_t>(dims.players()) * dims.outcomes(), "generated batch size")) *
      8;
  Batch b(dims, games);
  if (info) info->assign(static_cast<std::size_t>(games), GameInfo{});
  if (games == 0) return b;
  DeviceBuffer out;
  out.allocate(2 * side, "the generated games");
  generate_on_device(dims, spec, seed, first_game, games, out.get(), out.get() + side, false,
                     limits_of(device).multiprocessors, info ? info->data() : nullptr);
  DGEVAL_CUDA_CHECK(cudaMemcpy(b.agents.data(), out.get(), side, cudaMemcpyDeviceToHost));
  DGEVAL_CUDA_CHECK(cudaMemcpy(b.principals.data(), out.get() + side, side, cudaMemcpyDeviceToHost));
  return b;
}

namespace {

/// The bound surface's device side: buffers for `chunk` games, reused chunk after chunk.
class SurfaceProducer {
 public:
  SurfaceProducer(int device, const detail::GeneratorParams& base, std::uint64_t seed, Welfare welfare, double cap,
                  const Options& options, std::int64_t chunk, const detail::SurfaceBinning& binning)
      : device_(device), base_(base), seed_(seed), welfare_(welfare), cap_(cap), options_(options), binning_(binning) {
    std::string why;
    if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
    std::vector<std::int64_t> actions(static_cast<std::size_t>(base.players));
    for (int i = 0; i < base.players; ++i) actions[static_cast<std::size_t>(i)] = base.actions[i];
    dims_ = Dims(actions);
    DeviceScope scope(device_);
    const DeviceLimits lim = limits_of(device_);
    prepare_current_device(lim);
    chunk_ = chunk;
    plan_ = make_plan(dims_, DType::float64, options_, chunk_, lim, Tuning{});
    layout_ = output_layout(plan_.n, plan_.N, chunk_, false, false, options_.columns);
    const std::size_t side = static_cast<std::size_t>(chunk_) * static_cast<std::size_t>(plan_.n * plan_.N) * 8;
    input_.allocate(2 * side, "the bound surface's games");
    weights_.allocate(static_cast<std::size_t>(chunk_) * static_cast<std::size_t>(plan_.N) * 8, "the strategies");
    output_.allocate(layout_.bytes, "the result columns");
    scratch_.allocate(plan_.scratch_bytes, "the tiled path's scratch");
    status_.allocate(static_cast<std::size_t>(chunk_) * sizeof(int), "the generator's status");
    const std::size_t per_thread = static_cast<std::size_t>(detail::surface_scratch_doubles(base_)) * 8;
    threads_ = std::min<std::int64_t>(chunk_, static_cast<std::int64_t>(std::max(lim.multiprocessors, 1)) * 1024);
    threads_ = std::min<std::int64_t>(
        threads_, std::max<std::int64_t>(128, static_cast<std::int64_t>((std::size_t{256} << 20) / per_thread)));
    threads_ = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(threads_), 128));
    gen_scratch_.allocate(static_cast<std::size_t>(threads_) * per_thread, "the generator's scratch");
    cells_ = static_cast<std::size_t>(binning_.bins_x) * static_cast<std::size_t>(binning_.bins_y);
    bins_.allocate((detail::surface_fields * cells_ + 2) * sizeof(std::uint64_t), "the bound surface's bins");
    host_status_.resize(static_cast<std::size_t>(chunk_));
  }

  void operator()(std::int64_t first, std::int64_t count, std::int64_t points_wanted, detail::SurfaceChunk& chunk) {
    if (count > chunk_) throw error("bound surface: a chunk larger than the device producer's");
    DeviceScope scope(device_);
    const std::size_t side = static_cast<std::size_t>(chunk_) * static_cast<std::size_t>(plan_.n * plan_.N) * 8;
    double* agents = reinterpret_cast<double*>(input_.get());
    double* principals = reinterpret_cast<double*>(input_.get() + side);
    double* weights = reinterpret_cast<double*>(weights_.get());
    launch_surface_games(
        base_, seed_, first, count, welfare_, cap_, agents, principals, weights,
        reinterpret_cast<double*>(gen_scratch_.get()),
        static_cast<int>(std::min<std::int64_t>(threads_, round_up(static_cast<std::size_t>(count), 128))),
        reinterpret_cast<int*>(status_.get()), nullptr);
    enqueue_evaluation(plan_, count, agents, principals, output_.get(), layout_, scratch_.get(), nullptr, weights,
                       nullptr);
    DGEVAL_CUDA_CHECK(cudaMemcpy(host_status_.data(), status_.get(), static_cast<std::size_t>(count) * sizeof(int),
                                 cudaMemcpyDeviceToHost));
    for (std::int64_t j = 0; j < count; ++j) {
      if (host_status_[static_cast<std::size_t>(j)] != detail::generate_ok) {
        throw error("bound surface: game " + std::to_string(first + j) + " could not be generated");
      }
    }
    // Bin on the device; only the bins come back (and the invalid count, least invalid index).
    const std::size_t bin_bytes = (detail::surface_fields * cells_ + 2) * sizeof(std::uint64_t);
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(bins_.get(), 0, bin_bytes - sizeof(std::uint64_t), nullptr));
    DGEVAL_CUDA_CHECK(
        cudaMemsetAsync(bins_.get() + bin_bytes - sizeof(std::uint64_t), 0xff, sizeof(std::uint64_t), nullptr));
    launch_surface_bins(binning_, columns(), count, reinterpret_cast<std::uint64_t*>(bins_.get()), nullptr);
    std::vector<std::uint64_t> host_bins(detail::surface_fields * cells_ + 2);
    DGEVAL_CUDA_CHECK(cudaMemcpy(host_bins.data(), bins_.get(), bin_bytes, cudaMemcpyDeviceToHost));
    chunk.invalid = static_cast<std::int64_t>(host_bins[detail::surface_fields * cells_]);
    chunk.first_invalid =
        chunk.invalid > 0 ? static_cast<std::int64_t>(host_bins[detail::surface_fields * cells_ + 1]) : -1;
    host_bins.resize(detail::surface_fields * cells_);
    chunk.bins = std::move(host_bins);
    chunk.points.clear();
    if (points_wanted <= 0) return;
    // The points: the selected columns of the first `points_wanted` games.
    const std::int64_t kept = std::min(points_wanted, count);
    const OutputLayout part = output_layout(plan_.n, plan_.N, kept, false, false, options_.columns);
    std::vector<char> host(part.bytes);
    const auto& cols = result_columns();
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (layout_.column_offset[j] == OutputLayout::kNoColumn) continue;
      const std::size_t width = (cols[j].kind == ColumnKind::player_real ? static_cast<std::size_t>(plan_.n) : 1) * 8;
      DGEVAL_CUDA_CHECK(cudaMemcpy(host.data() + part.column_offset[j], output_.get() + layout_.column_offset[j],
                                   static_cast<std::size_t>(kept) * width, cudaMemcpyDeviceToHost));
    }
    Results r;
    r.resize(kept, plan_.n, false, false, options_.columns);
    scatter_results(host.data(), part, plan_.n, plan_.N, 0, kept, false, false, r);
    detail::SurfaceChunk points;
    detail::bin_surface_results(binning_, r, kept, kept, points);
    chunk.points = std::move(points.points);
  }

 private:
  /// The device columns the binning reads (all among surface_options' selection).
  SurfaceColumns columns() const {
    auto col = [&](const char* name) {
      const std::size_t off = layout_.column_offset[static_cast<std::size_t>(column_index(name))];
      if (off == OutputLayout::kNoColumn)
        throw error(std::string("bound surface: column ") + name + " is not selected");
      return output_.get() + off;
    };
    SurfaceColumns c;
    c.agents_welfare_regret = reinterpret_cast<const double*>(col("agents_welfare_regret"));
    c.principals_welfare_regret = reinterpret_cast<const double*>(col("principals_welfare_regret"));
    c.magnitude_principals = reinterpret_cast<const double*>(col("magnitude_principals"));
    c.ia = reinterpret_cast<const double*>(col("ia"));
    c.welfare_principals_utopia = reinterpret_cast<const double*>(col("welfare_principals_utopia"));
    c.welfare_principals_dystopia = reinterpret_cast<const double*>(col("welfare_principals_dystopia"));
    c.bound_holds = reinterpret_cast<const double*>(col("bound_holds"));
    return c;
  }

  int device_;
  detail::GeneratorParams base_;
  std::uint64_t seed_;
  Welfare welfare_;
  double cap_;
  Options options_;
  detail::SurfaceBinning binning_;
  Dims dims_;
  std::int64_t chunk_ = 0, threads_ = 0;
  std::size_t cells_ = 0;
  Plan plan_;
  OutputLayout layout_;
  DeviceBuffer input_, weights_, output_, scratch_, status_, gen_scratch_, bins_;
  std::vector<int> host_status_;
};

}  // namespace

void inference_errors_on_device(int device, const detail::InferenceShape& shape, std::uint64_t seed,
                                std::int64_t first_game, std::int64_t count,
                                const std::vector<std::int64_t>& checkpoints, double* errors, int* status) {
  if (count <= 0) return;
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  DeviceScope scope(device);
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
  const std::size_t cells = static_cast<std::size_t>(detail::inference_cells(C));
  const std::size_t per_thread = static_cast<std::size_t>(detail::inference_scratch_doubles(shape)) * 8;
  // Threads: one per game, within 4 GiB of scratch and 32 per multiprocessor at least in reach.
  std::int64_t threads =
      std::min<std::int64_t>(count, static_cast<std::int64_t>(limits_of(device).multiprocessors) * 1024);
  threads = std::min<std::int64_t>(
      threads, std::max<std::int64_t>(128, static_cast<std::int64_t>((std::size_t{4} << 30) / per_thread)));
  threads = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(threads), 128));
  DeviceBuffer scratch, d_errors, d_status, d_checkpoints;
  scratch.allocate(static_cast<std::size_t>(threads) * per_thread, "the inference games' scratch");
  d_errors.allocate(static_cast<std::size_t>(count) * cells * 8, "the inference errors");
  d_status.allocate(static_cast<std::size_t>(count) * sizeof(int), "the inference status");
  d_checkpoints.allocate(checkpoints.size() * 8, "the checkpoints");
  DGEVAL_CUDA_CHECK(
      cudaMemcpy(d_checkpoints.get(), checkpoints.data(), checkpoints.size() * 8, cudaMemcpyHostToDevice));
  launch_inference_games(shape, seed, first_game, count, reinterpret_cast<const std::int64_t*>(d_checkpoints.get()), C,
                         reinterpret_cast<double*>(scratch.get()), static_cast<int>(threads),
                         reinterpret_cast<double*>(d_errors.get()), reinterpret_cast<int*>(d_status.get()), nullptr);
  DGEVAL_CUDA_CHECK(
      cudaMemcpy(errors, d_errors.get(), static_cast<std::size_t>(count) * cells * 8, cudaMemcpyDeviceToHost));
  DGEVAL_CUDA_CHECK(
      cudaMemcpy(status, d_status.get(), static_cast<std::size_t>(count) * sizeof(int), cudaMemcpyDeviceToHost));
}

detail::SurfaceChunkFn make_surface_producer(int device, const detail::GeneratorParams& base, std::uint64_t seed,
                                             Welfare welfare, double cap, const Options& options, std::int64_t chunk,
                                             const detail::SurfaceBinning& binning) {
  auto producer = std::make_shared<SurfaceProducer>(device, base, seed, welfare, cap, options, chunk, binning);
  return [producer](std::int64_t first, std::int64_t count, std::int64_t points_wanted, detail::SurfaceChunk& c) {
    (*producer)(first, count, points_wanted, c);
  };
}

}  // namespace cuda
}  // namespace dgeval
