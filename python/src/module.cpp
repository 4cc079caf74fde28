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
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/inference.hpp"
#include "dgeval/io.hpp"
#include "experiments/experiments_device.hpp"  // dgeval::cuda::generate_games_on_device

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
  std::size_t column = 0;  // columns outside Options::columns are left out
#define DGEVAL_PY_COLUMN_player_real(name) out[#name] = to_numpy(std::move(r.name), {B, n});
#define DGEVAL_PY_COLUMN_real(name) out[#name] = to_numpy(std::move(r.name), {B});
#define DGEVAL_PY_COLUMN_integer(name) out[#name] = to_numpy(std::move(r.name), {B});
#define DGEVAL_PY_COLUMN_boolean(name) out[#name] = to_numpy(std::move(r.name), {B});  // float64 1, 0 or NaN
#define DGEVAL_PY_COLUMN(name, kind, desc) \
  if (r.has_column(column++)) {            \
    DGEVAL_PY_COLUMN_##kind(name)          \
  }
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
                  bool list_equilibria, bool distance_matrix, bool allow_nonfinite, const std::string& columns,
                  const std::string& backend, int threads, int device, nb::object progress) {
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
  o.columns = dgeval::parse_columns(columns);

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

// ---- long runs: generation, inference, experiments -----------------------------------------

/// Lets a long C++ run (GIL released) be stopped: poll() is called from the running thread now
/// and then; it takes the GIL, runs pending signal handlers (Ctrl-C raises KeyboardInterrupt
/// there) and the user's progress callback, and keeps the first Python exception. After the
/// run (GIL held), raise_if_stopped() raises it, or dgeval.Cancelled when the callback
/// returned False.
class Interruptible {
 public:
  Interruptible(nb::object progress, std::string what) : progress_(std::move(progress)), what_(std::move(what)) {}

  bool poll(std::int64_t done, std::int64_t total) {
    nb::gil_scoped_acquire gil;
    if (stopped()) return false;
    if (PyErr_CheckSignals() != 0) {
      pending_.emplace();
      return false;
    }
    if (!progress_.is_none()) {
      try {
        nb::object keep_going = progress_(done, total);
        if (keep_going.is(nb::handle(Py_False))) {
          user_cancelled_ = true;
          return false;
        }
      } catch (nb::python_error& e) {
        pending_.emplace(std::move(e));
        return false;
      }
    }
    return true;
  }

  /// poll() for APIs whose progress cannot ask to stop: throws dgeval::cancelled instead.
  void poll_or_throw(std::int64_t done, std::int64_t total) {
    if (!poll(done, total)) throw dgeval::cancelled();
  }

  bool stopped() const { return pending_.has_value() || user_cancelled_; }

  void raise_if_stopped() {
    if (pending_) {
      nb::python_error e = std::move(*pending_);
      pending_.reset();
      throw std::move(e);
    }
    if (user_cancelled_) {
      user_cancelled_ = false;
      PyErr_SetString(cancelled_type.ptr(), (what_ + " cancelled: the progress callback returned False").c_str());
      throw nb::python_error();
    }
  }

  /// Runs `body` with the GIL released; a dgeval::cancelled that a stop caused becomes the
  /// Python exception, and a stop at the very end is honoured all the same.
  template <class F>
  void run(F&& body) {
    try {
      nb::gil_scoped_release no_gil;
      body();
    } catch (const dgeval::cancelled&) {
      raise_if_stopped();
      throw;
    }
    raise_if_stopped();
  }

 private:
  nb::object progress_;
  std::string what_;
  std::optional<nb::python_error> pending_;
  bool user_cancelled_ = false;
};

/// Builds a dict of NumPy columns (numbers) and lists of str (text), in insertion order.
struct ColumnDict {
  nb::dict d;
  template <class T>
  void num(const char* name, std::vector<T>&& v) {
    const std::size_t size = v.size();
    d[name] = to_numpy(std::move(v), {size});
  }
  void text(const char* name, const std::vector<std::string>& v) {
    nb::list l;
    for (const std::string& s : v) l.append(nb::str(s.data(), s.size()));
    d[name] = l;
  }
};

/// dgeval.generate: the CLI's `delegation` generator (dgeval::generate_games) chunk by chunk,
/// polling for Ctrl-C between chunks (game g depends only on the seed and g, so the chunking does
/// not change the games). Returns (agents, principals, attempts, flags, eps_tol, ca_achieved,
/// ia_error): the utilities float64 [B, n, k..] and the generator's GameInfo per game.
nb::tuple generate(std::vector<std::int64_t> actions, std::int64_t games, std::uint64_t seed, std::int64_t first_game,
                   const std::string& distribution, bool raw, double magnitude_min, double magnitude_max,
                   double offset_min, double offset_max, bool positive, std::vector<double> ia, double ca_principals,
                   double ca_agents, std::vector<double> calibration, const std::string& scale,
                   const std::string& pure_ne, int max_attempts, int threads, const std::string& backend, int device,
                   nb::object progress) {
  if (games < 0) throw dgeval::error("generate: the number of games must be non-negative");
  if (backend != "auto" && backend != "cpu" && backend != "cuda") {
    throw dgeval::error("generate: unknown backend \"" + backend + "\"; expected one of: auto, cpu, cuda");
  }
  const bool on_device = backend == "cuda" || (backend == "auto" && dgeval::cuda_available());
  if (first_game < 0) throw dgeval::error("generate: first_game must be non-negative");
  const dgeval::Dims dims(std::move(actions));
  dgeval::GeneratorSpec s;
  s.distribution = dgeval::parse_distribution(distribution);
  s.raw = raw;
  s.magnitude_min = magnitude_min;
  s.magnitude_max = magnitude_max;
  s.offset_min = offset_min;
  s.offset_max = offset_max;
  s.positive = positive;
  s.ia = std::move(ia);
  s.ca_principals = ca_principals;
  s.ca_agents = ca_agents;
  s.calibration = std::move(calibration);
  s.scale = dgeval::parse_standardisation(scale);
  s.pure_ne = dgeval::parse_pure_ne(pure_ne);
  s.max_attempts = max_attempts;
  dgeval::validate(s, dims);

  const std::int64_t per = dims.players() * dims.outcomes();
  const auto total = static_cast<std::size_t>(dgeval::checked_mul(games, per, "games x n x N"));
  std::vector<double> agents(total), principals(total);
  const auto B = static_cast<std::size_t>(games);
  std::vector<std::int32_t> attempts(B), flags(B);
  std::vector<double> eps_tol(B), ca_achieved(B), ia_error(B);
  Interruptible stop(std::move(progress), "generation");
  stop.run([&] {
    const std::int64_t chunk = dgeval::games_per_chunk(dims, std::int64_t{1} << 21, std::int64_t{1} << 16);
    std::vector<dgeval::GameInfo> info;
    for (std::int64_t g0 = 0; g0 < games; g0 += chunk) {
      const std::int64_t count = std::min(chunk, games - g0);
      info.clear();
      const dgeval::Batch b =
          on_device ? dgeval::cuda::generate_games_on_device(device, dims, s, count, seed, first_game + g0, &info)
                    : dgeval::generate_games(dims, s, count, seed, first_game + g0, threads, &info);
      std::copy(b.agents.begin(), b.agents.end(), agents.begin() + g0 * per);
      std::copy(b.principals.begin(), b.principals.end(), principals.begin() + g0 * per);
      for (std::int64_t g = 0; g < count; ++g) {
        const dgeval::GameInfo& gi = info[static_cast<std::size_t>(g)];
        const auto at = static_cast<std::size_t>(g0 + g);
        attempts[at] = gi.attempts;
        flags[at] = gi.flags;
        eps_tol[at] = gi.eps_tol;
        ca_achieved[at] = gi.ca_achieved;
        ia_error[at] = gi.ia_error;
      }
      if (!stop.poll(g0 + count, games)) throw dgeval::cancelled();
    }
  });
  const auto shape = side_shape(dims, games, true);
  return nb::make_tuple(to_numpy(std::move(agents), shape), to_numpy(std::move(principals), shape),
                        to_numpy(std::move(attempts), {B}), to_numpy(std::move(flags), {B}),
                        to_numpy(std::move(eps_tol), {B}), to_numpy(std::move(ca_achieved), {B}),
                        to_numpy(std::move(ia_error), {B}));
}

// ---- inference (dgeval/inference.hpp) ------------------------------------------------------

using IntArray = nb::ndarray<const std::int64_t, nb::c_contig, nb::device::cpu>;
using RealArray = nb::ndarray<const double, nb::c_contig, nb::device::cpu>;
using SetArray = nb::ndarray<const std::uint8_t, nb::c_contig, nb::device::cpu>;

/// Observations as a tuple for Python: (actions int64 [R, n], agents float64 [R, n],
/// principals, set uint8 [R], dims, dims_known, source, line int64 [R or 0], text_lines).
nb::tuple observations_to_python(dgeval::Observations&& obs) {
  const auto R = static_cast<std::size_t>(obs.rows());
  const int n = obs.players();
  const auto un = static_cast<std::size_t>(n);
  std::vector<std::int64_t> acts(R * un);
  for (std::size_t r = 0; r < R; ++r) {
    std::int64_t s = obs.outcome[r];
    for (int i = n; i-- > 0;) {
      const std::int64_t k = obs.dims.actions(i);
      acts[r * un + static_cast<std::size_t>(i)] = s % k;
      s /= k;
    }
  }
  std::vector<std::uint8_t> set(R);
  for (std::size_t r = 0; r < R; ++r) set[r] = static_cast<std::uint8_t>(obs.set[r]);
  const std::size_t L = obs.line.size();
  return nb::make_tuple(to_numpy(std::move(acts), {R, un}), to_numpy(std::move(obs.agents), {R, un}),
                        to_numpy(std::move(obs.principals), {R, un}), to_numpy(std::move(set), {R}),
                        obs.dims.actions(), obs.dims_known, obs.source, to_numpy(std::move(obs.line), {L}),
                        obs.text_lines);
}

nb::tuple read_observations(const std::string& path, std::vector<std::int64_t> dims, const std::string& default_set) {
  dgeval::ObservationReadOptions ro;
  if (!dims.empty()) {
    ro.dims = dgeval::Dims(std::move(dims));
    ro.has_dims = true;
  }
  ro.default_set = dgeval::parse_observed_set(default_set);
  dgeval::Observations obs;
  {
    nb::gil_scoped_release no_gil;
    obs = dgeval::read_observations(path, ro);
  }
  return observations_to_python(std::move(obs));
}

/// Observations from Python arrays; action tuples are checked against the dims (as the file
/// readers do) and flattened in C order.
dgeval::Observations observations_from_python(std::vector<std::int64_t> dims, bool dims_known, IntArray actions,
                                              RealArray agents, RealArray principals, SetArray set,
                                              const std::string& source, IntArray line, bool text_lines) {
  dgeval::Observations obs;
  obs.dims = dgeval::Dims(std::move(dims));
  obs.dims_known = dims_known;
  obs.source = source;
  obs.text_lines = text_lines;
  const int n = obs.dims.players();
  const auto un = static_cast<std::size_t>(n);
  const std::size_t R = set.size();
  if (actions.size() != R * un || agents.size() != R * un || principals.size() != R * un) {
    throw dgeval::error("observations: actions, agents and principals must be [rows, n] and set [rows]");
  }
  if (line.size() != 0 && line.size() != R) throw dgeval::error("observations: line must have one entry per row");
  obs.line.assign(line.data(), line.data() + line.size());
  obs.outcome.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    std::int64_t s = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t a = actions.data()[r * un + static_cast<std::size_t>(i)];
      if (a < 0 || a >= obs.dims.actions(i)) {
        throw dgeval::error(obs.where(static_cast<std::int64_t>(r)) + ": action " + std::to_string(a) + " of player " +
                            std::to_string(i) + " is outside [0, " + std::to_string(obs.dims.actions(i)) +
                            ") for the game " + obs.dims.to_string() + " (unknown outcome)");
      }
      s += a * obs.dims.stride(i);
    }
    obs.outcome[r] = s;
  }
  obs.agents.assign(agents.data(), agents.data() + R * un);
  obs.principals.assign(principals.data(), principals.data() + R * un);
  obs.set.resize(R);
  for (std::size_t r = 0; r < R; ++r) {
    const std::uint8_t k = set.data()[r];
    if (k >= dgeval::kObservedSets) {
      throw dgeval::error(obs.where(static_cast<std::int64_t>(r)) + ": set " + std::to_string(k) +
                          " is not 0 (all), 1 (ne), 2 (eps_ne) or 3 (played)");
    }
    obs.set[r] = static_cast<dgeval::ObservedSet>(k);
  }
  return obs;
}

