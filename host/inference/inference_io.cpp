// Observation files for `dgeval infer`: CSV (read and write) and .npz (read, through the NpzReader
// of dgeval/io.hpp). Every error names the file, the line or row, the column and what was
// expected.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <istream>
#include <ostream>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/format.hpp"
#include "dgeval/inference.hpp"
#include "dgeval/io.hpp"
#include "io/io_internal.hpp"

namespace dgeval {

namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\r')) --b;
  std::string t = s.substr(a, b - a);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  return t;
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

/// "agent_3" → 3 when `name` starts with `prefix`; -1 otherwise (or if the rest is not a number).
int indexed(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string rest = name.substr(prefix.size());
  if (rest.empty() || rest.size() > 3 ||
      !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::atoi(rest.c_str());
}

/// Column positions of one indexed family (agent_0..agent_{n-1}); throws on a gap or duplicate.
std::vector<int> family(const std::vector<std::string>& header, const std::string& prefix, const std::string& name) {
  std::vector<int> pos;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const int i = indexed(header[c], prefix);
    if (i < 0) continue;
    if (static_cast<std::size_t>(i) >= pos.size()) pos.resize(static_cast<std::size_t>(i) + 1, -1);
    if (pos[static_cast<std::size_t>(i)] >= 0) throw error(name + ", line 1: column " + header[c] + " appears twice");
    pos[static_cast<std::size_t>(i)] = static_cast<int>(c);
  }
  for (std::size_t i = 0; i < pos.size(); ++i) {
    if (pos[i] < 0)
      throw error(name + ", line 1: column " + prefix + std::to_string(i) + " is missing (columns " + prefix + "0.." +
                  prefix + std::to_string(pos.size() - 1) + " expected)");
  }
  return pos;
}

bool parse_integer(const std::string& s, std::int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno) {
    double d;  // also accept 2.0 as written by some tools
    if (!detail::parse_number(s, &d) || !std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) return false;
    *out = static_cast<std::int64_t>(d);
    return true;
  }
  *out = v;
  return true;
}

/// Turns action tuples into flat outcomes: checks each against the dims, or infers the dims.
void finish_outcomes(Observations& obs, const std::vector<std::int64_t>& actions, int n,
                     const ObservationReadOptions& opt,
                     const std::function<std::string(std::int64_t row, int player)>& where) {
  const std::int64_t R = static_cast<std::int64_t>(actions.size()) / n;
  if (opt.has_dims) {
    if (opt.dims.players() != n) {
      throw error(obs.source + ": the observations have " + std::to_string(n) + " players but the dims " +
                  opt.dims.to_string() + " have " + std::to_string(opt.dims.players()));
    }
    obs.dims = opt.dims;
    obs.dims_known = true;
  } else {
    std::vector<std::int64_t> k(static_cast<std::size_t>(n), 1);
    for (std::int64_t r = 0; r < R; ++r) {
      for (int i = 0; i < n; ++i)
        k[static_cast<std::size_t>(i)] =
            std::max(k[static_cast<std::size_t>(i)], actions[static_cast<std::size_t>(r * n + i)] + 1);
    }
    obs.dims = Dims(k);
    obs.dims_known = false;
  }
  obs.outcome.resize(static_cast<std::size_t>(R));
  for (std::int64_t r = 0; r < R; ++r) {
    std::int64_t s = 0;
    for (int i = 0; i < n; ++i) {
      const std::int64_t a = actions[static_cast<std::size_t>(r * n + i)];
      if (a < 0 || a >= obs.dims.actions(i)) {
        throw error(where(r, i) + ": action " + std::to_string(a) + " of player " + std::to_string(i) +
                    " is outside [0, " + std::to_string(obs.dims.actions(i)) + ") for the game " +
                    obs.dims.to_string() + " (unknown outcome)");
      }
      s += a * obs.dims.stride(i);
    }
    obs.outcome[static_cast<std::size_t>(r)] = s;
  }
}

