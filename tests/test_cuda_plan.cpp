// The CUDA backend's host-side planning (host/backends/cuda/cuda_plan.hpp): path choice, shared-memory layouts,
// tiled geometry, output layout and chunk planning. Plain C++: runs on machines without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "backends/cuda/cuda_plan.hpp"
#include "backends/cuda/sweep_plan.hpp"
#include "dgeval/dgeval.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace cuda {
namespace {

const DeviceLimits kH100{};

/// The tiled kernels' shared-memory layout (kernels/tiled_evaluate.cu): tile region and mask
/// region aligned to 128 bytes, then the block accumulators.
std::size_t tiled_kernel_shared(const TiledGeometry& t, int n, std::size_t vb) {
  return round_up(static_cast<std::size_t>(2 * n) * static_cast<std::size_t>(t.tile) * vb, 128) +
         round_up(static_cast<std::size_t>(t.tile), 128) + static_cast<std::size_t>(t.accum_doubles) * 8;
}

TEST(CudaPlan, PaperShapesTakeTheExpectedPaths) {
  EXPECT_EQ(choose_path(2, 9, 4, kH100), Path::thread_game);
  EXPECT_EQ(choose_path(2, 9, 8, kH100), Path::thread_game);
  EXPECT_EQ(choose_path(2, 16, 8, kH100), Path::thread_game);
  EXPECT_EQ(choose_path(2, 25, 8, kH100), Path::quad_team);
  EXPECT_EQ(choose_path(3, 100, 4, kH100), Path::warp_team);
  EXPECT_EQ(choose_path(4, 1008, 4, kH100), Path::block_team);
  EXPECT_EQ(choose_path(4, 1008, 8, kH100), Path::block_team);
  EXPECT_EQ(choose_path(5, 10080, 4, kH100), Path::cluster_team);  // 7x3x8x5x12
  EXPECT_EQ(choose_path(5, 10080, 8, kH100), Path::cluster_team);
  EXPECT_EQ(choose_path(6, 99225, 4, kH100), Path::tiled);  // 15x7x3x7x9x5: larger than a cluster
  EXPECT_EQ(choose_path(2, 4096LL * 4096, 4, kH100), Path::tiled);
  EXPECT_EQ(choose_path(2, 16384LL * 16384, 4, kH100), Path::tiled);
  EXPECT_EQ(choose_path(2, 46341LL * 46341, 4, kH100), Path::tiled);
}

// blocks_per_sm counts resident blocks as the CUDA occupancy calculator does (registers per warp
// in units of 256, shared memory in units of 128 bytes plus the per-block reserve, the SM's thread
// and block limits), for an H100 and for devices with smaller SMs. Hand-counted figures.
TEST(CudaPlan, BlocksPerSmCountsAsTheOccupancyCalculatorDoes) {
  // The 3x3 thread-path kernel, 128 threads at 80 registers: 2,560 registers a warp, 6 blocks
  // (6.4); by shared memory 11 in float32 (152 bytes a game: 20,480 with the reserve) and exactly
  // 6 in float64 (296 bytes a game: 38,912, 6 x 38,912 = 233,472).
  EXPECT_EQ(blocks_per_sm(152 * 128, 128, 80, kH100), 6);
  EXPECT_EQ(blocks_per_sm(152 * 128, 128, 64, kH100), 8);
  EXPECT_EQ(blocks_per_sm(152 * 128, 128, 32, kH100), 11) << "shared memory binds";
  EXPECT_EQ(blocks_per_sm(296 * 128, 128, 32, kH100), 6);
  EXPECT_EQ(blocks_per_sm(296 * 128 + 1, 128, 32, kH100), 5) << "a byte more rounds up to 128";
  // The sweep kernel: 248 registers round up to 256 a thread, 65,536 for 256 threads.
  EXPECT_EQ(blocks_per_sm(152 * 1024, 256, 248, kH100), 1);
  EXPECT_EQ(blocks_per_sm(16 * 1024, 256, 248, kH100), 1);
  EXPECT_EQ(blocks_per_sm(16 * 1024, 128, 248, kH100), 2);
  // The cluster kernel at 128 registers and 112 KiB: two blocks, by registers and by shared memory.
  EXPECT_EQ(blocks_per_sm(112 * 1024, 256, kClusterRegisters, kH100), 2);
  EXPECT_EQ(blocks_per_sm(114 * 1024, 256, kClusterRegisters, kH100), 1);
  // The thread and block limits.
  EXPECT_EQ(blocks_per_sm(0, 1024, 16, kH100), 2) << "2048 threads";
  EXPECT_EQ(blocks_per_sm(0, 32, 16, kH100), 32) << "32 blocks";
  // Nothing fits.
  EXPECT_EQ(blocks_per_sm(kH100.shared_per_sm, 32, 16, kH100), 0);
  EXPECT_EQ(blocks_per_sm(0, 1024, 255, kH100), 0);
  EXPECT_EQ(blocks_per_sm(0, 0, 16, kH100), 0);
  // An A100 (164 KiB of shared memory an SM): two blocks of 80 KiB, one of 82 KiB.
  DeviceLimits a100 = kH100;
  a100.clusters = false;
  a100.shared_optin = 166912 - 4096;
  a100.shared_per_sm = 167936;
  EXPECT_EQ(blocks_per_sm(80 * 1024, 256, 64, a100), 2);
  EXPECT_EQ(blocks_per_sm(82 * 1024, 256, 64, a100), 1);
  EXPECT_EQ(blocks_per_sm(152 * 1024, 256, 248, a100), 1);
  EXPECT_EQ(blocks_per_sm(164 * 1024, 256, 248, a100), 0) << "with the reserve, more than the SM's";
  // An sm_86 or sm_89 part (100 KiB, 1536 threads, 16 blocks an SM; 24 blocks on sm_89).
  DeviceLimits ada = a100;
  ada.shared_per_sm = 102400;
  ada.threads_per_sm = 1536;
  ada.max_blocks_per_sm = 16;
  EXPECT_EQ(blocks_per_sm(0, 32, 16, ada), 16);
  EXPECT_EQ(blocks_per_sm(0, 256, 16, ada), 6);
  EXPECT_EQ(blocks_per_sm(152 * 128, 128, 80, ada), 5) << "shared memory binds: 5 x 20,480";
}

// The cluster team needs thread block clusters (compute capability 9): without them mid-size
// games take the tiled path; with them, the games that fit a cluster of at most 8 blocks.
TEST(CudaPlan, ClusterTeamOnlyWhereTheDeviceHasClustersAndTheGameFits) {
  DeviceLimits a100 = kH100;
  a100.clusters = false;
  a100.shared_optin = 166912 - 4096;
  EXPECT_EQ(choose_path(5, 10080, 4, a100), Path::tiled);
  EXPECT_EQ(choose_path(5, 10080, 8, a100), Path::tiled);
  EXPECT_EQ(cluster_geometry_for(5, 10080, 4, a100, 100).blocks, 0);
  EXPECT_EQ(choose_path(4, 1008, 4, a100), Path::block_team) << "the team paths need no clusters";
  // Block-team games stay there; the largest game a cluster holds, and one outcome more.
  EXPECT_EQ(choose_path(4, 1008, 8, kH100), Path::block_team);
  const std::size_t optin = kH100.shared_optin;
  std::int64_t largest = 0;
  for (std::int64_t N = 1 << 14; N < (1 << 16); N += 256) {
    if (cluster_geometry_for(5, N, 4, kH100, 1).blocks > 0) largest = N;
  }
  ASSERT_GT(largest, 0);
  EXPECT_EQ(cluster_geometry_for(5, largest + 256, 4, kH100, 1).blocks, 0);
  EXPECT_EQ(choose_path(5, largest + 256, 4, kH100), Path::tiled);
  // Long fibers (the ε-Nash test reads Σ k_i utilities per outcome): the tiled path.
  EXPECT_EQ(choose_path(Dims({7, 3, 8, 5, 12}), 4, kH100), Path::cluster_team);
  EXPECT_EQ(fiber_reads_per_outcome(Dims({7, 3, 8, 5, 12})), 35);
  EXPECT_EQ(choose_path(1, 20000, 4, kH100), Path::cluster_team) << "it fits a cluster";
  EXPECT_EQ(choose_path(Dims({20000}), 4, kH100), Path::tiled);
  EXPECT_EQ(choose_path(Dims({128, 128}), 4, kH100), Path::cluster_team);  // 256 reads per outcome
  EXPECT_EQ(choose_path(Dims({129, 128}), 4, kH100), Path::tiled);
  EXPECT_EQ(choose_path(Dims({4, 1, 5, 7}), 8, a100), Path::warp_team);
  // Forced sizes outside the kernel's: not powers of two, over 8 blocks, runs outside 32..256.
  EXPECT_EQ(cluster_geometry_for(3, 60, 8, kH100, 1, 3).blocks, 0);
  EXPECT_EQ(cluster_geometry_for(3, 60, 8, kH100, 1, 16).blocks, 0);
  EXPECT_EQ(cluster_geometry_for(3, 60, 8, kH100, 1, 2, 48).blocks, 0);
  EXPECT_EQ(cluster_geometry_for(3, 60, 8, kH100, 1, 2, 512).blocks, 0);
  // Layouts: every outcome has a slot, the regions are aligned, disjoint and within the limit; at
  // most one cluster per game, at least one.
  for (int n : {3, 5, 6}) {
    for (std::int64_t N : {std::int64_t{60}, std::int64_t{10080}, std::int64_t{20000}}) {
      for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
        for (std::int64_t games : {std::int64_t{1}, std::int64_t{3}, std::int64_t{100000}}) {
          const ClusterGeometry g = cluster_geometry_for(n, N, vb, kH100, games);
          if (g.blocks == 0) continue;
          EXPECT_GE(g.local * g.blocks, N);
          EXPECT_EQ(g.local % g.run, 0);
          EXPECT_LE(g.shared_bytes, optin);
          EXPECT_GE(g.mu_offset, g.data_offset + static_cast<std::size_t>(2 * n * g.local) * vb);
          EXPECT_GE(g.state_offset, g.mu_offset + 16 * static_cast<std::size_t>(g.local));
          EXPECT_GE(g.summary_offset, g.state_offset + static_cast<std::size_t>(state_doubles(n)) * 8);
          EXPECT_GE(g.reduce_offset, g.summary_offset + sizeof(GameSummary));
          EXPECT_EQ(g.exchange_offset, g.reduce_offset + 32 * kClusterPayload);
          EXPECT_EQ(g.shared_bytes, g.exchange_offset + 2 * kClusterPayload);
          for (std::size_t off : {g.mu_offset, g.state_offset, g.summary_offset, g.reduce_offset}) {
            EXPECT_EQ(off % 128, 0u);
          }
          EXPECT_GE(g.clusters, 1);
          EXPECT_LE(g.clusters, games);
        }
      }
    }
  }
}

