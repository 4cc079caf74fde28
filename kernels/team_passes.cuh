// The passes over one game staged on chip, written once for the teams of kernels/team_evaluate.cu
// (quad, warp and block teams: the whole game in the block's shared memory) and the cluster team
// of kernels/cluster_evaluate.cu (the game's outcomes dealt to the blocks of a thread block
// cluster in runs, each block holding its slice). Passes, named as on the CPU
// (host/backends/cpu/) and the tiled path:
//   stats       per vector sum/min/max → shift; welfare extrema; (EPIC) centred sums of squares → m
//   align       the CA means μ of both sides once per outcome (into the per-outcome scratch), then
//               per player the IA and CA distances (the distance matrix, where asked for, last of all)
//   equilibria  ε-Nash mask per outcome (each player's fiber read where it lies), counts,
//               worst/best NE
//   strategy    strategy sums (over a uniform set or the played set; σ-weighted for correlated,
//               product)
//   finish      the finishing step of detail/finish.hpp (the CPU backend's)
//
// The body is templated on
//   Team      the reduction (device_common.cuh's WarpTeam and BlockTeam, or the cluster's
//             ClusterTeam: a block reduction folded across the blocks in rank order): rank(),
//             size(), sync() (among the threads that share the game's state and summary), and
//             reduce(v, op), an all-reduction over the whole game's outcomes;
//   Outcomes  how a member walks its outcomes and reads their utilities:
//               each(rank, size, f)       f(j, s) for each of the member's outcomes s, at slot j
//                                         of the staged values and of the per-outcome scratch, in
//                                         increasing order;
//               each_word(rank, size, f)  f(j0, s0) for each 32-outcome word of the equilibrium
//                                         list that the member writes (outcomes s0 .. s0 + 31 at
//                                         slots j0 .. j0 + 31);
//               by_slot()                 the accessor at(v, j) of value v at slot j;
//               by_outcome()              the accessor at(v, s) of value v at outcome s, wherever
//                                         it lies (the fibers and the finishing step);
//               weight(p, g, s)           σ(s) of a correlated or product strategy;
//               writes_results()          whether this block's rank 0 writes the game's results;
//   Game      game() gives the game's index in the chunk.
// Rank 0 of the team writes the state and the summary (each block its own copy on the cluster:
// every member holds the reduced values); the writer, rank 0 where writes_results(), writes the
// results. Every member makes the same reductions in the same order.
#pragma once

#include <cstdint>

#include "device_common.cuh"

