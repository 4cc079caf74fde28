// The CUDA backend: owns the device buffers and streams, plans chunks, streams batches larger
// than device memory through two double-buffered slots, and turns the device's result columns
// back into dgeval::Results (including NE lists from a bitmask and the non-finite error message).
//
// Per chunk (slot = chunk % slots):
//   host   wait for the slot's previous chunk, scatter its results into Results
//   host   copy the chunk's utilities (and per-game strategies) into the slot's pinned buffer
//   stream H2D copy → kernels (kernels/team_evaluate.cu or kernels/tiled_evaluate.cu) → D2H copy
//          of the whole output block into the slot's pinned buffer → event
// With two slots the copies and kernels of one chunk overlap the host work and transfers of the
// other. A batch that fits is one chunk, copied straight from the caller's memory.
#ifndef DGEVAL_CUDA_EMULATION
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include "evaluate.cuh"  // kernels/evaluate.cuh
#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace cuda {
namespace {

constexpr std::size_t kReserve = std::size_t{256} << 20;  // device memory left to others by default
constexpr unsigned char kPoison = 0x5A;

std::string bytes_text(std::size_t b) {
  std::ostringstream m;
  m.precision(3);
  m << static_cast<double>(b) / (1024.0 * 1024.0) << " MiB";
  return m.str();
}

// ---------------------------------------------------------------------------------------------
// RAII wrappers. Destructors never throw; they report CUDA errors to stderr.

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }
  void allocate(std::size_t bytes, const char* what) {
    reset();
    if (bytes == 0) return;
    const cudaError_t e = cudaMalloc(&p_, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      std::size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      std::ostringstream m;
      m << "CUDA backend: out of device memory allocating " << bytes_text(bytes) << " for " << what << " ("
        << cudaGetErrorName(e) << "; " << bytes_text(free_b) << " free of " << bytes_text(total_b)
        << "); use fewer games per call or the CPU backend";
      throw resource_error(m.str());
    }
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (p_) DGEVAL_CUDA_CHECK_NOTHROW(cudaFree(p_));
    p_ = nullptr;
    bytes_ = 0;
  }
  char* get() const { return static_cast<char*>(p_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { reset(); }
  void allocate(std::size_t bytes, const char* what) {
    reset();
    if (bytes == 0) return;
    const cudaError_t e = cudaMallocHost(&p_, bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      p_ = nullptr;
      throw resource_error("CUDA backend: cannot allocate " + bytes_text(bytes) + " of pinned host memory for " + what + " (" +
                  cudaGetErrorName(e) + ")");
    }
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (p_) DGEVAL_CUDA_CHECK_NOTHROW(cudaFreeHost(p_));
    p_ = nullptr;
    bytes_ = 0;
  }
  char* get() const { return static_cast<char*>(p_); }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Copies `bytes` from host memory to the device and waits for the copy, so that work queued
/// afterwards on any stream sees the data. cudaMemcpy alone is not enough: from pageable memory it
/// returns once the bytes are staged, before the device has them, and the backend's kernels run on
/// non-blocking streams, which do not wait for the legacy stream that cudaMemcpy uses.
void copy_to_device_now(void* dst, const void* src, std::size_t bytes, cudaStream_t stream) {
  DGEVAL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream));
  DGEVAL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

class Stream {
 public:
  Stream() { DGEVAL_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() {
    DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(s_));
    DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamDestroy(s_));
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() { DGEVAL_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  ~Event() { DGEVAL_CUDA_CHECK_NOTHROW(cudaEventDestroy(e_)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

/// Makes `device` current for the scope and restores the caller's device afterwards.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    DGEVAL_CUDA_CHECK(cudaGetDevice(&previous_));
    DGEVAL_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceScope() { DGEVAL_CUDA_CHECK_NOTHROW(cudaSetDevice(previous_)); }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Planning of one evaluation (game shape, dtype, options).

struct Plan {
  Dims dims;
  int n = 0;
  std::int64_t N = 0;
  bool float32 = false;
  std::size_t value_bytes = 8;
  Path path = Path::tiled;
  TeamGeometry team;
  TiledGeometry tiled;
  std::size_t scratch_bytes = 0;
  EvalParams params;
  // User strategy: elements (int64 actions or double weights) per game, and whether per game.
  bool strategy_actions = false, strategy_weights = false, strategy_per_game = false;
  std::int64_t strategy_elements = 0;
  std::size_t strategy_bytes_per_game() const {
    return strategy_per_game ? static_cast<std::size_t>(strategy_elements) * 8 : 0;
  }
  std::size_t input_bytes_per_game() const {
    return static_cast<std::size_t>(2 * n) * static_cast<std::size_t>(N) * value_bytes;
  }
};

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
  l.shared_optin = prop.sharedMemPerBlockOptin > 4096 ? prop.sharedMemPerBlockOptin - 4096 : prop.sharedMemPerBlockOptin;
  l.shared_default = std::min<std::size_t>(prop.sharedMemPerBlock, 48 * 1024) - 2048;
  l.multiprocessors = prop.multiProcessorCount;
  l.l2_bytes = prop.l2CacheSize > 0 ? static_cast<std::size_t>(prop.l2CacheSize) : (std::size_t{4} << 20);
  return l;
}

Plan make_plan(const Dims& dims, DType dtype, const Options& o, std::int64_t games, const DeviceLimits& lim,
               const Tuning& t) {
  Plan p;
  p.dims = dims;
  p.n = dims.players();
  p.N = dims.outcomes();
  p.float32 = dtype == DType::float32;
  p.value_bytes = dtype_size(dtype);
  if (t.force_path >= 0) {
    const Path forced = static_cast<Path>(t.force_path);
    p.path = forced;
    if (forced != Path::tiled) {
      p.team = team_geometry_for(forced, p.n, p.N, p.value_bytes, lim);
      if (p.team.path != forced) {
        throw error(std::string("CUDA backend: the ") + path_name(forced) + " path cannot hold a " + dims.to_string() +
                    " game");
      }
    }
  } else {
    p.path = choose_path(p.n, p.N, p.value_bytes, lim);
    if (p.path != Path::tiled) p.team = team_geometry_for(p.path, p.n, p.N, p.value_bytes, lim);
  }
  if (p.path == Path::tiled) {
    p.tiled = tiled_geometry(dims, p.value_bytes, o.distance_matrix, games, lim, t.tile_outcomes, t.blocks_per_game);
    p.scratch_bytes = tiled_scratch_bytes(p.tiled, p.n, p.value_bytes);
  }
  p.params = make_params(dims, o);
  const StrategyKind k = o.strategy.kind;
  p.strategy_actions = k == StrategyKind::pure;
  p.strategy_weights = k == StrategyKind::correlated || k == StrategyKind::product;
  p.strategy_per_game = (p.strategy_actions || p.strategy_weights) && o.strategy.per_game;
  if (p.strategy_actions) p.strategy_elements = p.n;
  if (k == StrategyKind::correlated) p.strategy_elements = p.N;
  if (k == StrategyKind::product) {
    for (int i = 0; i < p.n; ++i) p.strategy_elements += dims.actions(i);
  }
  p.params.strategy_stride = p.strategy_per_game ? p.strategy_elements : 0;
  return p;
}

DeviceOutputs outputs_at(char* base, const OutputLayout& L) {
  DeviceOutputs o;
  std::size_t c = 0;
#define DGEVAL_OUT_PTR(name, kind, desc)                                                       \
  o.name = L.column_offset[c] == OutputLayout::kNoColumn                                     \
               ? nullptr                                                                      \
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
  at += round_up(g * static_cast<std::size_t>(p.tiled.blocks_per_game) * static_cast<std::size_t>(p.tiled.partial_width) *
                     sizeof(double),
                 256);
  s.fibers = base + at;
  at += round_up(g * static_cast<std::size_t>(p.tiled.fiber_values_per_game) * p.value_bytes, 256);
  s.segments = base + at;
  return s;
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
  if (p.path == Path::tiled) {
    launch_tiled_evaluate(p.tiled, params, in, out, scratch_at(scratch, p), stream);
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
#define DGEVAL_SCATTER(name, kind, desc)                                                                \
  if (L.column_offset[c] != OutputLayout::kNoColumn) {                                                  \
    std::memcpy(r.name.data() + static_cast<std::size_t>(g0) * DGEVAL_PER_##kind, base + L.column_offset[c], \
                static_cast<std::size_t>(count) * DGEVAL_PER_##kind * 8);                               \
  }                                                                                                     \
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
  DGEVAL_CUDA_CHECK(prepare_kernels(static_cast<int>(lim.shared_optin + 4096)));
}

// ---------------------------------------------------------------------------------------------

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const Tuning& tuning) : device_(device), tuning_(tuning) {
    int count = 0;
    DGEVAL_CUDA_CHECK(cudaGetDeviceCount(&count));
    if (device < 0 || device >= count) {
      std::ostringstream m;
      m << "CUDA backend: device " << device << " does not exist (" << count << " device" << (count == 1 ? "" : "s")
        << " found)";
      throw error(m.str());
    }
    DeviceScope scope(device_);
    limits_ = limits_of(device_);
    prepare_current_device(limits_);
  }
  const char* name() const override { return "cuda"; }
  void evaluate(const BatchView& batch, const Options& options, Results& results) override;

 private:
  struct Slot {
    ~Slot() { DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream.get())); }  // before any buffer is freed
    Stream stream;
    Event done;
    DeviceBuffer input, output, scratch, strategy;
    PinnedBuffer pinned_in, pinned_out;
    std::unique_ptr<char[]> host_out;  // one chunk only: plain memory (the copy back is the last step)
    char* out_staging() const { return host_out ? host_out.get() : pinned_out.get(); }
    std::int64_t first = -1, count = 0;  // chunk in flight (first < 0: none)
  };

  int device_;
  Tuning tuning_;
  DeviceLimits limits_;
};

void CudaBackend::evaluate(const BatchView& batch, const Options& options, Results& results) {
  if (batch.games < 0) throw error("batch: negative game count");
  if (batch.games > 0 && (!batch.agents || !batch.principals)) throw error("batch: null utility array");
  validate(options, batch.dims, batch.games);
  results.resize(batch.games, batch.dims.players(), options.list_equilibria, options.distance_matrix, options.columns);
  if (batch.games == 0) return;
  const std::int64_t games = batch.games;
  checked_mul(games, batch.values_per_game(), "batch size (games x n x N)");
  DeviceScope scope(device_);

  const Plan plan = make_plan(batch.dims, batch.dtype, options, games, limits_, tuning_);
  const int n = plan.n;
  const std::int64_t N = plan.N;
  // Device bytes per game: input, result columns (+ optional parts), per-game strategy.
  const OutputLayout one = output_layout(n, N, 1, options.distance_matrix, options.list_equilibria, options.columns);
  const std::size_t per_game = plan.input_bytes_per_game() + one.useful_bytes + plan.strategy_bytes_per_game();
  const std::size_t shared_strategy =
      plan.strategy_per_game ? 0 : static_cast<std::size_t>(plan.strategy_elements) * 8;
  const std::size_t alignment_slack = (result_columns().size() + 2) * 256;
  const ChunkPlan cp = plan_chunks(games, per_game, plan.scratch_bytes + shared_strategy + alignment_slack,
                                   memory_budget(tuning_), tuning_.max_chunk_games);
  const bool streamed = cp.chunks > 1;
  const OutputLayout layout = output_layout(n, N, cp.chunk_games, options.distance_matrix, options.list_equilibria, options.columns);
  const std::size_t in_bytes = static_cast<std::size_t>(cp.chunk_games) * plan.input_bytes_per_game();
  const std::size_t strat_bytes = static_cast<std::size_t>(cp.chunk_games) * plan.strategy_bytes_per_game();

  // Declared before the slots, so it is freed after them (a slot's destructor waits for its stream).
  DeviceBuffer shared_strategy_buf;
  std::vector<std::unique_ptr<Slot>> slots;
  for (int s = 0; s < cp.slots; ++s) {
    auto slot = std::make_unique<Slot>();
    slot->input.allocate(in_bytes, "the games' utilities");
    slot->output.allocate(layout.bytes, "the result columns");
    slot->scratch.allocate(plan.scratch_bytes, "the tiled path's scratch");
    if (strat_bytes) slot->strategy.allocate(strat_bytes, "the per-game strategies");
    if (streamed) {
      slot->pinned_in.allocate(in_bytes + strat_bytes, "staging the games");
      slot->pinned_out.allocate(layout.bytes, "staging the results");
    } else {
      slot->host_out.reset(new char[layout.bytes]);
    }
    slots.push_back(std::move(slot));
  }
  // A strategy shared by every game is uploaded once, and waited for: every slot's stream reads it.
  if (shared_strategy) {
    shared_strategy_buf.allocate(shared_strategy, "the strategy");
    const void* src = plan.strategy_actions ? static_cast<const void*>(options.strategy.actions.data())
                                            : static_cast<const void*>(options.strategy.weights.data());
    copy_to_device_now(shared_strategy_buf.get(), src, shared_strategy, slots.front()->stream.get());
  }

  const std::size_t side_bytes = static_cast<std::size_t>(n) * static_cast<std::size_t>(N) * plan.value_bytes;
  std::size_t flags_column = 0;
  while (std::string(result_columns()[flags_column].name) != "flags") ++flags_column;
  std::int64_t done = 0;
  auto finish = [&](Slot& s) {
    if (s.first < 0) return;
    DGEVAL_CUDA_CHECK(cudaEventSynchronize(s.done.get()));
    const char* out = s.out_staging();
    // The first non-finite game (chunks complete in order, so this is the batch's first).
    if (!options.allow_nonfinite) {
      const std::int64_t* flags = reinterpret_cast<const std::int64_t*>(out + layout.column_offset[flags_column]);
      for (std::int64_t j = 0; j < s.count; ++j) {
        if (flags[j] & flag_nonfinite) throw error(nonfinite_game_message(batch, s.first + j));
      }
    }
    scatter_results(out, layout, n, N, s.first, s.count, options.distance_matrix, options.list_equilibria, results);
    done += s.count;
    s.first = -1;
    if (progress_ && !progress_(done, games)) throw cancelled();
  };

  for (std::int64_t c = 0; c < cp.chunks; ++c) {
    Slot& s = *slots[static_cast<std::size_t>(c % cp.slots)];
    finish(s);
    const std::int64_t g0 = c * cp.chunk_games;
    const std::int64_t count = std::min(cp.chunk_games, games - g0);
    const std::size_t bytes = static_cast<std::size_t>(count) * side_bytes;
    const char* host_agents = static_cast<const char*>(batch.agents) + static_cast<std::size_t>(g0) * side_bytes;
    const char* host_principals = static_cast<const char*>(batch.principals) + static_cast<std::size_t>(g0) * side_bytes;
    const std::size_t sbytes = static_cast<std::size_t>(count) * plan.strategy_bytes_per_game();
    const char* host_strategy = nullptr;
    if (sbytes) {
      host_strategy = plan.strategy_actions
                          ? reinterpret_cast<const char*>(options.strategy.actions.data())
                          : reinterpret_cast<const char*>(options.strategy.weights.data());
      host_strategy += static_cast<std::size_t>(g0) * plan.strategy_bytes_per_game();
    }
    char* d_agents = s.input.get();
    char* d_principals = s.input.get() + static_cast<std::size_t>(cp.chunk_games) * side_bytes;
    cudaStream_t st = s.stream.get();
    if (streamed) {
      char* pin = s.pinned_in.get();
      std::memcpy(pin, host_agents, bytes);
      std::memcpy(pin + in_bytes / 2, host_principals, bytes);
      if (sbytes) std::memcpy(pin + in_bytes, host_strategy, sbytes);
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_agents, pin, bytes, cudaMemcpyHostToDevice, st));
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_principals, pin + in_bytes / 2, bytes, cudaMemcpyHostToDevice, st));
      if (sbytes) DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), pin + in_bytes, sbytes, cudaMemcpyHostToDevice, st));
    } else {
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_agents, host_agents, bytes, cudaMemcpyHostToDevice, st));
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_principals, host_principals, bytes, cudaMemcpyHostToDevice, st));
      if (sbytes) DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), host_strategy, sbytes, cudaMemcpyHostToDevice, st));
    }
    if (tuning_.poison) {
      DGEVAL_CUDA_CHECK(cudaMemsetAsync(s.output.get(), kPoison, s.output.bytes(), st));
      if (s.scratch.bytes()) DGEVAL_CUDA_CHECK(cudaMemsetAsync(s.scratch.get(), kPoison, s.scratch.bytes(), st));
    }
    const char* strategy = sbytes ? s.strategy.get() : shared_strategy_buf.get();
    enqueue_evaluation(plan, count, d_agents, d_principals, s.output.get(), layout, s.scratch.get(),
                       plan.strategy_actions ? reinterpret_cast<const std::int64_t*>(strategy) : nullptr,
                       plan.strategy_weights ? reinterpret_cast<const double*>(strategy) : nullptr, st);
    DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.out_staging(), s.output.get(), layout.bytes, cudaMemcpyDeviceToHost, st));
    DGEVAL_CUDA_CHECK(cudaEventRecord(s.done.get(), st));
    s.first = g0;
    s.count = count;
  }
  for (std::int64_t c = cp.chunks > 1 ? cp.chunks - 2 : 0; c < cp.chunks; ++c) {
    finish(*slots[static_cast<std::size_t>(c % cp.slots)]);
  }
}

}  // namespace

