// Gambit .nfg reader and writer (format "NFG 1", payoff and outcome versions).
//
// The reader is a streaming tokenizer over a fixed buffer: memory beyond the game's own payoff
// array (and, in the outcome version, the outcome table) is bounded, whatever the file size.
// Contingencies are listed with player 1 varying fastest; each is placed at its dgeval C-order
// index by an odometer that keeps the flat index up to date incrementally.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <istream>
#include <limits>
#include <new>
#include <ostream>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "io/io_internal.hpp"

namespace dgeval {
namespace {

using detail::bytes_of;
using detail::checked_assign;
using detail::checked_push;

constexpr std::size_t kBufferBytes = std::size_t{1} << 16;
constexpr std::size_t kMaxWord = 400;              // longest number token accepted
constexpr std::size_t kMaxStoredString = 1 << 16;  // longer titles/labels are truncated

enum class Tok { end, lbrace, rbrace, comma, string, word };

const char* tok_name(Tok t) {
  switch (t) {
    case Tok::end:
      return "end of file";
    case Tok::lbrace:
      return "'{'";
    case Tok::rbrace:
      return "'}'";
    case Tok::comma:
      return "','";
    case Tok::string:
      return "a quoted string";
    default:
      return "a word";
  }
}

struct Token {
  Tok kind = Tok::end;
  std::string text;
  std::int64_t line = 1, column = 1;
};

class Lexer {
 public:
  Lexer(std::istream& in, std::string name) : in_(in), name_(std::move(name)), buf_(kBufferBytes) {}

  const std::string& name() const { return name_; }
  std::int64_t offset() const { return offset_; }

  [[noreturn]] void fail(std::int64_t line, std::int64_t column, const std::string& what) const {
    std::ostringstream m;
    m << name_ << ":" << line << ":" << column << ": " << what;
    throw error(m.str());
  }
  [[noreturn]] void fail(const Token& t, const std::string& expected) const {
    std::string found = t.kind == Tok::word || t.kind == Tok::string ? "\"" + printable(t.text.substr(0, 40)) + "\""
                                                                     : std::string(tok_name(t.kind));
    if (t.kind == Tok::string) found = "the string " + found;
    fail(t.line, t.column, "expected " + expected + ", found " + found);
  }

  Token next() {
    skip_space();
    Token t;
    t.line = line_;
    t.column = column_;
    const int c = peek();
    if (c < 0) return t;
    if (c == '{' || c == '}' || c == ',') {
      get();
      t.kind = c == '{' ? Tok::lbrace : c == '}' ? Tok::rbrace : Tok::comma;
      return t;
    }
    if (c == '"') {
      get();
      t.kind = Tok::string;
      for (;;) {
        int d = get();
        if (d < 0) fail(t.line, t.column, "unterminated string (no closing '\"' before the end of the file)");
        if (d == '"') break;
        if (d == '\\') {
          d = get();
          if (d < 0) fail(t.line, t.column, "unterminated string (no closing '\"' before the end of the file)");
        }
        if (t.text.size() < kMaxStoredString) t.text.push_back(static_cast<char>(d));
      }
      return t;
    }
    t.kind = Tok::word;
    // Fast path: scan the word inside the buffer (words never hold a newline).
    for (;;) {
      if (pos_ == len_ && !refill()) break;
      const char* b = buf_.data() + pos_;
      const char* e = buf_.data() + len_;
      const char* q = b;
      while (q < e && !is_delim(static_cast<unsigned char>(*q))) ++q;
      const std::size_t run = static_cast<std::size_t>(q - b);
      if (t.text.size() + run > kMaxWord) fail(t.line, t.column, "token longer than 400 characters; expected a number");
      t.text.append(b, run);
      pos_ += run;
      offset_ += static_cast<std::int64_t>(run);
      column_ += static_cast<std::int64_t>(run);
      if (q < e) break;
    }
    return t;
  }

