// User strategies (pure, correlated, product) read from .npy, .npz or text files.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "io_internal.hpp"

namespace dgeval {

namespace {

bool parse_kind(const std::string& s, StrategyKind* k) {
  if (s == "pure") *k = StrategyKind::pure;
  else if (s == "correlated") *k = StrategyKind::correlated;
  else if (s == "product") *k = StrategyKind::product;
  else return false;
  return true;
}

std::int64_t sum_actions(const Dims& d) {
  std::int64_t s = 0;
  for (int i = 0; i < d.players(); ++i) s += d.actions(i);
  return s;
}

std::int64_t per_game_size(StrategyKind k, const Dims& d) {
  return k == StrategyKind::pure ? d.players() : k == StrategyKind::correlated ? d.outcomes() : sum_actions(d);
}

const char* size_meaning(StrategyKind k) {
  return k == StrategyKind::pure ? "one action index per player"
         : k == StrategyKind::correlated ? "N outcome weights in C order"
                                         : "each player's k_i action weights in turn";
}

// Builds and validates a strategy from `values` (one strategy, or one per game).
Strategy make_strategy(StrategyKind kind, const std::vector<double>& values, bool per_game, const Dims& dims,
                       std::int64_t games, const std::string& where) {
  Strategy s;
  s.kind = kind;
  s.per_game = per_game;
  if (kind == StrategyKind::pure) {
    for (std::size_t j = 0; j < values.size(); ++j) {
      const double x = values[j];
      if (!(x == std::floor(x)) || std::fabs(x) > 9e15) {
        std::ostringstream m;
        m << where << ": value " << j << " is " << x << "; a pure strategy needs integer action indices";
        throw error(m.str());
      }
      s.actions.push_back(static_cast<std::int64_t>(x));
    }
  } else {
    s.weights = values;
  }
  Options o;
  o.strategy = s;
  try {
    validate(o, dims, games);
  } catch (const error& e) {
    throw error(where + ": " + e.what());
  }
  return s;
}

// Strategy from an array of `shape` (C-order values).
Strategy from_array(const NpyHeader& h, const std::vector<double>& values, bool kind_given, StrategyKind kind,
                    const Dims& dims, std::int64_t games, const std::string& where) {
  const auto& shape = h.shape;
  const std::vector<std::int64_t>& k = dims.actions();
  auto is = [&](const std::vector<std::int64_t>& want, bool batch) {
    if (!batch) return shape == want;
    if (shape.size() != want.size() + 1 || shape[0] != games) return false;
    return std::equal(want.begin(), want.end(), shape.begin() + 1);
  };
  const std::vector<std::int64_t> pure_shape{dims.players()}, prod_shape{sum_actions(dims)};
  if (!kind_given) {
    if (h.kind != 'f') {
      kind = StrategyKind::pure;
    } else {
      const bool corr = is(k, false) || is(k, true);
      const bool prod = is(prod_shape, false) || is(prod_shape, true);
      if (corr && prod) {
        throw error(where + ": shape " + h.shape_text() + " fits both a correlated and a product strategy; write " +
                    "correlated:FILE or product:FILE");
      }
      if (!corr && !prod) {
        throw error(where + ": shape " + h.shape_text() + " is not a strategy for games " + dims.to_string() +
                    " (correlated: [k_1..k_n] or [B, k_1..k_n]; product: [sum k_i] or [B, sum k_i]; pure: an " +
                    "integer array [n] or [B, n])");
      }
      kind = corr ? StrategyKind::correlated : StrategyKind::product;
    }
  }
  const std::vector<std::int64_t>& want =
      kind == StrategyKind::pure ? pure_shape : kind == StrategyKind::correlated ? k : prod_shape;
  const bool shared = is(want, false);
  if (!shared && !is(want, true)) {
    std::string w = "(";
    for (std::size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
    throw error(where + ": shape " + h.shape_text() + " does not fit a " + to_string(kind) + " strategy for " +
                std::to_string(games) + " games " + dims.to_string() + "; expected " + w + ") or (" +
                std::to_string(games) + ", " + w.substr(1) + ")");
  }
  return make_strategy(kind, values, !shared, dims, games, where);
}

Strategy from_text(const std::string& path, bool kind_given, StrategyKind kind, const Dims& dims, std::int64_t games) {
  std::ifstream f(path);
  if (!f) throw error("cannot open " + path + ": " + std::strerror(errno));
  std::vector<double> values;
  std::string line;
  std::int64_t line_no = 0;
  bool have_kind = kind_given;
  while (std::getline(f, line)) {
    ++line_no;
    const std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (std::isspace(static_cast<unsigned char>(line[i])) || line[i] == ',')) ++i;
      if (i >= line.size()) break;
      const std::size_t start = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])) && line[i] != ',') ++i;
      const std::string tok = line.substr(start, i - start);
      const std::string at = path + ":" + std::to_string(line_no) + ":" + std::to_string(start + 1);
      if (!have_kind) {
        if (!parse_kind(tok, &kind)) {
          throw error(at + ": expected the strategy kind (pure, correlated or product), found \"" + printable(tok.substr(0, 40)) + "\"");
        }
        have_kind = true;
        continue;
      }
      double v = 0;
      if (!detail::parse_number(tok, &v)) {
        throw error(at + ": expected a number (such as 0.25 or 1/3), found \"" + printable(tok.substr(0, 40)) + "\"");
      }
      values.push_back(v);
    }
  }
  if (!have_kind) throw error(path + ": empty strategy file; expected pure, correlated or product and numbers");
  const std::int64_t per = per_game_size(kind, dims);
  const auto count = static_cast<std::int64_t>(values.size());
  if (count != per && count != checked_mul(per, games, "strategy size")) {
    std::ostringstream m;
    m << path << ": " << count << " numbers for a " << to_string(kind) << " strategy; expected " << per << " ("
      << size_meaning(kind) << ")";
    if (games > 1) m << " or " << per * games << " (that for each of the " << games << " games)";
    throw error(m.str());
  }
  return make_strategy(kind, values, count != per, dims, games, path);
}

}  // namespace