/// True if a device is present and dgeval's kernels load on it; otherwise *why says why.
bool device_usable(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) *why = std::string("no usable CUDA device (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ")";
    return false;
  }
  if (count <= 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  // The kernels must load on the device: dgeval's fatbin holds the architectures of
  // CMAKE_CUDA_ARCHITECTURES (sm_90 by default, plus PTX for newer devices).
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = 0;
  cudaDeviceProp prop;
  std::memset(&prop, 0, sizeof prop);
  cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe == cudaSuccess) pe = cudaSetDevice(0);
  if (pe == cudaSuccess) pe = prepare_kernels(static_cast<int>(prop.sharedMemPerBlockOptin));
  (void)cudaSetDevice(previous);
  if (pe != cudaSuccess) {
    (void)cudaGetLastError();
    if (why) {
      std::ostringstream m;
      m << "CUDA device 0";
      if (prop.major > 0) m << " (" << prop.name << ", sm_" << prop.major << prop.minor << ")";
      m << " cannot run dgeval's kernels (" << cudaGetErrorName(pe) << ": " << cudaGetErrorString(pe)
        << "); rebuild with CMAKE_CUDA_ARCHITECTURES set for this device";
      *why = m.str();
    }
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

std::unique_ptr<Backend> make_cuda_backend(int device, const Tuning& tuning) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  return std::make_unique<CudaBackend>(device, tuning);
}

