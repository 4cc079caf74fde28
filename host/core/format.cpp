// Text, CSV and JSON Lines writers for Results and the batch summary (atomic file output:
// host/core/output.cpp).
#include "dgeval/format.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <ostream>
#include <sstream>

#include "core/thread_pool.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/error.hpp"

namespace dgeval {

OutputFormat parse_output_format(const std::string& s) {
  if (s == "text") return OutputFormat::text;
  if (s == "csv") return OutputFormat::csv;
  if (s == "jsonl" || s == "json") return OutputFormat::jsonl;
  if (s == "npz") return OutputFormat::npz;
  throw error("unknown output format \"" + s + "\"; expected one of: text, csv, jsonl, npz");
}

const char* to_string(OutputFormat f) {
  switch (f) {
    case OutputFormat::csv:
      return "csv";
    case OutputFormat::jsonl:
      return "jsonl";
    case OutputFormat::npz:
      return "npz";
    default:
      return "text";
  }
}

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  return std::string(buf, res.ptr);
}

std::string format_double(double v, int digits) {
  if (digits <= 0 || !std::isfinite(v)) return format_double(v);
  if (digits > kMaxDigits) throw error("format_double: at most " + std::to_string(kMaxDigits) + " significant digits");
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string duration_text(double seconds) {
  char buf[48];
  const double s = seconds > 0 ? seconds : 0.0;
  // Each unit from where its 3-digit rounding reaches 1 (0.9995 ms prints as 1 ms, not 1e+03 µs).
  if (s >= 99.95) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else if (s >= 0.9995) {
    std::snprintf(buf, sizeof buf, "%.3g s", s);
  } else if (s >= 0.9995e-3) {
    std::snprintf(buf, sizeof buf, "%.3g ms", s * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g \u00b5s", s * 1e6);
  }
  return buf;
}

namespace {

// A boolean column's value (1, 0 or NaN = undefined) as `format` writes it.
const char* boolean_text(double v, OutputFormat format) {
  const bool undefined = std::isnan(v);
  switch (format) {
    case OutputFormat::jsonl:
      return undefined ? "null" : (v != 0.0 ? "true" : "false");
    case OutputFormat::text:
      return undefined ? "undefined" : (v != 0.0 ? "1" : "0");
    default:
      return undefined ? "" : (v != 0.0 ? "1" : "0");  // CSV: an empty field
  }
}

std::string json_double(double v) { return std::isfinite(v) ? format_double(v) : "null"; }

std::string outcome_text(const Dims& dims, std::int64_t s, bool json) {
  const auto a = dims.unflatten(s);
  std::string t = json ? "[" : "(";
  for (std::size_t i = 0; i < a.size(); ++i) t += (i ? "," : "") + std::to_string(a[i]);
  return t + (json ? "]" : ")");
}

// The selected result columns of `r` with their data, looked up once per write.
struct ColumnView {
  const ColumnInfo* info;
  const double* real;
  const std::int64_t* integer;
};

std::vector<ColumnView> column_views(const Results& r) {
  std::vector<ColumnView> v;
  const auto& cols = result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if (!r.has_column(j)) continue;
    const bool real = stored_as_double(cols[j].kind);
    v.push_back(
        {&cols[j], real ? r.real_column(cols[j].name) : nullptr, real ? nullptr : r.integer_column(cols[j].name)});
  }
  return v;
}

void append_double(std::string& s, double v, bool json) {
  if (std::isfinite(v)) {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
    s.append(buf, res.ptr);
  } else if (json) {
    s += "null";
  } else {
    s += std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  }
}

void append_integer(std::string& s, std::int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, res.ptr);
}

// The CSV header: per-player columns as name_i, distance matrices as distance_matrix_a_b.
void append_csv_header(std::string& s, const Results& r, const std::vector<ColumnView>& views) {
  s += "game";
  for (const ColumnView& c : views) {
    if (c.info->kind == ColumnKind::player_real) {
      for (int i = 0; i < r.players; ++i) s += "," + std::string(c.info->name) + "_" + std::to_string(i);
    } else {
      s += ",";
      s += c.info->name;
    }
  }
  if (!r.pure_ne.empty()) s += ",pure_ne";
  if (!r.distance_matrix.empty()) {
    const int side = 2 * r.players;
    for (int a = 0; a < side; ++a) {
      for (int b = 0; b < side; ++b) s += ",distance_matrix_" + std::to_string(a) + "_" + std::to_string(b);
    }
  }
  s += '\n';
}

// One game as a CSV row or a JSON object, ending with a newline.
void append_row(std::string& s, const Results& r, const std::vector<ColumnView>& views, const Dims& dims,
                std::int64_t g, std::int64_t first_game, bool json) {
  const int n = r.players;
  if (json) s += "{\"game\":";
  append_integer(s, first_game + g);
  for (const ColumnView& c : views) {
    if (json) {
      s += ",\"";
      s += c.info->name;
      s += "\":";
    }
    switch (c.info->kind) {
      case ColumnKind::player_real: {
        const double* d = c.real + g * n;
        if (json) s += '[';
        for (int i = 0; i < n; ++i) {
          if (!json || i) s += ',';
          append_double(s, d[i], json);
        }
        if (json) s += ']';
        break;
      }
      case ColumnKind::real:
        if (!json) s += ',';
        append_double(s, c.real[g], json);
        break;
      case ColumnKind::integer:
        if (!json) s += ',';
        append_integer(s, c.integer[g]);
        break;
      case ColumnKind::boolean:
        if (!json) s += ',';
        s += boolean_text(c.real[g], json ? OutputFormat::jsonl : OutputFormat::csv);
        break;
    }
  }
  if (!r.pure_ne.empty()) {
    s += json ? ",\"pure_ne\":[" : ",\"";
    const auto& list = r.pure_ne[static_cast<std::size_t>(g)];
    for (std::size_t j = 0; j < list.size(); ++j) {
      if (j) s += json ? "," : " ";
      s += outcome_text(dims, list[j], json);
    }
    s += json ? "]" : "\"";
  }
  if (!r.distance_matrix.empty()) {
    const int side = 2 * n;
    const double* d = r.distance_matrix.data() + g * side * side;
    if (json) s += ",\"distance_matrix\":[";
    for (int a = 0; a < side; ++a) {
      if (json) s += a ? ",[" : "[";
      for (int b = 0; b < side; ++b) {
        if (!json || b) s += ',';
        append_double(s, d[a * side + b], json);
      }
      if (json) s += ']';
    }
    if (json) s += ']';
  }
  s += json ? "}\n" : "\n";
}

std::string flags_text(std::int64_t f) {
  static const std::pair<std::int64_t, const char*> names[] = {
      {flag_no_pure_ne, "no_pure_ne"},
      {flag_no_eps_ne, "no_eps_ne"},
      {flag_played_fallback, "played_fallback"},
      {flag_ca_out_of_range, "ca_out_of_range"},
      {flag_nonfinite, "nonfinite"},
      {flag_zero_magnitude, "zero_magnitude"},
      {flag_strategy_undefined, "strategy_undefined"},
      {flag_bound_violated, "bound_violated"},
      {flag_ideal_gap_bound_violated, "ideal_gap_bound_violated"}};
  std::string t;
  for (const auto& [bit, name] : names) {
    if (f & bit) t += (t.empty() ? "" : " ") + std::string(name);
  }
  return t;
}

}  // namespace