void check_flat(Observations& obs, const std::vector<std::int64_t>& flat, const ObservationReadOptions& opt,
                const std::function<std::string(std::int64_t row)>& where) {
  if (!opt.has_dims) {
    throw error(obs.source +
                ": a flat `outcome` index needs the game's dims (--dims, or a dims array in the .npz); "
                "or give the outcome as action_0..action_{n-1}");
  }
  obs.dims = opt.dims;
  obs.dims_known = true;
  const std::int64_t N = obs.dims.outcomes();
  for (std::size_t r = 0; r < flat.size(); ++r) {
    if (flat[r] < 0 || flat[r] >= N) {
      throw error(where(static_cast<std::int64_t>(r)) + ": outcome index " + std::to_string(flat[r]) +
                  " is outside [0, " + std::to_string(N) + ") for the game " + obs.dims.to_string() +
                  " (unknown outcome)");
    }
  }
  obs.outcome = flat;
}

}  // namespace

Observations parse_observations_csv(std::istream& in, const std::string& name, const ObservationReadOptions& opt) {
  Observations obs;
  obs.source = name;
  std::string text;
  std::int64_t lineno = 0;
  std::vector<std::string> header;
  while (std::getline(in, text)) {
    ++lineno;
    const std::string t = trim(text);
    if (t.empty() || t[0] == '#') continue;
    header = split(text);
    break;
  }
  if (header.empty())
    throw error(name + ": empty file; expected a header row (action_0,..., agent_0,..., principal_0,...)");
  const std::int64_t header_line = lineno;
  int set_col = -1, outcome_col = -1;
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string& h = header[c];
    if (h == "set") {
      set_col = static_cast<int>(c);
    } else if (h == "outcome") {
      outcome_col = static_cast<int>(c);
    } else if (indexed(h, "action_") < 0 && indexed(h, "agent_") < 0 && indexed(h, "principal_") < 0) {
      // pandas' to_csv writes its index first, under an empty name (read back as "Unnamed: 0").
      const bool pandas_index = c == 0 && (h.empty() || h.rfind("Unnamed:", 0) == 0);
      throw error(name + ", line " + std::to_string(header_line) + ", column " + std::to_string(c + 1) +
                  ": unknown column \"" + printable(h.substr(0, 40)) +
                  "\" (expected action_i, outcome, agent_i, principal_i and optionally " + "set)" +
                  (pandas_index ? " (a pandas index column? write the CSV with index=False)" : ""));
    }
  }
  const auto agent_cols = family(header, "agent_", name);
  const auto principal_cols = family(header, "principal_", name);
  const auto action_cols = family(header, "action_", name);
  const int n = static_cast<int>(agent_cols.size());
  if (n == 0)
    throw error(name + ", line " + std::to_string(header_line) + ": no agent_0.. columns (agents' utilities)");
  if (static_cast<int>(principal_cols.size()) != n) {
    throw error(name + ", line " + std::to_string(header_line) + ": " + std::to_string(n) + " agent_ columns but " +
                std::to_string(principal_cols.size()) + " principal_ columns");
  }
  if (action_cols.empty() == (outcome_col < 0)) {
    throw error(name + ", line " + std::to_string(header_line) + ": give the outcome either as action_0..action_" +
                std::to_string(n - 1) + " or as one outcome column");
  }
  if (!action_cols.empty() && static_cast<int>(action_cols.size()) != n) {
    throw error(name + ", line " + std::to_string(header_line) + ": " + std::to_string(n) + " agent_ columns but " +
                std::to_string(action_cols.size()) + " action_ columns");
  }

  std::vector<std::int64_t> actions, flat, lines;
  while (std::getline(in, text)) {
    ++lineno;
    const std::string t = trim(text);
    if (t.empty() || t[0] == '#') continue;
    const auto f = split(text);
    const std::string at = name + ", line " + std::to_string(lineno);
    if (f.size() != header.size()) {
      throw error(at + ": " + std::to_string(f.size()) + " fields, expected " + std::to_string(header.size()) +
                  " as in the header");
    }
    auto real = [&](int c) {
      double v;
      if (!detail::parse_number(f[static_cast<std::size_t>(c)], &v)) {
        throw error(at + ", column " + header[static_cast<std::size_t>(c)] + ": \"" +
                    printable(f[static_cast<std::size_t>(c)].substr(0, 40)) + "\" is not a number");
      }
      if (!std::isfinite(v)) {
        throw error(at + ", column " + header[static_cast<std::size_t>(c)] + ": utility is " +
                    f[static_cast<std::size_t>(c)] + "; utilities must be finite");
      }
      return v;
    };
    auto integer = [&](int c) {
      std::int64_t v;
      if (!parse_integer(f[static_cast<std::size_t>(c)], &v)) {
        throw error(at + ", column " + header[static_cast<std::size_t>(c)] + ": \"" +
                    printable(f[static_cast<std::size_t>(c)].substr(0, 40)) + "\" is not an integer index");
      }
      return v;
    };
    for (int c : action_cols) actions.push_back(integer(c));
    if (outcome_col >= 0) flat.push_back(integer(outcome_col));
    for (int c : agent_cols) obs.agents.push_back(real(c));
    for (int c : principal_cols) obs.principals.push_back(real(c));
    if (set_col >= 0) {
      try {
        obs.set.push_back(parse_observed_set(f[static_cast<std::size_t>(set_col)]));
      } catch (const error& e) {
        throw error(at + ", column set: " + e.what());
      }
    } else {
      obs.set.push_back(opt.default_set);
    }
    lines.push_back(lineno);
  }
  if (lines.empty()) throw error(name + ": no observation rows after the header");
  obs.line = lines;
  obs.text_lines = true;
  if (!action_cols.empty()) {
    finish_outcomes(obs, actions, n, opt, [&](std::int64_t r, int i) {
      return name + ", line " + std::to_string(lines[static_cast<std::size_t>(r)]) + ", column action_" +
             std::to_string(i);
    });
  } else {
    if (opt.has_dims && opt.dims.players() != n) {
      throw error(name + ": the observations have " + std::to_string(n) + " players but the dims " +
                  opt.dims.to_string() + " have " + std::to_string(opt.dims.players()));
    }
    check_flat(obs, flat, opt, [&](std::int64_t r) {
      return name + ", line " + std::to_string(lines[static_cast<std::size_t>(r)]) + ", column outcome";
    });
  }
  return obs;
}