TEST(CudaPlan, TeamLayoutsFitAndAvoidBankConflicts) {
  for (int n : {1, 2, 3, 4, 6}) {
    for (std::int64_t N : {1LL, 2LL, 9LL, 13LL, 32LL, 100LL, 511LL, 1008LL, 3000LL}) {
      for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
        for (Path p : {Path::thread_game, Path::quad_team, Path::warp_team, Path::block_team}) {
          const TeamGeometry g = team_geometry_for(p, n, N, vb, kH100);
          if (g.path != p) continue;  // does not fit: the planner falls through to a larger path
          SCOPED_TRACE(std::string(path_name(p)) + " n=" + std::to_string(n) + " N=" + std::to_string(N));
          EXPECT_GE(g.games_per_block, 1);
          EXPECT_EQ(g.threads % 32, 0);
          EXPECT_LE(g.threads, 256);
          if (p != Path::block_team) {
            EXPECT_EQ(g.threads, g.team_width * g.games_per_block);
          }
          EXPECT_GE(g.data_stride, static_cast<std::size_t>(2 * n * N) * vb);
          if (p == Path::thread_game) {  // the staged games only: the rest lives in registers
            EXPECT_EQ(g.mask_stride, 0u);
            EXPECT_EQ(g.state_stride, 0u);
            EXPECT_GE(n, kThreadMinPlayers);
            EXPECT_LE(n, kThreadMaxPlayers);
            EXPECT_LE(N, kThreadMaxOutcomes);
          } else {
            EXPECT_GE(g.mask_stride, static_cast<std::size_t>(N));
            EXPECT_EQ(g.mask_stride % 8, 0u);
            EXPECT_EQ(g.state_stride, static_cast<std::size_t>(13 * n) * 8);
          }
          EXPECT_EQ((g.data_stride) % 8, 0u);  // the state region after data and mask stays 8-aligned
          EXPECT_LE(g.shared_bytes, kH100.shared_optin);
          if (p == Path::quad_team) {
            EXPECT_EQ(g.data_stride % 128, 4 * vb);  // the 8 quads of a warp start on different banks
            EXPECT_EQ(g.games_per_block % 8, 0);
          }
          if (p == Path::thread_game) {
            EXPECT_EQ(g.data_stride / 8 % 2, 1u);  // an odd number of words: a warp's games on different banks
            EXPECT_EQ(g.games_per_block % 32, 0);
          }
          EXPECT_EQ(g.shared_bytes,
                    static_cast<std::size_t>(g.games_per_block) * (g.data_stride + g.mask_stride + g.state_stride));
        }
      }
    }
  }
  // Something always takes tiny games.
  EXPECT_EQ(team_geometry_for(Path::quad_team, 2, 9, 4, kH100).games_per_block, 32);
  // A game larger than any team budget is refused by every team path.
  EXPECT_EQ(team_geometry_for(Path::block_team, 5, 10080, 4, kH100).path, Path::tiled);
}

