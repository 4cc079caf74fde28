// The bound surface's binning (docs/MATH.md §7.3), shared by the CPU and the device: one game's bin and
// bound checks from its result columns, and the integer accumulators of a bin.
//
// A bin keeps its count, Σ PWR, max PWR and two bound-check counts as unsigned 64-bit integers:
// Σ PWR in 128-bit fixed point (each PWR · 2^bits rounded to nearest, added to a low and a high
// word with the low word's carry) and max PWR as an order-preserving image of the double's bits.
// Integer sums and maxima do not depend on the order of the games, so the device can add a
// chunk's games with atomics and still give the same bins on every run, for any chunk size and
// thread count, and the CPU gives the same bins from the same PWR values.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#include "dgeval/detail/hd.hpp"
#include "dgeval/detail/measures.hpp"

namespace dgeval {
namespace detail {

/// The most games one chunk may hold (the device indexes a chunk's games with 64-bit integers,
/// but its launch and buffers are sized for at most this many).
constexpr std::int64_t kSurfaceMaxChunk = (std::int64_t{1} << 31) - 1;

struct SurfaceBinning {
  int players = 0;
  int bins_x = 1, bins_y = 1;
  double wr_max = 1.0, tm_max = 1.0;  ///< the axes' ranges
  double simple_factor = 0.0;         ///< 2zK·f: the misalignment term of the simple bound R·WR + 2zK·f·TM
  double pwr_limit = 0.0;  ///< the largest |PWR| a game can have (K_m·f·Σ m̂); beyond it, twice over, a game is refused
  double fixed_scale = 1.0;  ///< 2^bits: Σ PWR is kept as Σ round(PWR · fixed_scale)
};

/// The fixed-point scale 2^bits for PWR values up to `pwr_limit`: the largest (at most 2^60)
/// that keeps one game, at twice the limit, below 2^62. The 128-bit sum of up to 2^63 games
/// then cannot overflow, and PWR ≈ 1 keeps about 60 bits, more than a double's 53.
inline double surface_fixed_scale(double pwr_limit) {
  int bits = 60;
  while (bits > 0 && 2.0 * pwr_limit * ::ldexp(1.0, bits) >= ::ldexp(1.0, 62)) --bits;
  return ::ldexp(1.0, bits);
}

/// One game's place on the surface.
struct SurfaceRecord {
  bool valid;         ///< WR, TM and PWR finite and |PWR| within twice the limit
  int bin;            ///< ix · bins_y + iy
  double tm;          ///< total misalignment Σ m̂_i (1 − IA_i)
  bool above_simple;  ///< PWR > WR + 2zK·f·TM (+ tolerance)
  bool above_bound;   ///< the evaluator's R2 check failed (a theorem: expected never)
};

/// The record of a game from its result columns: WR, PWR, the principals' magnitudes m̂_i and
/// IA_i ([players] each), ŵ⁺ and ŵ⁻ (the tolerance scale) and bound_holds (1, 0 or NaN: only 0
/// is a failed check; an undefined strategy's game has a NaN PWR and is not valid anyway).
DGEVAL_HD SurfaceRecord surface_record(const SurfaceBinning& b, double wr, double pwr, const double* m_hat,
                                       const double* ia, double wh_utopia, double wh_dystopia, double bound_holds) {
  // Products through mul_rn, so nvcc does not contract them into FMAs the host does not make.
  SurfaceRecord r;
  double tm = 0.0;
  for (int i = 0; i < b.players; ++i) tm += mul_rn(m_hat[i], 1.0 - ia[i]);
  r.tm = tm;
  r.valid = ::fabs(wr) <= 1e300 && ::fabs(tm) <= 1e300 && ::fabs(pwr) <= 2.0 * b.pwr_limit;  // false for NaN
  const double fx = r.valid ? wr / b.wr_max * b.bins_x : 0.0;
  const double fy = r.valid ? tm / b.tm_max * b.bins_y : 0.0;
  const int ix = fx < 0.0 ? 0 : (fx >= b.bins_x ? b.bins_x - 1 : static_cast<int>(fx));
  const int iy = fy < 0.0 ? 0 : (fy >= b.bins_y ? b.bins_y - 1 : static_cast<int>(fy));
  r.bin = ix * b.bins_y + iy;
  const double tol = bound_tolerance(wh_utopia, wh_dystopia);
  r.above_simple = pwr > wr + mul_rn(b.simple_factor, tm) + tol;
  r.above_bound = bound_holds == 0.0;
  return r;
}

/// round(PWR · scale) as the two's-complement bits of a signed 64-bit integer.
DGEVAL_HD std::uint64_t surface_fixed(double pwr, double scale) {
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(::llrint(pwr * scale)));
}

/// What to add to the high word of a 128-bit sum when the 64-bit two's-complement value q was
/// added to a low word that held `old_low`: q's sign extension plus the low word's carry.
DGEVAL_HD std::uint64_t surface_high_increment(std::uint64_t old_low, std::uint64_t q) {
  const std::uint64_t carry = old_low + q < old_low ? 1u : 0u;
  return carry + ((q >> 63) ? ~std::uint64_t{0} : 0u);
}

/// An unsigned image of a double that orders like the double (NaN aside); 0 is below all.
DGEVAL_HD std::uint64_t surface_orderable(double x) {
  std::uint64_t u;
  ::memcpy(&u, &x, sizeof u);
  return (u >> 63) ? ~u : (u | (std::uint64_t{1} << 63));
}
DGEVAL_HD double surface_from_orderable(std::uint64_t u) {
  u = (u >> 63) ? (u & ~(std::uint64_t{1} << 63)) : ~u;
  double x;
  ::memcpy(&x, &u, sizeof x);
  return x;
}

/// The accumulators of every bin, as five arrays of `bins` integers in one buffer.
enum SurfaceField : int {
  surface_count = 0,
  surface_sum_low = 1,   ///< Σ round(PWR · scale), low 64 bits
  surface_sum_high = 2,  ///< and high 64 bits (two's complement over both)
  surface_max = 3,
  surface_above_simple = 4,
  surface_above_bound = 5,
  surface_fields = 6,
};

}  // namespace detail
}  // namespace dgeval
