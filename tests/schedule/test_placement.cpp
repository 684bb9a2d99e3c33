// SPDX-License-Identifier: BSD-3-Clause
// Placement builders, validation and quality measures.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "schedule/placement.hpp"
#include "schedule/rng.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using ms::Placement;

namespace {

void expect_invalid(int G, int S, int E, std::vector<int> at, const std::string& needle) {
  try {
    Placement p(G, S, E, std::move(at));
    FAIL() << "accepted; expected an error containing \"" << needle << "\"";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// Pairs of GPUs sharing an expert, with multiplicity.
std::map<std::pair<int, int>, int> pair_counts(const Placement& p) {
  std::map<std::pair<int, int>, int> m;
  for (int e = 0; e < p.experts; ++e) {
    const auto& r = p.replicas(e);
    for (std::size_t a = 0; a < r.size(); ++a)
      for (std::size_t b = a + 1; b < r.size(); ++b) ++m[{r[a], r[b]}];
  }
  return m;
}

}  // namespace

TEST(Placement, ValidateNamesTheProblem) {
  expect_invalid(2, 2, 3, {0, 1, 0, 1}, "expert 2 has no replica");
  expect_invalid(2, 2, 2, {0, 0, 1, 1}, "twice");
  expect_invalid(2, 2, 2, {0, 5, 0, 1}, "out of range");
  expect_invalid(2, 2, 2, {0, -3, 0, 1}, "out of range");
  expect_invalid(2, 2, 2, {0, 1, 0}, "entries");
  expect_invalid(0, 2, 2, {}, "gpus");
  const Placement ok(2, 2, 3, {0, 1, 0, 2});
  EXPECT_EQ(ok.replicas(0), (std::vector<int>{0, 1}));
  EXPECT_EQ(ok.slot_on(1, 2), 1);
  EXPECT_EQ(ok.slot_on(0, 2), -1);
  EXPECT_TRUE(ok.same_slot());
  // An expert may use different slot indices on different GPUs: expert 1 in slot 1 on GPU 0,
  // slot 0 on GPU 1; its replica slots follow its GPUs.
  const Placement mixed(2, 2, 2, {0, 1, 1, -1});
  EXPECT_EQ(mixed.replicas(1), (std::vector<int>{0, 1}));
  EXPECT_EQ(mixed.replica_slots(1), (std::vector<int>{1, 0}));
  EXPECT_EQ(mixed.slot_on(1, 1), 0);
  EXPECT_FALSE(mixed.same_slot());
  EXPECT_EQ(ok.expert(1, 1), 2);
  EXPECT_EQ(ok.uniform_replicas(), 0);
  Placement edit = ok;
  edit.expert_at[3] = 0;  // expert 0 twice on GPU 1
  EXPECT_THROW(edit.reindex(), std::invalid_argument);
}

TEST(Placement, EpIsIdenticalInEveryGroup) {
  const Placement p = ms::make_ep_placement(8, 16, 4);  // S = 4, 2 groups
  EXPECT_EQ(p.slots_per_gpu, 4);
  for (int e = 0; e < 16; ++e) {
    EXPECT_EQ(p.replicas(e), (std::vector<int>{e / 4, 4 + e / 4}));
    EXPECT_EQ(p.replica_slots(e), (std::vector<int>{e % 4, e % 4}));
  }
  EXPECT_THROW(ms::make_ep_placement(8, 16, 3), std::invalid_argument);
  EXPECT_THROW(ms::make_ep_placement(6, 16, 3), std::invalid_argument);
}

TEST(Placement, RandomAndSymmetricAreValidWithUniformReplicas) {
  for (int G : {2, 4, 6, 8, 12, 16, 32, 64}) {
    for (int d : {1, 2, 4}) {
      if (G % d) continue;
      for (int S : {1, 3, 8}) {
        const int E = G * S / d;
        for (std::uint64_t seed : {0ULL, 1ULL, 77ULL}) {
          const Placement r = ms::make_random_placement(G, S, E, seed);
          const Placement s = ms::make_symmetric_placement(G, S, E, seed);
          EXPECT_EQ(r.uniform_replicas(), d);
          EXPECT_EQ(s.uniform_replicas(), d);
          EXPECT_EQ(std::count(s.expert_at.begin(), s.expert_at.end(), -1), 0);
          EXPECT_EQ(ms::make_random_placement(G, S, E, seed), r) << "seeded = reproducible";
          EXPECT_EQ(ms::make_symmetric_placement(G, S, E, seed), s);
        }
      }
    }
  }
  EXPECT_NE(ms::make_random_placement(16, 8, 64, 1), ms::make_random_placement(16, 8, 64, 2));
  EXPECT_THROW(ms::make_random_placement(8, 3, 5, 0), std::invalid_argument);
}

TEST(Placement, SymmetricD2IsASimpleConnectedGraphOfMatchings) {
  for (int G : {4, 8, 16, 32, 64}) {
    for (int S : {2, 3, 5, 8}) {
      if (S > G - 1) continue;
      const Placement p = ms::make_symmetric_placement(G, S, G * S / 2, 5);
      for (const auto& kv : pair_counts(p))
        EXPECT_EQ(kv.second, 1) << "GPU pair shares two experts, G " << G << " S " << S;
      // Each slot a perfect matching: every GPU has every slot filled, each expert twice.
      for (int e = 0; e < p.experts; ++e) EXPECT_EQ(p.replica_count(e), 2);
      // Connected: BFS over shared experts.
      std::vector<char> seen(static_cast<std::size_t>(G), 0);
      std::vector<int> q{0};
      seen[0] = 1;
      for (std::size_t i = 0; i < q.size(); ++i)
        for (int j = 0; j < S; ++j)
          for (int h : p.replicas(p.expert(q[i], j)))
            if (!seen[static_cast<std::size_t>(h)]) {
              seen[static_cast<std::size_t>(h)] = 1;
              q.push_back(h);
            }
      if (S >= 2) {
        EXPECT_EQ(static_cast<int>(q.size()), G) << "disconnected, G " << G << " S " << S;
      }
    }
  }
}

TEST(Placement, SymmetricBalancesBetterThanEp) {
  const Placement ep = ms::make_ep_placement(8, 32, 4);  // d = 2, S = 8
  const Placement sym = ms::make_symmetric_placement(8, 8, 32);
  for (double s : {0.5, 1.0}) {
    const double iep = ms::expected_zipf_imbalance(ep, s, 32, 3);
    const double isym = ms::expected_zipf_imbalance(sym, s, 32, 3);
    EXPECT_LT(isym, iep) << "s " << s;
    if (s <= 0.5) {
      EXPECT_LT(isym, 1.01) << "s " << s;
    }
  }
}

TEST(Placement, AdaptiveReplicaCountsFollowLoad) {
  std::vector<std::int64_t> f(32);
  for (int e = 0; e < 32; ++e) f[static_cast<std::size_t>(e)] = 100000 / (e + 1) / (e + 1);  // Zipf(2)
  const Placement current = ms::make_symmetric_placement(8, 8, 32);
  const auto a = ms::make_adaptive_placement(8, 8, f, &current);
  a.placement.validate();
  EXPECT_EQ(std::accumulate(a.replica_counts.begin(), a.replica_counts.end(), 0), 64);
  for (int e = 0; e < 32; ++e) EXPECT_EQ(a.placement.replica_count(e), a.replica_counts[static_cast<std::size_t>(e)]);
  EXPECT_GE(a.replica_counts[0], 4);
  for (int e = 1; e < 32; ++e) EXPECT_LE(a.replica_counts[static_cast<std::size_t>(e)], a.replica_counts[0]);
  // The forecast is balanced exactly when no expert's load per replica exceeds the mean.
  ms::Solver solver(a.placement);
  const auto plan = solver.solve_loads(f);
  EXPECT_EQ(plan.max_load, a.forecast_max_load);
  EXPECT_LE(a.forecast_max_load, a.forecast_lower_bound + 1);
  // Migrations: (gpu, expert) pairs absent from the current placement.
  std::int64_t mig = 0;
  for (int g = 0; g < 8; ++g)
    for (int j = 0; j < 8; ++j) {
      const int e = a.placement.expert(g, j);
      const auto& r = current.replicas(e);
      mig += !std::binary_search(r.begin(), r.end(), g);
    }
  EXPECT_EQ(a.migrations, mig);
  // Re-placing for the same forecast from the result moves little.
  const auto again = ms::make_adaptive_placement(8, 8, f, &a.placement);
  EXPECT_LE(again.migrations, a.migrations);
  EXPECT_EQ(again.forecast_max_load, a.forecast_max_load);
  // Deterministic.
  EXPECT_EQ(ms::make_adaptive_placement(8, 8, f, &current).placement, a.placement);
}

TEST(Placement, AdaptiveHandlesOddShapes) {
  ms::Rng rng(1);
  for (int t = 0; t < 50; ++t) {
    const int G = 1 + static_cast<int>(rng.below(12)), S = 1 + static_cast<int>(rng.below(5));
    const int E = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(G * S)));
    std::vector<std::int64_t> f(static_cast<std::size_t>(E));
    for (auto& v : f) v = static_cast<std::int64_t>(rng.below(3) ? rng.below(1000) : 0);
    ms::AdaptiveOptions o;
    o.search_iterations = 30;
    const auto a = ms::make_adaptive_placement(G, S, f, nullptr, o);
    EXPECT_NO_THROW(a.placement.validate());
    EXPECT_EQ(a.placement.experts, E);
  }
  EXPECT_THROW(ms::make_adaptive_placement(2, 2, std::vector<std::int64_t>(5, 1)), std::invalid_argument);
}

