// One evaluation on the device (backends/cuda/evaluation.hpp): its plan, its enqueueing and the
// scatter of its results.
#include "backends/cuda/evaluation.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>

#include "backends/cuda/cuda_check.hpp"
#include "dgeval/error.hpp"
#include "evaluate.cuh"        // kernels/evaluate.cuh
#include "sweep_evaluate.cuh"  // kernels/sweep_evaluate.cuh

namespace dgeval {
namespace cuda {
namespace {

#ifndef DGEVAL_SWEEP_THREADS
constexpr int kSweepThreadsHere = kSweepThreads;
#else
constexpr int kSweepThreadsHere = DGEVAL_SWEEP_THREADS;  // the CPU emulation's block size
#endif
constexpr std::size_t kReserve = std::size_t{256} << 20;  // device memory left to others by default

DeviceOutputs outputs_at(char* base, const OutputLayout& L) {
  DeviceOutputs o;
  std::size_t c = 0;
#define DGEVAL_OUT_PTR(name, kind, desc)                                                    \
  o.name = L.column_offset[c] == OutputLayout::kNoColumn                                    \
               ? nullptr                                                                    \
               : reinterpret_cast<DGEVAL_DEVICE_COLUMN_##kind*>(base + L.column_offset[c]); \
  ++c;
  DGEVAL_RESULT_COLUMNS(DGEVAL_OUT_PTR)
#undef DGEVAL_OUT_PTR
  o.ne_words = L.ne_words;
  return o;
}

TiledScratch scratch_at(char* base, const Plan& p) {
  TiledScratch s;
  const std::size_t g = static_cast<std::size_t>(p.tiled.games_per_pass);
  std::size_t at = 0;
  s.summaries = reinterpret_cast<GameSummary*>(base + at);
  at += round_up(g * sizeof(GameSummary), 256);
  s.arrays = reinterpret_cast<double*>(base + at);
  at += round_up(g * static_cast<std::size_t>(state_doubles(p.n)) * sizeof(double), 256);
  s.partials = reinterpret_cast<double*>(base + at);
  at += round_up(g * static_cast<std::size_t>(p.tiled.blocks_per_game) *
                     static_cast<std::size_t>(p.tiled.partial_width) * sizeof(double),
                 256);
  s.fibers = base + at;
  at += round_up(g * static_cast<std::size_t>(p.tiled.fiber_values_per_game) * p.value_bytes, 256);
  s.segments = base + at;
  return s;
}

}  // namespace

EvalParams make_params(const Dims& d, const Options& o) {
  EvalParams p;
  p.n = d.players();
  p.N = d.outcomes();
  std::int64_t off = 0;
  for (int i = 0; i < kMaxPlayers; ++i) {
    const bool real = i < p.n;
    p.k[i] = real ? d.actions(i) : 1;
    p.stride[i] = real ? d.stride(i) : 1;
    p.ic[i] = real ? o.ic_level(i) : 1.0;
    p.product_offset[i] = off;
    if (real) off += d.actions(i);
  }
  p.standardisation = o.standardisation;
  p.welfare = o.welfare;
  p.cc_window = o.cc_window;
  p.strategy = o.strategy.kind;
  p.constants = detail::standardisation_constants(o.standardisation);
  p.cc = o.cc;
  p.ne_tolerance = o.ne_tolerance;
  p.played_tolerance = o.played_tolerance;
  p.list_equilibria = o.list_equilibria;
  p.distance_matrix = o.distance_matrix;
  return p;
}

DeviceLimits limits_of(int device) {
  cudaDeviceProp prop;
  DGEVAL_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  DeviceLimits l;
  // Keep 4 KiB for the kernels' static shared memory (2 KiB of reduction scratch).
  l.shared_optin = prop.sharedMemPerBlockOptin > kStaticSharedReserve
                       ? prop.sharedMemPerBlockOptin - kStaticSharedReserve
                       : prop.sharedMemPerBlockOptin;
  l.shared_default = std::min<std::size_t>(prop.sharedMemPerBlock, 48 * 1024) - 2048;
  l.multiprocessors = prop.multiProcessorCount;
  l.l2_bytes = prop.l2CacheSize > 0 ? static_cast<std::size_t>(prop.l2CacheSize) : (std::size_t{4} << 20);
  l.clusters = prop.major >= 9;  // thread block clusters: compute capability 9.0 and later
  // What blocks_per_sm counts with (the defaults, an H100's, where the device reports nothing).
  if (prop.sharedMemPerMultiprocessor > 0) l.shared_per_sm = prop.sharedMemPerMultiprocessor;
  l.shared_reserved = prop.reservedSharedMemPerBlock;
  if (prop.regsPerMultiprocessor > 0) l.registers_per_sm = prop.regsPerMultiprocessor;
  if (prop.maxThreadsPerMultiProcessor > 0) l.threads_per_sm = prop.maxThreadsPerMultiProcessor;
  if (prop.maxBlocksPerMultiProcessor > 0) l.max_blocks_per_sm = prop.maxBlocksPerMultiProcessor;
  return l;
}

Plan make_plan(const Dims& dims, DType dtype, const Options& o, std::int64_t games, DeviceLimits lim, const Tuning& t) {
  Plan p;
  p.dims = dims;
  p.n = dims.players();
  p.N = dims.outcomes();
  p.float32 = dtype == DType::float32;
  p.value_bytes = dtype_size(dtype);
  const bool strategy_sums = thread_path_strategy_sums(o.strategy.kind);
  if (t.force_path >= 0) {
    const Path forced = static_cast<Path>(t.force_path);
    p.path = forced;
    if (forced == Path::two_player) {
      const std::string why = two_player_unfit(dims, o, p.value_bytes, lim);
      if (!why.empty()) {
        throw error("CUDA backend: the two-player path cannot take a " + dims.to_string() + " game: " + why);
      }
    } else if (forced == Path::sweep) {
      const std::string why = sweep_unfit(dims, o, p.value_bytes, lim, kSweepThreadsHere);
      if (!why.empty()) {
        throw error("CUDA backend: the sweep path cannot take a " + dims.to_string() + " game: " + why);
      }
    } else if (forced == Path::cluster_team) {
      // Tuning's tiled-path hooks size the cluster: blocks per game (cluster size), outcomes per run.
      p.cluster = cluster_geometry_for(p.n, p.N, p.value_bytes, lim, games, static_cast<int>(t.blocks_per_game),
                                       t.tile_outcomes);
      if (p.cluster.blocks == 0) {
        throw error(std::string("CUDA backend: the cluster-team path cannot hold a ") + dims.to_string() + " game" +
                    (lim.clusters ? "" : " (the device has no thread block clusters)"));
      }
    } else if (forced != Path::tiled) {
      p.team = team_geometry_for(forced, p.n, p.N, p.value_bytes, lim, strategy_sums);
      if (p.team.path != forced) {
        throw error(std::string("CUDA backend: the ") + path_name(forced) + " path cannot hold a " + dims.to_string() +
                    " game");
      }
    }
  } else {
    p.path = choose_path(dims, p.value_bytes, lim);
    if (p.path == Path::cluster_team) {
      p.cluster = cluster_geometry_for(p.n, p.N, p.value_bytes, lim, games);
      // A device that cannot place one such cluster now (a partitioned GPU: too few SMs, or too few
      // free in a GPC) is planned as one without clusters.
      if (!cluster_team_placeable(p.cluster, p.float32)) {
        lim.clusters = false;
        p.path = choose_path(dims, p.value_bytes, lim);
      }
    }
    if (p.path != Path::tiled && p.path != Path::cluster_team) {
      p.team = team_geometry_for(p.path, p.n, p.N, p.value_bytes, lim, strategy_sums);
    }
    if (p.path == Path::tiled && two_player_chosen(dims, o, p.value_bytes, lim)) p.path = Path::two_player;
    if (p.path == Path::tiled && sweep_chosen(dims, o, p.value_bytes, lim)) p.path = Path::sweep;
  }
  if (p.path == Path::sweep) {
    // Tuning::blocks_per_game: the blocks per game (a cluster), where the path is forced (a test hook).
    const int cluster = t.force_path >= 0 ? static_cast<int>(t.blocks_per_game) : 0;
    if (cluster > 0 && (cluster > kSweepMaxCluster || cluster > dims.actions(0) || (cluster > 1 && !lim.clusters))) {
      throw error("CUDA backend: the sweep path cannot deal a " + dims.to_string() + " game to " +
                  std::to_string(cluster) + " blocks (at most 8, at most player 0's actions, clusters for 2 or more)");
    }
    p.sweep = sweep_geometry(dims, p.value_bytes, games, lim, o.strategy.kind, kSweepThreadsHere, o.standardisation,
                             cluster, o.distance_matrix);
    p.scratch_bytes = sweep_scratch_bytes(p.sweep);
  }
  if (p.path == Path::two_player) {
    // Tuning::tile_outcomes: the columns of a tile, where the path is forced (a test hook).
    p.two_player = two_player_geometry(dims, p.value_bytes, games, lim, kTwoPlayerThreads,
                                       t.force_path >= 0 ? t.tile_outcomes : 0);
    p.scratch_bytes = two_player_scratch_bytes(p.two_player);
  }
  if (p.path == Path::tiled) {
    p.tiled = tiled_geometry(dims, p.value_bytes, o.distance_matrix, games, lim, t.tile_outcomes, t.blocks_per_game);
    p.scratch_bytes = tiled_scratch_bytes(p.tiled, p.n, p.value_bytes);
  }
  p.params = make_params(dims, o);
  const StrategyKind k = o.strategy.kind;
  p.strategy_actions = k == StrategyKind::pure;
  p.strategy_weights = strategy_has_weights(k);
  p.strategy_per_game = (p.strategy_actions || p.strategy_weights) && o.strategy.per_game;
  p.strategy_elements = strategy_size(k, dims);
  p.params.strategy_stride = p.strategy_per_game ? p.strategy_elements : 0;
  return p;
}

/// Enqueues the evaluation of `games` games whose utilities are on the device.
void enqueue_evaluation(const Plan& p, std::int64_t games, const void* agents, const void* principals, char* out_base,
                        const OutputLayout& layout, char* scratch, const std::int64_t* actions, const double* weights,
                        cudaStream_t stream) {
  EvalParams params = p.params;
  params.actions = actions;
  params.weights = weights;
  DeviceOutputs out = outputs_at(out_base, layout);
  if (params.distance_matrix) out.distance_matrix = reinterpret_cast<double*>(out_base + layout.distance_matrix_offset);
  if (params.list_equilibria) out.ne_bits = reinterpret_cast<std::uint32_t*>(out_base + layout.ne_bits_offset);
  DeviceInput in;
  in.agents = agents;
  in.principals = principals;
  in.games = games;
  in.float32 = p.float32;
  if (p.path == Path::sweep) {
    // The L∞ walk takes the geometry's items alone: they must include the pairs the output needs.
    if (p.sweep.linf && p.sweep.linf_items != sweep_linf_items(p.sweep, params.distance_matrix))
      throw error("CUDA backend: the sweep path's plan does not match the options (the distance matrix)");
    launch_sweep_evaluate(p.sweep, params, in, out, scratch, stream);
  } else if (p.path == Path::two_player) {
    launch_two_player_evaluate(p.two_player, params, in, out, scratch, stream);
  } else if (p.path == Path::tiled) {
    launch_tiled_evaluate(p.tiled, params, in, out, scratch_at(scratch, p), stream);
  } else if (p.path == Path::cluster_team) {
    launch_cluster_evaluate(p.cluster, params, in, out, stream);
  } else {
    launch_team_evaluate(p.team, params, in, out, stream);
  }
}

/// Copies `count` games of results from an output block laid out by `L` into r at game g0, and
/// rebuilds the NE lists from the bitmask. Throws if a list disagrees with its count.
void scatter_results(const char* base, const OutputLayout& L, int n, std::int64_t N, std::int64_t g0,
                     std::int64_t count, bool dm, bool lists, Results& r) {
  std::size_t c = 0;
  const std::size_t un = static_cast<std::size_t>(n);
#define DGEVAL_PER_player_real un
#define DGEVAL_PER_real 1
#define DGEVAL_PER_integer 1
#define DGEVAL_PER_boolean 1
#define DGEVAL_SCATTER(name, kind, desc)                                                                     \
  if (L.column_offset[c] != OutputLayout::kNoColumn) {                                                       \
    std::memcpy(r.name.data() + static_cast<std::size_t>(g0) * DGEVAL_PER_##kind, base + L.column_offset[c], \
                static_cast<std::size_t>(count) * DGEVAL_PER_##kind * 8);                                    \
  }                                                                                                          \
  ++c;
  DGEVAL_RESULT_COLUMNS(DGEVAL_SCATTER)
#undef DGEVAL_SCATTER
#undef DGEVAL_PER_player_real
#undef DGEVAL_PER_real
#undef DGEVAL_PER_integer
#undef DGEVAL_PER_boolean
  if (dm) {
    const std::size_t side = 2 * un;
    std::memcpy(r.distance_matrix.data() + static_cast<std::size_t>(g0) * side * side, base + L.distance_matrix_offset,
                static_cast<std::size_t>(count) * side * side * sizeof(double));
  }
  if (lists) {
    const std::uint32_t* bits = reinterpret_cast<const std::uint32_t*>(base + L.ne_bits_offset);
    for (std::int64_t j = 0; j < count; ++j) {
      const std::int64_t g = g0 + j;
      auto& list = r.pure_ne[static_cast<std::size_t>(g)];
      list.clear();
      if (r.flags[static_cast<std::size_t>(g)] & flag_nonfinite) continue;
      const bool counted = !r.pure_ne_count.empty();  // the count is a result column the user may drop
      if (counted) list.reserve(static_cast<std::size_t>(r.pure_ne_count[static_cast<std::size_t>(g)]));
      const std::uint32_t* w = bits + j * L.ne_words;
      for (std::int64_t k = 0; k < L.ne_words; ++k) {
        std::uint32_t word = w[k];
        while (word) {
          const int b = __builtin_ctz(word);
          word &= word - 1;
          const std::int64_t s = k * 32 + b;
          if (s < N) list.push_back(s);
        }
      }
      if (counted && static_cast<std::int64_t>(list.size()) != r.pure_ne_count[static_cast<std::size_t>(g)]) {
        std::ostringstream m;
        m << "CUDA backend: internal error: game " << g << " lists " << list.size() << " pure NE but counts "
          << r.pure_ne_count[static_cast<std::size_t>(g)];
        throw error(m.str());
      }
    }
  }
}

std::size_t memory_budget(const Tuning& t) {
  std::size_t free_b = 0, total_b = 0;
  DGEVAL_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  std::size_t budget = free_b > kReserve ? free_b - kReserve : free_b / 2;
  if (t.memory_limit > 0) budget = std::min(budget, t.memory_limit);
  return budget;
}

/// Raises the kernels' dynamic shared-memory limits on the current device (the attribute is
/// per device context; `lim` comes from limits_of, which keeps 4 KiB for static shared memory).
void prepare_current_device(const DeviceLimits& lim) {
  DGEVAL_CUDA_CHECK(prepare_kernels(static_cast<int>(lim.shared_optin + kStaticSharedReserve)));
}

}  // namespace cuda
}  // namespace dgeval
