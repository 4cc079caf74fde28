// The CLI's commands and the options they share.
#pragma once

#include <stdexcept>
#include <string>

namespace cxxopts {
class Options;
class ParseResult;
}  // namespace cxxopts

namespace dgeval {
struct Options;
namespace cli {

/// A command-line mistake (unknown flag, missing value): exit code 2.
class usage_error : public std::runtime_error {
 public:
  explicit usage_error(const std::string& what) : std::runtime_error(what) {}
};

int evaluate_command(int argc, char** argv);

/// Adds the evaluation options of the core (standardisation, welfare, IC, CC, strategy, ...).
void add_evaluation_options(cxxopts::Options& options);
/// Reads them back into `out` (strategy kinds only; FILE strategies are read by the caller).
void read_evaluation_options(const cxxopts::ParseResult& parsed, Options& out);

}  // namespace cli
}  // namespace dgeval