void write_results(std::ostream& out, const Results& r, const Dims& dims, OutputFormat format, std::int64_t first_game,
                   bool header, int threads, int digits) {
  switch (format) {
    case OutputFormat::csv:
    case OutputFormat::jsonl: {
      const bool json = format == OutputFormat::jsonl;
      const std::vector<ColumnView> views = column_views(r);
      std::string head;
      if (header && !json) append_csv_header(head, r, views);
      out.write(head.data(), static_cast<std::streamsize>(head.size()));
      // Blocks of rows formatted in parallel (a window of them at a time), written in order.
      constexpr std::int64_t kBlock = 2048;
      const std::int64_t blocks = (r.games + kBlock - 1) / kBlock;
      std::unique_ptr<detail::ThreadPool> pool;
      if (threads != 1 && blocks > 1) pool = std::make_unique<detail::ThreadPool>(threads);
      const std::int64_t window = pool ? 4 * pool->size() : 1;
      std::vector<std::string> text(static_cast<std::size_t>(window));
      for (std::int64_t b0 = 0; b0 < blocks; b0 += window) {
        const std::int64_t count = std::min(window, blocks - b0);
        auto format_block = [&](std::int64_t t, int) {
          std::string& s = text[static_cast<std::size_t>(t)];
          s.clear();
          const std::int64_t g1 = std::min(r.games, (b0 + t + 1) * kBlock);
          for (std::int64_t g = (b0 + t) * kBlock; g < g1; ++g) append_row(s, r, views, dims, g, first_game, json);
        };
        if (pool) {
          pool->parallel_for(count, format_block);
        } else {
          for (std::int64_t t = 0; t < count; ++t) format_block(t, 0);
        }
        for (std::int64_t t = 0; t < count; ++t) {
          out.write(text[static_cast<std::size_t>(t)].data(),
                    static_cast<std::streamsize>(text[static_cast<std::size_t>(t)].size()));
        }
      }
      break;
    }
    case OutputFormat::npz:
      throw error("write_results: .npz results are written by ResultsNpzWriter (dgeval/io.hpp)");
    case OutputFormat::text: {
      for (std::int64_t g = 0; g < r.games; ++g) {
        out << "game " << first_game + g << " (" << dims.to_string() << ")\n";
        const int n = r.players;
        const auto& cols = result_columns();
        for (std::size_t j = 0; j < cols.size(); ++j) {
          if (!r.has_column(j)) continue;
          const ColumnInfo& c = cols[j];
          out << "  " << c.name;
          for (std::size_t pad = std::strlen(c.name); pad < 28; ++pad) out << ' ';
          if (c.kind == ColumnKind::player_real) {
            const double* d = r.real_column(c.name) + g * n;
            out << '[';
            for (int i = 0; i < n; ++i) out << (i ? ", " : "") << format_double(d[i], digits);
            out << ']';
          } else if (c.kind == ColumnKind::real) {
            out << format_double(r.real_column(c.name)[g], digits);
          } else if (c.kind == ColumnKind::boolean) {
            out << boolean_text(r.real_column(c.name)[g], OutputFormat::text);
          } else {
            const std::int64_t v = r.integer_column(c.name)[g];
            out << v;
            if (std::string(c.name) == "flags" && v) out << "  (" << flags_text(v) << ')';
          }
          out << '\n';
        }
        if (!r.pure_ne.empty()) {
          out << "  pure_ne                     ";
          for (std::int64_t s : r.pure_ne[static_cast<std::size_t>(g)]) out << outcome_text(dims, s, false) << ' ';
          out << '\n';
        }
        if (!r.distance_matrix.empty()) {
          const int side = 2 * n;
          out << "  distance_matrix (agents 0.." << n - 1 << ", then principals)\n";
          for (int a = 0; a < side; ++a) {
            out << "   ";
            for (int b = 0; b < side; ++b) {
              out << ' ' << format_double(r.distance_matrix[(g * side + a) * side + b], digits);
            }
            out << '\n';
          }
        }
      }
      break;
    }
  }
}

