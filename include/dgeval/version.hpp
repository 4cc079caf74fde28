#pragma once
namespace dgeval {
/// The library version, "major.minor.patch".
const char* version();
}  // namespace dgeval