// The thread path reserves room for the σ-weighted strategy sums (2n doubles after the staged game)
// only for a correlated or product strategy: a 3x3 game takes 296 bytes in float64 without it (6
// blocks of 128 games per SM on sm_90: 37.5%), 328 with it (5), and 152 or 184 in float32.
TEST(CudaPlan, ThreadPathRoomForStrategySumsOnlyWhereUsed) {
  EXPECT_EQ(team_geometry_for(Path::thread_game, 2, 9, 8, kH100, false).data_stride, 296u);
  EXPECT_EQ(team_geometry_for(Path::thread_game, 2, 9, 8, kH100, true).data_stride, 328u);
  EXPECT_EQ(team_geometry_for(Path::thread_game, 2, 9, 4, kH100, false).data_stride, 152u);
  EXPECT_EQ(team_geometry_for(Path::thread_game, 2, 9, 4, kH100, true).data_stride, 184u);
  EXPECT_EQ(team_geometry_for(Path::thread_game, 2, 9, 8, kH100).data_stride, 328u);  // strategy unknown: room
  for (int n = kThreadMinPlayers; n <= kThreadMaxPlayers; ++n) {
    for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
      const TeamGeometry without = team_geometry_for(Path::thread_game, n, 16, vb, kH100, false);
      const TeamGeometry with = team_geometry_for(Path::thread_game, n, 16, vb, kH100, true);
      ASSERT_EQ(without.path, Path::thread_game);
      ASSERT_EQ(with.path, Path::thread_game);
      EXPECT_GE(with.data_stride, without.data_stride + 2 * static_cast<std::size_t>(n) * sizeof(double));
      EXPECT_EQ(without.data_stride / 8 % 2, 1u);
    }
  }
}

