// Option names, parsing, and validation of options and user strategies.
#include "dgeval/options.hpp"

#include <cmath>
#include <sstream>

#include "dgeval/error.hpp"

namespace dgeval {

double Options::ic_level(int player) const {
  if (ic.empty()) return 1.0;
  if (ic.size() == 1) return ic[0];
  return ic[static_cast<std::size_t>(player)];
}

namespace {
[[noreturn]] void bad_name(const char* what, const std::string& got, const char* expected) {
  throw error(std::string("unknown ") + what + " \"" + got + "\"; expected one of: " + expected);
}
}  // namespace

Standardisation parse_standardisation(const std::string& s) {
  std::string t = s;  // "max_range" for "max-range"
  for (char& c : t) c = c == '_' ? '-' : c;
#define DGEVAL_PARSE_STANDARDISATION(e, name, op, desc) \
  if (t == name) return Standardisation::e;
  DGEVAL_STANDARDISATIONS(DGEVAL_PARSE_STANDARDISATION)
#undef DGEVAL_PARSE_STANDARDISATION
  std::string names;
#define DGEVAL_NAME_STANDARDISATION(e, name, op, desc) names += names.empty() ? name : ", " name;
  DGEVAL_STANDARDISATIONS(DGEVAL_NAME_STANDARDISATION)
#undef DGEVAL_NAME_STANDARDISATION
  bad_name("standardisation", s, names.c_str());
}
Welfare parse_welfare(const std::string& s) {
  if (s == "average") return Welfare::average;
  if (s == "sum") return Welfare::sum;
  bad_name("welfare", s, "average, sum");
}
CcWindow parse_cc_window(const std::string& s) {
  if (s == "code") return CcWindow::code;
  if (s == "natural") return CcWindow::natural;
  bad_name("CC window", s, "code, natural");
}
StrategyKind parse_strategy_kind(const std::string& s) {
  const std::string t = [&] {
    std::string r = s;
    for (char& c : r) c = c == '_' ? '-' : c;
    return r;
  }();
  if (t == "worst-ne") return StrategyKind::worst_ne;
  if (t == "best-ne") return StrategyKind::best_ne;
  if (t == "uniform-ne") return StrategyKind::uniform_ne;
  if (t == "uniform-eps-ne") return StrategyKind::uniform_eps_ne;
  if (t == "played") return StrategyKind::played;
  if (t == "pure") return StrategyKind::pure;
  if (t == "correlated") return StrategyKind::correlated;
  if (t == "product") return StrategyKind::product;
  bad_name("strategy", s, "worst-ne, best-ne, uniform-ne, uniform-eps-ne, played, pure, correlated, product");
}

const char* to_string(Standardisation s) {
  switch (s) {
#define DGEVAL_STANDARDISATION_NAME(e, name, op, desc) \
  case Standardisation::e:                             \
    return name;
    DGEVAL_STANDARDISATIONS(DGEVAL_STANDARDISATION_NAME)
#undef DGEVAL_STANDARDISATION_NAME
  }
  return "epic";
}
const char* to_string(Welfare w) { return w == Welfare::sum ? "sum" : "average"; }
const char* to_string(CcWindow c) { return c == CcWindow::natural ? "natural" : "code"; }
const char* to_string(StrategyKind k) {
  switch (k) {
    case StrategyKind::best_ne:
      return "best-ne";
    case StrategyKind::uniform_ne:
      return "uniform-ne";
    case StrategyKind::uniform_eps_ne:
      return "uniform-eps-ne";
    case StrategyKind::played:
      return "played";
    case StrategyKind::pure:
      return "pure";
    case StrategyKind::correlated:
      return "correlated";
    case StrategyKind::product:
      return "product";
    default:
      return "worst-ne";
  }
}

namespace {

void check_unit_interval(double v, const std::string& what) {
  if (!(v >= 0.0 && v <= 1.0)) {
    std::ostringstream m;
    m << what << " = " << v << " is outside [0, 1]";
    throw error(m.str());
  }
}

// Weights w[0..len) must be a probability distribution.
void check_distribution(const double* w, std::int64_t len, const std::string& what) {
  double total = 0.0;
  for (std::int64_t j = 0; j < len; ++j) {
    if (!std::isfinite(w[j]) || w[j] < 0.0) {
      std::ostringstream m;
      m << what << ": weight " << j << " is " << w[j]
        << "; a strategy must be a probability distribution (finite, non-negative, summing to 1)";
      throw error(m.str());
    }
    total += w[j];
  }
  if (std::fabs(total - 1.0) > 1e-9) {
    std::ostringstream m;
    m.precision(17);
    m << what << ": weights sum to " << total
      << "; a strategy must be a probability distribution summing to 1 (within 1e-9)";
    throw error(m.str());
  }
}

}  // namespace

void validate(const Options& o, const Dims& dims, std::int64_t games) {
  const int n = dims.players();
  if (!(o.ic.empty() || o.ic.size() == 1 || o.ic.size() == static_cast<std::size_t>(n))) {
    std::ostringstream m;
    m << "IC: " << o.ic.size() << " levels given for " << n << " players; give one level, or one per player";
    throw error(m.str());
  }
  for (std::size_t i = 0; i < o.ic.size(); ++i) {
    check_unit_interval(o.ic[i], "IC level of player " + std::to_string(i));
  }
  check_unit_interval(o.cc, "CC level");
  if (!(o.ne_tolerance >= 0.0) || !std::isfinite(o.ne_tolerance)) {
    throw error("ε-Nash tolerance must be finite and non-negative");
  }
  if (!(o.played_tolerance >= 0.0) || !std::isfinite(o.played_tolerance)) {
    throw error("played-set tolerance must be finite and non-negative");
  }

  const Strategy& s = o.strategy;
  const std::int64_t copies = s.per_game ? games : 1;
  const std::string who = std::string("strategy ") + to_string(s.kind);
  switch (s.kind) {
    case StrategyKind::pure: {
      const std::int64_t need = checked_mul(copies, n, "strategy size");
      if (static_cast<std::int64_t>(s.actions.size()) != need) {
        std::ostringstream m;
        m << who << ": expected " << need << " action indices (" << (s.per_game ? "games x " : "")
          << "one per player), got " << s.actions.size();
        throw error(m.str());
      }
      for (std::int64_t g = 0; g < copies; ++g) {
        for (int i = 0; i < n; ++i) {
          const std::int64_t a = s.actions[static_cast<std::size_t>(g * n + i)];
          if (a < 0 || a >= dims.actions(i)) {
            std::ostringstream m;
            m << who << (s.per_game ? " of game " + std::to_string(g) : std::string()) << ": player " << i << " action "
              << a << " is out of range [0, " << dims.actions(i) << ")";
            throw error(m.str());
          }
        }
      }
      break;
    }
    case StrategyKind::correlated:
    case StrategyKind::product: {
      const std::int64_t per = strategy_size(s.kind, dims);
      const std::int64_t need = checked_mul(copies, per, "strategy size");
      if (static_cast<std::int64_t>(s.weights.size()) != need) {
        std::ostringstream m;
        m << who << ": expected " << need << " weights ("
          << (s.kind == StrategyKind::correlated ? "N per game" : "sum of k_i per game")
          << (s.per_game ? ", times games" : "") << "), got " << s.weights.size();
        throw error(m.str());
      }
      for (std::int64_t g = 0; g < copies; ++g) {
        const double* w = s.weights.data() + g * per;
        const std::string where = who + (s.per_game ? " of game " + std::to_string(g) : "");
        if (s.kind == StrategyKind::correlated) {
          check_distribution(w, per, where);
        } else {
          std::int64_t off = 0;
          for (int i = 0; i < n; ++i) {
            check_distribution(w + off, dims.actions(i), where + ", player " + std::to_string(i));
            off += dims.actions(i);
          }
        }
      }
      break;
    }
    default:
      if (!s.actions.empty() || !s.weights.empty()) {
        throw error(who + " takes no actions or weights");
      }
  }
}

}  // namespace dgeval