namespace {

Observations read_npz_observations(const std::string& path, ObservationReadOptions opt) {
  NpzReader npz(path);
  Observations obs;
  obs.source = path;
  const bool has_actions = npz.has("actions"), has_outcome = npz.has("outcome");
  if (!has_actions && !has_outcome) {
    std::string hint;
    if (npz.has("agents") && npz.header("agents").shape.size() >= 3) {
      hint = " (arrays agents/principals of shape [B, n, k..] hold games: pass them with --game)";
    }
    throw error(path + ": no array `actions` [R, n] or `outcome` [R]: not an observations file" + hint);
  }
  if (has_actions && has_outcome) throw error(path + ": both `actions` and `outcome` arrays; give only one");
  for (const char* a : {"agents", "principals"}) {
    if (!npz.has(a)) throw error(path + ": missing array `" + std::string(a) + "` [R, n] of utilities");
  }
  const NpyArray agents = npz.load("agents"), principals = npz.load("principals");
  if (agents.header.shape.size() != 2) {
    throw error(path + ", array agents: shape " + agents.header.shape_text() + ", expected [R, n] (rows, players)");
  }
  const std::int64_t R = agents.header.shape[0];
  const int n = static_cast<int>(agents.header.shape[1]);
  if (principals.header.shape != agents.header.shape) {
    throw error(path + ", array principals: shape " + principals.header.shape_text() + ", expected " +
                agents.header.shape_text() + " as agents");
  }
  if (R == 0) throw error(path + ": no observation rows (agents has shape " + agents.header.shape_text() + ")");
  if (n < 1 || n > kMaxPlayers)
    throw error(path + ", array agents: " + std::to_string(n) + " players (1 to 32 supported)");
  if (npz.has("dims") && !opt.has_dims) {
    const NpyArray d = npz.load("dims");
    std::vector<std::int64_t> k;
    for (double v : d.values) {
      if (v != std::floor(v) || v < 1)
        throw error(path + ", array dims: " + format_double(v) + " is not an action count");
      k.push_back(static_cast<std::int64_t>(v));
    }
    opt.dims = Dims(k);
    opt.has_dims = true;
  }
  for (std::int64_t j = 0; j < R * n; ++j) {
    for (int side = 0; side < 2; ++side) {
      const double v = (side ? principals : agents).values[static_cast<std::size_t>(j)];
      if (!std::isfinite(v)) {
        throw error(path + ", array " + (side ? "principals" : "agents") + ", row " + std::to_string(j / n) +
                    ", player " + std::to_string(j % n) + ": utility is " + format_double(v) +
                    "; utilities must be finite");
      }
    }
  }
  obs.agents = agents.values;
  obs.principals = principals.values;
  auto integral = [&](const NpyArray& a, const char* name, std::int64_t j) {
    const double v = a.values[static_cast<std::size_t>(j)];
    if (v != std::floor(v) || !std::isfinite(v)) {
      throw error(path + ", array " + name + ", element " + std::to_string(j) + ": " + format_double(v) +
                  " is not an integer index");
    }
    return static_cast<std::int64_t>(v);
  };
  if (npz.has("set")) {
    const NpyArray s = npz.load("set");
    if (s.header.shape != std::vector<std::int64_t>{R}) {
      throw error(path + ", array set: shape " + s.header.shape_text() + ", expected (" + std::to_string(R) + ",)");
    }
    for (std::int64_t r = 0; r < R; ++r) {
      const std::int64_t c = integral(s, "set", r);
      if (c < 0 || c >= kObservedSets) {
        throw error(path + ", array set, row " + std::to_string(r) + ": " + std::to_string(c) +
                    " is not a set code (0 all, 1 ne, 2 eps_ne, 3 played)");
      }
      obs.set.push_back(static_cast<ObservedSet>(c));
    }
  } else {
    obs.set.assign(static_cast<std::size_t>(R), opt.default_set);
  }
  obs.line.resize(static_cast<std::size_t>(R));
  for (std::int64_t r = 0; r < R; ++r) obs.line[static_cast<std::size_t>(r)] = r;
  if (has_actions) {
    const NpyArray a = npz.load("actions");
    if (a.header.shape != std::vector<std::int64_t>{R, n}) {
      throw error(path + ", array actions: shape " + a.header.shape_text() + ", expected (" + std::to_string(R) + ", " +
                  std::to_string(n) + ") as agents");
    }
    std::vector<std::int64_t> act(static_cast<std::size_t>(R * n));
    for (std::int64_t j = 0; j < R * n; ++j) act[static_cast<std::size_t>(j)] = integral(a, "actions", j);
    finish_outcomes(obs, act, n, opt, [&](std::int64_t r, int i) {
      return path + ", array actions, row " + std::to_string(r) + ", player " + std::to_string(i);
    });
  } else {
    const NpyArray o = npz.load("outcome");
    if (o.header.shape != std::vector<std::int64_t>{R}) {
      throw error(path + ", array outcome: shape " + o.header.shape_text() + ", expected (" + std::to_string(R) + ",)");
    }
    if (opt.has_dims && opt.dims.players() != n) {
      throw error(path + ": the observations have " + std::to_string(n) + " players but the dims " +
                  opt.dims.to_string() + " have " + std::to_string(opt.dims.players()));
    }
    std::vector<std::int64_t> flat(static_cast<std::size_t>(R));
    for (std::int64_t r = 0; r < R; ++r) flat[static_cast<std::size_t>(r)] = integral(o, "outcome", r);
    check_flat(obs, flat, opt, [&](std::int64_t r) { return path + ", array outcome, row " + std::to_string(r); });
  }
  return obs;
}

}  // namespace

