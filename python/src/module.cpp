// dgeval._core: the nanobind bindings under the Python package `dgeval`.
//
// This layer is thin on purpose. The Python side (python/dgeval/__init__.py) checks and
// normalises the arrays (shape rules, dtype, C order, copies); this file
//   * wraps C-contiguous float32/float64 NumPy buffers in a BatchView without copying,
//   * parses option names with the parsers the CLI uses (so the messages are the CLI's),
//   * runs the backend with the GIL released, polling for Ctrl-C through the progress callback,
//   * hands every result column back to NumPy without copying (the std::vector moves into a
//     capsule that owns it).
// dgeval::error becomes dgeval.Error (a ValueError); dgeval::cancelled becomes the Python
// exception that caused it (KeyboardInterrupt on Ctrl-C) or dgeval.Cancelled.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

/// Any read-only, C-contiguous host array; the dtype is checked by hand for a clear message.
using InArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

/// A NumPy array that takes ownership of `v` (no copy): the vector lives in a capsule.
template <class T>
nb::object to_numpy(std::vector<T>&& v, std::vector<std::size_t> shape) {
  auto* owner = new std::vector<T>(std::move(v));
  nb::capsule keep(owner, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owner->data(), shape.size(), shape.data(), keep).cast(nb::rv_policy::reference);
}

/// A NumPy bool array from 0/1 integers (copies: the dtype differs).
nb::object to_numpy_bool(const std::vector<std::int64_t>& v, std::vector<std::size_t> shape) {
  auto* owner = new std::vector<std::uint8_t>(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) (*owner)[i] = v[i] != 0;
  nb::capsule keep(owner, [](void* p) noexcept { delete static_cast<std::vector<std::uint8_t>*>(p); });
  return nb::ndarray<nb::numpy, bool>(reinterpret_cast<bool*>(owner->data()), shape.size(), shape.data(), keep)
      .cast(nb::rv_policy::reference);
}

dgeval::DType utility_dtype(const InArray& a, const char* name) {
  if (a.dtype() == nb::dtype<double>()) return dgeval::DType::float64;
  if (a.dtype() == nb::dtype<float>()) return dgeval::DType::float32;
  throw dgeval::error(std::string(name) + ": utilities must be float32 or float64");
}

/// Raised (as the Python exception object `cancelled_type`) when the user's progress callback
/// returned False.
nb::handle cancelled_type;

/// The Python result dict: one array per result column ([B, n] per player, [B] per game), then
/// pure_ne as `pure_ne_actions` [E, n] int64 with `pure_ne_offsets` [B + 1], and
/// distance_matrix [B, 2n, 2n], each only when asked for.
nb::dict results_to_dict(dgeval::Results&& r, const dgeval::Dims& dims, const dgeval::Options& o) {
  const auto B = static_cast<std::size_t>(r.games);
  const auto n = static_cast<std::size_t>(r.players);
  nb::dict out;
#define DGEVAL_PY_COLUMN_player_real(name) out[#name] = to_numpy(std::move(r.name), {B, n});
#define DGEVAL_PY_COLUMN_real(name) out[#name] = to_numpy(std::move(r.name), {B});
#define DGEVAL_PY_COLUMN_integer(name) out[#name] = to_numpy(std::move(r.name), {B});
#define DGEVAL_PY_COLUMN_boolean(name) out[#name] = to_numpy_bool(r.name, {B});
#define DGEVAL_PY_COLUMN(name, kind, desc) DGEVAL_PY_COLUMN_##kind(name)
  DGEVAL_RESULT_COLUMNS(DGEVAL_PY_COLUMN)
#undef DGEVAL_PY_COLUMN
  if (o.list_equilibria) {
    if (r.pure_ne.size() != B) throw std::logic_error("dgeval: backend returned pure_ne for the wrong game count");
    std::vector<std::int64_t> offsets(B + 1, 0);
    std::size_t total = 0;
    for (std::size_t g = 0; g < B; ++g) offsets[g + 1] = static_cast<std::int64_t>(total += r.pure_ne[g].size());
    std::vector<std::int64_t> actions(total * n);
    std::size_t pos = 0;
    for (std::size_t g = 0; g < B; ++g) {
      for (std::int64_t s : r.pure_ne[g]) {
        // Unflatten in C order: the last player's action varies fastest.
        for (std::size_t i = n; i-- > 0;) {
          const std::int64_t k = dims.actions(static_cast<int>(i));
          actions[pos + i] = s % k;
          s /= k;
        }
        pos += n;
      }
    }
    out["pure_ne_actions"] = to_numpy(std::move(actions), {total, n});
    out["pure_ne_offsets"] = to_numpy(std::move(offsets), {B + 1});
  }
  if (o.distance_matrix) out["distance_matrix"] = to_numpy(std::move(r.distance_matrix), {B, 2 * n, 2 * n});
  return out;
}