DeviceInfo device_info(int device) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  cudaDeviceProp prop;
  DGEVAL_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  DeviceInfo d;
  d.name = prop.name;
  d.major = prop.major;
  d.minor = prop.minor;
  d.multiprocessors = prop.multiProcessorCount;
  d.total_memory = prop.totalGlobalMem;
  d.l2_bytes = static_cast<std::size_t>(prop.l2CacheSize);
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess) {
    d.peak_bandwidth_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  } else {
    (void)cudaGetLastError();
  }
  d.limits = limits_of(device);
  return d;
}

struct ResidentBatch::Impl {
  int device;
  Dims dims;
  DType dtype;
  std::int64_t games;
  Options options;
  Tuning tuning;
  Plan plan;
  OutputLayout layout;
  DeviceBuffer input, output, scratch, strategy;
};

ResidentBatch::ResidentBatch(int device, const Dims& dims, DType dtype, std::int64_t games, const Options& options,
                             const Tuning& tuning)
    : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  if (games < 1) throw error("resident batch: needs at least one game");
  validate(options, dims, games);
  Impl& m = *impl_;
  m.device = device;
  m.dims = dims;
  m.dtype = dtype;
  m.games = games;
  m.options = options;
  m.tuning = tuning;
  DeviceScope scope(device);
  const DeviceLimits lim = limits_of(device);
  prepare_current_device(lim);
  m.plan = make_plan(dims, dtype, options, games, lim, tuning);
  m.layout = output_layout(dims.players(), dims.outcomes(), games, options.distance_matrix, options.list_equilibria, options.columns);
  m.input.allocate(static_cast<std::size_t>(games) * m.plan.input_bytes_per_game(), "the games' utilities");
  m.output.allocate(m.layout.bytes, "the result columns");
  m.scratch.allocate(m.plan.scratch_bytes, "the tiled path's scratch");
  if (m.plan.strategy_elements > 0) {
    const std::size_t b = static_cast<std::size_t>(m.plan.strategy_elements) * 8 *
                          (m.plan.strategy_per_game ? static_cast<std::size_t>(games) : 1);
    m.strategy.allocate(b, "the strategy");
    const void* src = m.plan.strategy_actions ? static_cast<const void*>(options.strategy.actions.data())
                                              : static_cast<const void*>(options.strategy.weights.data());
    copy_to_device_now(m.strategy.get(), src, b, nullptr);  // evaluate() may run on any stream
  }
}

