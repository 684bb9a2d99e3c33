// SPDX-License-Identifier: BSD-3-Clause
// microep-adaptive's parts: the memory bound on hand-computed cases (and below every placement's
// optimum), the hedged forecast, the shift detector, the replica floor, the bounded re-placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "schedule/adaptive.hpp"
#include "schedule/placement.hpp"
#include "schedule/rng.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;

namespace {

// Zipf(1) (or Zipf(2) when `square`) over the experts, the hottest at index `shift`.
std::vector<std::int64_t> zipf_loads(int E, int shift, bool square = false, std::int64_t scale = 1000000) {
  std::vector<std::int64_t> f(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) f[static_cast<std::size_t>((e + shift) % E)] = scale / (e + 1) / (square ? e + 1 : 1);
  return f;
}

int min_replicas(const ms::Placement& p) {
  int m = p.gpus;
  for (int e = 0; e < p.experts; ++e) m = std::min(m, p.replica_count(e));
  return m;
}

}  // namespace

TEST(MemoryBound, HandComputedCases) {
  // 16 copies on 2 GPUs: the mean 8 binds; expert 0 (10) on both GPUs gives 5.
  EXPECT_EQ(ms::memory_bound({10, 2, 2, 2}, 2, 3), 8);
  EXPECT_DOUBLE_EQ(ms::memory_bound_imbalance({10, 2, 2, 2}, 2, 3), 1.0);
  // 4 slots for 3 experts: one spare replica goes to expert 0: ceil(12 / 2) = 6 > ceil(18 / 4) = 5.
  EXPECT_EQ(ms::memory_bound({12, 3, 3}, 4, 1), 6);
  EXPECT_NEAR(ms::memory_bound_imbalance({12, 3, 3}, 4, 1), 6.0 / 4.5, 1e-12);
  // Replicas are capped at G: 9 copies on 4 GPUs, ceil(9 / 4) = 3.
  EXPECT_EQ(ms::memory_bound({9, 0, 0, 0}, 4, 2), 3);
  // No spare slot: the hottest expert alone, 100.
  EXPECT_EQ(ms::memory_bound({100, 1}, 2, 1), 100);
  // 3 GPUs x 2 slots, {30, 20, 10}: the 3 spares give d = {3, 2, 1} (10 each), but the mean 20 binds.
  EXPECT_EQ(ms::memory_bound({30, 20, 10}, 3, 2), 20);
  // 6 GPUs x 1 slot, {30, 20, 10}: d = {3, 2, 1} -> max(10, 10, 10) = 10 = ceil(60 / 6).
  EXPECT_EQ(ms::memory_bound({30, 20, 10}, 6, 1), 10);
  // 5 GPUs x 1 slot, {30, 20, 10}: 2 spares -> d = {2, 2, 1} -> 15 (d = {3, 1, 1} gives 20).
  EXPECT_EQ(ms::memory_bound({30, 20, 10}, 5, 1), 15);
  EXPECT_EQ(ms::memory_bound({0, 0}, 2, 1), 0);
  EXPECT_DOUBLE_EQ(ms::memory_bound_imbalance({0, 0}, 2, 1), 1.0);
  EXPECT_THROW(ms::memory_bound({1, 1, 1}, 1, 2), std::invalid_argument);
  EXPECT_THROW(ms::memory_bound({1, -1}, 2, 1), std::invalid_argument);
}

namespace {

// The definition by enumeration: every replica count vector r (1 <= r_e <= G, sum r_e <= G*S).
std::int64_t brute_force_memory_bound(const std::vector<std::int64_t>& loads, int G, int S) {
  const int E = static_cast<int>(loads.size());
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  std::int64_t best = INT64_MAX;
  std::vector<int> r(static_cast<std::size_t>(E), 1);
  for (;;) {
    int sum = 0;
    std::int64_t worst = 0;
    for (int e = 0; e < E; ++e) {
      sum += r[static_cast<std::size_t>(e)];
      const std::int64_t l = loads[static_cast<std::size_t>(e)], d = r[static_cast<std::size_t>(e)];
      worst = std::max(worst, (l + d - 1) / d);
    }
    if (sum <= G * S) best = std::min(best, worst);
    int e = 0;  // next vector, odometer order
    while (e < E && r[static_cast<std::size_t>(e)] == G) r[static_cast<std::size_t>(e++)] = 1;
    if (e == E) break;
    ++r[static_cast<std::size_t>(e)];
  }
  return std::max((total + G - 1) / G, best);
}

}  // namespace

