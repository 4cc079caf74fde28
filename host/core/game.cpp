// Dims, BatchView and Batch: construction with overflow checks and the flat-index helpers.
#include "dgeval/game.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "dgeval/error.hpp"

namespace dgeval {

std::size_t dtype_size(DType t) { return t == DType::float32 ? 4 : 8; }
const char* dtype_name(DType t) { return t == DType::float32 ? "float32" : "float64"; }

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  if (a < 0 || b < 0) throw error(std::string(what) + ": negative size");
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) {
    std::ostringstream m;
    m << what << ": " << a << " x " << b << " overflows a 64-bit size";
    throw error(m.str());
  }
  return a * b;
}

Dims::Dims(std::vector<std::int64_t> actions) : actions_(std::move(actions)) {
  if (actions_.empty()) throw error("game dims: a game needs at least one player");
  if (actions_.size() > static_cast<std::size_t>(kMaxPlayers)) {
    std::ostringstream m;
    m << "game dims: " << actions_.size() << " players, but at most " << kMaxPlayers << " are supported";
    throw error(m.str());
  }
  for (std::size_t i = 0; i < actions_.size(); ++i) {
    if (actions_[i] < 1) {
      std::ostringstream m;
      m << "game dims: player " << i << " has " << actions_[i] << " actions; every player needs at least 1";
      throw error(m.str());
    }
  }
  strides_.assign(actions_.size(), 1);
  std::int64_t n = 1;
  for (std::size_t j = actions_.size(); j-- > 0;) {
    strides_[j] = n;
    n = checked_mul(n, actions_[j], "game dims: number of outcomes");
  }
  outcomes_ = n;
}

Dims Dims::parse(const std::string& text) {
  std::vector<std::int64_t> a;
  std::size_t pos = 0;
  if (text.empty()) throw error("dims \"\": expected action counts such as 6x7x4x6");
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of("x,X", pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    std::size_t used = 0;
    long long v = 0;
    bool ok = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (ok) {
      try {
        v = std::stoll(part, &used);
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok || used != part.size()) {
      std::ostringstream m;
      m << "dims \"" << text << "\" at character " << pos + 1
        << ": expected a positive action count such as 6x7x4x6, found \"" << part << "\"";
      throw error(m.str());
    }
    a.push_back(v);
    if (end == text.size()) break;
    pos = end + 1;
  }
  try {
    return Dims(std::move(a));
  } catch (const error& e) {
    throw error("dims \"" + text + "\": " + e.what());
  }
}

std::string Dims::to_string() const {
  std::ostringstream s;
  for (std::size_t i = 0; i < actions_.size(); ++i) s << (i ? "x" : "") << actions_[i];
  return s.str();
}

std::vector<std::int64_t> Dims::unflatten(std::int64_t outcome) const {
  std::vector<std::int64_t> a(actions_.size());
  for (std::size_t i = 0; i < actions_.size(); ++i) {
    a[i] = (outcome / strides_[i]) % actions_[i];
  }
  return a;
}

std::int64_t Dims::flatten(const std::vector<std::int64_t>& actions) const {
  if (actions.size() != actions_.size()) {
    std::ostringstream m;
    m << "outcome has " << actions.size() << " actions, the game has " << actions_.size() << " players";
    throw error(m.str());
  }
  std::int64_t s = 0;
  for (std::size_t i = 0; i < actions_.size(); ++i) {
    if (actions[i] < 0 || actions[i] >= actions_[i]) {
      std::ostringstream m;
      m << "outcome: player " << i << " action " << actions[i] << " is out of range [0, " << actions_[i] << ")";
      throw error(m.str());
    }
    s += actions[i] * strides_[i];
  }
  return s;
}

std::int64_t BatchView::values_per_game() const {
  return checked_mul(dims.players(), dims.outcomes(), "values per game (n x N)");
}

Batch::Batch(Dims d, std::int64_t g) : dims(std::move(d)), games(g) {
  const std::int64_t total =
      checked_mul(g, checked_mul(dims.players(), dims.outcomes(), "n x N"), "batch size (games x n x N)");
  agents.assign(static_cast<std::size_t>(total), 0.0);
  principals.assign(static_cast<std::size_t>(total), 0.0);
}

BatchView Batch::view() const {
  BatchView v;
  v.dtype = DType::float64;
  v.agents = agents.data();
  v.principals = principals.data();
  v.games = games;
  v.dims = dims;
  return v;
}

std::string nonfinite_utility_message(const BatchView& view, std::int64_t g, std::int64_t first_game) {
  const std::int64_t N = view.dims.outcomes();
  const std::int64_t per = view.values_per_game();
  for (int side = 0; side < 2; ++side) {
    const void* src = side == 0 ? view.agents : view.principals;
    for (std::int64_t e = 0; e < per; ++e) {
      const std::int64_t k = g * per + e;
      const double x = view.dtype == DType::float64 ? static_cast<const double*>(src)[k]
                                                    : static_cast<double>(static_cast<const float*>(src)[k]);
      if (std::isfinite(x)) continue;
      std::ostringstream m;
      m << "game " << first_game + g << ", " << (side == 0 ? "agent" : "principal") << " " << e / N << ", outcome (";
      const auto a = view.dims.unflatten(e % N);
      for (std::size_t j = 0; j < a.size(); ++j) m << (j ? "," : "") << a[j];
      m << "): utility is " << x
        << "; utilities must be finite (allow_nonfinite, --allow-nonfinite, propagates NaN instead)";
      return m.str();
    }
  }
  return "";
}

std::string nonfinite_game_message(const BatchView& view, std::int64_t g, std::int64_t first_game) {
  std::string m = nonfinite_utility_message(view, g, first_game);
  if (m.empty())
    m = "game " + std::to_string(first_game + g) +
        ": utilities are finite but their sum overflows float64; rescale the game";
  return m;
}

}  // namespace dgeval