void check_tiled(const Dims& d, std::size_t vb, bool dm, std::int64_t games, std::int64_t tile_override = 0,
                 std::int64_t blocks_override = 0) {
  SCOPED_TRACE(d.to_string() + " vb=" + std::to_string(vb) + " tile=" + std::to_string(tile_override) +
               " blocks=" + std::to_string(blocks_override));
  const TiledGeometry t = tiled_geometry(d, vb, dm, games, kH100, tile_override, blocks_override);
  const std::int64_t N = d.outcomes();
  const int n = d.players();
  EXPECT_EQ(t.tile % 32, 0);
  EXPECT_GE(t.tile, 32);
  EXPECT_GE(t.tiles * t.tile, N);
  EXPECT_LT((t.tiles - 1) * t.tile, N);
  EXPECT_GE(t.blocks_per_game, 1);
  EXPECT_GE(t.blocks_per_game * t.tiles_per_block, t.tiles);        // every tile is covered
  EXPECT_LT((t.blocks_per_game - 1) * t.tiles_per_block, t.tiles);  // and no block is empty
  EXPECT_GE(t.games_per_pass, 1);
  EXPECT_LE(t.games_per_pass, 65535);
  EXPECT_LE(t.games_per_pass, std::max<std::int64_t>(games, 1));
  EXPECT_GE(t.partial_width, 8 * n + 8);
  EXPECT_GE(t.accum_doubles, 12 * n + 8);
  EXPECT_LE(tiled_kernel_shared(t, n, vb), t.shared_bytes);
  EXPECT_LE(t.shared_bytes, kH100.shared_optin);
  std::int64_t off = 0;
  for (int i = 0; i < n; ++i) {
    if (d.actions(i) < 2) {
      EXPECT_EQ(t.fiber_offset[i], -1);
      continue;
    }
    EXPECT_EQ(t.fiber_offset[i], off);
    EXPECT_EQ(t.fiber_contexts[i], N / d.actions(i));
    off += 2 * t.fiber_contexts[i];
    EXPECT_GE(t.fiber_segments[i], 1);
    EXPECT_LE(t.fiber_segments[i], 64);
    EXPECT_LE(t.fiber_segments[i], d.actions(i));
    // Every segment holds at least one action: (S − 1)·⌈k/S⌉ < k.
    const std::int64_t seg_len = ceil_div(d.actions(i), t.fiber_segments[i]);
    EXPECT_LT((t.fiber_segments[i] - 1) * seg_len, d.actions(i));
    if (t.fiber_segments[i] > 1) {
      EXPECT_GE(t.segment_values, t.games_per_pass * t.fiber_segments[i] * 2 * t.fiber_contexts[i]);
    }
  }
  EXPECT_EQ(t.fiber_values_per_game, off);
  EXPECT_GT(tiled_scratch_bytes(t, n, vb), 0u);
}