  Token peek_token() {
    if (!has_peeked_) {
      peeked_ = next();
      has_peeked_ = true;
    }
    return peeked_;
  }
  Token take() {
    if (has_peeked_) {
      has_peeked_ = false;
      return std::move(peeked_);
    }
    return next();
  }

 private:
  static bool is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }
  static bool is_delim(int c) { return is_space(c) || c == '{' || c == '}' || c == ',' || c == '"'; }
  void skip_space() {
    for (;;) {
      if (pos_ == len_ && !refill()) return;
      const char c = buf_[pos_];
      if (c == ' ') {  // the common case, without the newline bookkeeping of get()
        ++pos_;
        ++offset_;
        ++column_;
        continue;
      }
      if (!is_space(static_cast<unsigned char>(c))) return;
      get();
    }
  }
  int peek() {
    if (pos_ == len_ && !refill()) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }
  int get() {
    if (pos_ == len_ && !refill()) return -1;
    const int c = static_cast<unsigned char>(buf_[pos_++]);
    ++offset_;
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    return c;
  }
  bool refill() {
    if (eof_) return false;
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    len_ = static_cast<std::size_t>(in_.gcount());
    pos_ = 0;
    if (len_ == 0) {
      if (in_.bad()) throw error(name_ + ": read error at byte " + std::to_string(offset_));
      eof_ = true;
      return false;
    }
    return true;
  }

  std::istream& in_;
  std::string name_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  std::int64_t line_ = 1, column_ = 1, offset_ = 0;
  Token peeked_;
  bool has_peeked_ = false;
};

// Parses a decimal number (sign, digits, point, exponent; also nan/inf) with no trailing text.
bool parse_decimal(const std::string& s, double* out) {
  const char* b = s.data();
  const char* e = b + s.size();
  bool neg = false;
  if (b < e && (*b == '+' || *b == '-')) {
    neg = *b == '-';
    ++b;
  }
  if (b == e || *b == '+' || *b == '-') return false;
  double v = 0.0;
  const auto r = std::from_chars(b, e, v, std::chars_format::general);
  if (r.ptr != e) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow gives ±Inf (refused later unless non-finite input is allowed); underflow gives 0
    // or a subnormal, as strtod rounds it.
    v = std::strtod(std::string(b, e).c_str(), nullptr);
  } else if (r.ec != std::errc()) {
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

}  // namespace

// A number token: integer, decimal with exponent, or rational p/q.
bool detail::parse_number(const std::string& s, double* out) {
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos) return parse_decimal(s, out);
  double p = 0, q = 0;
  if (!parse_decimal(s.substr(0, slash), &p) || !parse_decimal(s.substr(slash + 1), &q)) return false;
  if (q == 0.0 || !std::isfinite(p) || !std::isfinite(q)) return false;
  *out = p / q;
  return true;
}

namespace {

class Parser {
 public:
  Parser(Lexer& lex, const ReadOptions& opt, std::int64_t size_hint) : lex_(lex), opt_(opt), size_(size_hint) {}