TEST(MemoryBound, EqualsTheDefinitionByEnumeration) {
  ms::Rng rng(11);
  ms::MemoryBound bound;  // reused: its heap must not carry state between calls
  for (int t = 0; t < 400; ++t) {
    const int G = 1 + static_cast<int>(rng.below(5)), S = 1 + static_cast<int>(rng.below(3));
    const int E = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(std::min(G * S, 5))));
    std::vector<std::int64_t> loads(static_cast<std::size_t>(E));
    for (auto& l : loads) l = static_cast<std::int64_t>(rng.below(3) ? rng.below(60) : rng.below(3));
    EXPECT_EQ(bound(loads, G, S), brute_force_memory_bound(loads, G, S))
        << "G " << G << " S " << S << " E " << E << " t " << t;
    EXPECT_EQ(ms::memory_bound(loads, G, S), bound(loads, G, S));
  }
}

TEST(MemoryBound, IsBelowEveryPlacementsOptimum) {
  ms::Rng rng(3);
  for (int t = 0; t < 40; ++t) {
    const int G = 2 + static_cast<int>(rng.below(8)), S = 1 + static_cast<int>(rng.below(4));
    const int E = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(G * S)));
    std::vector<std::int64_t> loads(static_cast<std::size_t>(E));
    for (auto& l : loads) l = static_cast<std::int64_t>(rng.below(4) ? rng.below(5000) : 0);
    const std::int64_t bound = ms::memory_bound(loads, G, S);
    ms::AdaptiveOptions o;
    o.seed = static_cast<std::uint64_t>(t);
    o.search_iterations = 50;
    const auto fitted = ms::make_adaptive_placement(G, S, loads, nullptr, o);  // fitted to these very loads
    ms::Solver solver(fitted.placement);
    EXPECT_GE(solver.solve_loads(loads).max_load, bound) << "G " << G << " S " << S << " E " << E;
  }
}

TEST(HedgedForecast, MixesRecentAndLongRunShares) {
  ms::HedgedForecast f(4, 0.5);
  EXPECT_EQ(f.forecast(100), (std::vector<std::int64_t>{1, 1, 1, 1}));  // nothing seen: all alike
  f.add({100, 0, 0, 0});
  f.add({0, 0, 0, 0});  // an empty iteration is ignored
  EXPECT_EQ(f.observations(), 1);
  f.add({0, 100, 0, 0});
  f.add({0, 50, 0, 0});
  // recent: 1 -> 0.5 -> 0.25 for expert 0, 0 -> 0.5 -> 0.75 for expert 1; long-run 1/3 and 2/3.
  EXPECT_DOUBLE_EQ(f.recent()[0], 0.25);
  EXPECT_DOUBLE_EQ(f.recent()[1], 0.75);
  EXPECT_NEAR(f.longrun()[0], 1.0 / 3, 1e-15);
  EXPECT_NEAR(f.longrun()[1], 2.0 / 3, 1e-15);
  // The hedge: max(recent, long-run) = 1/3 and 3/4, scaled, +1.
  EXPECT_EQ(f.forecast(1200), (std::vector<std::int64_t>{401, 901, 1, 1}));
  // After a shift the recent part is this observation alone; the long run keeps its history.
  f.restart_recent({0, 0, 10, 30});
  EXPECT_EQ(f.forecast(1200), (std::vector<std::int64_t>{401, 801, 301, 901}));
  EXPECT_THROW(f.add({1, 2}), std::invalid_argument);
  EXPECT_THROW(ms::HedgedForecast(4, 0.0), std::invalid_argument);
}

