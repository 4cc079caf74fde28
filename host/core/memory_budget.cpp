// The readers' memory budget (include/dgeval/memory.hpp): an override, DGEVAL_MEMORY_LIMIT, or
// the smallest of the address-space limit, the cgroup limits and MemAvailable, each less what
// is already in use.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <vector>

#include "dgeval/error.hpp"
#include "dgeval/memory.hpp"

namespace dgeval {

namespace {

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kSmall = std::int64_t{1} << 20;

std::mutex g_mutex;
std::int64_t g_limit = -1;  // guarded by g_mutex
std::string g_source;

// The text of a small file (at most `cap` bytes); false if it cannot be read.
bool read_small(const std::string& path, std::string* out, std::size_t cap = std::size_t{1} << 22) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->clear();
  char buf[4096];
  while (out->size() < cap && f.read(buf, sizeof buf).gcount() > 0)
    out->append(buf, static_cast<std::size_t>(f.gcount()));
  return true;
}

// A non-negative decimal integer filling `s` (surrounding white space allowed).
bool parse_int(const std::string& s, std::int64_t* v) {
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  std::int64_t x = 0;
  const std::size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const int d = s[i++] - '0';
    if (x > (kUnlimited - d) / 10) {
      x = kUnlimited;  // saturate (v1 "unlimited" is close to 2^63)
    } else {
      x = x * 10 + d;
    }
  }
  if (i == start) return false;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  if (i != s.size()) return false;
  *v = x;
  return true;
}

bool read_int_file(const std::string& path, std::int64_t* v) {
  std::string s;
  return read_small(path, &s, 256) && parse_int(s, v);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Mount {
  std::string root, point, fstype, super_options;
};

std::vector<Mount> cgroup_mounts(const std::string& mountinfo) {
  std::vector<Mount> out;
  std::string text;
  if (!read_small(mountinfo, &text)) return out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream words(line);
    std::string w;
    while (words >> w) f.push_back(w);
    std::size_t dash = 0;
    for (std::size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 3 >= f.size()) continue;
    Mount m{unescape_mount(f[3]), unescape_mount(f[4]), f[dash + 1], f[dash + 3]};
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(m);
  }
  return out;
}

bool has_word(const std::string& list, const std::string& word) {
  for (const std::string& w : split(list, ',')) {
    if (w == word) return true;
  }
  return false;
}

struct Candidate {
  std::int64_t bytes = kUnlimited;
  std::string source;
  void offer(std::int64_t b, const std::string& s) {
    if (b < bytes) {
      bytes = b < 0 ? 0 : b;
      source = s;
    }
  }
};

// The limit of a cgroup and its ancestors below the mount point, less their usage.
void cgroup_limits(const Mount& m, const std::string& path, bool v2, Candidate* c) {
  std::string rel = path;
  if (m.root != "/") {
    if (path.compare(0, m.root.size(), m.root) == 0 && (path.size() == m.root.size() || path[m.root.size()] == '/')) {
      rel = path.substr(m.root.size());
    } else {
      rel = "";
    }
  }
  std::string dir = m.point + rel;
  while (!dir.empty() && dir.back() == '/' && dir.size() > m.point.size()) dir.pop_back();
  const char* limit_file = v2 ? "/memory.max" : "/memory.limit_in_bytes";
  const char* usage_file = v2 ? "/memory.current" : "/memory.usage_in_bytes";
  for (;;) {
    std::int64_t limit = 0, usage = 0;
    // v2 writes "max" for no limit; v1 a number near 2^63 (taken as none above 2^60).
    if (read_int_file(dir + limit_file, &limit) && limit < (std::int64_t{1} << 60)) {
      if (!read_int_file(dir + usage_file, &usage)) usage = 0;
      c->offer(limit - usage, std::string("the cgroup memory limit, ") + dir + limit_file + " less " +
                                  (v2 ? "memory.current" : "memory.usage_in_bytes"));
    }
    if (dir.size() <= m.point.size()) break;
    const std::size_t slash = dir.find_last_of('/');
    dir.resize(slash == std::string::npos || slash < m.point.size() ? m.point.size() : slash);
  }
}

}  // namespace

