// dgeval::error: the one exception type for bad input and misuse. Messages name what was
// wrong, where (file, position, array, game, player), and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace dgeval {

class error : public std::runtime_error {
 public:
  explicit error(const std::string& what) : std::runtime_error(what) {}
};

/// The device cannot run this batch (out of device or pinned memory, a game larger than the
/// device allows) although the input is fine: `--backend auto` falls back to the CPU on it.
class resource_error : public error {
 public:
  explicit resource_error(const std::string& what) : error(what) {}
};

}  // namespace dgeval