TEST(CudaPlan, TiledGeometryCoversEveryOutcome) {
  for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
    check_tiled(Dims({7, 3, 8, 5, 12}), vb, false, 26000);
    check_tiled(Dims({15, 7, 3, 7, 9, 5}), vb, false, 5400);
    check_tiled(Dims({15, 7, 3, 7, 9, 5}), vb, true, 5400);
    check_tiled(Dims({4096, 4096}), vb, false, 8);
    check_tiled(Dims({16384, 16384}), vb, false, 1);
    check_tiled(Dims({46341, 46341}), vb, false, 1);  // past 2^31 outcomes
    check_tiled(Dims({1, 7}), vb, true, 3);
    check_tiled(Dims({13}), vb, false, 1);
    check_tiled(Dims({3, 3}), vb, false, 5, 32, 1);
    check_tiled(Dims({2, 3, 5}), vb, true, 11, 40, 3);  // 40 rounds down to 32
    check_tiled(Dims({6, 7, 4, 6}), vb, false, 9, 64, 7);
    check_tiled(Dims({2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}), vb, false, 2);
    for (std::int64_t k : {9, 64, 100, 128, 129, 1000, 4097})
      check_tiled(Dims({k, 3}), vb, false, 1);  // segmented fibers
  }
  // Thirty-two players with the distance matrix: the accumulators still fit (with opt-in).
  std::vector<std::int64_t> k32(32, 2);
  check_tiled(Dims(k32), 8, true, 1);
  // Overridden tiles are multiples of 32.
  EXPECT_EQ(tiled_geometry(Dims({97, 89}), 4, false, 3, kH100, 100).tile, 96);
  // A tile never exceeds the game (rounded up to whole bitmask words).
  EXPECT_EQ(tiled_geometry(Dims({3, 3}), 4, false, 3, kH100).tile, 32);
}

TEST(CudaPlan, TiledGeometryPastTwoToThe31) {
  const Dims d({46341, 46341});
  const TiledGeometry t = tiled_geometry(d, 4, false, 1, kH100);
  EXPECT_GT(d.outcomes(), std::int64_t{1} << 31);
  EXPECT_GT(t.tiles * t.tile, std::int64_t{1} << 31);
  EXPECT_EQ(t.fiber_contexts[0], 46341);
  EXPECT_EQ(t.fiber_contexts[1], 46341);
}

