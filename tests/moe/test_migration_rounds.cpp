// SPDX-License-Identifier: BSD-3-Clause
// The migration's rounds (moe/migration_rounds.hpp) on seeded placements: every new (gpu, slot)
// that changes its expert gets exactly one copy from a holder of that expert, the same copies
// whatever the bound, no rank sends or receives more than the bound's rows in any round, and
// the greedy rounds stay within the sender's plus the receiver's share.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "moe/migration_rounds.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe {
namespace {

using schedule::Placement;

std::vector<std::tuple<int, int, int, int>> copies(const MigrationRounds& m) {
  std::vector<std::tuple<int, int, int, int>> out;
  for (const auto& t : m.transfers) out.emplace_back(t.to_gpu, t.to_slot, t.from_gpu, t.from_slot);
  return out;
}

void check(const Placement& from, const Placement& to, std::int64_t rows_per_round) {
  const MigrationRounds m = plan_migration(from, to, rows_per_round);
  const bool in_place = from.slots_per_gpu == to.slots_per_gpu;
  // Every (gpu, slot) that needs its expert gets it once, from a holder of it.
  std::map<std::pair<int, int>, int> got;
  for (const auto& t : m.transfers) {
    ++got[{t.to_gpu, t.to_slot}];
    const int e = to.expert(t.to_gpu, t.to_slot);
    ASSERT_GE(e, 0);
    ASSERT_EQ(from.expert(t.from_gpu, t.from_slot), e) << "the copy's source does not hold its expert";
    ASSERT_GE(t.round, 0);
    ASSERT_LT(t.round, m.rounds);
  }
  for (int g = 0; g < to.gpus; ++g)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(g, j);
      const bool kept = in_place && e >= 0 && from.expert(g, j) == e;
      EXPECT_EQ((got[{g, j}]), (e < 0 || kept ? 0 : 1)) << "gpu " << g << " slot " << j;
    }
  // The bound, per rank and round, both ways; and the same copies as one unbounded round.
  std::int64_t max_send = 0, max_recv = 0;
  for (int g = 0; g < to.gpus; ++g) {
    EXPECT_LE(m.max_send_rows(g), rows_per_round);
    EXPECT_LE(m.max_recv_rows(g), rows_per_round);
    max_send = std::max<std::int64_t>(
        max_send, std::count_if(m.transfers.begin(), m.transfers.end(), [g](auto& t) { return t.from_gpu == g; }));
    max_recv = std::max<std::int64_t>(
        max_recv, std::count_if(m.transfers.begin(), m.transfers.end(), [g](auto& t) { return t.to_gpu == g; }));
  }
  const MigrationRounds whole = plan_migration(from, to, 1 << 30);
  EXPECT_EQ(copies(m), copies(whole));
  EXPECT_EQ(whole.rounds, whole.transfers.empty() ? 0 : 1);
  if (!m.transfers.empty()) EXPECT_LE(m.rounds, (max_send - 1) / rows_per_round + (max_recv - 1) / rows_per_round + 1);
}

TEST(MigrationRounds, EveryCopyOnceWithinTheBoundOnSeededPlacements) {
  int instances = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed)
    for (const auto& [G, E, S] : {std::tuple{4, 8, 4}, std::tuple{8, 16, 4}, std::tuple{16, 32, 4},
                                  std::tuple{12, 24, 4}, std::tuple{32, 64, 4}})
      for (std::int64_t rows : {1, 2, 3, 64}) {
        const Placement a = schedule::make_symmetric_placement(G, S, E, seed, 1);
        const Placement b = schedule::make_random_placement(G, S, E, seed + 1000);
        check(a, b, rows);
        check(b, a, rows);
        check(a, a, rows);  // nothing moves
        // Another slot count: every slot is copied (no tensors stay in place).
        check(a, schedule::make_random_placement(G, S / 2, E, seed + 2000), rows);
        instances += 4;
      }
  EXPECT_GE(instances, 1000);
}