TEST(ShiftDetector, FlagsOnlyWhatAReplacementCouldFix) {
  ms::ShiftDetector d;  // threshold 1.10, margin 1.05
  // Mean 40: an optimum of 40 or 44 (1.10) is no shift.
  EXPECT_FALSE(d.observe(40, {40, 40, 40, 40}, 4, 2));
  EXPECT_FALSE(d.observe(44, {40, 40, 40, 40}, 4, 2));
  EXPECT_FALSE(d.pending());
  // 60 (1.5): the memory bound is 40, so a re-placement could reach it.
  EXPECT_TRUE(d.observe(60, {40, 40, 40, 40}, 4, 2));
  EXPECT_TRUE(d.pending());
  d.clear();
  EXPECT_FALSE(d.pending());
  // All copies on one expert: with 4 spare replicas the bound is 160 / 4 = 40, so 80 is a shift...
  EXPECT_TRUE(d.observe(80, {160, 0, 0, 0}, 4, 2));
  // ...and 42 is within 5% of the bound: nothing to gain.
  d.clear();
  EXPECT_FALSE(d.observe(42, {160, 0, 0, 0}, 4, 2));
  // One slot per GPU (no spare replica): 160 is the bound itself, not a shift.
  EXPECT_FALSE(d.observe(160, {160, 0, 0, 0}, 4, 1));
  EXPECT_EQ(d.shifts(), 2);
}

TEST(AdaptiveFloor, EveryExpertKeepsTwoReplicasWhereMemoryAllows) {
  EXPECT_EQ(ms::replica_floor(8, 8, 32, 2), 2);
  EXPECT_EQ(ms::replica_floor(8, 4, 32, 2), 1);  // G*S = E: one replica each
  EXPECT_EQ(ms::replica_floor(3, 2, 3, 2), 1);   // 3 experts of 2 do not pack into 2 slot indices of 3
  EXPECT_EQ(ms::replica_floor(1, 4, 2, 2), 1);   // one GPU
  // Skewed forecasts on many shapes: the floor holds, the hot experts get the rest.
  ms::Rng rng(5);
  for (int t = 0; t < 60; ++t) {
    const int G = 2 + static_cast<int>(rng.below(15)), S = 1 + static_cast<int>(rng.below(8));
    const int E = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(G * S)));
    ms::AdaptiveOptions o;
    o.min_replicas = 2;
    o.search_iterations = 20;
    const auto f = zipf_loads(E, t);
    const auto a = ms::make_adaptive_placement(G, S, f, nullptr, o);
    EXPECT_GE(min_replicas(a.placement), ms::replica_floor(G, S, E, 2)) << "G " << G << " S " << S << " E " << E;
  }
  // 8 GPUs x 8 slots, 16 experts: 2 each, the 32 spare replicas by load per replica. The hottest
  // (30% of the copies, 2.4 GPUs' worth) needs at least 3; the forecast is then balanced.
  ms::AdaptiveOptions o;
  o.min_replicas = 2;
  const auto f = zipf_loads(16, 0);
  const auto a = ms::make_adaptive_placement(8, 8, f, nullptr, o);
  EXPECT_EQ(min_replicas(a.placement), 2);
  EXPECT_GE(a.placement.replica_count(0), 3);
  EXPECT_LE(a.forecast_max_load, a.forecast_lower_bound + 1);
  // With less memory (8 x 4 slots), without the floor the cold experts keep one replica so
  // that the hot ones get more; the floor of 2 takes those replicas back.
  const auto one = ms::make_adaptive_placement(8, 4, f);
  EXPECT_EQ(min_replicas(one.placement), 1);
  const auto two = ms::make_adaptive_placement(8, 4, f, nullptr, o);
  EXPECT_EQ(min_replicas(two.placement), 2);
  EXPECT_LT(two.placement.replica_count(0), one.placement.replica_count(0));
}

TEST(AdaptivePlacement, PackingCutsNoReplicaCountAndKeepsEveryFloor) {
  // The auto floors (up to ep's count d) on skewed forecasts over many shapes: the slot packing
  // splits an expert over slot indices where it must, so every position is used, every floor
  // holds, no expert sits twice on a GPU (the constructor checks), and some expert spans two
  // slot indices (the case is covered).
  ms::Rng rng(11);
  int spanning = 0;
  const int shapes = std::getenv("MICROMOE_TEST_SHAPES") ? std::atoi(std::getenv("MICROMOE_TEST_SHAPES")) : 120;
  for (int t = 0; t < shapes; ++t) {
    const int P = 2 + static_cast<int>(rng.below(7)), d = 2 + static_cast<int>(rng.below(3));
    const int G = P * d, S = 1 + static_cast<int>(rng.below(8)), E = P * S;
    const auto f = zipf_loads(E, t, rng.below(2) == 1);
    ms::AdaptiveOptions o;
    o.search_iterations = 30;
    o.floors = ms::adaptive_floors(G, S, f, 0);
    const auto a = ms::make_adaptive_placement(G, S, f, nullptr, o);
    const std::string where = "G " + std::to_string(G) + " S " + std::to_string(S) + " E " + std::to_string(E);
    std::int64_t used = 0;
    for (int e = 0; e < E; ++e) {
      EXPECT_GE(a.placement.replica_count(e), o.floors[static_cast<std::size_t>(e)]) << where << " expert " << e;
      used += a.placement.replica_count(e);
    }
    EXPECT_EQ(used, static_cast<std::int64_t>(G) * S) << where;
    spanning += !a.placement.same_slot();
  }
  EXPECT_GT(spanning, 0) << "no placement split an expert: the case no longer covers the split packing";
}