TEST(CudaPlan, OutputLayoutIsAlignedAndDisjoint) {
  for (bool dm : {false, true}) {
    for (bool lists : {false, true}) {
      const int n = 3;
      const std::int64_t games = 1001, N = 100;
      const OutputLayout L = output_layout(n, N, games, dm, lists);
      const auto& cols = result_columns();
      ASSERT_EQ(L.column_offset.size(), cols.size());
      std::size_t expect_useful = 0, end = 0;
      for (std::size_t c = 0; c < cols.size(); ++c) {
        const std::size_t bytes =
            static_cast<std::size_t>(games) * (cols[c].kind == ColumnKind::player_real ? n : 1) * 8;
        EXPECT_EQ(L.column_offset[c] % 256, 0u);
        EXPECT_GE(L.column_offset[c], end);
        end = L.column_offset[c] + bytes;
        expect_useful += bytes;
      }
      EXPECT_EQ(expect_useful, static_cast<std::size_t>(games) * column_bytes_per_game(n));
      if (dm) {
        EXPECT_EQ(L.distance_matrix_offset % 256, 0u);
        EXPECT_GE(L.distance_matrix_offset, end);
        end = L.distance_matrix_offset + static_cast<std::size_t>(games) * 36 * 8;
        expect_useful += static_cast<std::size_t>(games) * 36 * 8;
      }
      if (lists) {
        EXPECT_EQ(L.ne_words, 4);
        EXPECT_EQ(L.ne_bits_offset % 256, 0u);
        EXPECT_GE(L.ne_bits_offset, end);
        end = L.ne_bits_offset + static_cast<std::size_t>(games) * 4 * 4;
        expect_useful += static_cast<std::size_t>(games) * 4 * 4;
      }
      EXPECT_GE(L.bytes, end);
      EXPECT_EQ(L.useful_bytes, expect_useful);
    }
  }
  EXPECT_EQ(ne_words_per_game(1), 1);
  EXPECT_EQ(ne_words_per_game(32), 1);
  EXPECT_EQ(ne_words_per_game(33), 2);
}

// The device output buffer of a column selection holds only the selected columns and flags.
TEST(CudaPlan, OutputLayoutOfASelectionHoldsOnlyItsColumns) {
  const OutputLayout all = output_layout(2, 12, 1000, false, false);
  const OutputLayout lean = output_layout(2, 12, 1000, false, false, parse_columns("ia,bound"));
  EXPECT_EQ(lean.useful_bytes, 1000u * 8 * (2 + 1 + 1));
  EXPECT_LT(lean.bytes, all.bytes / 8);
}

TEST(CudaPlan, BytesModel) {
  EXPECT_EQ(input_bytes(Dims({3, 3}), 1, 4), 144u);  // the 3x3 game: 144 bytes of float32
  EXPECT_EQ(input_bytes(Dims({16384, 16384}), 1, 4), std::size_t{4} << 30);
  const auto& cols = result_columns();
  const std::size_t per_player = static_cast<std::size_t>(
      std::count_if(cols.begin(), cols.end(), [](const ColumnInfo& c) { return c.kind == ColumnKind::player_real; }));
  EXPECT_EQ(per_player, 6u);
  EXPECT_EQ(column_bytes_per_game(2), (cols.size() + per_player) * 8);  // 3x3: 296 bytes, twice the input
}

