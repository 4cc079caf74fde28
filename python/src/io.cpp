// dgeval._core: files (dgeval/io.hpp): Gambit .nfg, NumPy .npy / .npz, read with the CLI's readers.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dgeval/dgeval.hpp"

namespace dgeval_python {
namespace {

using namespace nb::literals;

/// (payoffs [n, k_1..k_n] float64, title, players, strategies (labels per player, or []), comment).
nb::tuple read_nfg(const std::string& path, bool allow_nonfinite) {
  dgeval::ReadOptions ro;
  ro.allow_nonfinite = allow_nonfinite;
  dgeval::NfgGame g;
  {
    nb::gil_scoped_release no_gil;
    g = dgeval::read_nfg(path, ro);
  }
  auto shape = side_shape(g.dims, 1, false);
  return nb::make_tuple(to_numpy(std::move(g.payoffs), shape), g.title, g.players, g.strategies, g.comment);
}

void write_nfg(const std::string& path, nb::ndarray<const double, nb::c_contig, nb::device::cpu> payoffs,
               std::vector<std::int64_t> actions, const std::string& title, std::vector<std::string> players,
               std::vector<std::vector<std::string>> strategies, const std::string& comment) {
  const dgeval::Dims dims(std::move(actions));
  if (static_cast<std::int64_t>(payoffs.size()) != dgeval::checked_mul(dims.players(), dims.outcomes(), "n x N")) {
    throw dgeval::error("write_nfg: payoff array does not match dims");
  }
  dgeval::NfgGame g = dgeval::make_nfg(dims, payoffs.data(), title);
  if (!players.empty()) g.players = std::move(players);
  g.strategies = std::move(strategies);
  g.comment = comment;
  nb::gil_scoped_release no_gil;
  dgeval::write_file_atomically(path, [&](std::ostream& out) { dgeval::write_nfg(out, g); });
}

/// Both sides of a batch read from a file, in the file's dtype.
template <class T>
struct SidePair {
  std::vector<T> agents, principals;
  void append(const dgeval::BatchView& v, std::int64_t first) {
    const std::int64_t per = v.values_per_game();
    const auto* a = static_cast<const T*>(v.agents);
    const auto* p = static_cast<const T*>(v.principals);
    std::copy_n(a, v.games * per, agents.begin() + first * per);
    std::copy_n(p, v.games * per, principals.begin() + first * per);
  }
};

/// Every game of a file (or a pair of files) in memory, read with the CLI's rules:
/// (agents [B, n, k..], principals, notes, strategy kind or "", actions, weights, per_game).
nb::tuple read_games(const std::string& path, const std::string& principals_path, bool single_game,
                     bool allow_nonfinite) {
  dgeval::ReadOptions ro;
  ro.allow_nonfinite = allow_nonfinite;
  const dgeval::ShapeRule rule = single_game ? dgeval::ShapeRule::single_game : dgeval::ShapeRule::automatic;
  std::unique_ptr<dgeval::GameSource> source;
  SidePair<float> f32;
  SidePair<double> f64;
  dgeval::DType dtype = dgeval::DType::float64;
  dgeval::Strategy strategy;
  bool has_strategy = false;
  {
    nb::gil_scoped_release no_gil;
    source = principals_path.empty() ? dgeval::open_game_file(path, rule, ro)
                                     : dgeval::open_game_pair(path, principals_path, rule, ro);
    const std::int64_t games = source->games();
    const std::int64_t chunk = dgeval::games_per_chunk(source->dims());
    for (std::int64_t first = 0; first < games; first += chunk) {
      const dgeval::BatchView v = source->read(first, std::min(chunk, games - first));
      if (first == 0) {
        dtype = v.dtype;
        const auto total = static_cast<std::size_t>(dgeval::checked_mul(games, v.values_per_game(), "games x n x N"));
        if (dtype == dgeval::DType::float32) {
          f32.agents.resize(total);
          f32.principals.resize(total);
        } else {
          f64.agents.resize(total);
          f64.principals.resize(total);
        }
      }
      if (v.dtype != dtype) throw dgeval::error(source->describe() + ": the dtype changes between chunks");
      if (dtype == dgeval::DType::float32) {
        f32.append(v, first);
      } else {
        f64.append(v, first);
      }
    }
    has_strategy = source->has_strategy();
    if (has_strategy) strategy = source->strategy();
  }
  const auto shape = side_shape(source->dims(), source->games(), true);
  nb::object a, p;
  if (dtype == dgeval::DType::float32) {
    a = to_numpy(std::move(f32.agents), shape);
    p = to_numpy(std::move(f32.principals), shape);
  } else {
    a = to_numpy(std::move(f64.agents), shape);
    p = to_numpy(std::move(f64.principals), shape);
  }
  nb::list notes;
  for (const std::string& note : source->notes()) notes.append(note);
  const std::size_t n_actions = strategy.actions.size(), n_weights = strategy.weights.size();
  return nb::make_tuple(a, p, notes, has_strategy ? std::string(dgeval::to_string(strategy.kind)) : std::string(),
                        to_numpy(std::move(strategy.actions), {n_actions}),
                        to_numpy(std::move(strategy.weights), {n_weights}), strategy.per_game);
}

}  // namespace

void bind_io(nb::module_& m) {
  m.def("read_nfg", &read_nfg, "path"_a, "allow_nonfinite"_a);
  m.def("write_nfg", &write_nfg, "path"_a, "payoffs"_a, "actions"_a, "title"_a, "players"_a, "strategies"_a,
        "comment"_a);
  m.def("read_games", &read_games, "path"_a, "principals_path"_a, "single_game"_a, "allow_nonfinite"_a);
}

}  // namespace dgeval_python
