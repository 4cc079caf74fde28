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
// other. A batch that fits is one chunk, copied straight from the caller's memory. A batch in
// device memory (BatchView::memory == Memory::device) is not copied: the kernels read it in place,
// after the caller's stream, and only the results travel. The slots' buffers, streams and pinned
// staging stay with the backend between calls and grow when a call needs more.
#ifndef DGEVAL_CUDA_EMULATION
#include <cuda.h>  // CUdeviceptr, CUDA_SUCCESS (types only: the driver is reached through the runtime)
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cstdint>
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

/// The device allocation holding p, [*base, *base + *size); false when p is in none or the driver
/// cannot say (then the size is not checked).
bool allocation_range(const void* p, const char** base, std::size_t* size) {
#ifdef DGEVAL_CUDA_EMULATION
  return emu::allocation_range(p, base, size);
#else
  // cuMemGetAddressRange through the runtime's driver entry points: no link to libcuda, which a
  // machine without a driver lacks.
  static const PFN_cuMemGetAddressRange_v3020 range = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult status{};
    if (cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &fn, 12000, cudaEnableDefault, &status) !=
            cudaSuccess ||
        status != cudaDriverEntryPointSuccess) {
      (void)cudaGetLastError();
      return static_cast<PFN_cuMemGetAddressRange_v3020>(nullptr);
    }
    return reinterpret_cast<PFN_cuMemGetAddressRange_v3020>(fn);
  }();
  if (!range) return false;
  CUdeviceptr b = 0;
  std::size_t n = 0;
  if (range(&b, &n, reinterpret_cast<CUdeviceptr>(p)) != CUDA_SUCCESS) return false;
  *base = reinterpret_cast<const char*>(b);
  *size = n;
  return true;
#endif
}

/// Checks one side of a batch in device memory before any kernel reads it: device memory of
/// `device`, aligned to its dtype, and (where the driver says) an allocation that holds `bytes`
/// from the pointer on. Throws dgeval::error naming the side.
void check_device_side(const void* p, std::size_t bytes, std::size_t value_bytes, int device, const char* side) {
  std::ostringstream m;
  m << "batch in device memory: " << side << ": ";
  if (reinterpret_cast<std::uintptr_t>(p) % value_bytes != 0) {
    m << "the pointer is not aligned to its dtype (" << value_bytes << " bytes)";
    throw error(m.str());
  }
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    (void)cudaGetLastError();
    m << "not a pointer the CUDA runtime knows";
    throw error(m.str());
  }
  if (a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged) {
    m << "host memory, not CUDA device memory (evaluate host arrays with Memory::host)";
    throw error(m.str());
  }
  if (a.device != device) {
    m << "memory of CUDA device " << a.device << ", but the backend runs on device " << device;
    throw error(m.str());
  }
  const char* base = nullptr;
  std::size_t size = 0;
  if (allocation_range(p, &base, &size)) {
    const std::size_t held = size - static_cast<std::size_t>(static_cast<const char*>(p) - base);
    if (held < bytes) {
      m << "its allocation holds " << held << " bytes from this pointer, but the batch needs " << bytes
        << " (games x n x N x " << value_bytes << ")";
      throw error(m.str());
    }
  }
}

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
  ~CudaBackend() override {
    DeviceScope scope(device_);
    slots_.clear();  // each waits for its stream before its buffers are freed
  }
  const char* name() const override { return "cuda"; }
  void evaluate(const BatchView& batch, const Options& options, Results& results) override;

 private:
  // A slot's buffers and streams stay with the backend between evaluate() calls and grow when a
  // call needs more, so that repeated calls (a file read in chunks, a sweep) allocate once.
  struct Slot {
    ~Slot() { DGEVAL_CUDA_CHECK_NOTHROW(cudaStreamSynchronize(stream.get())); }  // before any buffer is freed
    Stream stream;
    Event done;
    DeviceBuffer input, output, scratch, strategy;
    PinnedBuffer pinned_in, pinned_out;
    std::unique_ptr<char[]> host_out;  // one chunk only: plain memory (the copy back is the last step)
    std::size_t host_out_bytes = 0;
    bool pinned = false;  // this call stages the results in pinned_out (streamed) or host_out
    char* out_staging() const { return pinned ? pinned_out.get() : host_out.get(); }
    std::int64_t first = -1, count = 0;  // chunk in flight (first < 0: none)
  };
  /// Device bytes the slots and the shared strategy hold between calls.
  std::size_t held_bytes() const {
    std::size_t b = shared_strategy_.bytes();
    for (const auto& s : slots_) b += s->input.bytes() + s->output.bytes() + s->scratch.bytes() + s->strategy.bytes();
    return b;
  }

  int device_;
  Tuning tuning_;
  DeviceLimits limits_;
  // Declared before the slots, so it is freed after them (a slot's destructor waits for its stream).
  DeviceBuffer shared_strategy_;
  Event input_ready_;  // device input: recorded on the caller's stream, waited for by every slot
  std::vector<std::unique_ptr<Slot>> slots_;
};

