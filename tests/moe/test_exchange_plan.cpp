// SPDX-License-Identifier: BSD-3-Clause
// The exchange plan as a pure host unit: for every rank of a group, from every strategy's
// routing, counts and offsets are consistent between senders and receivers, the leg table
// reproduces the routing, and a host simulation of permute -> all-to-all-v -> block copy puts
// every kept copy of expert e exactly once into the slot-major rows of the slot holding e on
// the rank the routing names. Covers ranks and experts without rows, one hot expert, drops
// (ep-capacity), one rank, and block splitting.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "moe/exchange_plan.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::moe {
namespace {

enum class Load { skewed, hot_expert, idle_source, idle_experts };

schedule::CountMatrix counts(int G, int E, Load load, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  schedule::CountMatrix c(G, E);
  for (int s = 0; s < G; ++s)
    for (int e = 0; e < E; ++e) {
      std::int64_t n = static_cast<std::int64_t>(rng() % 40) / (e + 1);  // skewed towards low ids
      if (load == Load::hot_expert) n = e == 0 ? 57 + s : 0;
      if (load == Load::idle_source && s == G - 1) n = 0;
      if (load == Load::idle_experts && e % 3 != 0) n = 0;
      c(s, e) = n;
    }
  return c;
}

std::int64_t sum(const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); }

/// Every check of one routing, for all ranks' plans.
void check_plans(const schedule::Routing& r, const schedule::Placement& p, std::int64_t block_rows,
                 const std::string& what) {
  const int G = p.gpus, E = p.experts, S = p.slots_per_gpu;
  std::vector<ExchangePlan> plans(static_cast<std::size_t>(G));
  for (int me = 0; me < G; ++me) plan_exchange(r, p, me, block_rows, plans[static_cast<std::size_t>(me)]);
  // Sums, offsets, and both sides of every pair agree.
  for (int me = 0; me < G; ++me) {
    const ExchangePlan& pl = plans[static_cast<std::size_t>(me)];
    ASSERT_EQ(pl.send_counts.size(), static_cast<std::size_t>(G)) << what;
    EXPECT_EQ(sum(pl.send_counts), pl.send_rows) << what;
    EXPECT_EQ(sum(pl.recv_counts), pl.recv_rows) << what;
    EXPECT_EQ(sum(pl.slots.rows), pl.recv_rows) << what;
    EXPECT_EQ(pl.slots.total(), pl.recv_rows) << what;
    EXPECT_EQ(pl.recv_rows, r.gpu_load[static_cast<std::size_t>(me)])
        << what << ": rank " << me << " computes its load";
    for (int j = 1; j < S; ++j) EXPECT_EQ(pl.slots.first[j], pl.slots.first[j - 1] + pl.slots.rows[j - 1]) << what;
    std::int64_t remote = 0;
    for (int g = 0; g < G; ++g) {
      EXPECT_EQ(pl.send_counts[g], plans[static_cast<std::size_t>(g)].recv_counts[me])
          << what << ": " << me << "->" << g;
      if (g != me) remote += pl.send_counts[g] + pl.recv_counts[g];
    }
    EXPECT_EQ(pl.remote_rows, remote) << what;
    // Slots without an expert get no rows.
    for (int j = 0; j < S; ++j)
      if (p.expert(me, j) < 0) EXPECT_EQ(pl.slots.rows[j], 0) << what;
    // The leg table is the routing's, in order.
    ASSERT_EQ(pl.leg_first.size(), static_cast<std::size_t>(E) + 1) << what;
    for (int e = 0; e < E; ++e) {
      const std::size_t k = static_cast<std::size_t>(me) * E + e;
      EXPECT_EQ(pl.kept[e], r.kept[k]) << what;
      ASSERT_EQ(pl.leg_first[e + 1] - pl.leg_first[e], r.leg_begin[k + 1] - r.leg_begin[k]) << what;
      std::int64_t cum = 0;
      for (std::int64_t l = pl.leg_first[e], q = r.leg_begin[k]; l < pl.leg_first[e + 1]; ++l, ++q) {
        EXPECT_EQ(pl.legs[l][0], cum) << what;
        EXPECT_EQ(pl.legs[l][1], r.legs[q].tokens) << what;
        cum += pl.legs[l][1];
      }
      EXPECT_EQ(cum, pl.kept[e]) << what << ": legs of expert " << e << " carry its kept copies";
    }
    for (const PlanRow& b : pl.blocks) EXPECT_TRUE(b[2] > 0 && b[2] <= block_rows) << what;
  }
  // Simulation: a copy is (source, expert, index among the source's kept copies of the expert).
  struct Copy {
    int source = -1, expert = -1;
    std::int64_t index = -1;
  };
  std::vector<std::vector<Copy>> send(static_cast<std::size_t>(G));
  for (int s = 0; s < G; ++s) {
    const ExchangePlan& pl = plans[static_cast<std::size_t>(s)];
    auto& rows = send[static_cast<std::size_t>(s)];
    rows.assign(static_cast<std::size_t>(pl.send_rows), Copy{});
    for (int e = 0; e < E; ++e)
      for (std::int64_t i = 0; i < pl.kept[e]; ++i) {
        std::int64_t l = pl.leg_first[e];
        while (!(pl.legs[l][0] <= i && i < pl.legs[l][0] + pl.legs[l][1])) ++l;
        const std::int64_t row = pl.legs[l][2] + i - pl.legs[l][0];
        ASSERT_TRUE(row >= 0 && row < pl.send_rows) << what;
        ASSERT_EQ(rows[row].source, -1) << what << ": send row " << row << " written twice";
        rows[row] = {s, e, i};
      }
  }
  for (int g = 0; g < G; ++g) {
    const ExchangePlan& pl = plans[static_cast<std::size_t>(g)];
    // All-to-all-v: source-major receive rows.
    std::vector<Copy> recv;
    for (int q = 0; q < G; ++q) {
      const ExchangePlan& src = plans[static_cast<std::size_t>(q)];
      std::int64_t off = 0;
      for (int d = 0; d < g; ++d) off += src.send_counts[d];
      for (std::int64_t n = 0; n < src.send_counts[g]; ++n) recv.push_back(send[static_cast<std::size_t>(q)][off + n]);
    }
    ASSERT_EQ(static_cast<std::int64_t>(recv.size()), pl.recv_rows) << what;
    std::vector<Copy> xin(static_cast<std::size_t>(pl.recv_rows));
    for (const PlanRow& b : pl.blocks)
      for (std::int64_t n = 0; n < b[2]; ++n) {
        ASSERT_EQ(xin[b[1] + n].source, -1) << what << ": slot-major row written twice";
        xin[b[1] + n] = recv[b[0] + n];
      }
    for (int j = 0; j < S; ++j)
      for (std::int64_t row = pl.slots.first[j]; row < pl.slots.first[j] + pl.slots.rows[j]; ++row) {
        ASSERT_GE(xin[row].source, 0) << what << ": slot-major row " << row << " never written";
        EXPECT_EQ(xin[row].expert, p.expert(g, j)) << what << ": copy in the wrong slot on rank " << g;
      }
    // Each (source, expert) brings what its leg to g says.
    for (int s = 0; s < G; ++s)
      for (int e = 0; e < E; ++e) {
        const auto n =
            std::count_if(xin.begin(), xin.end(), [&](const Copy& c) { return c.source == s && c.expert == e; });
        EXPECT_EQ(n, r.sent_to(s, e, g)) << what;
      }
  }
}