ResidentBatch::~ResidentBatch() {
  if (impl_) {
    DeviceScope scope(impl_->device);
    DGEVAL_CUDA_CHECK_NOTHROW(cudaDeviceSynchronize());
  }
}

void ResidentBatch::fill_random(std::uint64_t seed, double lo, double hi) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  launch_random_uniform_games(m.input.get(), m.input.get() + side, m.plan.float32, m.games,
                              static_cast<std::int64_t>(m.dims.players()) * m.dims.outcomes(), seed, 0, lo, hi, nullptr);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
}

void ResidentBatch::upload(const Batch& batch) {
  Impl& m = *impl_;
  if (batch.dims != m.dims || batch.games != m.games) throw error("resident batch: upload of a batch of another shape");
  DeviceScope scope(m.device);
  const std::size_t values = batch.agents.size();
  const std::size_t side = values * m.plan.value_bytes;
  // Complete on return: evaluate() may run on a non-blocking stream, which would not wait for
  // a cudaMemcpy on the legacy stream.
  if (m.plan.float32) {
    std::vector<float> a(batch.agents.begin(), batch.agents.end()), p(batch.principals.begin(), batch.principals.end());
    copy_to_device_now(m.input.get(), a.data(), side, nullptr);
    copy_to_device_now(m.input.get() + side, p.data(), side, nullptr);
  } else {
    copy_to_device_now(m.input.get(), batch.agents.data(), side, nullptr);
    copy_to_device_now(m.input.get() + side, batch.principals.data(), side, nullptr);
  }
}