TEST(Placement, RedundantAddsReplicasForHotExperts) {
  std::vector<std::int64_t> f(16, 10);
  f[3] = 1000;
  f[9] = 500;
  const Placement p = ms::make_redundant_placement(8, 16, 4, 1, f);  // EP S = 4, +1 slot
  EXPECT_EQ(p.slots_per_gpu, 5);
  EXPECT_GT(p.replica_count(3), 2);
  EXPECT_GT(p.replica_count(9), 2);
  EXPECT_EQ(p.replica_count(0), 2);
  // A promoted expert keeps its EP GPUs.
  const Placement ep = ms::make_ep_placement(8, 16, 4);
  for (int g : ep.replicas(3)) {
    const auto& r = p.replicas(3);
    EXPECT_TRUE(std::binary_search(r.begin(), r.end(), g));
  }
  const auto plan_r = ms::Solver(p).solve_loads(f);
  const auto plan_e = ms::Solver(ep).solve_loads(f);
  EXPECT_LT(plan_r.max_load, plan_e.max_load);
  EXPECT_EQ(ms::make_redundant_placement(8, 16, 4, 0, f), ep);
}

TEST(Placement, MaxInducedDensityExactAndSolverAgree) {
  ms::Rng rng(12);
  for (int t = 0; t < 200; ++t) {
    const int G = 2 * (1 + static_cast<int>(rng.below(8)));
    const int S = 1 + static_cast<int>(rng.below(4));
    const Placement p = ms::make_random_placement(G, S * 2, G * S, rng.next());  // d = 2
    std::vector<std::int64_t> loads(static_cast<std::size_t>(p.experts));
    for (auto& v : loads) v = static_cast<std::int64_t>(rng.below(rng.below(2) ? 10 : 100000));
    const ms::Density d = ms::max_induced_density(p, loads);
    const auto plan = ms::Solver(p).solve_loads(loads);
    // ceil(m*) is the integral optimum.
    EXPECT_EQ((d.num + d.den - 1) / d.den, plan.max_load);
  }
  // Above 16 GPUs the solver-based measure is exact too: compare on a structure where the
  // densest set is known (two hot experts sharing a GPU pair inside a 32-GPU placement).
  const Placement p = ms::make_ep_placement(32, 64, 16);  // d = 2, replica pairs {g, g+16}
  std::vector<std::int64_t> loads(64, 1);
  loads[0] = 1000;
  loads[1] = 999;  // experts 0 and 1 both on GPUs {0, 16}
  const ms::Density d = ms::max_induced_density(p, loads);
  EXPECT_EQ(d.num * 2, d.den * (1000 + 999 + 2)) << d.num << "/" << d.den;  // 4 experts on {0,16} (S = 4)
}