nb::dict evaluate(InArray agents, InArray principals, std::vector<std::int64_t> actions, std::int64_t games,
                  const std::string& standardisation, const std::string& welfare, std::vector<double> ic, double cc,
                  const std::string& cc_window, double ne_tolerance, double played_tolerance,
                  const std::string& strategy, nb::ndarray<const std::int64_t, nb::c_contig, nb::device::cpu> strategy_actions,
                  nb::ndarray<const double, nb::c_contig, nb::device::cpu> strategy_weights, bool strategy_per_game,
                  bool list_equilibria, bool distance_matrix, bool allow_nonfinite, const std::string& backend,
                  int threads, int device, nb::object progress) {
  dgeval::BatchView view;
  view.dims = dgeval::Dims(std::move(actions));
  view.games = games;
  view.dtype = utility_dtype(agents, "agents");
  if (utility_dtype(principals, "principals") != view.dtype) {
    throw dgeval::error("agents and principals must have the same dtype");
  }
  const std::int64_t values = dgeval::checked_mul(games, view.values_per_game(), "batch size (games x n x N)");
  if (static_cast<std::int64_t>(agents.size()) != values || static_cast<std::int64_t>(principals.size()) != values) {
    throw dgeval::error("agents / principals: array size does not match games x n x N");
  }
  view.agents = agents.data();
  view.principals = principals.data();

  dgeval::Options o;
  o.standardisation = dgeval::parse_standardisation(standardisation);
  o.welfare = dgeval::parse_welfare(welfare);
  o.ic = std::move(ic);
  o.cc = cc;
  o.cc_window = dgeval::parse_cc_window(cc_window);
  o.ne_tolerance = ne_tolerance;
  o.played_tolerance = played_tolerance;
  o.strategy.kind = dgeval::parse_strategy_kind(strategy);
  o.strategy.actions.assign(strategy_actions.data(), strategy_actions.data() + strategy_actions.size());
  o.strategy.weights.assign(strategy_weights.data(), strategy_weights.data() + strategy_weights.size());
  o.strategy.per_game = strategy_per_game;
  o.list_equilibria = list_equilibria;
  o.distance_matrix = distance_matrix;
  o.allow_nonfinite = allow_nonfinite;

  dgeval::BackendConfig config;
  config.name = backend;
  config.threads = threads;
  config.device = device;
  std::string warning;
  std::unique_ptr<dgeval::Backend> engine = dgeval::make_backend(config, &warning);

  // Called now and then on the evaluating thread while the GIL is released: take the GIL, run
  // pending signal handlers (Ctrl-C raises KeyboardInterrupt here) and the user's callback;
  // keep the first Python exception and ask the backend to stop.
  std::optional<nb::python_error> pending;
  bool user_cancelled = false;
  engine->set_progress([&](std::int64_t done, std::int64_t total) -> bool {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      pending.emplace();
      return false;
    }
    if (!progress.is_none()) {
      try {
        nb::object keep_going = progress(done, total);
        if (keep_going.is(nb::handle(Py_False))) {
          user_cancelled = true;
          return false;
        }
      } catch (nb::python_error& e) {
        pending.emplace(std::move(e));
        return false;
      }
    }
    return true;
  });

  // A stop asked for at the final progress report does not make the backend throw; it is
  // honoured all the same (a Ctrl-C at the last moment still raises KeyboardInterrupt).
  auto raise_if_stopped = [&] {
    if (pending) throw std::move(*pending);
    if (user_cancelled) {
      PyErr_SetString(cancelled_type.ptr(), "evaluation cancelled: the progress callback returned False");
      throw nb::python_error();
    }
  };
  dgeval::Results results;
  try {
    nb::gil_scoped_release no_gil;
    engine->evaluate(view, o, results);
  } catch (const dgeval::cancelled&) {
    raise_if_stopped();
    throw;
  }
  raise_if_stopped();
  nb::dict out = results_to_dict(std::move(results), view.dims, o);
  out["__backend__"] = nb::str(engine->name());
  out["__warning__"] = nb::str(warning.c_str());
  return out;
}

