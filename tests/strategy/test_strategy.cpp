// SPDX-License-Identifier: BSD-3-Clause
// The strategies' routings: legs conserve the (kept) counts and only reach replicas; ep stays in
// the source's EP group; eplb splits evenly; ep-capacity drops exactly what exceeds capacity;
// microep reaches the scheduler's proven optimum; re-placement happens every K iterations;
// everything is deterministic; bad configs are InputErrors.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/parse_enum.hpp"
#include "schedule/eplb.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::strategy {
namespace {

schedule::CountMatrix skewed_counts(int G, int E, std::uint64_t seed, int tokens = 64) {
  std::mt19937_64 rng(seed);
  schedule::CountMatrix c(G, E);
  for (int s = 0; s < G; ++s)
    for (int t = 0; t < tokens; ++t) {
      // Zipf-like: expert e with weight ~ 1 / (e + 1).
      const double u = static_cast<double>(rng() >> 11) / 9007199254740992.0;
      double acc = 0.0, z = 0.0;
      for (int e = 0; e < E; ++e) z += 1.0 / (e + 1);
      int pick = E - 1;
      for (int e = 0; e < E; ++e) {
        acc += 1.0 / (e + 1) / z;
        if (u < acc) {
          pick = e;
          break;
        }
      }
      ++c(s, pick);
    }
  return c;
}

StrategyConfig config(StrategyKind kind, int ep_size) {
  StrategyConfig cfg;
  cfg.kind = kind;
  cfg.ep_size = ep_size;
  cfg.replace_interval = 2;
  return cfg;
}

TEST(Strategy, RoutingsConserveCountsAndReachOnlyReplicas) {
  for (const auto kind : enum_values<StrategyKind>())
    for (int G : {1, 2, 4, 8}) {
      const int E = 16, P = std::max(1, G / 2);
      const auto name = to_string(kind);
      auto s = make_strategy(config(kind, P), G, E);
      EXPECT_EQ(s->kind(), kind);
      EXPECT_EQ(s->name(), name);
      const auto c = skewed_counts(G, E, 11);
      schedule::Routing r;
      s->route(c, r);
      EXPECT_NO_THROW(r.check(s->placement(), c)) << name << " G=" << G;
      std::int64_t total = 0, kept = 0, load = 0;
      for (auto v : c.data) total += v;
      for (auto v : r.kept) kept += v;
      for (auto v : r.gpu_load) load += v;
      EXPECT_EQ(kept, load) << name;
      EXPECT_EQ(total - kept, r.dropped) << name;
      if (kind != StrategyKind::ep_capacity) EXPECT_EQ(r.dropped, 0) << name;
    }
}

TEST(Strategy, EpStaysInTheEpGroup) {
  const int G = 8, E = 16, P = 4;
  auto s = make_strategy(config(StrategyKind::ep, P), G, E);
  const auto c = skewed_counts(G, E, 5);
  schedule::Routing r;
  s->route(c, r);
  for (int src = 0; src < G; ++src)
    for (int e = 0; e < E; ++e) {
      const std::size_t k = static_cast<std::size_t>(src) * E + e;
      for (auto l = r.leg_begin[k]; l < r.leg_begin[k + 1]; ++l) EXPECT_EQ(r.legs[l].gpu / P, src / P);
    }
}

TEST(Strategy, EplbSplitsEvenlyAndReplacesEveryK) {
  const int G = 4, E = 8, P = 2;
  auto s = make_strategy(config(StrategyKind::eplb, P), G, E);
  const auto c = skewed_counts(G, E, 9, 200);
  schedule::Routing r;
  s->route(c, r);
  // DeepSeek's map for the uniform initial forecast: G * (E/P + 1) physical replicas, global
  // policy; a GPU with m physical replicas of e gets m even shares (one leg).
  const auto fit = schedule::make_eplb_placement(
      schedule::eplb_rebalance_experts(std::vector<std::int64_t>(E, 1), G * (E / P + 1), 1, 1, G), G, E);
  EXPECT_EQ(s->placement(), fit.placement);
  for (int src = 0; src < G; ++src)
    for (int e = 0; e < E; ++e) {
      const std::size_t k = static_cast<std::size_t>(src) * E + e;
      const auto& phys = fit.replica_gpus[static_cast<std::size_t>(e)];
      const auto d = static_cast<std::int64_t>(phys.size());
      for (auto l = r.leg_begin[k]; l < r.leg_begin[k + 1]; ++l) {
        const auto m = std::count(phys.begin(), phys.end(), r.legs[l].gpu);
        EXPECT_GE(r.legs[l].tokens, m * (c(src, e) / d));
        EXPECT_LE(r.legs[l].tokens, m * (c(src, e) / d + 1));
      }
    }
  // History hot on the last expert (the initial, uniform forecast favours low ids on ties).
  auto loads = c.expert_loads();
  std::reverse(loads.begin(), loads.end());
  EXPECT_FALSE(s->end_iteration(loads));  // iteration 1 of K = 2
  const auto before = s->placement();
  const bool moved = s->end_iteration(loads);
  EXPECT_EQ(moved, s->placement() != before);
  EXPECT_TRUE(moved) << "the skewed history did not change the redundant placement";
  // The hottest expert got an extra replica.
  EXPECT_GT(s->placement().replicas(E - 1).size(), before.replicas(E - 1).size());
  // Exactly S + 1 slots per GPU; an expert staying on a GPU keeps its slot there (the strategy
  // passes its placement as `previous`).
  EXPECT_EQ(before.slots_per_gpu, E / P + 1);
  EXPECT_EQ(s->placement().slots_per_gpu, E / P + 1);
  int stayed = 0;
  for (int g = 0; g < G; ++g)
    for (int e = 0; e < E; ++e)
      if (before.slot_on(g, e) >= 0 && s->placement().slot_on(g, e) >= 0) {
        EXPECT_EQ(s->placement().slot_on(g, e), before.slot_on(g, e)) << "expert " << e << " on GPU " << g;
        ++stayed;
      }
  EXPECT_GT(stayed, 0);
}

TEST(Strategy, CapacityDropsBeyondCapacity) {
  const int G = 4, E = 8;
  StrategyConfig cfg = config(StrategyKind::ep_capacity, 2);
  cfg.capacity_factor = 1.25;
  auto s = make_strategy(cfg, G, E);
  const auto c = skewed_counts(G, E, 3);
  schedule::Routing r;
  s->route(c, r);
  for (int src = 0; src < G; ++src) {
    std::int64_t copies = 0;
    for (int e = 0; e < E; ++e) copies += c(src, e);
    const auto cap = capacity_per_expert(1.25, copies, E);
    EXPECT_EQ(cap, (copies * 5 + 4 * E - 1) / (4 * E));
    for (int e = 0; e < E; ++e) EXPECT_EQ(r.kept[static_cast<std::size_t>(src) * E + e], std::min(c(src, e), cap));
  }
  EXPECT_GT(r.dropped, 0);
}

TEST(Strategy, MicroEpIsOptimalAndBeatsEp) {
  const int G = 8, E = 16, P = 4;
  auto ep = make_strategy(config(StrategyKind::ep, P), G, E);
  auto micro = make_strategy(config(StrategyKind::microep, P), G, E);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto c = skewed_counts(G, E, seed, 128);
    schedule::Routing a, b;
    ep->route(c, a);
    micro->route(c, b);
    EXPECT_EQ(b.max_load(), b.lower_bound);
    EXPECT_LE(b.max_load(), a.max_load());
  }
}

