// Results as an .npz of columns, written chunk by chunk through NpzWriter (bounded memory).
#include <cstring>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"

namespace dgeval {

struct ResultsNpzWriter::Impl {
  Impl(const std::string& path, bool compress, bool f32) : npz(path, compress), float32(f32) {}
  Impl(StagedOutput& output, bool compress, bool f32) : npz(output, compress), float32(f32) {}
  NpzWriter npz;
  bool float32;
  std::vector<float> narrow;  ///< float32: a chunk's real column, rounded

  /// Appends n doubles as <f8, or rounded as <f4.
  void append_reals(NpyStreamWriter& w, const double* v, std::size_t n) {
    if (!float32) {
      w.append(v, n * 8);
      return;
    }
    narrow.assign(v, v + n);
    w.append(narrow.data(), n * 4);
  }
  bool started = false;
  int players = 0;
  std::int64_t games = 0;
  std::int64_t equilibria = 0;
  NpyStreamWriter* game = nullptr;
  std::vector<std::pair<const ColumnInfo*, NpyStreamWriter*>> columns;
  NpyStreamWriter* pure_ne = nullptr;
  NpyStreamWriter* pure_ne_offsets = nullptr;
  NpyStreamWriter* distance_matrix = nullptr;
};

ResultsNpzWriter::ResultsNpzWriter(const std::string& path, bool compress, bool float32)
    : impl_(std::make_unique<Impl>(path, compress, float32)) {}

ResultsNpzWriter::ResultsNpzWriter(StagedOutput& output, bool compress, bool float32)
    : impl_(std::make_unique<Impl>(output, compress, float32)) {}

ResultsNpzWriter::~ResultsNpzWriter() = default;

void ResultsNpzWriter::add(const Results& r, const Dims& dims, std::int64_t first_game) {
  Impl& im = *impl_;
  if (!im.started) {
    im.started = true;
    im.players = r.players;
    im.game = &im.npz.begin("game", "<i8");
    const auto& cols = result_columns();
    for (std::size_t j = 0; j < cols.size(); ++j) {
      if (!r.has_column(j)) continue;
      const ColumnInfo& c = cols[j];
      // boolean: float64 1, 0 or NaN (undefined) whatever --float32-results says.
      const char* descr = c.kind == ColumnKind::boolean   ? "<f8"
                          : c.kind == ColumnKind::integer ? "<i8"
                                                          : (im.float32 ? "<f4" : "<f8");
      im.columns.emplace_back(&c, &im.npz.begin(c.name, descr));
    }
    if (!r.pure_ne.empty()) {
      im.pure_ne = &im.npz.begin("pure_ne", "<i8");
      im.pure_ne_offsets = &im.npz.begin("pure_ne_offsets", "<i8");
      const std::int64_t zero = 0;
      im.pure_ne_offsets->append(&zero, 8);
    }
    if (!r.distance_matrix.empty()) im.distance_matrix = &im.npz.begin("distance_matrix", im.float32 ? "<f4" : "<f8");
  }
  if (r.players != im.players) throw error("results npz: the number of players changed between chunks");
  std::vector<std::int64_t> index(static_cast<std::size_t>(r.games));
  for (std::int64_t g = 0; g < r.games; ++g) index[static_cast<std::size_t>(g)] = first_game + g;
  im.game->append(index.data(), index.size() * 8);
  for (auto& [c, w] : im.columns) {
    switch (c->kind) {
      case ColumnKind::player_real:
        im.append_reals(*w, r.real_column(c->name), static_cast<std::size_t>(r.games * r.players));
        break;
      case ColumnKind::real:
        im.append_reals(*w, r.real_column(c->name), static_cast<std::size_t>(r.games));
        break;
      case ColumnKind::integer:
        w->append(r.integer_column(c->name), static_cast<std::size_t>(r.games) * 8);
        break;
      case ColumnKind::boolean:
        w->append(r.real_column(c->name), static_cast<std::size_t>(r.games) * 8);
        break;
    }
  }
  if (im.pure_ne) {
    for (std::int64_t g = 0; g < r.games; ++g) {
      const auto& list = r.pure_ne.empty() ? std::vector<std::int64_t>{} : r.pure_ne[static_cast<std::size_t>(g)];
      for (std::int64_t s : list) {
        const std::vector<std::int64_t> a = dims.unflatten(s);
        im.pure_ne->append(a.data(), a.size() * 8);
      }
      im.equilibria += static_cast<std::int64_t>(list.size());
      im.pure_ne_offsets->append(&im.equilibria, 8);
    }
  }
  if (im.distance_matrix) {
    const std::size_t side = 2 * static_cast<std::size_t>(r.players);
    if (r.distance_matrix.size() != static_cast<std::size_t>(r.games) * side * side) {
      throw error("results npz: distance matrices missing from a chunk");
    }
    im.append_reals(*im.distance_matrix, r.distance_matrix.data(), r.distance_matrix.size());
  }
  im.games += r.games;
}

void ResultsNpzWriter::commit() {
  Impl& im = *impl_;
  if (!im.started) throw error("results npz: no results to write");
  const std::int64_t B = im.games, n = im.players;
  im.game->finish({B});
  for (auto& [c, w] : im.columns) {
    if (c->kind == ColumnKind::player_real) {
      w->finish({B, n});
    } else {
      w->finish({B});
    }
  }
  if (im.pure_ne) {
    im.pure_ne->finish({im.equilibria, n});
    im.pure_ne_offsets->finish({B + 1});
  }
  if (im.distance_matrix) im.distance_matrix->finish({B, 2 * n, 2 * n});
  im.npz.commit();
}

}  // namespace dgeval