nb::tuple generate_uniform(std::vector<std::int64_t> actions, std::int64_t games, std::uint64_t seed,
                           std::int64_t first_game, double lo, double hi, int threads) {
  if (games < 0) throw dgeval::error("generate_uniform: the number of games must be non-negative");
  if (first_game < 0) throw dgeval::error("generate_uniform: first_game must be non-negative");
  if (!(lo < hi)) throw dgeval::error("generate_uniform: low must be below high");
  const dgeval::Dims dims(std::move(actions));
  dgeval::Batch batch;
  {
    nb::gil_scoped_release no_gil;
    batch = dgeval::random_uniform_games(dims, games, seed, first_game, lo, hi, threads);
  }
  std::vector<std::size_t> shape{static_cast<std::size_t>(games), static_cast<std::size_t>(dims.players())};
  for (std::int64_t k : dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  return nb::make_tuple(to_numpy(std::move(batch.agents), shape), to_numpy(std::move(batch.principals), shape));
}

/// (name, description, agents [n, k_1..k_n], principals, options as evaluate() keywords).
nb::tuple example(const std::string& name) {
  dgeval::Example e = dgeval::make_example(name);
  std::vector<std::size_t> shape{static_cast<std::size_t>(e.batch.dims.players())};
  for (std::int64_t k : e.batch.dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  nb::dict options;
  options["standardisation"] = dgeval::to_string(e.options.standardisation);
  options["welfare"] = dgeval::to_string(e.options.welfare);
  if (!e.options.ic.empty()) options["ic"] = e.options.ic;
  options["cc"] = e.options.cc;
  options["cc_window"] = dgeval::to_string(e.options.cc_window);
  options["strategy"] = dgeval::to_string(e.options.strategy.kind);
  return nb::make_tuple(e.name, e.description, to_numpy(std::move(e.batch.agents), shape),
                        to_numpy(std::move(e.batch.principals), shape), options);
}

// ---- files (dgeval/io.hpp) -----------------------------------------------------------------

std::vector<std::size_t> side_shape(const dgeval::Dims& dims, std::int64_t games, bool with_games) {
  std::vector<std::size_t> shape;
  if (with_games) shape.push_back(static_cast<std::size_t>(games));
  shape.push_back(static_cast<std::size_t>(dims.players()));
  for (std::int64_t k : dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  return shape;
}

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

NB_MODULE(_core, m) {
  m.doc() = "dgeval's compiled core; use the `dgeval` package, not this module.";

  nb::exception<dgeval::error>(m, "Error", PyExc_ValueError);
  // A new reference kept for the life of the process (the module attribute holds another).
  cancelled_type = PyErr_NewExceptionWithDoc(
      "dgeval._core.Cancelled", "An evaluation stopped because the progress callback returned False.", nullptr,
      nullptr);
  if (!cancelled_type.ptr()) throw nb::python_error();
  m.attr("Cancelled") = cancelled_type;

  m.def("version", [] { return std::string(dgeval::version()); });
  m.def("cuda_compiled", [] {
#ifdef DGEVAL_HAVE_CUDA
    return true;
#else
    return false;
#endif
  });
  m.def("cuda_status", [] {
    std::string why;
    const bool ok = dgeval::cuda_available(&why);
    return nb::make_tuple(ok, why);
  });
  m.def("read_nfg", &read_nfg, "path"_a, "allow_nonfinite"_a);
  m.def("write_nfg", &write_nfg, "path"_a, "payoffs"_a, "actions"_a, "title"_a, "players"_a, "strategies"_a,
        "comment"_a);
  m.def("read_games", &read_games, "path"_a, "principals_path"_a, "single_game"_a, "allow_nonfinite"_a);
  m.def("dims_text", [](std::vector<std::int64_t> actions) { return dgeval::Dims(std::move(actions)).to_string(); },
        "actions"_a);
  m.def("parse_dims", [](const std::string& text) { return dgeval::Dims::parse(text).actions(); }, "text"_a);
  m.def("max_players", [] { return dgeval::kMaxPlayers; });
  m.def("result_columns", [] {
    nb::list out;
    for (const dgeval::ColumnInfo& c : dgeval::result_columns()) {
      const char* kind = c.kind == dgeval::ColumnKind::player_real ? "player_real"
                         : c.kind == dgeval::ColumnKind::real      ? "real"
                         : c.kind == dgeval::ColumnKind::integer   ? "integer"
                                                                   : "boolean";
      out.append(nb::make_tuple(c.name, kind, c.description));
    }
    return out;
  });
  m.def("result_flags", [] {
    return nb::make_tuple(
        nb::make_tuple("NO_PURE_NE", std::int64_t{dgeval::flag_no_pure_ne}),
        nb::make_tuple("NO_EPS_NE", std::int64_t{dgeval::flag_no_eps_ne}),
        nb::make_tuple("PLAYED_FALLBACK", std::int64_t{dgeval::flag_played_fallback}),
        nb::make_tuple("CA_OUT_OF_RANGE", std::int64_t{dgeval::flag_ca_out_of_range}),
        nb::make_tuple("NONFINITE", std::int64_t{dgeval::flag_nonfinite}),
        nb::make_tuple("ZERO_MAGNITUDE", std::int64_t{dgeval::flag_zero_magnitude}),
        nb::make_tuple("STRATEGY_UNDEFINED", std::int64_t{dgeval::flag_strategy_undefined}));
  });
  m.def("example_names", &dgeval::example_names);
  m.def("example", &example, "name"_a);
  m.def("generate_uniform", &generate_uniform, "actions"_a, "games"_a, "seed"_a, "first_game"_a, "low"_a, "high"_a,
        "threads"_a);
  m.def("evaluate", &evaluate, "agents"_a, "principals"_a, "actions"_a, "games"_a, "standardisation"_a,
        "welfare"_a, "ic"_a, "cc"_a, "cc_window"_a, "ne_tolerance"_a, "played_tolerance"_a, "strategy"_a,
        "strategy_actions"_a, "strategy_weights"_a, "strategy_per_game"_a, "list_equilibria"_a,
        "distance_matrix"_a, "allow_nonfinite"_a, "backend"_a, "threads"_a, "device"_a, "progress"_a.none());
}