  NfgGame parse() {
    NfgGame g;
    Token t = lex_.take();
    if (t.kind != Tok::word || t.text != "NFG") lex_.fail(t, "the magic word NFG at the start of a Gambit .nfg file");
    t = lex_.take();
    if (t.kind != Tok::word || t.text != "1") lex_.fail(t, "the format version 1 (\"NFG 1 R\")");
    t = lex_.take();
    if (t.kind != Tok::word || (t.text != "R" && t.text != "D")) lex_.fail(t, "the number type R or D after NFG 1");
    t = lex_.take();
    if (t.kind != Tok::string) lex_.fail(t, "the game title as a quoted string");
    g.title = t.text;

    // Players.
    t = lex_.take();
    if (t.kind != Tok::lbrace) lex_.fail(t, "'{' opening the list of player names");
    const Token players_at = t;
    for (;;) {
      t = lex_.take();
      if (t.kind == Tok::rbrace) break;
      if (t.kind != Tok::string) lex_.fail(t, "a quoted player name or '}'");
      if (g.players.size() >= static_cast<std::size_t>(kMaxPlayers)) {
        lex_.fail(t.line, t.column,
                  "more than " + std::to_string(kMaxPlayers) + " players; dgeval supports at most " +
                      std::to_string(kMaxPlayers));
      }
      g.players.push_back(t.text);
    }
    if (g.players.empty())
      lex_.fail(players_at.line, players_at.column, "the game has no players; expected at least one");
    const std::size_t n = g.players.size();

    // Strategies: counts { 3 2 } or labels { { "a" "b" } { "c" } }.
    t = lex_.take();
    if (t.kind != Tok::lbrace) lex_.fail(t, "'{' opening the strategy counts or labels");
    std::vector<std::int64_t> actions;
    std::vector<Token> action_at;
    if (lex_.peek_token().kind == Tok::lbrace) {
      for (;;) {
        t = lex_.take();
        if (t.kind == Tok::rbrace) break;
        if (t.kind != Tok::lbrace) lex_.fail(t, "'{' opening a player's strategy labels, or '}'");
        if (label_lists_.size() >= n) lex_.fail(t, "'}' (strategy lists for " + std::to_string(n) + " players)");
        const Token open = t;
        std::int64_t count = 0;
        for (;;) {
          t = lex_.take();
          if (t.kind == Tok::rbrace) break;
          if (t.kind != Tok::string) lex_.fail(t, "a quoted strategy label or '}'");
          labels_.add(t.text, lex_.name());
          ++count;
        }
        actions.push_back(count);
        action_at.push_back(open);
        label_lists_.push_back(count);
      }
    } else {
      for (;;) {
        t = lex_.take();
        if (t.kind == Tok::rbrace) break;
        if (t.kind != Tok::word) lex_.fail(t, "a strategy count or '}'");
        if (actions.size() >= n) lex_.fail(t, "'}' (strategy counts for " + std::to_string(n) + " players)");
        actions.push_back(parse_count(t, "a positive integer strategy count"));
        action_at.push_back(t);
      }
    }
    if (actions.size() != n) {
      lex_.fail(t, "strategies for " + std::to_string(n) + " players (found " + std::to_string(actions.size()) +
                       ") before this '}'");
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (actions[i] < 1) {
        lex_.fail(action_at[i].line, action_at[i].column,
                  "player " + std::to_string(i + 1) + " has " + std::to_string(actions[i]) +
                      " strategies; expected at least 1");
      }
    }
    try {
      g.dims = Dims(actions);
    } catch (const error& e) {
      lex_.fail(players_at.line, players_at.column, e.what());
    }
    if (!label_lists_.empty()) {
      // The labels, kept compact while they were read (a file of short labels would otherwise
      // take many times its size), become strings once the strategy counts are known to be a
      // game whose payoffs fit.
      const std::int64_t payoffs = checked_mul(g.dims.players(), g.dims.outcomes(), "payoffs (players x outcomes)");
      check_fits(g.dims.outcomes(), "contingencies");
      check_memory(checked_add(bytes_of(payoffs, sizeof(double), lex_.name()), labels_.string_bytes()),
                   lex_.name() + ": the game " + g.dims.to_string() + " (its payoffs and strategy labels)");
      std::int64_t k = 0;
      g.strategies.resize(label_lists_.size());
      for (std::size_t i = 0; i < label_lists_.size(); ++i) {
        g.strategies[i].reserve(static_cast<std::size_t>(label_lists_[i]));
        for (std::int64_t j = 0; j < label_lists_[i]; ++j) g.strategies[i].push_back(labels_.get(k++));
      }
      labels_ = LabelStore();
    }

    // Optional comment.
    if (lex_.peek_token().kind == Tok::string) g.comment = lex_.take().text;

    if (lex_.peek_token().kind == Tok::lbrace) {
      parse_outcome_body(g);
    } else {
      parse_payoff_body(g);
    }
    t = lex_.take();
    if (t.kind != Tok::end) {
      lex_.fail(t, "the end of the file after the last " +
                       std::string(outcome_version_ ? "contingency's outcome number" : "payoff") + " (" +
                       std::to_string(expected_) + " expected)");
    }
    return g;
  }

