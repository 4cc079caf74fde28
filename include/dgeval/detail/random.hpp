// Counter-based random numbers (Random123 Philox4x32-10), identical on host and device.
// A value depends only on (seed, game, index), so game g of a run is the same whatever the
// thread count, the backend, or where a run is split or resumed.
#pragma once

#include <cstdint>

#include <Random123/philox.h>

#include "dgeval/detail/hd.hpp"

namespace dgeval {
namespace detail {

/// Four 32-bit words for counter block `block` of game `game` under `seed`.
DGEVAL_HD r123::Philox4x32::ctr_type philox_block(std::uint64_t seed, std::uint64_t game, std::uint64_t block) {
  r123::Philox4x32 rng;
  r123::Philox4x32::ctr_type ctr = {{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                                     static_cast<std::uint32_t>(game), static_cast<std::uint32_t>(game >> 32)}};
  r123::Philox4x32::key_type key = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  return rng(ctr, key);
}

/// 53-bit uniform in [0, 1) from two 32-bit words.
DGEVAL_HD double u01_from_words(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 32) | lo;
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);
}

/// The index-th uniform [0, 1) number of game `game` under `seed`. Each Philox block yields
/// two numbers: index 2b from words (0,1) and index 2b+1 from words (2,3) of block b.
DGEVAL_HD double philox_uniform(std::uint64_t seed, std::uint64_t game, std::uint64_t index) {
  const r123::Philox4x32::ctr_type r = philox_block(seed, game, index >> 1);
  return (index & 1) ? u01_from_words(r[2], r[3]) : u01_from_words(r[0], r[1]);
}

}  // namespace detail
}  // namespace dgeval