TEST(AdaptiveFloors, AnExplicitFloorHoldsForEveryExpert) {
  const auto f = zipf_loads(16, 3);
  EXPECT_EQ(ms::adaptive_floors(8, 4, f, 2), std::vector<int>(16, 2));  // d = 2: ep's count
  EXPECT_EQ(ms::adaptive_floors(8, 4, f, 3), std::vector<int>(16, 2));  // 3 each does not fit 32 slots
  EXPECT_EQ(ms::adaptive_floor(8, 4, 16, 2), 2);
  EXPECT_EQ(ms::adaptive_floor(8, 4, 16, 0), 1);  // auto: nothing guaranteed beyond one replica
  EXPECT_THROW(ms::adaptive_floors(8, 4, f, -1), std::invalid_argument);
  EXPECT_THROW(ms::adaptive_floors(2, 4, f, 0), std::invalid_argument);  // 16 experts, 8 slots
}

TEST(AdaptiveFloors, AutoGivesEpsCountWhereTheHotExpertsLeaveTheMemory) {
  // Even forecast, G*S = 2E: every expert needs 1 (2 with the headroom): all keep ep's d = 2.
  EXPECT_EQ(ms::adaptive_floors(8, 4, std::vector<std::int64_t>(16, 100), 0), std::vector<int>(16, 2));
  // 8 GPUs x 1 slot, 4 experts (d = 2): one with 90% of the load needs all 8 GPUs, the others
  // one each: nothing is left, every floor is 1.
  EXPECT_EQ(ms::adaptive_floors(8, 1, {900, 34, 33, 33}, 0), std::vector<int>(4, 1));
  // In between, on many shapes: floors <= d, the hot experts keep twice their need, the larger
  // forecast raised first, and the fitted placement keeps every floor.
  ms::Rng rng(9);
  for (int t = 0; t < 40; ++t) {
    const int P = 1 + static_cast<int>(rng.below(6)), d = 2 + static_cast<int>(rng.below(3));
    const int E = P * (1 + static_cast<int>(rng.below(6))), G = d * P, S = E / P;
    const auto f = zipf_loads(E, t, rng.below(2) == 1);
    std::int64_t total = 0;
    for (auto x : f) total += x;
    const auto floors = ms::adaptive_floors(G, S, f, 0);
    std::int64_t used = 0;
    bool all_one = true;
    for (int e = 0; e < E; ++e) {
      const auto fe = floors[static_cast<std::size_t>(e)];
      EXPECT_GE(fe, 1);
      EXPECT_LE(fe, d);  // the cap: ep's count
      all_one = all_one && fe == 1;
      const std::int64_t need = std::min<std::int64_t>(
          G, std::max<std::int64_t>(1, (2 * G * f[static_cast<std::size_t>(e)] + total - 1) / total));
      used += std::max<std::int64_t>(need, fe);
    }
    if (!all_one) EXPECT_LE(used, static_cast<std::int64_t>(G) * S) << "G " << G << " S " << S << " E " << E;
    for (int a = 0; a < E; ++a)
      for (int b = 0; b < E; ++b)
        if (f[static_cast<std::size_t>(a)] > f[static_cast<std::size_t>(b)])
          EXPECT_GE(floors[static_cast<std::size_t>(a)], floors[static_cast<std::size_t>(b)]);
    ms::AdaptiveOptions o;
    o.floors = floors;
    o.search_iterations = 10;
    const auto p = ms::make_adaptive_placement(G, S, f, nullptr, o);
    for (int e = 0; e < E; ++e)
      EXPECT_GE(p.placement.replica_count(e), floors[static_cast<std::size_t>(e)]) << "G " << G << " E " << E;
  }
}

