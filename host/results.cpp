// The result-column registry and Results storage.
#include "dgeval/results.hpp"

#include <cmath>
#include <sstream>

#include "dgeval/error.hpp"
#include "dgeval/game.hpp"

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
      throw error("columns: unknown result column '" + name + "' (per-player columns by their base name, e.g. 'ia'); expected 'all' or some of: " + known);
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
#define DGEVAL_SIZE(name, kind, desc) \
  DGEVAL_SIZE_##kind(name);           \
  if (!has_column(j)) name.shrink_to_fit(); \
  ++j;
  DGEVAL_RESULT_COLUMNS(DGEVAL_SIZE)
#undef DGEVAL_SIZE
  pure_ne.clear();
  if (with_pure_ne) pure_ne.resize(per_game);
  distance_matrix.clear();
  if (with_distance_matrix) {
    const std::int64_t side = 2 * static_cast<std::int64_t>(n);
    distance_matrix.assign(static_cast<std::size_t>(checked_mul(g, side * side, "distance matrices")),
                           NAN);
  }
}

void Results::keep_columns(ColumnMask mask) {
  columns &= mask | flags_column_bit();
  std::size_t j = 0;
#define DGEVAL_KEEP(name, kind, desc)       \
  if (!has_column(j)) {                     \
    name.clear();                           \
    name.shrink_to_fit();                   \
  }                                         \
  ++j;
  DGEVAL_RESULT_COLUMNS(DGEVAL_KEEP)
#undef DGEVAL_KEEP
}

double* Results::real_column(const std::string& name) {
#define DGEVAL_REAL_player_real(col) if (name == #col) return col.data();
#define DGEVAL_REAL_real(col) if (name == #col) return col.data();
#define DGEVAL_REAL_integer(col)
#define DGEVAL_REAL_boolean(col) if (name == #col) return col.data();
#define DGEVAL_REAL(col, kind, desc) DGEVAL_REAL_##kind(col)
  DGEVAL_RESULT_COLUMNS(DGEVAL_REAL)
#undef DGEVAL_REAL
  return nullptr;
}

std::int64_t* Results::integer_column(const std::string& name) {
#define DGEVAL_INT_player_real(col)
#define DGEVAL_INT_real(col)
#define DGEVAL_INT_integer(col) if (name == #col) return col.data();
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

}  // namespace dgeval