void ResidentBatch::evaluate(void* stream) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  if (m.tuning.poison) {
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(m.output.get(), kPoison, m.output.bytes(), st));
    if (m.scratch.bytes()) DGEVAL_CUDA_CHECK(cudaMemsetAsync(m.scratch.get(), kPoison, m.scratch.bytes(), st));
  }
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  enqueue_evaluation(m.plan, m.games, m.input.get(), m.input.get() + side, m.output.get(), m.layout, m.scratch.get(),
                     m.plan.strategy_actions ? reinterpret_cast<const std::int64_t*>(m.strategy.get()) : nullptr,
                     m.plan.strategy_weights ? reinterpret_cast<const double*>(m.strategy.get()) : nullptr, st);
}

void ResidentBatch::download(Results& r) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
  r.resize(m.games, m.dims.players(), m.options.list_equilibria, m.options.distance_matrix, m.options.columns);
  std::vector<char> host(m.layout.bytes);
  DGEVAL_CUDA_CHECK(cudaMemcpy(host.data(), m.output.get(), m.layout.bytes, cudaMemcpyDeviceToHost));
  scatter_results(host.data(), m.layout, m.dims.players(), m.dims.outcomes(), 0, m.games, m.options.distance_matrix,
                  m.options.list_equilibria, r);
}