void Summary::add(const Results& r) {
  games += r.games;
  for (std::int64_t g = 0; g < r.games; ++g) {
    const std::int64_t f = r.flags[g];
    if (f & flag_no_pure_ne) ++games_without_pure_ne;
    if (f & flag_strategy_undefined) ++games_with_undefined_strategy;
    if (f & flag_played_fallback) ++played_fallbacks;
    if (f & flag_nonfinite) ++nonfinite_games;
    if (!(f & (flag_strategy_undefined | flag_nonfinite))) ++bound_holds_defined;
    if (f & flag_ca_out_of_range) ++ca_out_of_range;
    if (f & flag_bound_violated) ++bound_violations;
    if (f & flag_ideal_gap_bound_violated) ++ideal_gap_bound_violations;
  }
  const auto& cols = result_columns();
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const ColumnInfo& c = cols[i];
    if (!r.has_column(i) || std::string(c.name) == "flags") continue;
    auto it = std::find_if(columns.begin(), columns.end(), [&](const ColumnStat& st) { return st.name == c.name; });
    if (it == columns.end()) it = columns.insert(columns.end(), ColumnStat{c.name});
    ColumnStat& st = *it;
    const bool real = stored_as_double(c.kind);  // a boolean's NaN (undefined) is left out below
    const std::int64_t len = c.kind == ColumnKind::player_real ? r.games * r.players : r.games;
    const double* reals = real ? r.real_column(c.name) : nullptr;
    const std::int64_t* integers = real ? nullptr : r.integer_column(c.name);
    for (std::int64_t k = 0; k < len; ++k) {
      const double v = real ? reals[k] : static_cast<double>(integers[k]);
      if (!std::isfinite(v)) continue;
      st.min = st.count ? std::min(st.min, v) : v;
      st.max = st.count ? std::max(st.max, v) : v;
      st.sum += v;
      ++st.count;
    }
  }
}

