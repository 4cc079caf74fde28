// dgeval._core: evaluate (dgeval/dgeval.hpp, `dgeval evaluate`), its options as one object
// (EvaluateOptions), and the result columns and flag bits it returns.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dgeval/dgeval.hpp"
#include "interrupt.hpp"

namespace dgeval_python {
namespace {

using namespace nb::literals;

/// Every option of dgeval.evaluate but the arrays and the progress callback, by name: the
/// Python layer (python/dgeval/_evaluate.py) sets each field from the keyword of the same
/// name, so that no option is passed by position. The strings are parsed by options() with
/// the CLI's parsers (and messages), in the order the CLI parses them.
struct EvaluateOptions {
  std::string standardisation = "epic";
  std::string welfare = "average";
  std::vector<double> ic;  // empty: 1 (pure NE)
  double cc = 0.0;
  std::string cc_window = "code";
  double ne_tolerance = 1e-10;
  double played_tolerance = 1e-6;
  std::string strategy = "worst-ne";
  std::vector<std::int64_t> strategy_actions;  // set with set_strategy (from NumPy arrays)
  std::vector<double> strategy_weights;
  bool strategy_per_game = false;
  bool list_equilibria = false;
  bool distance_matrix = false;
  bool allow_nonfinite = false;
  std::string columns = "all";
  std::string backend = "auto";
  int threads = 0;
  int device = 0;

  /// The library's Options; throws dgeval::error with the CLI's message for a bad name.
  dgeval::Options options() const {
    dgeval::Options o;
    o.standardisation = dgeval::parse_standardisation(standardisation);
    o.welfare = dgeval::parse_welfare(welfare);
    o.ic = ic;
    o.cc = cc;
    o.cc_window = dgeval::parse_cc_window(cc_window);
    o.ne_tolerance = ne_tolerance;
    o.played_tolerance = played_tolerance;
    o.strategy.kind = dgeval::parse_strategy_kind(strategy);
    o.strategy.actions = strategy_actions;
    o.strategy.weights = strategy_weights;
    o.strategy.per_game = strategy_per_game;
    o.list_equilibria = list_equilibria;
    o.distance_matrix = distance_matrix;
    o.allow_nonfinite = allow_nonfinite;
    o.columns = dgeval::parse_columns(columns);
    return o;
  }

  dgeval::BackendConfig backend_config() const {
    dgeval::BackendConfig config;
    config.name = backend;
    config.threads = threads;
    config.device = device;
    return config;
  }
};

template <class Array>
dgeval::DType utility_dtype(const Array& a, const char* name) {
  if (a.dtype() == nb::dtype<double>()) return dgeval::DType::float64;
  if (a.dtype() == nb::dtype<float>()) return dgeval::DType::float32;
  throw dgeval::error(std::string(name) + ": utilities must be float32 or float64");
}

/// Any array on a CUDA device (DLPack: PyTorch, CuPy, JAX, ...), checked by hand for clear messages.
using CudaArray = nb::ndarray<nb::ro, nb::device::cuda>;

/// Whether a is C-contiguous (strides in elements; size-1 axes may have any stride).
bool c_contiguous(const CudaArray& a) {
  std::int64_t expected = 1;
  for (std::size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) != 1 && a.stride(i) != expected) return false;
    expected *= static_cast<std::int64_t>(a.shape(i));
  }
  return true;
}

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

/// Evaluates `view` on the backend `config` names, the GIL released, Ctrl-C and `progress` heard.
nb::dict evaluate_view(const dgeval::BatchView& view, const EvaluateOptions& options,
                       const dgeval::BackendConfig& config, nb::object progress) {
  const dgeval::Options o = options.options();
  std::string warning;
  std::unique_ptr<dgeval::Backend> engine = dgeval::make_backend(config, &warning);

  Interruptible stop(std::move(progress), "evaluation");
  engine->set_progress([&](std::int64_t done, std::int64_t total) { return stop.poll(done, total); });
  dgeval::Results results;
  stop.run([&] { engine->evaluate(view, o, results); });
  nb::dict out = results_to_dict(std::move(results), view.dims, o);
  out["__backend__"] = nb::str(engine->name());
  out["__warning__"] = nb::str(warning.c_str());
  return out;
}