namespace detail {

MemoryBudget detect_memory_budget(const MemoryProbe& probe) {
  Candidate c;
  // The address-space limit less the address space in use.
  std::int64_t as_limit = probe.address_space_limit;
  if (as_limit == -2) {
    struct rlimit rl;
    as_limit = ::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                       rl.rlim_cur < static_cast<rlim_t>(kUnlimited)
                   ? static_cast<std::int64_t>(rl.rlim_cur)
                   : -1;
  }
  if (as_limit >= 0) {
    std::string statm;
    std::int64_t pages = 0;
    if (read_small(probe.statm, &statm, 4096)) {
      const std::string first = statm.substr(0, statm.find(' '));
      if (!parse_int(first, &pages)) pages = 0;
    }
    const std::int64_t used = pages * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
    c.offer(as_limit - used, "the address-space limit (ulimit -v) less the address space in use");
  }
  // The cgroup limits (v2 and the v1 memory controller).
  std::string cg;
  if (read_small(probe.self_cgroup, &cg)) {
    const std::vector<Mount> mounts = cgroup_mounts(probe.mountinfo);
    std::istringstream lines(cg);
    std::string line;
    while (std::getline(lines, line)) {
      const std::size_t a = line.find(':');
      const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
      if (b == std::string::npos) continue;
      const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
      const bool v2 = id == "0" && controllers.empty();
      if (!v2 && !has_word(controllers, "memory")) continue;
      for (const Mount& m : mounts) {
        if (v2 ? m.fstype == "cgroup2" : (m.fstype == "cgroup" && has_word(m.super_options, "memory"))) {
          cgroup_limits(m, path, v2, &c);
        }
      }
    }
  }
  // The available memory.
  std::string meminfo;
  if (read_small(probe.meminfo, &meminfo)) {
    const std::size_t at = meminfo.find("MemAvailable:");
    if (at != std::string::npos) {
      std::istringstream s(meminfo.substr(at + 13));
      std::int64_t kb = -1;
      if (s >> kb && kb >= 0 && kb < kUnlimited / 1024)
        c.offer(kb * 1024, "the available memory, MemAvailable in " + probe.meminfo);
    }
  }
  MemoryBudget m;
  m.bytes = c.bytes;
  m.source = c.source.empty() ? "no limit found" : c.source;
  return m;
}

}  // namespace detail

MemoryBudget memory_budget() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_limit >= 0) return MemoryBudget{g_limit, g_source};
  }
  const char* env = std::getenv("DGEVAL_MEMORY_LIMIT");
  if (env && *env) return MemoryBudget{parse_memory_size(env, "DGEVAL_MEMORY_LIMIT"), "DGEVAL_MEMORY_LIMIT"};
  return detail::detect_memory_budget();
}

void set_memory_limit(std::int64_t bytes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_limit = bytes < 0 ? -1 : bytes;
  g_source = "--memory-limit";
}

std::int64_t parse_memory_size(const std::string& text, const std::string& what) {
  const auto bad = [&]() {
    return error(what + ": \"" + text + "\" is not a size; expected a number of bytes with an optional unit " +
                 "K, M, G or T (powers of 1024), e.g. 512M or 4G");
  };
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) throw bad();
  const std::string number = text.substr(0, i);
  if (number.find('.') != number.rfind('.') || number == ".") throw bad();
  std::string unit = text.substr(i);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  double mult = 1;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else {
    const char u = unit[0];
    const std::string rest = unit.substr(1);
    if (rest != "" && rest != "B" && rest != "IB") throw bad();
    mult = u == 'K' ? 1024.0 : u == 'M' ? 1048576.0 : u == 'G' ? 1073741824.0 : u == 'T' ? 1099511627776.0 : 0;
    if (mult == 0) throw bad();
  }
  const double v = std::strtod(number.c_str(), nullptr) * mult;
  if (!(v >= 1)) throw error(what + ": \"" + text + "\" is not a positive size; expected e.g. 512M or 4G");
  if (v >= 9.2e18) throw error(what + ": \"" + text + "\" is too large");
  return static_cast<std::int64_t>(std::floor(v));
}

std::string describe_bytes(std::int64_t bytes) {
  if (bytes == kUnlimited) return "unlimited";
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
  return std::string(text) + " (" + std::to_string(bytes) + " bytes)";
}

void check_memory(std::int64_t bytes, const std::string& what) {
  if (bytes <= 0) return;
  if (bytes < kSmall) {
    // Below 1 MiB only a budget that was given is checked: detecting the machine's limits (a
    // few /proc and cgroup files) costs more than such an allocation.
    std::lock_guard<std::mutex> lock(g_mutex);
    const char* env = std::getenv("DGEVAL_MEMORY_LIMIT");
    if (g_limit < 0 && !(env && *env)) return;
  }
  const MemoryBudget b = memory_budget();
  if (bytes <= b.bytes) return;
  throw error(what + ": needs " + describe_bytes(bytes) + " of memory, more than the memory budget of " +
              describe_bytes(b.bytes) + " (" + b.source + "); give a larger budget with --memory-limit SIZE " +
              "or the environment variable DGEVAL_MEMORY_LIMIT=SIZE (e.g. 8G) if the memory is there");
}

}  // namespace dgeval