nb::tuple estimate_tuple(const char* measure, int player, const dgeval::Estimate& e) {
  return nb::make_tuple(measure, player, e.value, e.lo, e.hi, e.replicates, e.reason, e.interval_reason);
}

/// The Inference as a dict: counts, then "estimates": (family, measure, player or -1, value, lo,
/// hi, replicates, reason, interval_reason) in the CLI's order.
nb::dict infer(std::vector<std::int64_t> dims, bool dims_known, IntArray actions, RealArray agents,
               RealArray principals, SetArray set, const std::string& source, IntArray line, bool text_lines,
               std::int64_t resamples, double level, std::uint64_t seed, int threads) {
  const dgeval::Observations obs = observations_from_python(std::move(dims), dims_known, actions, agents, principals,
                                                            set, source, line, text_lines);
  dgeval::InferenceOptions io;
  io.resamples = resamples;
  io.level = level;
  io.seed = seed;
  io.threads = threads;
  dgeval::Inference r;
  {
    nb::gil_scoped_release no_gil;
    r = dgeval::infer(obs, io);
  }
  nb::dict out;
  out["players"] = r.players;
  out["rows"] = r.rows;
  out["outcomes"] = r.outcomes;
  nb::dict rows_per_set, outcomes_per_set;
  for (int k = 0; k < dgeval::kObservedSets; ++k) {
    const char* name = dgeval::to_string(static_cast<dgeval::ObservedSet>(k));
    rows_per_set[name] = r.rows_per_set[k];
    outcomes_per_set[name] = r.outcomes_per_set[k];
  }
  out["rows_per_set"] = rows_per_set;
  out["outcomes_per_set"] = outcomes_per_set;
  out["ic_set"] = dgeval::to_string(r.ic_set);
  out["resamples"] = r.options.resamples;
  out["level"] = r.options.level;
  out["seed"] = r.options.seed;
  nb::list estimates;
  for (int f = 0; f < 2; ++f) {
    const dgeval::EstimateSet& es = f ? r.corrected : r.authors;
    nb::list fam;
    for (int i = 0; i < r.players; ++i) fam.append(estimate_tuple("ia", i, es.ia[static_cast<std::size_t>(i)]));
    fam.append(estimate_tuple("ca", -1, es.ca));
    for (int i = 0; i < r.players; ++i) fam.append(estimate_tuple("ic", i, es.ic[static_cast<std::size_t>(i)]));
    fam.append(estimate_tuple("cc", -1, es.cc));
    out[f ? "corrected" : "authors"] = fam;
  }
  return out;
}