namespace dgeval {
namespace cuda {
namespace dev {

/// Game g, held as a value (the block and cluster teams).
struct FixedGame {
  i64 g;
  __device__ i64 operator()() const { return g; }
};

/// The passes over one game: `scratch` is the per-outcome scratch (μ, 16 bytes per slot, during
/// align; the ε-Nash mask, one byte per slot, from equilibria on), `summary` the game's
/// GameSummary and `state` its arrays (game_arrays_at's layout), all in shared memory.
template <class Team, class Outcomes, class Game>
__device__ void evaluate_team_game(Team& team, const Outcomes& o, const EvalParams& p, const DeviceOutputs& out,
                                   const Game& game, unsigned char* scratch, GameSummary* summary, double* state) {
  const int n = p.n, nv = 2 * n;
  const int N = static_cast<int>(p.N);
  const detail::AnyNorm norm{p.standardisation};
  const int rank = team.rank(), size = team.size();
  const bool writer = rank == 0 && o.writes_results();
  const auto loc = o.by_slot();  // indexed by slot
  // The per-game arrays (game_arrays_at's layout), addressed from `state` where they are used so
  // that no pointer per array stays live across the passes.
  enum : int { kLo = 0, kHi = 2, kShift = 4, kMag = 6, kInv = 8, kIa = 10, kSu = 11, kSuh = 12 };
  auto at_state = [state, n](int array, int v) -> double& { return state[array * n + v]; };
  // The summary lives in shared memory (not in registers across the passes): rank 0 writes each
  // field after its reduction, the team reads it after a sync.
  GameSummary& S = *summary;
  if (rank == 0) S = summary_empty();

  // stats: per-vector sum, min, max → shift.
  bool nonfinite = false;
  for (int v = 0; v < nv; ++v) {
    Stats st = stats_empty();
    o.each(rank, size, [&](int j, int) { stats_add(st, loc(v, j)); });
    st = team.reduce(st, StatsOp());
    nonfinite = nonfinite || !finite(st.sum);
    if (rank == 0) {
      at_state(kLo, v) = st.lo;
      at_state(kHi, v) = st.hi;
      at_state(kShift, v) = detail::shift_of(p.standardisation, st.sum, N, st.lo, st.hi);
    }
  }
  if (nonfinite) {  // uniform across the team: every member holds the same sums
    if (writer) write_nonfinite_game(p, out, game());
    return;
  }
  {
    const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
    WelfareExt we = welfare_empty();
    o.each(rank, size, [&](int j, int s) {
      const double w = welfare_at(p, ws, loc, 0, j), wh = welfare_at(p, ws, loc, n, j);
      we.add(w, wh, s);
    });
    we = team.reduce(we, WelfareOp());
    if (rank == 0) we.to_summary(S);
  }
  team.sync();

  // stats: magnitudes and their inverses.
  if (detail::needs_centred_squares(p.standardisation)) {
    for (int v = 0; v < nv; ++v) {
      const double c = at_state(kShift, v);
      double acc = 0.0;
      o.each(rank, size, [&](int j, int) {
        const double d = loc(v, j) - c;
        acc += d * d;
      });
      acc = team.reduce(acc, PlusOp());
      if (rank == 0) {
        at_state(kMag, v) = detail::magnitude_of(p.standardisation, acc, at_state(kLo, v), at_state(kHi, v));
        at_state(kInv, v) = detail::inverse_magnitude_of(at_state(kMag, v));
      }
    }
  } else if (rank == 0) {
    for (int v = 0; v < nv; ++v) {
      at_state(kMag, v) = detail::magnitude_of(p.standardisation, 0.0, at_state(kLo, v), at_state(kHi, v));
      at_state(kInv, v) = detail::inverse_magnitude_of(at_state(kMag, v));
    }
  }
  team.sync();

  // align: alignment (detail/alignment.hpp). The CA means μ of both sides once per outcome, into the
  // per-outcome scratch (two doubles per slot; each member reads back only its own slots), then one
  // pass per player.
  auto nu = [&](int v, int j) {
    return detail::standardised_by_inverse(loc(v, j), at_state(kShift, v), at_state(kInv, v));
  };
  double* mu = reinterpret_cast<double*>(scratch);
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, state + kMag * n));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, state + kMag * n + n));
  o.each(rank, size, [&](int j, int) {
    detail::CaMean<double> mean_a, mean_p;
#pragma unroll 1  // unrolled, the block team takes 105 registers (100 rolled)
    for (int i = 0; i < n; ++i) {
      mean_a.add(at_state(kMag, i), nu(i, j));
      mean_p.add(at_state(kMag, n + i), nu(n + i, j));
    }
    mu[2 * j] = mean_a.value(inv_weight_a);
    mu[2 * j + 1] = mean_p.value(inv_weight_p);
  });
  detail::CaSum<double> ca_a, ca_p;
  for (int i = 0; i < n; ++i) {
    Acc3 acc{0.0, 0.0, 0.0};
    o.each(rank, size, [&](int j, int) {
      const double a = nu(i, j), b = nu(n + i, j);
      const double ma = mu[2 * j], mp = mu[2 * j + 1];
      acc.a = norm.accumulate(acc.a, a - b);
      acc.b = norm.accumulate(acc.b, a - ma);
      acc.c = norm.accumulate(acc.c, b - mp);
    });
    acc = team.reduce(acc, NormOp3{norm});
    if (rank == 0) at_state(kIa, i) = detail::ia_from_norm(norm.finish(acc.a), p.constants);
    ca_a.add(at_state(kMag, i), norm.finish(acc.b));
    ca_p.add(at_state(kMag, n + i), norm.finish(acc.c));
  }
  if (rank == 0) {
    S.ca_agents = ca_a.value();
    S.ca_principals = ca_p.value();
  }
  team.sync();  // the mask below overwrites the scratch of μ

  // equilibria: the ε-Nash mask (bit 0 pure NE, bit 1 ε-NE at IC), counts and worst/best equilibria.
  unsigned char* mask = scratch;
  {
    const auto at = o.by_outcome();
    const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
    NeExt e = ne_empty();
    o.each(rank, size, [&](int j, int s) {
      unsigned m = 3u;
      for (int i = 0; i < n && m != 0u; ++i) {
        const int k = static_cast<int>(p.k[i]);
        if (k < 2) continue;  // a single action always passes: u + tol >= fma(IC, 0, u) = u
        const int stride = static_cast<int>(p.stride[i]);
        const int base = s - ((s / stride) % k) * stride;
        double lo = inf(), hi = -inf();
        for (int a = 0; a < k; ++a) {
          const double y = at(i, base + a * stride);
          lo = y < lo ? y : lo;
          hi = y > hi ? y : hi;
        }
        m &= ne_bits_for(p, i, loc(i, j), lo, hi);
      }
      mask[j] = static_cast<unsigned char>(m);
      if (m != 0u) {
        e.add(m, welfare_at(p, ws, loc, 0, j), s);
      }
    });
    e = team.reduce(e, NeOp());
    if (rank == 0) e.to_summary(S);
  }
  team.sync();  // the mask and the summary are complete
  if (p.list_equilibria) {
    const Global<Mem::output, std::uint32_t> bits = out.ne_bits + game() * out.ne_words;
    o.each_word(rank, size, [&](int j0, int s0) {
      std::uint32_t word = 0u;
      for (int b = 0; b < 32; ++b) {
        if (s0 + b < N && (mask[j0 + b] & 1u)) word |= 1u << b;
      }
      bits.store(s0 / 32, word);
    });
  }

  // strategy: strategies gathered from the outcomes.
  const StrategyKind kind = p.strategy;
  // Each player's sums of u_i and û_i over the outcomes of a set (in_set(j) for the outcome at
  // slot j), into the state's su and suh.
  auto store_set_sums = [&](auto in_set) {
    for (int i = 0; i < n; ++i) {
      Acc2 acc{0.0, 0.0};
      o.each(rank, size, [&](int j, int) {
        if (in_set(j)) {
          acc.a += loc(i, j);
          acc.b += loc(n + i, j);
        }
      });
      acc = team.reduce(acc, Plus2Op());
      if (rank == 0) {
        at_state(kSu, i) = acc.a;
        at_state(kSuh, i) = acc.b;
      }
    }
  };
  if (kind == StrategyKind::uniform_ne || kind == StrategyKind::uniform_eps_ne) {
    const unsigned want = kind == StrategyKind::uniform_ne ? 1u : 2u;
    const i64 count = kind == StrategyKind::uniform_ne ? S.ne : S.eps;
    if (count > 0) store_set_sums([&](int j) { return (mask[j] & want) != 0u; });
    if (rank == 0) S.strategy_defined = count > 0;
  } else if (kind == StrategyKind::played) {
    if (S.ne > 0 && S.eps > 0) {
      double lo, hi;
      detail::played_window(p.cc, S.w_max.value, S.worst_ne.value, S.worst_eps.value, p.cc_window, &lo, &hi);
      const double tol = p.played_tolerance;
      const detail::WelfareScale ws = detail::welfare_scale(n, p.welfare);
      const double mid = (lo + hi) / 2;
      PlayedExt pe{0, arg_empty()};
      o.each(rank, size, [&](int j, int s) {
        const double w = welfare_at(p, ws, loc, 0, j);
        if (lo - tol < w && w < hi + tol) {
          ++pe.count;
        } else {
          pe.closest = arg_min(pe.closest, ArgExt{fabs(w - mid), s});
        }
      });
      pe = team.reduce(pe, PlayedOp());
      if (pe.count > 0) {
        store_set_sums([&](int j) {
          const double w = welfare_at(p, ws, loc, 0, j);
          return lo - tol < w && w < hi + tol;
        });
      }
      team.sync();  // every member has read the window from the summary
      if (rank == 0) {
        S.strategy_defined = 1;
        S.played_count = pe.count;
        S.closest = pe.closest;
      }
    }
  } else if (strategy_has_weights(kind)) {
    const i64 g = game();
    for (int i = 0; i < n; ++i) {
      Acc2 acc{0.0, 0.0};
      o.each(rank, size, [&](int j, int s) {
        const double sigma = o.weight(p, g, s);
        if (sigma == 0.0) return;
        acc.a += sigma * loc(i, j);
        acc.b += sigma * loc(n + i, j);
      });
      acc = team.reduce(acc, Plus2Op());
      if (rank == 0) {
        at_state(kSu, i) = acc.a;
        at_state(kSuh, i) = acc.b;
      }
    }
    if (rank == 0) S.strategy_defined = 1;
  }
  team.sync();
  if (writer)
    finish_game<true>(p, out, game(), S, game_arrays_at(state, n), o.by_outcome());  // the bounds' divisions inline
  if (p.distance_matrix) {  // last: the fewest values live across it
    const Global<Mem::output, double> dm = out.distance_matrix + game() * nv * nv;
    for (int x = 0; x < nv; ++x) {
      if (writer) dm.store(x * nv + x, 0.0);
      for (int y = x + 1; y < nv; ++y) {
        double acc = 0.0;
        o.each(rank, size, [&](int j, int) { acc = norm.accumulate(acc, nu(x, j) - nu(y, j)); });
        acc = team.reduce(acc, NormOp1{norm});
        if (writer) {
          const double d = detail::distance_from_norm(norm.finish(acc), p.constants);
          dm.store(x * nv + y, d);
          dm.store(y * nv + x, d);
        }
      }
    }
  }
}

}  // namespace dev
}  // namespace cuda
}  // namespace dgeval
