// User strategies (pure, correlated, product) read from .npy, .npz or text files.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "io/io_internal.hpp"

namespace dgeval {

namespace {

bool parse_kind(const std::string& s, StrategyKind* k) {
  if (s == "pure") *k = StrategyKind::pure;
  else if (s == "correlated") *k = StrategyKind::correlated;
  else if (s == "product") *k = StrategyKind::product;
  else return false;
  return true;
}

const char* size_meaning(StrategyKind k) {
  return k == StrategyKind::pure         ? "one action index per player"
         : k == StrategyKind::correlated ? "N outcome weights in C order"
                                         : "each player's k_i action weights in turn";
}

// Builds and validates a strategy from `values` (one strategy, or one per game).
Strategy make_strategy(StrategyKind kind, const std::vector<double>& values, bool per_game, const Dims& dims,
                       std::int64_t games, const std::string& where) {
  Strategy s;
  s.kind = kind;
  s.per_game = per_game;
  const std::int64_t count = static_cast<std::int64_t>(values.size());
  if (kind == StrategyKind::pure) {
    detail::checked_assign(s.actions, count, where + ": the strategy's actions");
    for (std::size_t j = 0; j < values.size(); ++j) {
      const double x = values[j];
      if (!(x == std::floor(x)) || std::fabs(x) > 9e15) {
        std::ostringstream m;
        m << where << ": value " << j << " is " << x << "; a pure strategy needs integer action indices";
        throw error(m.str());
      }
      s.actions[j] = static_cast<std::int64_t>(x);
    }
  } else {
    detail::checked_assign(s.weights, count, where + ": the strategy's weights");
    std::copy(values.begin(), values.end(), s.weights.begin());
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

// How an array of header `h` reads as a strategy for games of `dims`: its kind (given, or told
// by the dtype and shape) and whether it holds one strategy per game. Throws naming `where` if it
// is no strategy for these games; called before the data is read, so that an array of the wrong
// size is refused before anything is allocated for it.
struct ArrayFit {
  StrategyKind kind;
  bool per_game;
};

ArrayFit fit_array(const NpyHeader& h, bool kind_given, StrategyKind kind, const Dims& dims, std::int64_t games,
                   const std::string& where) {
  const auto& shape = h.shape;
  const std::vector<std::int64_t>& k = dims.actions();
  auto is = [&](const std::vector<std::int64_t>& want, bool batch) {
    if (!batch) return shape == want;
    if (shape.size() != want.size() + 1 || shape[0] != games) return false;
    return std::equal(want.begin(), want.end(), shape.begin() + 1);
  };
  const std::vector<std::int64_t> pure_shape{dims.players()}, prod_shape{strategy_size(StrategyKind::product, dims)};
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
  const std::vector<std::int64_t>& want = kind == StrategyKind::pure         ? pure_shape
                                          : kind == StrategyKind::correlated ? k
                                                                             : prod_shape;
  const bool shared = is(want, false);
  if (!shared && !is(want, true)) {
    std::string w = "(";
    for (std::size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
    throw error(where + ": shape " + h.shape_text() + " does not fit a " + to_string(kind) + " strategy for " +
                std::to_string(games) + " games " + dims.to_string() + "; expected " + w + ") or (" +
                std::to_string(games) + ", " + w.substr(1) + ")");
  }
  return ArrayFit{kind, !shared};
}

// a * b, or INT64_MAX if that overflows.
std::int64_t saturating_mul(std::int64_t a, std::int64_t b) {
  if (a != 0 && b > INT64_MAX / a) return INT64_MAX;
  return a * b;
}

Strategy from_text(const std::string& path, bool kind_given, StrategyKind kind, const Dims& dims, std::int64_t games) {
  // Read as a stream of bytes (a pipe, or a device such as /dev/zero, too), within the bounds
  // that any strategy for these games has: at most per-game-size x games numbers, of at most
  // kMaxToken characters, and a file size of 1 MiB plus 512 bytes per number.
  constexpr std::size_t kMaxToken = 400;
  detail::InputFile f(path);
  const std::int64_t widest = std::max(
      {static_cast<std::int64_t>(dims.players()), dims.outcomes(), strategy_size(StrategyKind::product, dims)});
  const std::int64_t max_bytes = std::int64_t{1} << 20 > INT64_MAX - saturating_mul(saturating_mul(widest, games), 512)
                                     ? INT64_MAX
                                     : (std::int64_t{1} << 20) + saturating_mul(saturating_mul(widest, games), 512);
  std::vector<double> values;
  bool have_kind = kind_given;
  std::int64_t max_numbers = have_kind ? saturating_mul(strategy_size(kind, dims), games) : 0;
  std::vector<char> buf(std::size_t{1} << 16);
  std::size_t pos = 0, len = 0;
  std::int64_t line = 1, col = 1, offset = 0;
  bool comment = false;
  std::string tok;
  std::int64_t tok_line = 0, tok_col = 0;
  const auto at = [&](std::int64_t l, std::int64_t c) {
    return path + ":" + std::to_string(l) + ":" + std::to_string(c);
  };
  const auto flush = [&]() {
    if (tok.empty()) return;
    if (!have_kind) {
      if (!parse_kind(tok, &kind)) {
        throw error(at(tok_line, tok_col) + ": expected the strategy kind (pure, correlated or product), found \"" +
                    printable(tok.substr(0, 40)) + "\"");
      }
      have_kind = true;
      max_numbers = saturating_mul(strategy_size(kind, dims), games);
      tok.clear();
      return;
    }
    double v = 0;
    if (!detail::parse_number(tok, &v)) {
      throw error(at(tok_line, tok_col) + ": expected a number (such as 0.25 or 1/3), found \"" +
                  printable(tok.substr(0, 40)) + "\"");
    }
    if (static_cast<std::int64_t>(values.size()) >= max_numbers) {
      std::ostringstream m;
      m << at(tok_line, tok_col) << ": more than " << max_numbers << " numbers; a " << to_string(kind)
        << " strategy for " << games << " games " << dims.to_string() << " has " << strategy_size(kind, dims);
      if (games > 1) m << " or " << max_numbers;
      throw error(m.str());
    }
    detail::checked_push(values, v, path + ": the strategy's numbers");
    tok.clear();
  };
  for (;;) {
    if (pos == len) {
      len = f.read(buf.data(), buf.size());
      pos = 0;
      if (len == 0) break;
    }
    const unsigned char c = static_cast<unsigned char>(buf[pos++]);
    if (++offset > max_bytes) {
      throw error(path + ": byte " + std::to_string(max_bytes) + ": the file is longer than a strategy for " +
                  std::to_string(games) + " games " + dims.to_string() + " can be (" + std::to_string(max_bytes) +
                  " bytes); expected the strategy's numbers and the end of the file");
    }
    if (c == '\n') {
      flush();
      comment = false;
      ++line;
      col = 1;
      continue;
    }
    const std::int64_t c_col = col++;
    if (comment) continue;
    if (c == '#') {
      flush();
      comment = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == ',') {
      flush();
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      throw error(at(line, c_col) + ": unexpected byte " + hex + "; a strategy file is text (numbers, white space, " +
                  "commas, '#' comments)");
    } else {
      if (tok.empty()) {
        tok_line = line;
        tok_col = c_col;
      }
      if (tok.size() >= kMaxToken) {
        throw error(at(tok_line, tok_col) + ": a word longer than " + std::to_string(kMaxToken) +
                    " characters; expected a number");
      }
      tok += static_cast<char>(c);
    }
  }
  flush();
  if (!have_kind) throw error(path + ": empty strategy file; expected pure, correlated or product and numbers");
  const std::int64_t per = strategy_size(kind, dims);
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

// An array of an .npz as a strategy: its header checked first, then the data loaded.
Strategy from_npz_array(NpzReader& npz, const std::string& array, bool kind_given, StrategyKind kind, const Dims& dims,
                        std::int64_t games) {
  const std::string where = npz.name() + ": array '" + array + "'";
  const ArrayFit fit = fit_array(npz.header(array), kind_given, kind, dims, games, where);
  const NpyArray a = npz.load(array);
  return make_strategy(fit.kind, a.values, fit.per_game, dims, games, where);
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
    ArrayFit fit{kind, false};
    const NpyArray a = detail::read_npy_file(
        path, [&](const NpyHeader& h) { fit = fit_array(h, kind_given, kind, dims, games, path); });
    return make_strategy(fit.kind, a.values, fit.per_game, dims, games, path);
  }
  if (ext == ".npz") {
    NpzReader npz(path);
    Strategy s;
    if (kind_given) return from_npz_array(npz, std::string("strategy_") + to_string(kind), true, kind, dims, games);
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
  *out = from_npz_array(npz, names[found], true, kinds[found], dims, games);
  return true;
}

}  // namespace dgeval
