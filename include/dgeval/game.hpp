// Games and batches: the data model shared by every backend, reader and writer.
//
// A game has n >= 1 players; player i has k_i >= 1 actions. Outcomes are enumerated in
// C (row-major) order, the last player's action varying fastest, so outcome
// s = (s_0, ..., s_{n-1}) has flat index sum_i s_i * stride_i with stride_i = prod_{j>i} k_j.
// A side (agents or principals) of one game is the array u[n][N]; a batch of B games with
// the same dims stores each side contiguously as [B][n][N]. All indices are 64-bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgeval {

/// Largest number of players a game may have (fixed-size per-player arrays on the device).
inline constexpr int kMaxPlayers = 32;

/// Element type of a utility array.
enum class DType { float32, float64 };

/// Size in bytes of one element of `t`.
std::size_t dtype_size(DType t);
/// "float32" or "float64".
const char* dtype_name(DType t);

/// The action counts of a game and the derived outcome count and strides.
class Dims {
 public:
  Dims() = default;
  /// Throws dgeval::error if there are no players, more than kMaxPlayers, an action count
  /// below 1, or if the number of outcomes overflows a signed 64-bit integer.
  explicit Dims(std::vector<std::int64_t> actions);

  /// Parses "6x7x4x6" (also accepts ',' as separator). Throws dgeval::error naming the text.
  static Dims parse(const std::string& text);

  int players() const { return static_cast<int>(actions_.size()); }
  std::int64_t actions(int player) const { return actions_[static_cast<std::size_t>(player)]; }
  const std::vector<std::int64_t>& actions() const { return actions_; }
  /// N = prod_i k_i.
  std::int64_t outcomes() const { return outcomes_; }
  /// stride_i = prod_{j>i} k_j: distance in the flat index between i's consecutive actions.
  std::int64_t stride(int player) const { return strides_[static_cast<std::size_t>(player)]; }
  /// "6x7x4x6".
  std::string to_string() const;
  /// Flat outcome index -> action of each player (size n).
  std::vector<std::int64_t> unflatten(std::int64_t outcome) const;
  /// Actions of each player -> flat outcome index. Throws dgeval::error if out of range.
  std::int64_t flatten(const std::vector<std::int64_t>& actions) const;

  bool operator==(const Dims& o) const { return actions_ == o.actions_; }
  bool operator!=(const Dims& o) const { return !(*this == o); }

 private:
  std::vector<std::int64_t> actions_;
  std::vector<std::int64_t> strides_;
  std::int64_t outcomes_ = 0;
};

/// Where a BatchView's arrays live.
enum class Memory {
  host,    ///< host memory, readable by the CPU (every backend)
  device,  ///< CUDA device memory (the CUDA backend only: evaluated in place, the input is not copied)
};

/// Non-owning view of a batch of games: both sides, [games][n][N] each, of one dtype.
struct BatchView {
  DType dtype = DType::float64;
  const void* agents = nullptr;      ///< u:  [games][n][N]
  const void* principals = nullptr;  ///< û: [games][n][N]
  std::int64_t games = 0;
  Dims dims;
  /// Memory::device: agents and principals are device pointers (a PyTorch, CuPy or JAX array on the
  /// GPU, say) on the CUDA backend's device, each aligned to its dtype. The backend checks that they
  /// are device memory of that device and that each allocation holds the whole side, and waits for
  /// `stream` before reading them.
  Memory memory = Memory::host;
  /// Memory::device: the cudaStream_t on which the arrays were written (nullptr: the legacy default
  /// stream); the evaluation starts after the work enqueued on it so far. Ignored for host memory.
  void* stream = nullptr;

  /// Elements per side per game, n * N. Throws dgeval::error on overflow.
  std::int64_t values_per_game() const;
};

/// An owning batch of games in float64 (what generators and the built-in examples produce).
struct Batch {
  Dims dims;
  std::int64_t games = 0;
  std::vector<double> agents;      ///< [games][n][N]
  std::vector<double> principals;  ///< [games][n][N]

  Batch() = default;
  /// Allocates zero-filled storage. Throws dgeval::error on overflow.
  Batch(Dims d, std::int64_t games);
  BatchView view() const;
};

/// a * b for non-negative 64-bit values; throws dgeval::error naming `what` on overflow.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what);

/// The one wording of a non-finite utility, for every backend and reader: the first non-finite
/// utility of game g of `view` in storage order (agents, then principals), the game named
/// first_game + g. Empty when every utility of the game is finite.
std::string nonfinite_utility_message(const BatchView& view, std::int64_t g, std::int64_t first_game = 0);
/// What a backend reports for game g, found non-finite while evaluating it: its first non-finite
/// utility or, when every utility is finite, that their sum overflows float64 (the game named
/// first_game + g). `view` is in host memory.
std::string nonfinite_game_message(const BatchView& view, std::int64_t g, std::int64_t first_game = 0);

}  // namespace dgeval