TEST(Strategy, AdaptiveReplacesFromHistory) {
  const int G = 8, E = 16, P = 4;
  auto s = make_strategy(config(StrategyKind::microep_adaptive, P), G, E);
  const auto c = skewed_counts(G, E, 2, 256);
  const auto before = s->placement();
  EXPECT_FALSE(s->end_iteration(c.expert_loads()));
  EXPECT_TRUE(s->end_iteration(c.expert_loads()));
  EXPECT_NE(s->placement(), before);
  EXPECT_GT(s->last_migrations(), 0);
  schedule::Routing r;
  s->route(c, r);
  EXPECT_NO_THROW(r.check(s->placement(), c));
}

TEST(Strategy, Deterministic) {
  for (const auto kind : enum_values<StrategyKind>()) {
    const auto name = to_string(kind);
    auto a = make_strategy(config(kind, 2), 4, 8), b = make_strategy(config(kind, 2), 4, 8);
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const auto c = skewed_counts(4, 8, seed);
      schedule::Routing ra, rb;
      a->route(c, ra);
      b->route(c, rb);
      EXPECT_EQ(ra.legs, rb.legs) << name;
      EXPECT_EQ(ra.leg_begin, rb.leg_begin) << name;
    }
  }
}

TEST(Strategy, BadConfigsAreInputErrors) {
  EXPECT_THROW(make_strategy(config(static_cast<StrategyKind>(99), 1), 2, 4), InputError);  // no such strategy
  EXPECT_THROW(parse_enum<StrategyKind>("nope"), InputError);
  EXPECT_THROW(make_strategy(config(StrategyKind::ep, 3), 4, 8), InputError);
  StrategyConfig cfg = config(StrategyKind::ep_capacity, 1);
  cfg.capacity_factor = 0.0;
  EXPECT_THROW(make_strategy(cfg, 2, 4), InputError);
  cfg = config(StrategyKind::microep, 1);
  cfg.placement = static_cast<schedule::PlacementKind>(7);  // no such placement
  EXPECT_THROW(make_strategy(cfg, 2, 4), InputError);
  EXPECT_THROW(parse_enum<schedule::PlacementKind>("diagonal"), InputError);
  EXPECT_EQ(resolve_ep_size(StrategyConfig{}, 4, 2), 2);  // default: gcd(G, E)
}

