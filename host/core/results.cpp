// The result-column registry and Results storage.
#include "dgeval/results.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "dgeval/compare.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/error.hpp"
#include "dgeval/game.hpp"
#include "dgeval/tolerances.hpp"

namespace dgeval {

const std::vector<ColumnInfo>& result_columns() {
  static const std::vector<ColumnInfo> columns = {
#define DGEVAL_COLUMN_INFO(name, kind, desc) {#name, ColumnKind::kind, desc},
      DGEVAL_RESULT_COLUMNS(DGEVAL_COLUMN_INFO)
#undef DGEVAL_COLUMN_INFO
  };
  return columns;
}

namespace {
#define DGEVAL_COUNT(name, kind, desc) +1
constexpr int kColumnCount = 0 DGEVAL_RESULT_COLUMNS(DGEVAL_COUNT);
#undef DGEVAL_COUNT
static_assert(kColumnCount <= 64, "ColumnMask holds one bit per result column");
}  // namespace

int column_index(const std::string& name) {
  const auto& cols = result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (name == cols[j].name) return static_cast<int>(j);
  }
  return -1;
}

ColumnMask flags_column_bit() {
  static const ColumnMask bit = ColumnMask{1} << column_index("flags");
  return bit;
}

ColumnMask parse_columns(const std::string& list) {
  ColumnMask mask = 0;
  std::stringstream in(list);
  std::string name;
  bool any = false;
  while (std::getline(in, name, ',')) {
    const auto b = name.find_first_not_of(" \t");
    const auto e = name.find_last_not_of(" \t");
    name = b == std::string::npos ? std::string() : name.substr(b, e - b + 1);
    if (name.empty()) continue;
    any = true;
    if (name == "all") {
      mask = kAllColumns;
      continue;
    }
    const int j = column_index(name);
    if (j < 0) {
      std::string known;
      for (const ColumnInfo& c : result_columns()) known += std::string(known.empty() ? "" : ", ") + c.name;
      throw error("columns: unknown result column '" + name +
                  "' (per-player columns by their base name, e.g. 'ia'); expected 'all' or some of: " + known);
    }
    mask |= ColumnMask{1} << j;
  }
  if (!any) throw error("columns: expected a comma-separated list of result columns, got '" + list + "'");
  return mask | flags_column_bit();
}

std::string columns_text(ColumnMask mask) {
  std::string t;
  const auto& cols = result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if ((mask >> j) & 1u) t += std::string(t.empty() ? "" : ",") + cols[j].name;
  }
  return t;
}

bool Results::has_column(const std::string& name) const {
  const int j = column_index(name);
  return j >= 0 && has_column(static_cast<std::size_t>(j));
}

void Results::resize(std::int64_t g, int n, bool with_pure_ne, bool with_distance_matrix, ColumnMask mask) {
  games = g;
  players = n;
  columns = mask | flags_column_bit();
  const auto per_game = static_cast<std::size_t>(g);
  const auto per_player = static_cast<std::size_t>(checked_mul(g, n, "results size"));
  std::size_t j = 0;
#define DGEVAL_SIZE_player_real(name) name.assign(has_column(j) ? per_player : 0, NAN);
#define DGEVAL_SIZE_real(name) name.assign(has_column(j) ? per_game : 0, NAN);
#define DGEVAL_SIZE_integer(name) name.assign(has_column(j) ? per_game : 0, 0);
#define DGEVAL_SIZE_boolean(name) name.assign(has_column(j) ? per_game : 0, NAN);
#define DGEVAL_SIZE(name, kind, desc)       \
  DGEVAL_SIZE_##kind(name);                 \
  if (!has_column(j)) name.shrink_to_fit(); \
  ++j;
  DGEVAL_RESULT_COLUMNS(DGEVAL_SIZE)
#undef DGEVAL_SIZE
  pure_ne.clear();
  if (with_pure_ne) pure_ne.resize(per_game);
  distance_matrix.clear();
  if (with_distance_matrix) {
    const std::int64_t side = 2 * static_cast<std::int64_t>(n);
    distance_matrix.assign(static_cast<std::size_t>(checked_mul(g, side * side, "distance matrices")), NAN);
  }
}

void Results::keep_columns(ColumnMask mask) {
  columns &= mask | flags_column_bit();
  std::size_t j = 0;
#define DGEVAL_KEEP(name, kind, desc) \
  if (!has_column(j)) {               \
    name.clear();                     \
    name.shrink_to_fit();             \
  }                                   \
  ++j;
  DGEVAL_RESULT_COLUMNS(DGEVAL_KEEP)
#undef DGEVAL_KEEP
}

