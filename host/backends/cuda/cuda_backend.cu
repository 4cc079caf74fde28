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
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/evaluation.hpp"
#include "backends/cuda/resources.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace cuda {
namespace {

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
  const std::size_t shared_strategy = plan.strategy_per_game ? 0 : static_cast<std::size_t>(plan.strategy_elements) * 8;
  const std::size_t alignment_slack = (result_columns().size() + 2) * 256;
  const ChunkPlan cp = plan_chunks(games, per_game, plan.scratch_bytes + shared_strategy + alignment_slack,
                                   memory_budget(tuning_), tuning_.max_chunk_games);
  const bool streamed = cp.chunks > 1;
  const OutputLayout layout =
      output_layout(n, N, cp.chunk_games, options.distance_matrix, options.list_equilibria, options.columns);
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
    const char* host_principals =
        static_cast<const char*>(batch.principals) + static_cast<std::size_t>(g0) * side_bytes;
    const std::size_t sbytes = static_cast<std::size_t>(count) * plan.strategy_bytes_per_game();
    const char* host_strategy = nullptr;
    if (sbytes) {
      host_strategy = plan.strategy_actions ? reinterpret_cast<const char*>(options.strategy.actions.data())
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
      if (sbytes)
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), pin + in_bytes, sbytes, cudaMemcpyHostToDevice, st));
    } else {
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_agents, host_agents, bytes, cudaMemcpyHostToDevice, st));
      DGEVAL_CUDA_CHECK(cudaMemcpyAsync(d_principals, host_principals, bytes, cudaMemcpyHostToDevice, st));
      if (sbytes)
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), host_strategy, sbytes, cudaMemcpyHostToDevice, st));
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

std::unique_ptr<Backend> make_cuda_backend(int device, const Tuning& tuning) {
  std::string why;
  if (!device_usable(&why)) throw error("the CUDA backend is not available: " + why);
  return std::make_unique<CudaBackend>(device, tuning);
}

}  // namespace cuda

// ---------------------------------------------------------------------------------------------
// Public entry points (dgeval/backend.hpp). Not compiled into the CPU emulation of the tests.
#ifndef DGEVAL_CUDA_EMULATION
bool cuda_available(std::string* why) { return cuda::device_usable(why); }

std::unique_ptr<Backend> make_cuda_backend(int device) { return cuda::make_cuda_backend(device, cuda::Tuning{}); }
#endif

}  // namespace dgeval