 private:
  std::int64_t parse_count(const Token& t, const std::string& what) {
    const std::string& s = t.text;
    std::int64_t v = 0;
    const char* b = s.data();
    const bool neg = !s.empty() && s[0] == '-';
    if (neg || (!s.empty() && s[0] == '+')) ++b;
    const auto r = std::from_chars(b, s.data() + s.size(), v);
    if (b == s.data() + s.size() || *b < '0' || *b > '9' || r.ptr != s.data() + s.size() || r.ec != std::errc()) {
      if (r.ec == std::errc::result_out_of_range) {
        lex_.fail(t.line, t.column, "integer \"" + printable(s.substr(0, 40)) + "\" is too large");
      }
      lex_.fail(t, what);
    }
    return neg ? -v : v;
  }

  double number(const Token& t, const char* what) {
    if (t.kind != Tok::word) lex_.fail(t, what);
    double v = 0;
    if (!detail::parse_number(t.text, &v)) lex_.fail(t, what);
    if (!std::isfinite(v) && !opt_.allow_nonfinite) {
      lex_.fail(t.line, t.column,
                "payoff \"" + printable(t.text.substr(0, 40)) +
                    "\" is not finite; utilities must be finite numbers (allow non-finite input to accept it)");
    }
    return v;
  }

  // Refuses a large body that cannot fit in the rest of the file before allocating for it
  // (small ones are read, and a short list is reported at its end with a line and column).
  void check_fits(std::int64_t tokens, const char* what) {
    if (size_ < 0 || tokens < (std::int64_t{1} << 20)) return;
    const std::int64_t left = size_ - lex_.offset();
    // Each token needs at least one character and one separator (but the last).
    if (tokens > 0 && (tokens - 1) > left / 2) {
      std::ostringstream m;
      m << lex_.name() << ": byte " << lex_.offset() << ": the header declares " << tokens << " " << what
        << " but only " << left << " bytes follow; the file is truncated or the strategy counts are wrong";
      throw error(m.str());
    }
  }

  void allocate(NfgGame& g) {
    const std::int64_t total = checked_mul(g.dims.players(), g.dims.outcomes(), "payoffs (players x outcomes)");
    checked_assign(g.payoffs, total,
                   lex_.name() + ": the " + std::to_string(total) + " payoffs of the game " + g.dims.to_string());
  }

  // Visits the contingencies in file order (player 1 fastest) with their C-order flat index.
  template <class F>
  void for_each_contingency(const Dims& d, F&& visit) {
    const int n = d.players();
    std::int64_t a[kMaxPlayers] = {};
    std::int64_t flat = 0;
    const std::int64_t N = d.outcomes();
    for (std::int64_t c = 0; c < N; ++c) {
      visit(c, flat);
      for (int i = 0; i < n; ++i) {
        if (++a[i] < d.actions(i)) {
          flat += d.stride(i);
          break;
        }
        a[i] = 0;
        flat -= (d.actions(i) - 1) * d.stride(i);
      }
    }
  }

  void parse_payoff_body(NfgGame& g) {
    const int n = g.dims.players();
    const std::int64_t N = g.dims.outcomes();
    expected_ = checked_mul(n, N, "payoffs (players x outcomes)");
    check_fits(expected_, "payoffs (players x contingencies)");
    allocate(g);
    std::int64_t read = 0;
    for_each_contingency(g.dims, [&](std::int64_t, std::int64_t flat) {
      for (int i = 0; i < n; ++i) {
        const Token t = lex_.take();
        if (t.kind == Tok::end) {
          std::ostringstream m;
          m << "the payoff list is too short: expected " << expected_ << " payoffs (" << n << " players x " << N
            << " contingencies), found " << read;
          lex_.fail(t.line, t.column, m.str());
        }
        g.payoffs[static_cast<std::size_t>(i * N + flat)] = number(t, "a payoff (a number such as 3, -1.5e2 or 3/2)");
        ++read;
      }
    });
  }