nb::dict evaluate(InArray agents, InArray principals, std::vector<std::int64_t> actions, std::int64_t games,
                  const EvaluateOptions& options, nb::object progress) {
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

  return evaluate_view(view, options, options.backend_config(), std::move(progress));
}

/// dgeval.evaluate on arrays in CUDA device memory: evaluated in place by the CUDA backend (no
/// copy of the input; only the results come back), after the legacy default stream, which the
/// DLPack producer orders after its own work when asked for the array without a stream.
nb::dict evaluate_device(CudaArray agents, CudaArray principals, std::vector<std::int64_t> actions, std::int64_t games,
                         const EvaluateOptions& options, nb::object progress) {
  dgeval::BatchView view;
  view.dims = dgeval::Dims(std::move(actions));
  view.games = games;
  view.memory = dgeval::Memory::device;
  view.dtype = utility_dtype(agents, "agents");
  if (utility_dtype(principals, "principals") != view.dtype) {
    throw dgeval::error(
        "agents and principals on the GPU must have the same dtype (they are evaluated in place, "
        "without conversion)");
  }
  const std::int64_t values = dgeval::checked_mul(games, view.values_per_game(), "batch size (games x n x N)");
  if (static_cast<std::int64_t>(agents.size()) != values || static_cast<std::int64_t>(principals.size()) != values) {
    throw dgeval::error("agents / principals: array size does not match games x n x N");
  }
  if (!c_contiguous(agents) || !c_contiguous(principals)) {
    throw dgeval::error(
        "agents / principals on the GPU must be C-contiguous (they are evaluated in place); "
        "pass x.contiguous() (PyTorch) or cupy.ascontiguousarray(x)");
  }
  if (agents.device_id() != principals.device_id()) {
    throw dgeval::error("agents are on CUDA device " + std::to_string(agents.device_id()) + " but principals on " +
                        std::to_string(principals.device_id()));
  }
  dgeval::BackendConfig config = options.backend_config();
  if (config.device != 0 && config.device != agents.device_id()) {
    throw dgeval::error("device=" + std::to_string(config.device) + " but the arrays are on CUDA device " +
                        std::to_string(agents.device_id()));
  }
  config.device = agents.device_id();
  view.agents = agents.data();
  view.principals = principals.data();
  return evaluate_view(view, options, config, std::move(progress));
}

}  // namespace

void bind_evaluate(nb::module_& m) {
  nb::class_<EvaluateOptions>(m, "EvaluateOptions")
      .def(nb::init<>())
      .def_rw("standardisation", &EvaluateOptions::standardisation)
      .def_rw("welfare", &EvaluateOptions::welfare)
      .def_rw("ic", &EvaluateOptions::ic)
      .def_rw("cc", &EvaluateOptions::cc)
      .def_rw("cc_window", &EvaluateOptions::cc_window)
      .def_rw("ne_tolerance", &EvaluateOptions::ne_tolerance)
      .def_rw("played_tolerance", &EvaluateOptions::played_tolerance)
      .def_rw("list_equilibria", &EvaluateOptions::list_equilibria)
      .def_rw("distance_matrix", &EvaluateOptions::distance_matrix)
      .def_rw("allow_nonfinite", &EvaluateOptions::allow_nonfinite)
      .def_rw("columns", &EvaluateOptions::columns)
      .def_rw("backend", &EvaluateOptions::backend)
      .def_rw("threads", &EvaluateOptions::threads)
      .def_rw("device", &EvaluateOptions::device)
      // The strategy and its arrays together, the arrays copied straight from NumPy.
      .def(
          "set_strategy",
          [](EvaluateOptions& o, const std::string& kind, IntArray actions, RealArray weights, bool per_game) {
            o.strategy = kind;
            o.strategy_actions.assign(actions.data(), actions.data() + actions.size());
            o.strategy_weights.assign(weights.data(), weights.data() + weights.size());
            o.strategy_per_game = per_game;
          },
          "strategy"_a, "actions"_a, "weights"_a, "per_game"_a);
  m.def("evaluate", &evaluate, "agents"_a, "principals"_a, "actions"_a, "games"_a, "options"_a, "progress"_a.none());
  m.def("evaluate_device", &evaluate_device, "agents"_a, "principals"_a, "actions"_a, "games"_a, "options"_a,
        "progress"_a.none());
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
}

}  // namespace dgeval_python
