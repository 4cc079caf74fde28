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

}  // namespace dgeval
