// The built-in examples: the worked games of docs/MATH.md §8.
#pragma once

#include <string>
#include <vector>

#include "dgeval/game.hpp"
#include "dgeval/options.hpp"

namespace dgeval {

struct Example {
  std::string name;         ///< e.g. "mammoth"
  std::string description;  ///< one line, with the section of docs/MATH.md
  Batch batch;              ///< one game
  Options options;          ///< the options docs/MATH.md §8 evaluates it with
};

/// Names of all built-in examples, in the order of docs/MATH.md §8.
std::vector<std::string> example_names();
/// The example called `name`; throws dgeval::error listing the names if unknown.
Example make_example(const std::string& name);

}  // namespace dgeval