Observations read_observations(const std::string& path, const ObservationReadOptions& options) {
  const std::string ext = file_extension(path);
  if (ext == ".npz") return read_npz_observations(path, options);
  if (ext == ".csv" || ext == ".txt") {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(path + ": cannot open for reading");
    return parse_observations_csv(f, path, options);
  }
  throw error(path + ": unknown observations format \"" + ext + "\" (expected .csv or .npz)");
}

void write_observations_csv(std::ostream& out, const Observations& obs) {
  const int n = obs.players();
  for (int i = 0; i < n; ++i) out << "action_" << i << ',';
  for (int i = 0; i < n; ++i) out << "agent_" << i << ',';
  for (int i = 0; i < n; ++i) out << "principal_" << i << ',';
  out << "set\n";
  for (std::int64_t r = 0; r < obs.rows(); ++r) {
    const auto a = obs.dims.unflatten(obs.outcome[static_cast<std::size_t>(r)]);
    for (int i = 0; i < n; ++i) out << a[static_cast<std::size_t>(i)] << ',';
    for (int i = 0; i < n; ++i) out << format_double(obs.agents[static_cast<std::size_t>(r * n + i)]) << ',';
    for (int i = 0; i < n; ++i) out << format_double(obs.principals[static_cast<std::size_t>(r * n + i)]) << ',';
    out << to_string(obs.set[static_cast<std::size_t>(r)]) << '\n';
  }
}

}  // namespace dgeval