void CudaBackend::evaluate(const BatchView& batch, const Options& options, Results& results) {
  if (batch.games < 0) throw error("batch: negative game count");
  if (batch.games > 0 && (!batch.agents || !batch.principals)) throw error("batch: null utility array");
  validate(options, batch.dims, batch.games);
  const bool device_input = batch.memory == Memory::device;
  results.resize(batch.games, batch.dims.players(), options.list_equilibria, options.distance_matrix, options.columns);
  if (batch.games == 0) return;
  const std::int64_t games = batch.games;
  checked_mul(games, batch.values_per_game(), "batch size (games x n x N)");
  DeviceScope scope(device_);
  // A previous call that threw may have left work in flight on the slots' streams.
  for (auto& s : slots_) {
    DGEVAL_CUDA_CHECK(cudaStreamSynchronize(s->stream.get()));
    s->first = -1;
  }

  const Plan plan = make_plan(batch.dims, batch.dtype, options, games, limits_, tuning_);
  const int n = plan.n;
  const std::int64_t N = plan.N;
  const std::size_t side_bytes = static_cast<std::size_t>(n) * static_cast<std::size_t>(N) * plan.value_bytes;
  if (device_input) {
    const std::size_t bytes = static_cast<std::size_t>(games) * side_bytes;
    check_device_side(batch.agents, bytes, plan.value_bytes, device_, "agents");
    check_device_side(batch.principals, bytes, plan.value_bytes, device_, "principals");
  }
  // Device bytes per game: input (unless it is on the device already), result columns (+ optional
  // parts), per-game strategy.
  const OutputLayout one = output_layout(n, N, 1, options.distance_matrix, options.list_equilibria, options.columns);
  const std::size_t input_per_game = device_input ? 0 : plan.input_bytes_per_game();
  const std::size_t per_game = input_per_game + one.useful_bytes + plan.strategy_bytes_per_game();
  const std::size_t shared_strategy = plan.strategy_per_game ? 0 : static_cast<std::size_t>(plan.strategy_elements) * 8;
  const std::size_t alignment_slack = (result_columns().size() + 2) * 256;
  // What this backend holds from earlier calls is its own to reuse.
  Tuning free_only = tuning_;
  free_only.memory_limit = 0;
  std::size_t budget = memory_budget(free_only) + held_bytes();
  if (tuning_.memory_limit > 0) budget = std::min(budget, tuning_.memory_limit);
  const ChunkPlan cp = plan_chunks(games, per_game, plan.scratch_bytes + shared_strategy + alignment_slack, budget,
                                   tuning_.max_chunk_games);
  const bool streamed = cp.chunks > 1;
  const OutputLayout layout =
      output_layout(n, N, cp.chunk_games, options.distance_matrix, options.list_equilibria, options.columns);
  const std::size_t in_bytes = static_cast<std::size_t>(cp.chunk_games) * input_per_game;
  const std::size_t strat_bytes = static_cast<std::size_t>(cp.chunk_games) * plan.strategy_bytes_per_game();

  // Slots beyond this call's count are freed first, then the others grow where they must.
  while (slots_.size() > static_cast<std::size_t>(cp.slots)) slots_.pop_back();
  // Buffers only grow: a smaller chunk reuses them; a larger one frees the old buffer, then
  // allocates (so the old and new never coexist).
  auto grow = [](auto& buffer, std::size_t bytes, const char* what) {
    if (bytes > buffer.bytes()) buffer.allocate(bytes, what);
  };
  for (int k = 0; k < cp.slots; ++k) {
    if (static_cast<std::size_t>(k) == slots_.size()) slots_.push_back(std::make_unique<Slot>());
    Slot& slot = *slots_[static_cast<std::size_t>(k)];
    grow(slot.input, in_bytes, "the games' utilities");
    grow(slot.output, layout.bytes, "the result columns");
    grow(slot.scratch, plan.scratch_bytes, "the tiled path's scratch");
    grow(slot.strategy, strat_bytes, "the per-game strategies");
    slot.pinned = streamed;
    if (streamed) {
      grow(slot.pinned_in, in_bytes + strat_bytes, "staging the games");
      grow(slot.pinned_out, layout.bytes, "staging the results");
    } else if (slot.host_out_bytes < layout.bytes) {
      slot.host_out.reset();
      slot.host_out.reset(new char[layout.bytes]);
      slot.host_out_bytes = layout.bytes;
    }
  }
  // A strategy shared by every game is uploaded once, and waited for: every slot's stream reads it.
  if (shared_strategy) {
    grow(shared_strategy_, shared_strategy, "the strategy");
    const void* src = plan.strategy_actions ? static_cast<const void*>(options.strategy.actions.data())
                                            : static_cast<const void*>(options.strategy.weights.data());
    copy_to_device_now(shared_strategy_.get(), src, shared_strategy, slots_.front()->stream.get());
  }
  // Input on the device: every slot's work starts after what the caller enqueued on its stream.
  if (device_input) {
    DGEVAL_CUDA_CHECK(cudaEventRecord(input_ready_.get(), static_cast<cudaStream_t>(batch.stream)));
    for (auto& s : slots_) DGEVAL_CUDA_CHECK(cudaStreamWaitEvent(s->stream.get(), input_ready_.get(), 0));
  }

  std::size_t flags_column = 0;
  while (std::string(result_columns()[flags_column].name) != "flags") ++flags_column;
  // The message naming game g's first non-finite utility: read from the caller's memory, or for
  // device input from a copy of that game.
  auto nonfinite_message = [&](std::int64_t g) {
    if (!device_input) return nonfinite_game_message(batch, g);
    std::vector<char> a(side_bytes), p(side_bytes);
    DGEVAL_CUDA_CHECK(cudaMemcpy(a.data(),
                                 static_cast<const char*>(batch.agents) + static_cast<std::size_t>(g) * side_bytes,
                                 side_bytes, cudaMemcpyDeviceToHost));
    DGEVAL_CUDA_CHECK(cudaMemcpy(p.data(),
                                 static_cast<const char*>(batch.principals) + static_cast<std::size_t>(g) * side_bytes,
                                 side_bytes, cudaMemcpyDeviceToHost));
    BatchView one_game = batch;
    one_game.memory = Memory::host;
    one_game.games = 1;
    one_game.agents = a.data();
    one_game.principals = p.data();
    return nonfinite_game_message(one_game, 0, g);
  };
  std::int64_t done = 0;
  auto finish = [&](Slot& s) {
    if (s.first < 0) return;
    DGEVAL_CUDA_CHECK(cudaEventSynchronize(s.done.get()));
    const char* out = s.out_staging();
    // The first non-finite game (chunks complete in order, so this is the batch's first).
    if (!options.allow_nonfinite) {
      const std::int64_t* flags = reinterpret_cast<const std::int64_t*>(out + layout.column_offset[flags_column]);
      for (std::int64_t j = 0; j < s.count; ++j) {
        if (flags[j] & flag_nonfinite) throw error(nonfinite_message(s.first + j));
      }
    }
    scatter_results(out, layout, n, N, s.first, s.count, options.distance_matrix, options.list_equilibria, results);
    done += s.count;
    s.first = -1;
    if (progress_ && !progress_(done, games)) throw cancelled();
  };

  for (std::int64_t c = 0; c < cp.chunks; ++c) {
    Slot& s = *slots_[static_cast<std::size_t>(c % cp.slots)];
    finish(s);
    const std::int64_t g0 = c * cp.chunk_games;
    const std::int64_t count = std::min(cp.chunk_games, games - g0);
    const std::size_t bytes = static_cast<std::size_t>(count) * side_bytes;
    const char* src_agents = static_cast<const char*>(batch.agents) + static_cast<std::size_t>(g0) * side_bytes;
    const char* src_principals = static_cast<const char*>(batch.principals) + static_cast<std::size_t>(g0) * side_bytes;
    const std::size_t sbytes = static_cast<std::size_t>(count) * plan.strategy_bytes_per_game();
    const char* host_strategy = nullptr;
    if (sbytes) {
      host_strategy = plan.strategy_actions ? reinterpret_cast<const char*>(options.strategy.actions.data())
                                            : reinterpret_cast<const char*>(options.strategy.weights.data());
      host_strategy += static_cast<std::size_t>(g0) * plan.strategy_bytes_per_game();
    }
    cudaStream_t st = s.stream.get();
    const void* d_agents = src_agents;  // device input: evaluated in place (no input buffer)
    const void* d_principals = src_principals;
    char* in_agents = nullptr;
    char* in_principals = nullptr;
    if (!device_input) {
      in_agents = s.input.get();
      in_principals = s.input.get() + static_cast<std::size_t>(cp.chunk_games) * side_bytes;
      d_agents = in_agents;
      d_principals = in_principals;
    }
    if (streamed) {
      char* pin = s.pinned_in.get();
      if (!device_input) {
        std::memcpy(pin, src_agents, bytes);
        std::memcpy(pin + in_bytes / 2, src_principals, bytes);
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(in_agents, pin, bytes, cudaMemcpyHostToDevice, st));
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(in_principals, pin + in_bytes / 2, bytes, cudaMemcpyHostToDevice, st));
      }
      if (sbytes) {
        std::memcpy(pin + in_bytes, host_strategy, sbytes);
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), pin + in_bytes, sbytes, cudaMemcpyHostToDevice, st));
      }
    } else {
      if (!device_input) {
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(in_agents, src_agents, bytes, cudaMemcpyHostToDevice, st));
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(in_principals, src_principals, bytes, cudaMemcpyHostToDevice, st));
      }
      if (sbytes)
        DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.strategy.get(), host_strategy, sbytes, cudaMemcpyHostToDevice, st));
    }
    if (tuning_.poison) {
      DGEVAL_CUDA_CHECK(cudaMemsetAsync(s.output.get(), kPoison, s.output.bytes(), st));
      if (s.scratch.bytes()) DGEVAL_CUDA_CHECK(cudaMemsetAsync(s.scratch.get(), kPoison, s.scratch.bytes(), st));
    }
    const char* strategy = sbytes ? s.strategy.get() : shared_strategy_.get();
    enqueue_evaluation(plan, count, d_agents, d_principals, s.output.get(), layout, s.scratch.get(),
                       plan.strategy_actions ? reinterpret_cast<const std::int64_t*>(strategy) : nullptr,
                       plan.strategy_weights ? reinterpret_cast<const double*>(strategy) : nullptr, st);
    DGEVAL_CUDA_CHECK(cudaMemcpyAsync(s.out_staging(), s.output.get(), layout.bytes, cudaMemcpyDeviceToHost, st));
    DGEVAL_CUDA_CHECK(cudaEventRecord(s.done.get(), st));
    s.first = g0;
    s.count = count;
  }
  for (std::int64_t c = cp.chunks > 1 ? cp.chunks - 2 : 0; c < cp.chunks; ++c) {
    finish(*slots_[static_cast<std::size_t>(c % cp.slots)]);
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