TEST(Placement, AdversarialZipfFindsWorseRankingsThanAverage) {
  const Placement ep = ms::make_ep_placement(8, 32, 4);
  const Placement sym = ms::make_symmetric_placement(8, 8, 32);
  for (double s : {0.5, 1.0, 2.0}) {
    const double adv_sym = ms::adversarial_zipf_imbalance(sym, s, 2, 150);
    const double adv_ep = ms::adversarial_zipf_imbalance(ep, s, 2, 150);
    EXPECT_GE(adv_sym, 1.0);
    EXPECT_GE(adv_sym + 1e-12, ms::expected_zipf_imbalance(sym, s, 8, 5) - 0.02) << "s " << s;
    EXPECT_GT(adv_ep, adv_sym) << "EP's identical replica pairs are easier to overload, s " << s;
    EXPECT_EQ(adv_sym, ms::adversarial_zipf_imbalance(sym, s, 2, 150)) << "seeded";
  }
  // Worst case for EP at s = 2: the 8 hottest experts on one replica pair {g, g+4} (which holds
  // S = 8 experts): imbalance = 8 GPUs * (their share) / 2 GPUs.
  std::vector<double> p(32);
  double h = 0;
  for (int r = 0; r < 32; ++r) h += p[static_cast<std::size_t>(r)] = 1.0 / ((r + 1.0) * (r + 1.0));
  double top8 = 0;
  for (int r = 0; r < 8; ++r) top8 += p[static_cast<std::size_t>(r)];
  const double pair_share = 4 * top8 / h;
  EXPECT_NEAR(ms::adversarial_zipf_imbalance(ep, 2.0, 4, 400), pair_share, 0.02);
}