// docs/layer.md, "How far a shift can hurt": an expert with r < d replicas that takes all the
// copies of a micro-batch costs exactly d / r times ep's max load; with every expert at d the
// same micro-batch costs no more than under ep.
TEST(AdaptiveFloors, AShiftOntoAnExpertBelowEpsCountCostsDOverRTimesEp) {
  const int G = 8, E = 8, S = 2, d = 2;  // ep: P = 4 GPUs per group, d = 2 replicas each
  std::vector<std::int64_t> forecast(E, 10);
  forecast[0] = 900;  // expert 0 hot: the balanced placement gives it most GPUs
  const ms::Placement ep = ms::make_ep_placement(G, E, G / d);
  for (int floor : {0, d}) {
    ms::AdaptiveOptions o;
    o.floors = ms::adaptive_floors(G, S, forecast, floor);
    const auto a = ms::make_adaptive_placement(G, S, forecast, nullptr, o);
    int cold = 1;  // the expert with the fewest replicas
    for (int e = 1; e < E; ++e)
      if (a.placement.replica_count(e) < a.placement.replica_count(cold)) cold = e;
    const int r = a.placement.replica_count(cold);
    std::vector<std::int64_t> shifted(E, 0);
    shifted[static_cast<std::size_t>(cold)] = 800;  // the next micro-batch: every copy on `cold`
    ms::Solver on_a(a.placement), on_ep(ep);
    const std::int64_t adaptive_max = on_a.solve_loads(shifted).max_load, ep_max = on_ep.solve_loads(shifted).max_load;
    EXPECT_EQ(ep_max, 800 / d);
    EXPECT_EQ(adaptive_max, 800 / r);
    if (floor == d) {
      EXPECT_EQ(r, d);
      EXPECT_LE(adaptive_max, ep_max);  // ep's count: never worse than ep
    } else {
      EXPECT_EQ(r, 1);  // auto at this memory: the hot expert takes the spare, a cold one has 1
      EXPECT_EQ(adaptive_max, d * ep_max);
    }
    if (floor == 0) EXPECT_GE(a.placement.replica_count(0), 6);  // ...and balance: 900 of 970 copies
  }
}

TEST(BoundedReplacement, MovesAtMostTheBudgetAndKeepsTheFloor) {
  const int G = 16, S = 8, E = 32;
  const ms::Placement current = ms::make_symmetric_placement(G, S, E);  // 4 replicas each
  const auto forecast = zipf_loads(E, 5, true);  // the hottest: 61% of the copies, 4 replicas are not enough
  ms::ReplacementOptions o;
  o.adaptive.min_replicas = 2;
  o.adaptive.search_iterations = 100;
  const auto unbounded = ms::make_bounded_replacement(current, forecast, o);
  EXPECT_TRUE(unbounded.fresh);
  EXPECT_LT(unbounded.forecast_max_load, unbounded.current_max_load);
  ASSERT_GT(unbounded.migrations, 6);
  for (int budget : {1, 3, 6}) {
    o.max_migrations = budget;
    const auto r = ms::make_bounded_replacement(current, forecast, o);
    EXPECT_FALSE(r.fresh);
    EXPECT_LE(r.migrations, budget);
    EXPECT_GT(r.migrations, 0);
    r.placement.validate();
    EXPECT_GE(min_replicas(r.placement), 2);
    EXPECT_LT(r.forecast_max_load, r.current_max_load) << "budget " << budget;
    std::int64_t counted = 0;  // the reported migrations are the new (gpu, expert) pairs
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < S; ++j) {
        const int e = r.placement.expert(g, j);
        const auto& reps = current.replicas(e);
        counted += e >= 0 && !std::binary_search(reps.begin(), reps.end(), g);
      }
    EXPECT_EQ(counted, r.migrations);
    EXPECT_EQ(ms::make_bounded_replacement(current, forecast, o).placement, r.placement);  // deterministic
  }
  // More budget never does worse on the forecast here.
  o.max_migrations = 2;
  const auto small = ms::make_bounded_replacement(current, forecast, o);
  o.max_migrations = 6;
  EXPECT_LE(ms::make_bounded_replacement(current, forecast, o).forecast_max_load, small.forecast_max_load);
}