double* Results::real_column(const std::string& name) {
#define DGEVAL_REAL_player_real(col) \
  if (name == #col) return col.data();
#define DGEVAL_REAL_real(col) \
  if (name == #col) return col.data();
#define DGEVAL_REAL_integer(col)
#define DGEVAL_REAL_boolean(col) \
  if (name == #col) return col.data();
#define DGEVAL_REAL(col, kind, desc) DGEVAL_REAL_##kind(col)
  DGEVAL_RESULT_COLUMNS(DGEVAL_REAL)
#undef DGEVAL_REAL
  return nullptr;
}

std::int64_t* Results::integer_column(const std::string& name) {
#define DGEVAL_INT_player_real(col)
#define DGEVAL_INT_real(col)
#define DGEVAL_INT_integer(col) \
  if (name == #col) return col.data();
#define DGEVAL_INT_boolean(col)
#define DGEVAL_INT(col, kind, desc) DGEVAL_INT_##kind(col)
  DGEVAL_RESULT_COLUMNS(DGEVAL_INT)
#undef DGEVAL_INT
  return nullptr;
}

const double* Results::real_column(const std::string& name) const {
  return const_cast<Results*>(this)->real_column(name);
}
const std::int64_t* Results::integer_column(const std::string& name) const {
  return const_cast<Results*>(this)->integer_column(name);
}

// ---------------------------------------------------------------------------------------------
// Comparison of two evaluations (dgeval/compare.hpp).

double comparison_scale(const BatchView& games, std::int64_t g, Welfare welfare) {
  const int n = games.dims.players();
  const std::int64_t N = games.dims.outcomes();
  const std::int64_t per = games.values_per_game();
  double lo[2 * kMaxPlayers], hi[2 * kMaxPlayers];
  for (int v = 0; v < 2 * n; ++v) {
    const void* side = v < n ? games.agents : games.principals;
    const std::int64_t first = g * per + static_cast<std::int64_t>(v % n) * N;
    lo[v] = std::numeric_limits<double>::infinity();
    hi[v] = -lo[v];
    for (std::int64_t s = 0; s < N; ++s) {
      const double y = games.dtype == DType::float32 ? static_cast<double>(static_cast<const float*>(side)[first + s])
                                                     : static_cast<const double*>(side)[first + s];
      lo[v] = y < lo[v] ? y : lo[v];
      hi[v] = y > hi[v] ? y : hi[v];
    }
  }
  const detail::UtopiaPoints u = detail::utopia_points(lo, hi, n, welfare);
  double scale = 1.0;
  for (double x : {u.agents_utopia, u.agents_dystopia, u.principals_utopia, u.principals_dystopia}) {
    if (std::isfinite(x)) scale = std::max(scale, std::fabs(x));
  }
  return scale;
}

std::int64_t Comparison::beyond() const {
  std::int64_t b = 0;
  for (const ColumnComparison& c : columns) b += c.beyond;
  return b;
}

void ColumnComparison::add(const ColumnComparison& o) {
  max_abs = std::max(max_abs, o.max_abs);
  max_rel = std::max(max_rel, o.max_rel);
  compared += o.compared;
  beyond += o.beyond;
}

Comparison compare_results(const Results& reference, const Results& other, const BatchView& games,
                           const Options& options, double relative, const std::int64_t* other_index,
                           std::size_t max_mismatches) {
  Comparison c;
  const int n = reference.players;
  const std::int64_t G = reference.games;
  std::vector<double> scale(static_cast<std::size_t>(G));
  for (std::int64_t j = 0; j < G; ++j) scale[static_cast<std::size_t>(j)] = comparison_scale(games, j, options.welfare);
  auto other_game = [&](std::int64_t j) { return other_index ? other_index[j] : j; };
  // One value: exact or within tolerance of the floor; statistics as the CLI's --check reports them.
  auto record = [&](ColumnComparison& st, std::int64_t j, std::int64_t entry, double a, double b, bool ok,
                    double floor) {
    ++st.compared;
    if (std::isnan(a) != std::isnan(b) || ((std::isinf(a) || std::isinf(b)) && a != b)) {
      st.max_abs = st.max_rel = std::numeric_limits<double>::infinity();
    } else if (std::isfinite(a) && std::isfinite(b)) {
      const double d = std::fabs(a - b);
      st.max_abs = std::max(st.max_abs, d);
      st.max_rel = std::max(st.max_rel, d / std::max({std::fabs(a), std::fabs(b), floor}));
    }
    if (!ok) {
      ++st.beyond;
      if (c.mismatches.size() < max_mismatches) c.mismatches.push_back(Mismatch{st.column, j, entry, a, b});
    }
  };
  auto compare = [&](ColumnComparison& st, std::int64_t j, std::int64_t entry, double a, double b, bool exact,
                     double floor) {
    const bool ok = exact ? a == b || (std::isnan(a) && std::isnan(b)) : tolerances::close(a, b, relative, floor);
    record(st, j, entry, a, b, ok, floor);
  };
  const auto& cols = result_columns();
  for (std::size_t col = 0; col < cols.size(); ++col) {
    const ColumnInfo& info = cols[col];
    c.columns.push_back(ColumnComparison{info.name});
    ColumnComparison& st = c.columns.back();
    if (!reference.has_column(col) || !other.has_column(col)) continue;
    const int width = info.kind == ColumnKind::player_real ? n : 1;
    const bool exact = info.kind == ColumnKind::integer || info.kind == ColumnKind::boolean;
    const bool real = stored_as_double(info.kind);
    const double* ra = real ? reference.real_column(info.name) : nullptr;
    const double* oa = real ? other.real_column(info.name) : nullptr;
    const std::int64_t* ri = real ? nullptr : reference.integer_column(info.name);
    const std::int64_t* oi = real ? nullptr : other.integer_column(info.name);
    // bound_r is an argmin: where R2 takes the same value at two candidates (e.g. equal
    // magnitudes put C(R) flat between two ratios when the agents' regret is 0), rounding picks
    // either, and both are right. Another candidate is accepted when it attains the same
    // minimum: bound_r6 (the uncapped minimum plus ideal_gap_bound) agrees within tolerance and
    // the other R is one of the reference's candidates {0} ∪ {r_i} (calibration_ratio).
    const bool argmin = std::string(info.name) == "bound_r";
    const double* ref_r6 = argmin && reference.has_column("bound_r6") ? reference.real_column("bound_r6") : nullptr;
    const double* oth_r6 = argmin && other.has_column("bound_r6") ? other.real_column("bound_r6") : nullptr;
    const double* ref_ratio =
        argmin && reference.has_column("calibration_ratio") ? reference.real_column("calibration_ratio") : nullptr;
    auto same_minimum = [&](std::int64_t j, double b) {
      if (!ref_r6 || !oth_r6 || !ref_ratio) return false;
      const double floor = scale[static_cast<std::size_t>(j)];
      if (!tolerances::close(ref_r6[j], oth_r6[other_game(j)], relative, floor)) return false;
      if (tolerances::close(0.0, b, relative, 1.0)) return true;
      for (int i = 0; i < n; ++i) {
        if (tolerances::close(ref_ratio[j * n + i], b, relative, 1.0)) return true;
      }
      return false;
    };
    for (std::int64_t j = 0; j < G; ++j) {
      for (int i = 0; i < width; ++i) {
        const std::int64_t at = j * width + i, o_at = other_game(j) * width + i;
        const double a = real ? ra[at] : static_cast<double>(ri[at]);
        const double b = real ? oa[o_at] : static_cast<double>(oi[o_at]);
        if (argmin && !tolerances::close(a, b, relative, scale[static_cast<std::size_t>(j)]) && same_minimum(j, b)) {
          record(st, j, i, a, b, true, scale[static_cast<std::size_t>(j)]);  // ok: the same minimum
          continue;
        }
        compare(st, j, i, a, b, exact, scale[static_cast<std::size_t>(j)]);
      }
    }
  }
  c.columns.push_back(ColumnComparison{"distance_matrix"});
  if (!reference.distance_matrix.empty() && !other.distance_matrix.empty()) {
    const std::int64_t entries = 4 * static_cast<std::int64_t>(n) * n;
    for (std::int64_t j = 0; j < G; ++j) {
      for (std::int64_t q = 0; q < entries; ++q) {
        compare(c.columns.back(), j, q, reference.distance_matrix[static_cast<std::size_t>(j * entries + q)],
                other.distance_matrix[static_cast<std::size_t>(other_game(j) * entries + q)], false, 1.0);
      }
    }
  }
  c.columns.push_back(ColumnComparison{"pure_ne"});
  if (!reference.pure_ne.empty() && !other.pure_ne.empty()) {
    for (std::int64_t j = 0; j < G; ++j) {
      const auto& a = reference.pure_ne[static_cast<std::size_t>(j)];
      const auto& b = other.pure_ne[static_cast<std::size_t>(other_game(j))];
      // The same list, or a mismatch reported by the lists' sizes.
      record(c.columns.back(), j, 0, static_cast<double>(a.size()), static_cast<double>(b.size()), a == b, 1.0);
    }
  }
  return c;
}

}  // namespace dgeval