Batch ResidentBatch::download_input(std::int64_t games) {
  Impl& m = *impl_;
  games = std::min(games, m.games);
  DeviceScope scope(m.device);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
  Batch b(m.dims, games);
  const std::size_t values = b.agents.size();
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  if (m.plan.float32) {
    std::vector<float> tmp(values);
    DGEVAL_CUDA_CHECK(cudaMemcpy(tmp.data(), m.input.get(), values * 4, cudaMemcpyDeviceToHost));
    std::copy(tmp.begin(), tmp.end(), b.agents.begin());
    DGEVAL_CUDA_CHECK(cudaMemcpy(tmp.data(), m.input.get() + side, values * 4, cudaMemcpyDeviceToHost));
    std::copy(tmp.begin(), tmp.end(), b.principals.begin());
  } else {
    DGEVAL_CUDA_CHECK(cudaMemcpy(b.agents.data(), m.input.get(), values * 8, cudaMemcpyDeviceToHost));
    DGEVAL_CUDA_CHECK(cudaMemcpy(b.principals.data(), m.input.get() + side, values * 8, cudaMemcpyDeviceToHost));
  }
  return b;
}

namespace {

/// Games [first_game, first_game + games) of (spec, seed) generated on the current device into
/// the device arrays `agents` and `principals` ([games][n][N] of float or double). Float64
/// games are generated in place; float32 ones through float64 staging of at most 256 MiB.
void generate_on_device(const Dims& dims, const GeneratorSpec& spec, std::uint64_t seed, std::int64_t first_game,
                        std::int64_t games, char* agents, char* principals, bool float32, int multiprocessors,
                        GameInfo* host_info = nullptr) {
  if (games <= 0) return;
  const detail::GeneratorParams p = generator_params(spec, dims);
  const std::int64_t per_side = static_cast<std::int64_t>(p.players) * p.outcomes;
  const std::size_t scratch_bytes_per_thread = static_cast<std::size_t>(detail::generator_scratch_doubles(p)) * 8;
  constexpr std::size_t kBudget = std::size_t{256} << 20;
  std::int64_t threads = std::min<std::int64_t>(games, static_cast<std::int64_t>(std::max(multiprocessors, 1)) * 1024);
  threads = std::min<std::int64_t>(threads, std::max<std::int64_t>(128, static_cast<std::int64_t>(kBudget / scratch_bytes_per_thread)));
  threads = round_up(static_cast<std::size_t>(threads), 128);
  const std::int64_t chunk =
      float32 ? std::max<std::int64_t>(1, std::min<std::int64_t>(games, static_cast<std::int64_t>(kBudget / (16 * static_cast<std::size_t>(per_side)))))
              : games;
  DeviceBuffer scratch, staging, status, info;
  scratch.allocate(static_cast<std::size_t>(threads) * scratch_bytes_per_thread, "the generator's scratch");
  if (float32) staging.allocate(static_cast<std::size_t>(chunk) * 16 * static_cast<std::size_t>(per_side), "generated games in float64");
  status.allocate(static_cast<std::size_t>(chunk) * sizeof(int), "the generator's status");
  if (host_info) info.allocate(static_cast<std::size_t>(chunk) * sizeof(GameInfo), "the generator's reports");
  std::vector<int> host_status(static_cast<std::size_t>(chunk));
  const std::size_t value_bytes = float32 ? 4 : 8;
  for (std::int64_t g0 = 0; g0 < games; g0 += chunk) {
    const std::int64_t count = std::min(chunk, games - g0);
    const std::size_t at = static_cast<std::size_t>(g0) * static_cast<std::size_t>(per_side) * value_bytes;
    double* a = float32 ? reinterpret_cast<double*>(staging.get()) : reinterpret_cast<double*>(agents + at);
    double* b = float32 ? a + count * per_side : reinterpret_cast<double*>(principals + at);
    launch_generate_games(p, seed, first_game + g0, count, a, b, reinterpret_cast<double*>(scratch.get()),
                          static_cast<int>(std::min<std::int64_t>(threads, round_up(static_cast<std::size_t>(count), 128))),
                          reinterpret_cast<int*>(status.get()),
                          host_info ? reinterpret_cast<GameInfo*>(info.get()) : nullptr, nullptr);
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

}  // namespace

Batch generate_games_on_device(int device, const Dims& dims, const GeneratorSpec& spec, std::int64_t games,
                               std::uint64_t seed, std::int64_t first_game, std::vector<GameInfo>* info) {
  if (games < 0 || first_game < 0) throw error("generator: negative game count or first game");
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  validate(spec, dims);
  DeviceScope scope(device);
  const std::size_t side = static_cast<std::size_t>(checked_mul(games, static_cast<std::int64_t>(dims.players()) * dims.outcomes(),
                                                                "generated batch size")) * 8;
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

void ResidentBatch::fill_generated(const GeneratorSpec& spec, std::uint64_t seed) {
  Impl& m = *impl_;
  DeviceScope scope(m.device);
  const std::size_t side = m.plan.input_bytes_per_game() / 2 * static_cast<std::size_t>(m.games);
  generate_on_device(m.dims, spec, seed, 0, m.games, m.input.get(), m.input.get() + side, m.plan.float32,
                     limits_of(m.device).multiprocessors);
  DGEVAL_CUDA_CHECK(cudaDeviceSynchronize());
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
    threads_ = std::min<std::int64_t>(threads_, std::max<std::int64_t>(128, static_cast<std::int64_t>((std::size_t{256} << 20) / per_thread)));
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
    launch_surface_games(base_, seed_, first, count, welfare_, cap_, agents, principals, weights,
                         reinterpret_cast<double*>(gen_scratch_.get()),
                         static_cast<int>(std::min<std::int64_t>(threads_, round_up(static_cast<std::size_t>(count), 128))),
                         reinterpret_cast<int*>(status_.get()), nullptr);
    enqueue_evaluation(plan_, count, agents, principals, output_.get(), layout_, scratch_.get(), nullptr, weights, nullptr);
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
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(bins_.get() + bin_bytes - sizeof(std::uint64_t), 0xff, sizeof(std::uint64_t), nullptr));
    launch_surface_bins(binning_, columns(), count, reinterpret_cast<std::uint64_t*>(bins_.get()), nullptr);
    std::vector<std::uint64_t> host_bins(detail::surface_fields * cells_ + 2);
    DGEVAL_CUDA_CHECK(cudaMemcpy(host_bins.data(), bins_.get(), bin_bytes, cudaMemcpyDeviceToHost));
    chunk.invalid = static_cast<std::int64_t>(host_bins[detail::surface_fields * cells_]);
    chunk.first_invalid = chunk.invalid > 0 ? static_cast<std::int64_t>(host_bins[detail::surface_fields * cells_ + 1]) : -1;
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
      if (off == OutputLayout::kNoColumn) throw error(std::string("bound surface: column ") + name + " is not selected");
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
                                std::int64_t first_game, std::int64_t count, const std::vector<std::int64_t>& checkpoints,
                                double* errors, int* status) {
  if (count <= 0) return;
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  DeviceScope scope(device);
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
  const std::size_t cells = static_cast<std::size_t>(detail::inference_cells(C));
  const std::size_t per_thread = static_cast<std::size_t>(detail::inference_scratch_doubles(shape)) * 8;
  // Threads: one per game, within 4 GiB of scratch and 32 per multiprocessor at least in reach.
  std::int64_t threads = std::min<std::int64_t>(count, static_cast<std::int64_t>(limits_of(device).multiprocessors) * 1024);
  threads = std::min<std::int64_t>(threads, std::max<std::int64_t>(128, static_cast<std::int64_t>((std::size_t{4} << 30) / per_thread)));
  threads = static_cast<std::int64_t>(round_up(static_cast<std::size_t>(threads), 128));
  DeviceBuffer scratch, d_errors, d_status, d_checkpoints;
  scratch.allocate(static_cast<std::size_t>(threads) * per_thread, "the inference games' scratch");
  d_errors.allocate(static_cast<std::size_t>(count) * cells * 8, "the inference errors");
  d_status.allocate(static_cast<std::size_t>(count) * sizeof(int), "the inference status");
  d_checkpoints.allocate(checkpoints.size() * 8, "the checkpoints");
  DGEVAL_CUDA_CHECK(cudaMemcpy(d_checkpoints.get(), checkpoints.data(), checkpoints.size() * 8, cudaMemcpyHostToDevice));
  launch_inference_games(shape, seed, first_game, count, reinterpret_cast<const std::int64_t*>(d_checkpoints.get()), C,
                         reinterpret_cast<double*>(scratch.get()), static_cast<int>(threads),
                         reinterpret_cast<double*>(d_errors.get()), reinterpret_cast<int*>(d_status.get()), nullptr);
  DGEVAL_CUDA_CHECK(cudaMemcpy(errors, d_errors.get(), static_cast<std::size_t>(count) * cells * 8, cudaMemcpyDeviceToHost));
  DGEVAL_CUDA_CHECK(cudaMemcpy(status, d_status.get(), static_cast<std::size_t>(count) * sizeof(int), cudaMemcpyDeviceToHost));
}

detail::SurfaceChunkFn make_surface_producer(int device, const detail::GeneratorParams& base, std::uint64_t seed,
                                             Welfare welfare, double cap, const Options& options, std::int64_t chunk,
                                             const detail::SurfaceBinning& binning) {
  auto producer = std::make_shared<SurfaceProducer>(device, base, seed, welfare, cap, options, chunk, binning);
  return [producer](std::int64_t first, std::int64_t count, std::int64_t points_wanted, detail::SurfaceChunk& c) {
    (*producer)(first, count, points_wanted, c);
  };
}

Path ResidentBatch::path() const { return impl_->plan.path; }
std::size_t ResidentBatch::input_bytes() const { return cuda::input_bytes(impl_->dims, impl_->games, impl_->plan.value_bytes); }
std::size_t ResidentBatch::output_bytes() const { return impl_->layout.useful_bytes; }
std::size_t ResidentBatch::device_bytes() const {
  return impl_->input.bytes() + impl_->output.bytes() + impl_->scratch.bytes() + impl_->strategy.bytes();
}

}  // namespace cuda

// ---------------------------------------------------------------------------------------------
// Public entry points (dgeval/backend.hpp). Not compiled into the CPU emulation of the tests.
#ifndef DGEVAL_CUDA_EMULATION
bool cuda_available(std::string* why) { return cuda::device_usable(why); }

std::unique_ptr<Backend> make_cuda_backend(int device) { return cuda::make_cuda_backend(device, cuda::Tuning{}); }
#endif

}  // namespace dgeval