  void parse_outcome_body(NfgGame& g) {
    outcome_version_ = true;
    const int n = g.dims.players();
    const std::int64_t N = g.dims.outcomes();
    Token t = lex_.take();         // '{'
    std::vector<double> outcomes;  // [count][n]
    for (;;) {
      t = lex_.take();
      if (t.kind == Tok::rbrace) break;
      if (t.kind != Tok::lbrace) lex_.fail(t, "'{' opening an outcome, or '}' closing the outcome list");
      t = lex_.take();
      if (t.kind != Tok::string) lex_.fail(t, "the outcome's name as a quoted string");
      int got = 0;
      for (;;) {
        t = lex_.take();
        if (t.kind == Tok::comma) continue;
        if (t.kind == Tok::rbrace) break;
        if (got == n) lex_.fail(t, "'}' after the outcome's " + std::to_string(n) + " payoffs");
        checked_push(outcomes, number(t, "a payoff (a number such as 3, -1.5e2 or 3/2) or '}'"),
                     lex_.name() + ": the outcome list");
        ++got;
      }
      if (got != n) {
        lex_.fail(t.line, t.column,
                  "outcome " + std::to_string(outcomes.size() / n + 1) + " has " + std::to_string(got) +
                      " payoffs; expected " + std::to_string(n) + " (one per player)");
      }
    }
    const std::int64_t count = static_cast<std::int64_t>(outcomes.size()) / n;
    expected_ = N;
    check_fits(N, "contingencies (outcome numbers)");
    allocate(g);
    std::int64_t read = 0;
    for_each_contingency(g.dims, [&](std::int64_t, std::int64_t flat) {
      const Token tk = lex_.take();
      if (tk.kind == Tok::end) {
        std::ostringstream m;
        m << "the contingency list is too short: expected " << N << " outcome numbers (one per contingency), found "
          << read;
        lex_.fail(tk.line, tk.column, m.str());
      }
      if (tk.kind != Tok::word) lex_.fail(tk, "an outcome number");
      const std::int64_t k = parse_count(tk, "an outcome number (an integer from 0 to " + std::to_string(count) + ")");
      if (k < 0 || k > count) {
        lex_.fail(tk.line, tk.column,
                  "outcome number " + std::to_string(k) + " is out of range; expected 0 (the null outcome) to " +
                      std::to_string(count));
      }
      if (k > 0) {
        for (int i = 0; i < n; ++i) {
          g.payoffs[static_cast<std::size_t>(i * N + flat)] = outcomes[static_cast<std::size_t>((k - 1) * n + i)];
        }
      }
      ++read;
    });
  }

  // Strategy labels as read: their bytes end to end, and where each ends.
  class LabelStore {
   public:
    void add(const std::string& label, const std::string& name) {
      const std::string what = name + ": the strategy labels";
      if (bytes_.size() + label.size() > bytes_.capacity()) {
        const std::int64_t cap =
            static_cast<std::int64_t>(std::max(bytes_.capacity() * 2, bytes_.size() + label.size()));
        check_memory(cap, what);
        try {
          bytes_.reserve(static_cast<std::size_t>(cap));
        } catch (const std::bad_alloc&) {
          throw error(what + ": out of memory allocating " + describe_bytes(cap));
        }
      }
      bytes_ += label;
      if (bytes_.size() > UINT32_MAX) throw error(what + ": more than 4 GiB of strategy labels");
      checked_push(ends_, static_cast<std::uint32_t>(bytes_.size()), what);
    }
    std::string get(std::int64_t k) const {
      const std::size_t b = k == 0 ? 0 : ends_[static_cast<std::size_t>(k - 1)];
      return bytes_.substr(b, ends_[static_cast<std::size_t>(k)] - b);
    }
    /// The memory the labels take as std::string (short labels live inside the string).
    std::int64_t string_bytes() const {
      return static_cast<std::int64_t>(ends_.size() * sizeof(std::string) + bytes_.size());
    }