dgeval::Batch one_game(RealArray agents, RealArray principals, std::vector<std::int64_t> actions) {
  dgeval::Batch game(dgeval::Dims(std::move(actions)), 1);
  if (agents.size() != game.agents.size() || principals.size() != game.principals.size()) {
    throw dgeval::error("agents / principals: array size does not match n x N");
  }
  std::copy_n(agents.data(), game.agents.size(), game.agents.begin());
  std::copy_n(principals.data(), game.principals.size(), game.principals.begin());
  return game;
}

nb::object flat_to_actions(const dgeval::Dims& dims, const std::vector<std::int64_t>& flat) {
  const auto un = static_cast<std::size_t>(dims.players());
  std::vector<std::int64_t> out(flat.size() * un);
  for (std::size_t r = 0; r < flat.size(); ++r) {
    const std::vector<std::int64_t> a = dims.unflatten(flat[r]);
    std::copy(a.begin(), a.end(), out.begin() + r * un);
  }
  return to_numpy(std::move(out), {flat.size(), un});
}

/// dgeval.outcome_sets: the candidate sets of one game (action tuples [E, n]) and the welfare levels.
nb::dict outcome_sets(RealArray agents, RealArray principals, std::vector<std::int64_t> actions,
                      std::vector<double> ic, double cc, double ne_level) {
  const dgeval::Batch game = one_game(agents, principals, std::move(actions));
  dgeval::OutcomeSets sets;
  {
    nb::gil_scoped_release no_gil;
    sets = dgeval::outcome_sets(game, 0, ic, cc, ne_level);
  }
  nb::dict out;
  out["ne"] = flat_to_actions(game.dims, sets.ne);
  out["eps_ne"] = flat_to_actions(game.dims, sets.eps_ne);
  out["played"] = flat_to_actions(game.dims, sets.played);
  out["played_fallback"] = sets.played_fallback;
  out["w_star"] = sets.w_star;
  out["w_zero"] = sets.w_zero;
  out["w_eps"] = sets.w_eps;
  return out;
}