Strategy read_strategy_file(const std::string& spec, const Dims& dims, std::int64_t games) {
  std::string path = spec;
  StrategyKind kind = StrategyKind::correlated;
  bool kind_given = false;
  const std::size_t colon = spec.find(':');
  if (colon != std::string::npos && parse_kind(spec.substr(0, colon), &kind)) {
    kind_given = true;
    path = spec.substr(colon + 1);
  }
  const std::string ext = file_extension(path);
  if (ext == ".npy") {
    const NpyArray a = read_npy(path);
    return from_array(a.header, a.values, kind_given, kind, dims, games, path);
  }
  if (ext == ".npz") {
    NpzReader npz(path);
    Strategy s;
    if (kind_given) {
      const std::string name = std::string("strategy_") + to_string(kind);
      const NpyArray a = npz.load(name);
      return from_array(a.header, a.values, true, kind, dims, games, path + ": array '" + name + "'");
    }
    if (!read_npz_strategy(npz, dims, games, &s)) {
      throw error(path + ": no array strategy_pure, strategy_correlated or strategy_product");
    }
    return s;
  }
  return from_text(path, kind_given, kind, dims, games);
}

bool read_npz_strategy(NpzReader& npz, const Dims& dims, std::int64_t games, Strategy* out) {
  const char* names[] = {"strategy_pure", "strategy_correlated", "strategy_product"};
  const StrategyKind kinds[] = {StrategyKind::pure, StrategyKind::correlated, StrategyKind::product};
  int found = -1;
  for (int j = 0; j < 3; ++j) {
    if (!npz.has(names[j])) continue;
    if (found >= 0) {
      throw error(npz.name() + ": arrays '" + names[found] + "' and '" + names[j] + "' both give a strategy; keep one");
    }
    found = j;
  }
  if (found < 0) return false;
  const NpyArray a = npz.load(names[found]);
  *out = from_array(a.header, a.values, true, kinds[found], dims, games,
                    npz.name() + ": array '" + names[found] + "'");
  return true;
}

}  // namespace dgeval
