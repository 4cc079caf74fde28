#include "dgeval/version.hpp"

#ifndef DGEVAL_VERSION_STRING
#define DGEVAL_VERSION_STRING "unknown"
#endif

namespace dgeval {
const char* version() { return DGEVAL_VERSION_STRING; }
}  // namespace dgeval