// The L∞ bounds' records in two bytes (sweep_plan.hpp): bound_half_value decodes every binary16
// pattern, and bound_half_up(x) is the least half not below x, against a plain search of the sorted
// finite halves, for every half, its neighbours by one double's step, and fresh random doubles over
// 40 binades of either sign (subnormal halves and beyond the largest included).
TEST(CudaPlan, BoundHalvesAreTheLeastHalfNotBelow) {
  std::vector<double> halves;  // every finite half value, ascending (−0 and +0 both kept)
  for (unsigned b = 0; b < 65536u; ++b) {
    const double v = bound_half_value(static_cast<std::uint16_t>(b));
    const int e = (b >> 10) & 31;
    if (e == 31) {
      EXPECT_EQ(std::isnan(v), (b & 1023u) != 0u) << b;
      if ((b & 1023u) == 0u) {
        EXPECT_EQ(v, (b & 0x8000u) ? -INFINITY : INFINITY) << b;
      }
      continue;
    }
    const double magnitude =
        e == 0 ? (b & 1023u) * std::ldexp(1.0, -24) : (1024.0 + (b & 1023u)) * std::ldexp(1.0, e - 25);
    EXPECT_EQ(v, (b & 0x8000u) ? -magnitude : magnitude) << b;
    halves.push_back(v);
  }
  std::sort(halves.begin(), halves.end());
  ASSERT_EQ(halves.front(), -65504.0);
  ASSERT_EQ(halves.back(), 65504.0);
  const auto expect_least_not_below = [&](double x) {
    const double got = bound_half_value(bound_half_up(x));
    const auto it = std::lower_bound(halves.begin(), halves.end(), x);
    const double want = it == halves.end() ? INFINITY : *it;
    EXPECT_EQ(got, want) << "x = " << x;
  };
  for (double h : halves) {
    expect_least_not_below(h);
    expect_least_not_below(std::nextafter(h, -INFINITY));
    expect_least_not_below(std::nextafter(h, INFINITY));
  }
  DGEVAL_SEEDED(rng);
  std::uniform_real_distribution<double> binade(-30.0, 20.0);
  for (int t = 0; t < 200000; ++t) {
    const double x = std::exp2(binade(rng));
    expect_least_not_below(t % 2 ? -x : x);
  }
  EXPECT_TRUE(std::isnan(bound_half_value(bound_half_up(NAN))));
  EXPECT_EQ(bound_half_value(bound_half_up(INFINITY)), INFINITY);
  EXPECT_EQ(bound_half_value(bound_half_up(-INFINITY)), -INFINITY);
  EXPECT_EQ(bound_half_value(bound_half_up(1e300)), INFINITY);
  EXPECT_EQ(bound_half_value(bound_half_up(-1e300)), -65504.0);
  EXPECT_EQ(bound_half_value(bound_half_up(0.0)), 0.0);
}

TEST(CudaPlan, ChunksFitTheBudget) {
  // Everything fits: one chunk, one slot.
  ChunkPlan p = plan_chunks(1000, 1000, 5000, 10'000'000);
  EXPECT_EQ(p.chunks, 1);
  EXPECT_EQ(p.slots, 1);
  EXPECT_EQ(p.chunk_games, 1000);
  // Too large: two slots, each within half the budget.
  for (std::int64_t games : {1LL, 2LL, 97LL, 100000LL, 1234567LL}) {
    for (std::size_t budget : {std::size_t{100000}, std::size_t{1} << 20, std::size_t{7777777}}) {
      p = plan_chunks(games, 1000, 5000, budget);
      SCOPED_TRACE(std::to_string(games) + " games, budget " + std::to_string(budget));
      EXPECT_GE(p.chunk_games, 1);
      EXPECT_GE(p.chunks * p.chunk_games, games);
      EXPECT_LT((p.chunks - 1) * p.chunk_games, games);
      EXPECT_LE(static_cast<std::size_t>(p.slots) * p.slot_bytes, budget);
      EXPECT_EQ(p.slots, p.chunks > 1 ? 2 : 1);
    }
  }
  // A cap forces streaming.
  p = plan_chunks(100, 10, 0, std::size_t{1} << 30, 7);
  EXPECT_EQ(p.chunk_games, 7);
  EXPECT_EQ(p.chunks, 15);
  EXPECT_EQ(p.slots, 2);
  // Only one game fits: one slot, one game at a time.
  p = plan_chunks(5, 1000, 0, 1500);
  EXPECT_EQ(p.chunk_games, 1);
  EXPECT_EQ(p.slots, 1);
  EXPECT_EQ(p.chunks, 5);
  // Not even one game: a clear error.
  EXPECT_THROW(plan_chunks(5, 1000, 600, 1500), error);
  EXPECT_EQ(plan_chunks(0, 1000, 0, 1500).chunks, 0);
}

}  // namespace
}  // namespace cuda
}  // namespace dgeval
