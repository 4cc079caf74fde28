// The result-column registry and Results storage.
#include "dgeval/results.hpp"

#include <cmath>

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

void Results::resize(std::int64_t g, int n, bool with_pure_ne, bool with_distance_matrix) {
  games = g;
  players = n;
  const auto per_game = static_cast<std::size_t>(g);
  const auto per_player = static_cast<std::size_t>(checked_mul(g, n, "results size"));
#define DGEVAL_SIZE_player_real(name) name.assign(per_player, NAN);
#define DGEVAL_SIZE_real(name) name.assign(per_game, NAN);
#define DGEVAL_SIZE_integer(name) name.assign(per_game, 0);
#define DGEVAL_SIZE_boolean(name) name.assign(per_game, 0);
#define DGEVAL_SIZE(name, kind, desc) DGEVAL_SIZE_##kind(name)
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

double* Results::real_column(const std::string& name) {
#define DGEVAL_REAL_player_real(col) if (name == #col) return col.data();
#define DGEVAL_REAL_real(col) if (name == #col) return col.data();
#define DGEVAL_REAL_integer(col)
#define DGEVAL_REAL_boolean(col)
#define DGEVAL_REAL(col, kind, desc) DGEVAL_REAL_##kind(col)
  DGEVAL_RESULT_COLUMNS(DGEVAL_REAL)
#undef DGEVAL_REAL
  return nullptr;
}

std::int64_t* Results::integer_column(const std::string& name) {
#define DGEVAL_INT_player_real(col)
#define DGEVAL_INT_real(col)
#define DGEVAL_INT_integer(col) if (name == #col) return col.data();
#define DGEVAL_INT_boolean(col) if (name == #col) return col.data();
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