TEST(MigrationRounds, PiecesOfACopyEachOnceWithinTheBound) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    for (const int pieces : {2, 3, 8})
      for (const std::int64_t per_round : {1, 2, 5}) {
        const Placement a = schedule::make_symmetric_placement(8, 4, 16, seed, 1);
        const Placement b = schedule::make_random_placement(8, 4, 16, seed + 1000);
        const MigrationRounds m = plan_migration(a, b, per_round, pieces);
        const MigrationRounds whole = plan_migration(a, b, 1 << 30);
        ASSERT_EQ(m.transfers.size(), whole.transfers.size() * static_cast<std::size_t>(pieces));
        for (std::size_t i = 0; i < m.transfers.size(); ++i) {  // copy i / pieces, piece i % pieces
          const auto& t = m.transfers[i];
          const auto& c = whole.transfers[i / static_cast<std::size_t>(pieces)];
          EXPECT_EQ(std::tie(t.to_gpu, t.to_slot, t.from_gpu, t.from_slot),
                    std::tie(c.to_gpu, c.to_slot, c.from_gpu, c.from_slot));
          EXPECT_EQ(t.piece, static_cast<int>(i % static_cast<std::size_t>(pieces)));
        }
        for (int g = 0; g < 8; ++g) {
          EXPECT_LE(m.max_send_rows(g), per_round);
          EXPECT_LE(m.max_recv_rows(g), per_round);
        }
      }
}

TEST(MigrationRounds, CopiesAboveTheBoundAreCutIntoPieces) {
  // 144-byte copies (36 floats): within a 256-byte bound one piece, one per round.
  MigrationPieces p = migration_pieces(36, 256);
  EXPECT_EQ(p.pieces, 1);
  EXPECT_EQ(p.piece_floats, 36);
  EXPECT_EQ(p.per_round, 1);
  p = migration_pieces(36, 300);  // two copies per round
  EXPECT_EQ(p.per_round, 2);
  p = migration_pieces(36, 50);  // three pieces of 12 floats (48 bytes), one per round
  EXPECT_EQ(p.pieces, 3);
  EXPECT_EQ(p.piece_floats, 12);
  EXPECT_EQ(p.per_round, 1);
  p = migration_pieces(37, 50);  // 148 bytes: three pieces of 13 floats, the last padded
  EXPECT_EQ(p.pieces, 3);
  EXPECT_EQ(p.piece_floats, 13);
  // A Mixtral-8x7B copy (SwiGLU W1 4096 x 28672, W2 14336 x 4096, Adam m and v: 2.1 GB) at the
  // default bound: pieces of at most 256 MiB.
  const std::int64_t mixtral = 3 * (4096LL * 28672 + 14336LL * 4096);
  p = migration_pieces(mixtral, kMigrationRoundBytes);
  EXPECT_LE(static_cast<std::size_t>(p.piece_floats) * sizeof(float), kMigrationRoundBytes);
  EXPECT_GE(static_cast<std::int64_t>(p.pieces) * p.piece_floats, mixtral);
  EXPECT_EQ(p.pieces, 8);
}

TEST(MigrationRounds, NothingMovesWhenThePlacementStays) {
  const Placement a = schedule::make_symmetric_placement(8, 4, 16, 3, 1);
  const MigrationRounds m = plan_migration(a, a, 1);
  EXPECT_TRUE(m.transfers.empty());
  EXPECT_EQ(m.rounds, 0);
}

TEST(MigrationRounds, OneRowPerRoundSplitsAWholeSwap) {
  // Two GPUs swap all four slots' experts: four copies each way, one per round at one row.
  const Placement from(2, 4, 8, {0, 1, 2, 3, 4, 5, 6, 7});
  const Placement to(2, 4, 8, {4, 5, 6, 7, 0, 1, 2, 3});
  const MigrationRounds m = plan_migration(from, to, 1);
  EXPECT_EQ(m.transfers.size(), 8u);
  EXPECT_EQ(m.rounds, 4);
  EXPECT_EQ(plan_migration(from, to, 4).rounds, 1);
  EXPECT_THROW(plan_migration(from, to, 0), std::invalid_argument);
  EXPECT_THROW(plan_migration(from, to, 1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace micromoe::moe