// The MoE layer asks each rank's strategy for its own part only (route_rank): microep computes
// it without the whole table, the others slice route()'s table. Either way it must equal the
// whole routing's row and column, micro-batch after micro-batch (the solvers stay warm).
TEST(Strategy, RankRoutingEqualsTheWholeRoutingsRowAndColumn) {
  for (const auto kind : enum_values<StrategyKind>())
    for (int G : {1, 2, 4, 8, 16})
      for (int per_node : {0, 1, 2, 4}) {
        const int E = 16;
        auto cfg = config(kind, std::max(1, G / 2));
        cfg.gpus_per_node = per_node;
        auto whole = make_strategy(cfg, G, E);
        std::vector<std::unique_ptr<Strategy>> ranks;
        for (int me = 0; me < G; ++me) ranks.push_back(make_strategy(cfg, G, E));
        schedule::Routing r;
        schedule::RankRouting expected, got;
        for (int batch = 0; batch < 4; ++batch) {
          auto c = skewed_counts(G, E, 100 + static_cast<std::uint64_t>(batch), 16 + 24 * batch);
          if (batch == 2)
            for (int e = 0; e < E; ++e) c(G - 1, e) = 0;  // an idle source
          whole->route(c, r);
          const auto what = to_string(kind) + " G=" + std::to_string(G) + " per_node=" + std::to_string(per_node) +
                            " batch " + std::to_string(batch);
          for (int me = 0; me < G; ++me) {
            ranks[static_cast<std::size_t>(me)]->route_rank(c, me, got);
            schedule::slice_routing(r, whole->placement(), me, expected);
            EXPECT_EQ(got.gpu, me) << what;
            EXPECT_EQ(got.kept, expected.kept) << what << " rank " << me;
            EXPECT_EQ(got.leg_begin, expected.leg_begin) << what << " rank " << me;
            EXPECT_EQ(got.legs, expected.legs) << what << " rank " << me;
            EXPECT_EQ(got.received, expected.received) << what << " rank " << me;
            EXPECT_EQ(got.gpu_load, expected.gpu_load) << what << " rank " << me;
            EXPECT_EQ(got.dropped, expected.dropped) << what << " rank " << me;
            EXPECT_EQ(got.lower_bound, expected.lower_bound) << what << " rank " << me;
            EXPECT_EQ(got.max_load(), r.max_load()) << what;
            EXPECT_EQ(got.imbalance(), r.imbalance()) << what;
          }
        }
      }
}

}  // namespace
}  // namespace micromoe::strategy