   private:
    std::string bytes_;
    std::vector<std::uint32_t> ends_;
  };

  static std::int64_t checked_add(std::int64_t a, std::int64_t b) {
    if (a > INT64_MAX - b) throw error("size overflows a 64-bit integer");
    return a + b;
  }

  Lexer& lex_;
  const ReadOptions& opt_;
  std::int64_t size_;
  LabelStore labels_;
  std::vector<std::int64_t> label_lists_;  // the number of labels of each player
  std::int64_t expected_ = 0;
  bool outcome_version_ = false;
};

void write_quoted(std::ostream& out, const std::string& s) {
  out << '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out << '\\';
    out << c;
  }
  out << '"';
}

}  // namespace

NfgGame parse_nfg(std::istream& in, const std::string& name, const ReadOptions& options, std::int64_t size_hint) {
  Lexer lex(in, name);
  Parser p(lex, options, size_hint);
  return p.parse();
}

NfgGame read_nfg(const std::string& path, const ReadOptions& options) {
  // Opened once and read in order: a pipe or FIFO is read as it comes (its size is unknown, so
  // only the memory budget bounds what its header may declare).
  detail::InputFile f(path);
  detail::InputStreamBuf buf(f);
  std::istream in(&buf);
  return parse_nfg(in, path, options, f.size());
}

NfgGame make_nfg(const Dims& dims, const double* payoffs, const std::string& title) {
  NfgGame g;
  g.title = title;
  g.dims = dims;
  for (int i = 0; i < dims.players(); ++i) g.players.push_back("Player " + std::to_string(i + 1));
  g.payoffs.assign(payoffs, payoffs + dims.players() * dims.outcomes());
  return g;
}

void write_nfg(std::ostream& out, const NfgGame& g) {
  const int n = g.dims.players();
  const std::int64_t N = g.dims.outcomes();
  if (static_cast<std::int64_t>(g.payoffs.size()) != n * N) throw error("write_nfg: payoff array does not match dims");
  out << "NFG 1 R ";
  write_quoted(out, g.title);
  out << " {";
  for (int i = 0; i < n; ++i) {
    out << ' ';
    write_quoted(out, i < static_cast<int>(g.players.size()) ? g.players[i] : "Player " + std::to_string(i + 1));
  }
  out << " }";
  bool labels = static_cast<int>(g.strategies.size()) == n;
  for (int i = 0; labels && i < n; ++i) labels = static_cast<std::int64_t>(g.strategies[i].size()) == g.dims.actions(i);
  if (labels) {
    out << "\n\n{";
    for (int i = 0; i < n; ++i) {
      out << " {";
      for (const std::string& s : g.strategies[i]) {
        out << ' ';
        write_quoted(out, s);
      }
      out << " }\n";
    }
    out << "}\n";
  } else {
    out << " {";
    for (int i = 0; i < n; ++i) out << ' ' << g.dims.actions(i);
    out << " }\n";
  }
  write_quoted(out, g.comment);
  out << "\n\n";
  std::int64_t a[kMaxPlayers] = {};
  std::int64_t flat = 0;
  for (std::int64_t c = 0; c < N; ++c) {
    for (int i = 0; i < n; ++i)
      out << (i ? " " : "") << format_double(g.payoffs[static_cast<std::size_t>(i * N + flat)]);
    out << '\n';
    for (int i = 0; i < n; ++i) {
      if (++a[i] < g.dims.actions(i)) {
        flat += g.dims.stride(i);
        break;
      }
      a[i] = 0;
      flat -= (g.dims.actions(i) - 1) * g.dims.stride(i);
    }
  }
  if (!out) throw error("write_nfg: write failed");
}

}  // namespace dgeval
