// The CPU reference backend: every measure of docs/MATH.md for a batch of games, float64
// accumulation whatever the input type, multi-threaded over games or, for a few large games,
// over outcome chunks of one game. This file schedules the games on the thread pool; the
// per-game passes are in backends/cpu/game_evaluator.{hpp,cpp}, their SIMD-lane loops in
// backends/cpu/lane_sums.hpp. Results are bit-identical for any number of threads and either
// parallel mode (game_evaluator.hpp says how).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "backends/cpu/game_evaluator.hpp"
#include "backends/cpu/small_games.hpp"
#include "core/thread_pool.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace {

using cpu::Exec;
using cpu::GameData;
using cpu::GameEvaluator;
using cpu::kChunk;

/// Per-worker scratch of the small-game SIMD path.
struct SmallScratch {
  std::vector<double> buf;
  std::vector<std::uint8_t> ne_masks;
  std::vector<double> ic;
};

/// Games [g0, g0 + count) (count ≤ the SIMD lanes) through the small-game kernel, which writes their
/// columns (the finishing step across lanes); a game with a non-finite value goes to the scalar
/// evaluator `ev`, which decides what becomes of it.
template <class GameAt, class NoteBad>
void evaluate_small_block(const BatchView& batch, const Options& options, std::int64_t g0, int count,
                          SmallScratch& scratch, GameEvaluator& ev, const GameAt& game_at,
                          const detail::ColumnPointers& out, Results& results, const NoteBad& note_bad) {
  const Dims& dims = batch.dims;
  const int n = dims.players();
  const std::int64_t per_game = batch.values_per_game();
  const std::size_t size = batch.dtype == DType::float32 ? sizeof(float) : sizeof(double);
  scratch.ic.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) scratch.ic[static_cast<std::size_t>(i)] = options.ic_level(i);
  cpu::SmallBlock block;
  block.agents = static_cast<const char*>(batch.agents) + static_cast<std::size_t>(g0 * per_game) * size;
  block.principals = static_cast<const char*>(batch.principals) + static_cast<std::size_t>(g0 * per_game) * size;
  block.float32 = batch.dtype == DType::float32;
  block.per_game = per_game;
  block.count = count;
  block.options = &options;
  block.dims = &dims;
  block.ic = scratch.ic.data();
  block.buf = &scratch.buf;
  block.ne_masks = options.list_equilibria ? &scratch.ne_masks : nullptr;
  block.g0 = g0;
  block.out = &out;
  cpu::evaluate_small_block(block);
  const int lanes = cpu::simd_lanes();
  for (int q = 0; q < count; ++q) {
    const std::int64_t g = g0 + q;
    if (block.nonfinite[q]) {
      if (!ev.evaluate(game_at(g), g, Exec{}, out, results)) note_bad(g);
      continue;
    }
    if (options.list_equilibria) {
      auto& list = results.pure_ne[static_cast<std::size_t>(g)];
      list.clear();
      for (std::int64_t s = 0; s < dims.outcomes(); ++s) {
        if (scratch.ne_masks[static_cast<std::size_t>(s * lanes + q)]) list.push_back(s);
      }
    }
  }
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}
  const char* name() const override { return "cpu"; }

  void evaluate(const BatchView& batch, const Options& options, Results& results) override {
    if (batch.games < 0) throw error("batch: negative game count");
    if (batch.games > 0 && (!batch.agents || !batch.principals)) throw error("batch: null utility array");
    if (batch.memory != Memory::host) {
      throw error("the CPU backend reads host memory: these games are in CUDA device memory (use the CUDA backend)");
    }
    validate(options, batch.dims, batch.games);
    // Only the selected columns are allocated: the others' pointers are null and nothing is stored
    // to them (a reused Results then keeps its pages, instead of faulting in freed columns again).
    results.resize(batch.games, batch.dims.players(), options.list_equilibria, options.distance_matrix,
                   options.columns);
    if (batch.games == 0) {
      results.keep_columns(options.columns);
      return;
    }
    if (batch.dtype == DType::float32) {
      run<float>(batch, options, results);
    } else {
      run<double>(batch, options, results);
    }
    results.keep_columns(options.columns);
  }

 private:
  template <class T>
  void run(const BatchView& batch, const Options& options, Results& results) {
    const std::int64_t per_game = batch.values_per_game();
    checked_mul(batch.games, per_game, "batch size (games x n x N)");
    const std::int64_t N = batch.dims.outcomes();
    const T* agents = static_cast<const T*>(batch.agents);
    const T* principals = static_cast<const T*>(batch.principals);
    auto game_at = [&](std::int64_t g) {
      return GameData<T>{agents + g * per_game, principals + g * per_game, batch.dims.players(), N};
    };

    detail::ColumnPointers out;
#define DGEVAL_CPU_COLUMN(name, kind, desc) out.name = results.name.empty() ? nullptr : results.name.data();
    DGEVAL_RESULT_COLUMNS(DGEVAL_CPU_COLUMN)
#undef DGEVAL_CPU_COLUMN

    std::int64_t first_bad_game = -1;
    std::mutex bad_mutex;
    auto note_bad = [&](std::int64_t g) {
      std::lock_guard<std::mutex> lock(bad_mutex);
      if (first_bad_game < 0 || g < first_bad_game) first_bad_game = g;
    };

    std::atomic<std::int64_t> done{0};
    std::atomic<bool> stop{false};
    auto last_report = std::chrono::steady_clock::now();
    auto report = [&](bool force) {
      if (!progress_) return;
      const auto now = std::chrono::steady_clock::now();
      if (!force && now - last_report < std::chrono::milliseconds(200)) return;
      last_report = now;
      if (!progress_(done.load(), batch.games)) stop = true;
    };

    const int threads = pool_.size();
    const bool per_game_parallel = threads == 1 || N <= kChunk || batch.games >= 4 * threads;
    if (per_game_parallel) {
      // Many games: each worker evaluates whole games with its own evaluator; small games a block
      // of one game per SIMD lane at a time (backends/cpu/small_games.hpp), the same bits.
      std::vector<std::unique_ptr<GameEvaluator>> evaluators(static_cast<std::size_t>(threads));
      std::vector<SmallScratch> small(static_cast<std::size_t>(threads));
      const bool simd = cpu::small_games_simd(options, batch.dims);
      const int lanes = simd ? cpu::simd_lanes() : 1;
      const std::int64_t games_per_task = std::max<std::int64_t>(1, std::min<std::int64_t>(256, kChunk / N));
      const std::int64_t tasks = (batch.games + games_per_task - 1) / games_per_task;
      pool_.parallel_for(tasks, [&](std::int64_t t, int worker) {
        if (stop) return;
        auto& ev = evaluators[static_cast<std::size_t>(worker)];
        if (!ev) ev = std::make_unique<GameEvaluator>(options, batch.dims);
        const std::int64_t g0 = t * games_per_task, g1 = std::min(batch.games, g0 + games_per_task);
        for (std::int64_t g = g0; g < g1;) {
          if (simd) {
            const int count = static_cast<int>(std::min<std::int64_t>(lanes, g1 - g));
            evaluate_small_block(batch, options, g, count, small[static_cast<std::size_t>(worker)], *ev, game_at, out,
                                 results, note_bad);
            g += count;
            continue;
          }
          if (!ev->evaluate(game_at(g), g, Exec{}, out, results)) note_bad(g);
          ++g;
        }
        done += g1 - g0;
        if (worker == 0) report(false);
      });
    } else {
      // Few large games: one at a time, each pass spread over all threads.
      GameEvaluator ev(options, batch.dims);
      for (std::int64_t g = 0; g < batch.games && !stop; ++g) {
        if (!ev.evaluate(game_at(g), g, Exec{&pool_}, out, results)) {
          note_bad(g);
          break;
        }
        ++done;
        report(false);
      }
    }
    if (first_bad_game >= 0) throw error(nonfinite_game_message(batch, first_bad_game));
    if (stop) throw cancelled();
    report(true);
  }

  detail::ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

Results evaluate(const BatchView& batch, const Options& options, int threads) {
  auto backend = make_cpu_backend(threads);
  Results r;
  backend->evaluate(batch, options, r);
  return r;
}

}  // namespace dgeval