TEST(ExchangePlan, EveryStrategyEveryLoadEveryRank) {
  for (const auto kind : enum_values<strategy::StrategyKind>())
    for (int G : {1, 2, 4, 8})
      for (Load load : {Load::skewed, Load::hot_expert, Load::idle_source, Load::idle_experts}) {
        const int E = 16;
        strategy::StrategyConfig cfg;
        cfg.kind = kind;
        cfg.ep_size = std::max(1, G / 2);
        cfg.capacity_factor = 1.0;
        auto s = strategy::make_strategy(cfg, G, E);
        const auto c = counts(G, E, load, 7 + static_cast<std::uint64_t>(G));
        schedule::Routing r;
        s->route(c, r);
        check_plans(r, s->placement(), 16,
                    to_string(kind) + " G=" + std::to_string(G) + " load=" + std::to_string(static_cast<int>(load)));
      }
}

// The layer's path: each rank's own strategy instance gives only its part (route_rank) and the
// plan from it equals the plan from the whole routing, field by field.
TEST(ExchangePlan, RankPartGivesTheSamePlanAsTheWholeRouting) {
  for (const auto kind : enum_values<strategy::StrategyKind>())
    for (int G : {1, 2, 4, 8, 16})
      for (Load load : {Load::skewed, Load::hot_expert, Load::idle_source, Load::idle_experts}) {
        const int E = 16;
        strategy::StrategyConfig cfg;
        cfg.kind = kind;
        cfg.ep_size = std::max(1, G / 2);
        cfg.gpus_per_node = G >= 8 ? 4 : 0;
        auto whole = strategy::make_strategy(cfg, G, E);
        const auto c = counts(G, E, load, 29 + static_cast<std::uint64_t>(G));
        schedule::Routing r;
        whole->route(c, r);
        const auto what =
            to_string(kind) + " G=" + std::to_string(G) + " load=" + std::to_string(static_cast<int>(load));
        for (int me = 0; me < G; ++me) {
          auto mine = strategy::make_strategy(cfg, G, E);
          schedule::RankRouting part;
          mine->route_rank(c, me, part);
          ExchangePlan a, b;
          plan_exchange(r, whole->placement(), me, 16, a);
          plan_exchange(part, mine->placement(), 16, b);
          EXPECT_EQ(a.send_counts, b.send_counts) << what;
          EXPECT_EQ(a.recv_counts, b.recv_counts) << what;
          EXPECT_EQ(a.send_rows, b.send_rows) << what;
          EXPECT_EQ(a.recv_rows, b.recv_rows) << what;
          EXPECT_EQ(a.remote_rows, b.remote_rows) << what;
          EXPECT_EQ(a.kept, b.kept) << what;
          EXPECT_EQ(a.leg_first, b.leg_first) << what;
          EXPECT_EQ(a.legs, b.legs) << what;
          EXPECT_EQ(a.slots.first, b.slots.first) << what;
          EXPECT_EQ(a.slots.rows, b.slots.rows) << what;
          EXPECT_EQ(a.blocks, b.blocks) << what;
        }
      }
}