Summary summarise(const Results& r) {
  Summary s;
  s.add(r);
  return s;
}

void Summary::write(std::ostream& out, bool json) const {
  auto mean = [](const ColumnStat& st) { return st.count ? st.sum / static_cast<double>(st.count) : NAN; };
  if (json) {
    out << "{\"games\":" << games << ",\"games_without_pure_ne\":" << games_without_pure_ne
        << ",\"games_with_undefined_strategy\":" << games_with_undefined_strategy
        << ",\"played_fallbacks\":" << played_fallbacks << ",\"nonfinite_games\":" << nonfinite_games
        << ",\"ca_out_of_range\":" << ca_out_of_range << ",\"bound_holds_defined\":" << bound_holds_defined
        << ",\"bound_violations\":" << bound_violations
        << ",\"ideal_gap_bound_violations\":" << ideal_gap_bound_violations << ",\"columns\":{";
    for (std::size_t j = 0; j < columns.size(); ++j) {
      const ColumnStat& st = columns[j];
      out << (j ? "," : "") << '"' << st.name << "\":{\"count\":" << st.count << ",\"mean\":" << json_double(mean(st))
          << ",\"min\":" << json_double(st.count ? st.min : NAN) << ",\"max\":" << json_double(st.count ? st.max : NAN)
          << '}';
    }
    out << "}}\n";
    return;
  }
  out << "summary: " << games << " games; " << games_without_pure_ne << " without a pure NE; "
      << games_with_undefined_strategy << " with an undefined strategy; " << played_fallbacks
      << " played-set fallbacks; " << nonfinite_games << " non-finite\n";
  // The R2 check counts the games whose bound_holds is defined; the others are named with why.
  std::string why;
  if (games_with_undefined_strategy > 0) why = undefined_reason;
  if (nonfinite_games > 0) {
    if (!why.empty()) why = std::to_string(games_with_undefined_strategy) + " " + why + ", ";
    why += std::to_string(nonfinite_games) + " non-finite";
  }
  out << "checks: bound_holds (R2) in " << bound_holds_defined - bound_violations << "/" << bound_holds_defined
      << " games with a defined strategy";
  if (games > bound_holds_defined) out << " (" << games - bound_holds_defined << " undefined: " << why << ")";
  out << "; R2 violated in " << bound_violations << " of them\n";
  out << "        ideal-gap bound (R5) violated in " << ideal_gap_bound_violations << " of " << games
      << " games (R2 and R5 must never fail); CA outside [0,1] in " << ca_out_of_range << " games\n";
  char line[160];
  std::snprintf(line, sizeof line, "  %-28s %12s %14s %14s %14s\n", "column", "count", "mean", "min", "max");
  out << line;
  for (const ColumnStat& st : columns) {
    std::snprintf(line, sizeof line, "  %-28s %12lld %14.6g %14.6g %14.6g\n", st.name.c_str(),
                  static_cast<long long>(st.count), mean(st), st.count ? st.min : NAN, st.count ? st.max : NAN);
    out << line;
  }
}

}  // namespace dgeval