/// dgeval.sample_observations: as `dgeval infer --game/--example --sample SETS`: `samples` draws
/// from each set in turn, every set with the same seed.
nb::tuple sample_observations(RealArray agents, RealArray principals, std::vector<std::int64_t> actions,
                              std::vector<std::string> sets, std::int64_t samples, std::uint64_t seed,
                              std::vector<double> ic, double cc, const std::string& source) {
  const dgeval::Batch game = one_game(agents, principals, std::move(actions));
  std::vector<dgeval::ObservedSet> which;
  for (const std::string& name : sets) which.push_back(dgeval::parse_observed_set(name));
  if (which.empty()) throw dgeval::error("sample_observations: no set to sample from");
  if (samples < 1) throw dgeval::error("sample_observations: at least one sample is needed");
  dgeval::Observations obs;
  {
    nb::gil_scoped_release no_gil;
    const dgeval::OutcomeSets os = dgeval::outcome_sets(game, 0, ic, cc);
    obs.dims = game.dims;
    obs.source = source;
    for (dgeval::ObservedSet w : which) {
      const dgeval::Observations part = dgeval::sample_observations(game, 0, os, w, samples, seed);
      obs.outcome.insert(obs.outcome.end(), part.outcome.begin(), part.outcome.end());
      obs.agents.insert(obs.agents.end(), part.agents.begin(), part.agents.end());
      obs.principals.insert(obs.principals.end(), part.principals.begin(), part.principals.end());
      obs.set.insert(obs.set.end(), part.set.begin(), part.set.end());
    }
  }
  return observations_to_python(std::move(obs));
}