TEST(ExchangePlan, CapacityDropsLeaveTheirRowsOut) {
  const int G = 4, E = 8;
  strategy::StrategyConfig cfg;
  cfg.kind = strategy::StrategyKind::ep_capacity;
  cfg.ep_size = 2;
  cfg.capacity_factor = 1.0;
  auto s = strategy::make_strategy(cfg, G, E);
  const auto c = counts(G, E, Load::hot_expert, 3);
  schedule::Routing r;
  s->route(c, r);
  ASSERT_GT(r.dropped, 0);
  std::int64_t sent = 0;
  for (int me = 0; me < G; ++me) {
    ExchangePlan pl;
    plan_exchange(r, s->placement(), me, 16, pl);
    sent += pl.send_rows;
    EXPECT_LT(pl.kept[0], c(me, 0)) << "expert 0 is over capacity on rank " << me;
  }
  EXPECT_EQ(sent + r.dropped, std::accumulate(c.data.begin(), c.data.end(), std::int64_t{0}));
  check_plans(r, s->placement(), 16, "ep-capacity hot");
}

TEST(ExchangePlan, BlocksSplitAtTheBlockSizeAndPlansReuseTheirStorage) {
  const int G = 2, E = 4;
  strategy::StrategyConfig cfg;
  cfg.kind = strategy::StrategyKind::ep;
  cfg.ep_size = 2;
  auto s = strategy::make_strategy(cfg, G, E);
  const auto hot = counts(G, E, Load::hot_expert, 1);
  schedule::Routing r;
  s->route(hot, r);
  check_plans(r, s->placement(), 1, "block size 1");
  check_plans(r, s->placement(), 5, "block size 5");
  ExchangePlan pl;
  plan_exchange(r, s->placement(), 0, 5, pl);
  std::int64_t pieces = 0;  // ceil(rows / 5) per (source, slot) block
  for (int q = 0; q < G; ++q)
    for (int j = 0; j < s->placement().slots_per_gpu; ++j)
      if (s->placement().expert(0, j) >= 0) pieces += (r.sent_to(q, s->placement().expert(0, j), 0) + 4) / 5;
  EXPECT_GT(pieces, 2);
  EXPECT_EQ(static_cast<std::int64_t>(pl.blocks.size()), pieces);
  // The same plan object, reused for an empty micro-batch: nothing left over.
  const schedule::CountMatrix none(G, E);
  s->route(none, r);
  plan_exchange(r, s->placement(), 0, 5, pl);
  EXPECT_EQ(pl.send_rows, 0);
  EXPECT_EQ(pl.recv_rows, 0);
  EXPECT_TRUE(pl.legs.empty());
  EXPECT_TRUE(pl.blocks.empty());
  EXPECT_EQ(sum(pl.send_counts) + sum(pl.recv_counts), 0);
}

}  // namespace
}  // namespace micromoe::moe
