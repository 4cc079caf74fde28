// The memory budget of the readers: every allocation whose size comes from a file is checked
// against the bytes the file really holds and against this budget before it is made, so that a
// few crafted bytes cannot make the process allocate gigabytes (and be killed).
#pragma once

#include <cstdint>
#include <string>

namespace dgeval {

/// The memory that reading input may still take, and where that figure comes from.
struct MemoryBudget {
  std::int64_t bytes = 0;  ///< INT64_MAX when nothing limits it
  std::string source;      ///< e.g. "MemAvailable in /proc/meminfo" or "--memory-limit"
};

/// The budget now: the size given to set_memory_limit (the CLI's --memory-limit) if any; else
/// the environment variable DGEVAL_MEMORY_LIMIT if set; else the smallest of
///  * the address-space limit (RLIMIT_AS, `ulimit -v`) less the address space in use,
///  * the memory limit of the process's cgroup and of its ancestors (cgroup v2 memory.max less
///    memory.current, v1 memory.limit_in_bytes less memory.usage_in_bytes),
///  * the available memory (MemAvailable in /proc/meminfo).
/// Throws dgeval::error if DGEVAL_MEMORY_LIMIT is set but is not a size.
MemoryBudget memory_budget();

/// Sets the budget to `bytes`, overriding DGEVAL_MEMORY_LIMIT and the detected limits; a
/// negative value goes back to them. Thread-safe.
void set_memory_limit(std::int64_t bytes);

/// Parses a size: a number (decimals allowed) with an optional unit B, K, M, G or T (powers of
/// 1024; "KiB", "KB" and lower case accepted), e.g. "512M", "4G", "1.5G", "1000000". Throws a
/// dgeval::error naming `what` otherwise.
std::int64_t parse_memory_size(const std::string& text, const std::string& what = "memory size");

/// "1.5 GiB (1610612736 bytes)".
std::string describe_bytes(std::int64_t bytes);

/// Throws a dgeval::error unless `bytes` fits in memory_budget(). `what` names the file and
/// the array (e.g. "games.npz: array 'agents' (shape (2, 3, 3), read whole)"); the message adds
/// the size needed, the budget, where it comes from and how to raise it. Below 1 MiB only a
/// budget that was given (set_memory_limit, DGEVAL_MEMORY_LIMIT) is checked.
void check_memory(std::int64_t bytes, const std::string& what);

namespace detail {

/// Where the budget is looked for (tests point these at files of their own).
struct MemoryProbe {
  std::string meminfo = "/proc/meminfo";
  std::string self_cgroup = "/proc/self/cgroup";
  std::string mountinfo = "/proc/self/mountinfo";
  std::string statm = "/proc/self/statm";
  /// The address-space limit in bytes; -1 for none, -2 to ask getrlimit(RLIMIT_AS).
  std::int64_t address_space_limit = -2;
};

/// The detected budget (no override, no environment).
MemoryBudget detect_memory_budget(const MemoryProbe& probe = MemoryProbe{});

}  // namespace detail
}  // namespace dgeval