// ---- experiments (dgeval/experiments.hpp, run_inference_experiment) ------------------------

std::vector<dgeval::Dims> to_sizes(const std::vector<std::vector<std::int64_t>>& sizes) {
  std::vector<dgeval::Dims> out;
  for (const auto& a : sizes) out.emplace_back(a);
  return out;
}

void stats_columns(ColumnDict& c, const char* name, const std::vector<dgeval::GridScanPoint>& points,
                   dgeval::Stats dgeval::GridScanPoint::*member) {
  const std::string n = name;
  std::vector<double> mean, lo, hi, q05, q95;
  for (const auto& p : points) {
    const dgeval::Stats& s = p.*member;
    mean.push_back(s.mean), lo.push_back(s.ci_low), hi.push_back(s.ci_high), q05.push_back(s.q05), q95.push_back(s.q95);
  }
  c.num((n + "_mean").c_str(), std::move(mean));
  c.num((n + "_ci_low").c_str(), std::move(lo));
  c.num((n + "_ci_high").c_str(), std::move(hi));
  c.num((n + "_q05").c_str(), std::move(q05));
  c.num((n + "_q95").c_str(), std::move(q95));
}

/// dgeval.grid_scan: run_grid_scan, as the columns of write_grid_scan_csv.
nb::dict grid_scan(std::vector<std::vector<std::int64_t>> sizes, std::vector<std::string> variables,
                   std::vector<double> others, int increments, std::int64_t games_per_point, std::uint64_t seed,
                   const std::string& distribution, const std::string& pure_ne, const std::string& welfare,
                   const std::string& cc_window, int threads, const std::string& backend, int device, nb::object progress) {
  dgeval::GridScanConfig c;
  c.sizes = to_sizes(sizes);
  c.variables.clear();
  for (const std::string& v : variables) c.variables.push_back(dgeval::parse_measure(v));
  c.others = std::move(others);
  c.increments = increments;
  c.games_per_point = games_per_point;
  c.seed = seed;
  c.generator.distribution = dgeval::parse_distribution(distribution);
  c.generator.pure_ne = dgeval::parse_pure_ne(pure_ne);
  c.options.welfare = dgeval::parse_welfare(welfare);
  c.options.cc_window = dgeval::parse_cc_window(cc_window);
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  Interruptible stop(std::move(progress), "grid scan");
  std::vector<dgeval::GridScanPoint> pts;
  stop.run([&] {
    pts = dgeval::run_grid_scan(c, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  ColumnDict d;
  std::vector<std::string> dims_col, variable;
  for (const auto& p : pts) dims_col.push_back(p.dims.to_string()), variable.push_back(dgeval::to_string(p.variable));
  auto real = [&](const char* name, double dgeval::GridScanPoint::*m) {
    std::vector<double> v;
    for (const auto& p : pts) v.push_back(p.*m);
    d.num(name, std::move(v));
  };
  auto integer = [&](const char* name, std::int64_t dgeval::GridScanPoint::*m) {
    std::vector<std::int64_t> v;
    for (const auto& p : pts) v.push_back(p.*m);
    d.num(name, std::move(v));
  };
  d.text("dims", dims_col);
  d.text("variable", variable);
  real("others", &dgeval::GridScanPoint::others);
  real("value", &dgeval::GridScanPoint::value);
  real("ia_target", &dgeval::GridScanPoint::ia_target);
  real("ca_target", &dgeval::GridScanPoint::ca_target);
  real("ic", &dgeval::GridScanPoint::ic);
  real("cc", &dgeval::GridScanPoint::cc);
  integer("games", &dgeval::GridScanPoint::games);
  integer("evaluated", &dgeval::GridScanPoint::evaluated);
  real("measure_actual", &dgeval::GridScanPoint::measure_actual);
  real("ia_error_max", &dgeval::GridScanPoint::ia_error_max);
  real("ca_error_max", &dgeval::GridScanPoint::ca_error_max);
  stats_columns(d, "w_hat_max", pts, &dgeval::GridScanPoint::w_hat_max);
  stats_columns(d, "w_hat_min", pts, &dgeval::GridScanPoint::w_hat_min);
  stats_columns(d, "w_hat_avg", pts, &dgeval::GridScanPoint::w_hat_avg);
  stats_columns(d, "bound_1", pts, &dgeval::GridScanPoint::bound_1);
  stats_columns(d, "bound_2", pts, &dgeval::GridScanPoint::bound_2);
  stats_columns(d, "bound_r2", pts, &dgeval::GridScanPoint::bound_r2);
  integer("r2_fail", &dgeval::GridScanPoint::r2_fail);
  integer("r5_fail", &dgeval::GridScanPoint::r5_fail);
  integer("r3_fail", &dgeval::GridScanPoint::r3_fail);
  integer("fallback", &dgeval::GridScanPoint::fallback);
  integer("r3_fail_fallback", &dgeval::GridScanPoint::r3_fail_fallback);
  integer("eps_tol_raised", &dgeval::GridScanPoint::eps_tol_raised);
  real("ic_effective_min", &dgeval::GridScanPoint::ic_effective_min);
  real("attempts_mean", &dgeval::GridScanPoint::attempts_mean);
  integer("magnitudes_adjusted", &dgeval::GridScanPoint::magnitudes_adjusted);
  return d.d;
}

/// dgeval.bound_surface: (bins as the columns of write_bound_surface_csv, kept points as those
/// of write_surface_points_csv, summary).
nb::tuple bound_surface(std::int64_t games, int players, std::int64_t outcomes, std::vector<double> calibration,
                        const std::string& standardisation, const std::string& welfare,
                        const std::string& distribution, int bins_x, int bins_y, std::uint64_t seed,
                        std::int64_t keep_points, int threads, const std::string& backend, int device,
                        std::int64_t chunk, nb::object progress) {
  dgeval::BoundSurfaceConfig c;
  c.games = games;
  c.players = players;
  c.outcomes = outcomes;
  c.calibration = std::move(calibration);
  c.standardisation = dgeval::parse_standardisation(standardisation);
  c.welfare = dgeval::parse_welfare(welfare);
  c.distribution = dgeval::parse_distribution(distribution);
  c.bins_x = bins_x;
  c.bins_y = bins_y;
  c.seed = seed;
  c.keep_points = keep_points;
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  c.chunk = chunk;
  Interruptible stop(std::move(progress), "bound surface");
  dgeval::BoundSurfaceResult r;
  stop.run([&] {
    r = dgeval::run_bound_surface(c, [&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  });
  ColumnDict bins;
  auto bin_int = [&](const char* name, auto member) {
    std::vector<std::int64_t> v;
    for (const auto& b : r.bins) v.push_back(static_cast<std::int64_t>(b.*member));
    bins.num(name, std::move(v));
  };
  auto bin_real = [&](const char* name, double dgeval::SurfaceBin::*member) {
    std::vector<double> v;
    for (const auto& b : r.bins) v.push_back(b.*member);
    bins.num(name, std::move(v));
  };
  bin_int("ix", &dgeval::SurfaceBin::ix);
  bin_int("iy", &dgeval::SurfaceBin::iy);
  bin_real("wr_low", &dgeval::SurfaceBin::wr_low);
  bin_real("wr_high", &dgeval::SurfaceBin::wr_high);
  bin_real("tm_low", &dgeval::SurfaceBin::tm_low);
  bin_real("tm_high", &dgeval::SurfaceBin::tm_high);
  bin_int("count", &dgeval::SurfaceBin::count);
  bin_real("pwr_mean", &dgeval::SurfaceBin::pwr_mean);
  bin_real("pwr_max", &dgeval::SurfaceBin::pwr_max);
  bin_real("bound_centre", &dgeval::SurfaceBin::bound_centre);
  bin_real("bound_upper", &dgeval::SurfaceBin::bound_upper);
  bin_int("above_simple", &dgeval::SurfaceBin::above_simple);
  bin_int("above_bound", &dgeval::SurfaceBin::above_bound);
  ColumnDict points;
  auto point = [&](const char* name, double dgeval::SurfacePoint::*member) {
    std::vector<double> v;
    for (const auto& p : r.points) v.push_back(p.*member);
    points.num(name, std::move(v));
  };
  point("agents_welfare_regret", &dgeval::SurfacePoint::wr);
  point("total_misalignment", &dgeval::SurfacePoint::tm);
  point("principals_welfare_regret", &dgeval::SurfacePoint::pwr);
  point("bound", &dgeval::SurfacePoint::bound);
  nb::dict summary;
  summary["games"] = r.games;
  summary["above_simple"] = r.above_simple;
  summary["above_bound"] = r.above_bound;
  summary["bin_bound_exceeded"] = r.bin_bound_exceeded;
  summary["wr_max"] = r.wr_max;
  summary["tm_max"] = r.tm_max;
  return nb::make_tuple(bins.d, points.d, summary);
}

/// dgeval.inference_experiment: (curves as the columns of write_inference_curves, per-game
/// errors as the columns of the CLI's --per-game CSV, or None).
nb::tuple inference_experiment(std::vector<std::vector<std::int64_t>> sizes, std::int64_t games, std::int64_t samples,
                               std::int64_t every, std::uint64_t seed, int threads, bool per_game,
                               const std::string& backend, int device, nb::object progress) {
  dgeval::InferenceExperimentConfig c;
  c.sizes = to_sizes(sizes);
  if (c.sizes.empty()) {
    c.sizes = {dgeval::Dims({3, 3}), dgeval::Dims({5, 5, 4}), dgeval::Dims({6, 7, 4, 6}),
               dgeval::Dims({7, 3, 8, 5, 12})};
  }
  c.games = games;
  c.samples = samples;
  c.every = every;
  c.seed = seed;
  c.threads = threads;
  c.backend = backend;
  c.device = device;
  std::vector<dgeval::InferenceErrorRow> rows_per_game;
  std::vector<dgeval::InferenceCurveRow> rows;
  Interruptible stop(std::move(progress), "inference experiment");
  stop.run([&] {
    rows = dgeval::run_inference_experiment(
        c,
        per_game ? std::function<void(const dgeval::InferenceErrorRow&)>(
                       [&](const dgeval::InferenceErrorRow& r) { rows_per_game.push_back(r); })
                 : nullptr,
        [&](std::int64_t done, std::int64_t total) { stop.poll_or_throw(done, total); });
  });
  ColumnDict curves;
  {
    std::vector<std::string> size, dist, est, measure;
    std::vector<std::int64_t> outs, smp, defined, undefined;
    std::vector<double> mean, sd, lo, hi, q05, q50, q95;
    for (const auto& r : rows) {
      const dgeval::Dims& d = c.sizes[static_cast<std::size_t>(r.size)];
      size.push_back(d.to_string());
      outs.push_back(d.outcomes());
      dist.push_back(dgeval::to_string(r.distribution));
      est.push_back(r.corrected ? "corrected" : "authors");
      measure.push_back(dgeval::to_string(r.measure));
      smp.push_back(r.samples), defined.push_back(r.defined), undefined.push_back(r.undefined);
      mean.push_back(r.mean), sd.push_back(r.sd), lo.push_back(r.mean_lo), hi.push_back(r.mean_hi);
      q05.push_back(r.q05), q50.push_back(r.q50), q95.push_back(r.q95);
    }
    curves.text("size", size);
    curves.num("outcomes", std::move(outs));
    curves.text("distribution", dist);
    curves.text("estimator", est);
    curves.text("measure", measure);
    curves.num("samples", std::move(smp));
    curves.num("games", std::move(defined));
    curves.num("undefined", std::move(undefined));
    curves.num("mean", std::move(mean));
    curves.num("sd", std::move(sd));
    curves.num("mean_lo", std::move(lo));
    curves.num("mean_hi", std::move(hi));
    curves.num("q05", std::move(q05));
    curves.num("q50", std::move(q50));
    curves.num("q95", std::move(q95));
  }
  nb::object per_game_out = nb::none();
  if (per_game) {
    ColumnDict g;
    std::vector<std::string> size, dist, est;
    std::vector<std::int64_t> outs, game, smp;
    std::vector<std::vector<double>> err(dgeval::kInferenceMeasures);
    for (const auto& r : rows_per_game) {
      const dgeval::Dims& d = c.sizes[static_cast<std::size_t>(r.size)];
      size.push_back(d.to_string());
      outs.push_back(d.outcomes());
      game.push_back(r.game);
      dist.push_back(dgeval::to_string(r.distribution));
      est.push_back(r.corrected ? "corrected" : "authors");
      smp.push_back(r.samples);
      for (int m = 0; m < dgeval::kInferenceMeasures; ++m) err[static_cast<std::size_t>(m)].push_back(r.error[m]);
    }
    rows_per_game.clear();
    rows_per_game.shrink_to_fit();
    g.text("size", size);
    g.num("outcomes", std::move(outs));
    g.num("game", std::move(game));
    g.text("distribution", dist);
    g.text("estimator", est);
    g.num("samples", std::move(smp));
    for (int m = 0; m < dgeval::kInferenceMeasures; ++m) {
      const std::string name = std::string(dgeval::to_string(static_cast<dgeval::InferenceMeasure>(m))) + "_error";
      g.num(name.c_str(), std::move(err[static_cast<std::size_t>(m)]));
    }
    per_game_out = g.d;
  }
  return nb::make_tuple(curves.d, per_game_out);
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
        nb::make_tuple("STRATEGY_UNDEFINED", std::int64_t{dgeval::flag_strategy_undefined}),
        nb::make_tuple("BOUND_VIOLATED", std::int64_t{dgeval::flag_bound_violated}),
        nb::make_tuple("IDEAL_GAP_BOUND_VIOLATED", std::int64_t{dgeval::flag_ideal_gap_bound_violated}));
  });
  m.def("generator_flags", [] {
    return nb::make_tuple(nb::make_tuple("MAGNITUDES_REDRAWN", std::int64_t{dgeval::info_magnitudes_redrawn}),
                          nb::make_tuple("MAGNITUDES_SHRUNK", std::int64_t{dgeval::info_magnitudes_shrunk}),
                          nb::make_tuple("PLANTED", std::int64_t{dgeval::info_planted}),
                          nb::make_tuple("CA_POLISHED", std::int64_t{dgeval::info_ca_polished}));
  });
  m.def("example_names", &dgeval::example_names);
  m.def("example", &example, "name"_a);
  m.def("generate_uniform", &generate_uniform, "actions"_a, "games"_a, "seed"_a, "first_game"_a, "low"_a, "high"_a,
        "threads"_a);
  m.def("generate", &generate, "actions"_a, "games"_a, "seed"_a, "first_game"_a, "distribution"_a, "raw"_a,
        "magnitude_min"_a, "magnitude_max"_a, "offset_min"_a, "offset_max"_a, "positive"_a, "ia"_a,
        "ca_principals"_a, "ca_agents"_a, "calibration"_a, "scale"_a, "pure_ne"_a, "max_attempts"_a, "threads"_a,
        "backend"_a, "device"_a, "progress"_a.none());
  m.def("read_observations", &read_observations, "path"_a, "dims"_a, "default_set"_a);
  m.def("infer", &infer, "dims"_a, "dims_known"_a, "actions"_a, "agents"_a, "principals"_a, "set"_a, "source"_a,
        "line"_a, "text_lines"_a, "resamples"_a, "level"_a, "seed"_a, "threads"_a);
  m.def("outcome_sets", &outcome_sets, "agents"_a, "principals"_a, "actions"_a, "ic"_a, "cc"_a, "ne_level"_a);
  m.def("sample_observations", &sample_observations, "agents"_a, "principals"_a, "actions"_a, "sets"_a,
        "samples"_a, "seed"_a, "ic"_a, "cc"_a, "source"_a);
  m.def("grid_scan", &grid_scan, "sizes"_a, "variables"_a, "others"_a, "increments"_a, "games_per_point"_a,
        "seed"_a, "distribution"_a, "pure_ne"_a, "welfare"_a, "cc_window"_a, "threads"_a, "backend"_a, "device"_a,
        "progress"_a.none());
  m.def("bound_surface", &bound_surface, "games"_a, "players"_a, "outcomes"_a, "calibration"_a,
        "standardisation"_a, "welfare"_a, "distribution"_a, "bins_x"_a, "bins_y"_a, "seed"_a, "keep_points"_a,
        "threads"_a, "backend"_a, "device"_a, "chunk"_a, "progress"_a.none());
  m.def("inference_experiment", &inference_experiment, "sizes"_a, "games"_a, "samples"_a, "every"_a, "seed"_a,
        "threads"_a, "per_game"_a, "backend"_a, "device"_a, "progress"_a.none());
  m.def("evaluate", &evaluate, "agents"_a, "principals"_a, "actions"_a, "games"_a, "standardisation"_a,
        "welfare"_a, "ic"_a, "cc"_a, "cc_window"_a, "ne_tolerance"_a, "played_tolerance"_a, "strategy"_a,
        "strategy_actions"_a, "strategy_weights"_a, "strategy_per_game"_a, "list_equilibria"_a,
        "distance_matrix"_a, "allow_nonfinite"_a, "columns"_a, "backend"_a, "threads"_a, "device"_a, "progress"_a.none());
}
