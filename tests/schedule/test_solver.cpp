// SPDX-License-Identifier: BSD-3-Clause
// The exact solver against the GLPK oracle on thousands of seeded random instances, plus plan
// invariants, warm start, determinism, capacity weights and edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "glpk_oracle.hpp"
#include "instances.hpp"
#include "schedule/placement.hpp"
#include "schedule/rng.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using ms::CountMatrix;
using ms::Placement;
using ms::Plan;
using ms::Solver;

namespace {

// Checks every plan invariant; returns false (with a gtest failure) on the first broken one.
void expect_valid_plan(const Placement& p, const std::vector<std::int64_t>& loads, const Plan& plan) {
  ASSERT_EQ(plan.gpus, p.gpus);
  ASSERT_EQ(plan.experts, p.experts);
  ASSERT_EQ(plan.tokens.size(), static_cast<std::size_t>(p.gpus) * p.experts);
  std::vector<std::int64_t> gl(static_cast<std::size_t>(p.gpus), 0);
  std::int64_t total = 0;
  for (int e = 0; e < p.experts; ++e) {
    std::int64_t sum = 0;
    const auto& reps = p.replicas(e);
    for (int g = 0; g < p.gpus; ++g) {
      const std::int64_t v = plan.at(e, g);
      ASSERT_GE(v, 0) << "negative tokens, expert " << e << " gpu " << g;
      if (!std::binary_search(reps.begin(), reps.end(), g)) {
        ASSERT_EQ(v, 0) << "tokens off the replicas: e " << e << " g " << g;
      }
      sum += v;
      gl[static_cast<std::size_t>(g)] += v;
    }
    ASSERT_EQ(sum, loads[static_cast<std::size_t>(e)]) << "expert " << e << " not conserved";
    total += sum;
    ASSERT_EQ(plan.slot_tokens.size(), static_cast<std::size_t>(p.gpus) * p.slots_per_gpu);
    for (int g : reps)
      ASSERT_EQ(plan.slot_tokens[static_cast<std::size_t>(g) * p.slots_per_gpu + p.slot_on(g, e)], plan.at(e, g));
  }
  ASSERT_EQ(gl, plan.gpu_load);
  ASSERT_EQ(total, plan.total_tokens);
  ASSERT_EQ(*std::max_element(gl.begin(), gl.end()), plan.max_load);
  ASSERT_EQ(plan.lower_bound, plan.objective);
}

std::int64_t integral_optimum_from_lp(double mstar) {
  // m* = load(U)/|U| with |U| <= 16 here: a value within 1e-6 of an integer is that integer.
  const double r = std::round(mstar);
  if (std::fabs(mstar - r) < 1e-6) return static_cast<std::int64_t>(r);
  return static_cast<std::int64_t>(std::ceil(mstar));
}

// A random placement of one of the kinds for (G, S); E and d follow.
Placement random_instance_placement(ms::Rng& rng, int& kind_out) {
  static const int gpu_choices[] = {1, 2, 3, 4, 5, 6, 8, 8, 12, 16, 16};
  const int G = gpu_choices[rng.below(sizeof(gpu_choices) / sizeof(int))];
  const int kind = static_cast<int>(rng.below(5));
  kind_out = kind;
  const int S = 1 + static_cast<int>(rng.below(6));
  // d divides G (so any kind packs); E = G*S/d.
  std::vector<int> ds;
  for (int d = 1; d <= G; ++d)
    if (G % d == 0 && d <= 4) ds.push_back(d);
  const int d = ds[rng.below(ds.size())];
  const int E = G * S / d;
  switch (kind) {
    case 0:
      return ms::make_random_placement(G, S, E, rng.next());
    case 1:
      return ms::make_symmetric_placement(G, S, E, rng.next(), 2);
    case 2: {  // ep: ep_size P = G/d groups of... P divides G and E
      const int P = G / d;
      return ms::make_ep_placement(G, P * S, P);
    }
    case 3: {  // adaptive from random loads
      std::vector<std::int64_t> f(static_cast<std::size_t>(E));
      for (auto& v : f) v = static_cast<std::int64_t>(rng.below(1000));
      ms::AdaptiveOptions o;
      o.seed = rng.next();
      o.search_iterations = 20;
      return ms::make_adaptive_placement(G, S, f, nullptr, o).placement;
    }
    default: {  // hand-rolled irregular: random replica counts, random GPUs per slot
      const int Ei = std::max(1, E);
      std::vector<int> at(static_cast<std::size_t>(G) * S, -1);
      int e = 0;
      for (int j = 0; j < S && e < Ei; ++j) {
        std::vector<int> perm(static_cast<std::size_t>(G));
        std::iota(perm.begin(), perm.end(), 0);
        rng.shuffle(perm);
        int pos = 0;
        while (pos < G && e < Ei) {
          const int left_experts = Ei - e, left_slots = S - j - 1;
          int cnt = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(std::min(4, G - pos))));
          if (left_slots == 0) cnt = std::max(1, std::min(cnt, (G - pos) - (left_experts - 1)));
          if (cnt > G - pos) break;
          for (int r = 0; r < cnt; ++r)
            at[static_cast<std::size_t>(perm[static_cast<std::size_t>(pos + r)]) * S + j] = e;
          pos += cnt;
          ++e;
          if (left_slots > 0 && rng.below(3) == 0) break;
        }
      }
      return Placement(G, S, e, at);
    }
  }
}

CountMatrix random_counts(ms::Rng& rng, int G, int E) {
  CountMatrix c(G, E);
  const int style = static_cast<int>(rng.below(5));
  const double s = 0.25 * static_cast<double>(rng.below(10));  // Zipf skew 0 .. 2.25
  std::vector<int> rank(static_cast<std::size_t>(E));
  std::iota(rank.begin(), rank.end(), 0);
  rng.shuffle(rank);
  const std::int64_t scale = 1 + static_cast<std::int64_t>(rng.below(5000));
  for (int g = 0; g < G; ++g)
    for (int e = 0; e < E; ++e) {
      std::int64_t v = 0;
      switch (style) {
        case 0:
          v = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(scale)));
          break;
        case 1:
          v = static_cast<std::int64_t>(static_cast<double>(scale) *
                                        std::pow(rank[static_cast<std::size_t>(e)] + 1.0, -s)) +
              static_cast<std::int64_t>(rng.below(3));
          break;
        case 2:
          v = rng.below(4) == 0 ? static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(scale))) : 0;
          break;
        case 3:
          v = rank[static_cast<std::size_t>(e)] == 0 ? scale : static_cast<std::int64_t>(rng.below(3));
          break;
        default:
          v = static_cast<std::int64_t>(rng.below(7));
          break;
      }
      c(g, e) = v;
    }
  return c;
}

}  // namespace

TEST(Solver, ExactOnThousandsOfRandomInstancesVsLp) {
  ms::Rng rng(20251129);
  int n = 0, jumps = 0;
  int kinds[5] = {0, 0, 0, 0, 0};
  for (int inst = 0; inst < 2500; ++inst) {
    int kind = 0;
    const Placement p = random_instance_placement(rng, kind);
    ++kinds[kind];
    Solver solver(p);
    ms::testing::LpMinMax lp(p);
    // A short sequence of micro-batches per placement exercises the warm start too.
    const int steps = 1 + static_cast<int>(rng.below(4));
    for (int t = 0; t < steps; ++t) {
      const CountMatrix c = random_counts(rng, p.gpus, p.experts);
      const auto loads = c.expert_loads();
      // Both entry points, interleaved: the loads-only one warm-starts from the previous plan.
      const Plan plan = rng.below(2) ? solver.solve(c) : solver.solve_loads(loads);
      ASSERT_NO_FATAL_FAILURE(expect_valid_plan(p, loads, plan)) << "instance " << inst << "\n" << p.to_string();
      const std::int64_t opt = integral_optimum_from_lp(lp.solve(loads));
      ASSERT_EQ(plan.max_load, opt) << "instance " << inst << " step " << t << "\n" << p.to_string();
      jumps += plan.flow_rounds > 1;
      ++n;
    }
  }
  std::printf("[ info ] %d solves exact vs GLPK (kinds %d/%d/%d/%d/%d), %d needed a density jump\n", n, kinds[0],
              kinds[1], kinds[2], kinds[3], kinds[4], jumps);
}

TEST(Solver, MaxLoadIsInfeasibleMinusOne) {
  // Independent of the LP's rounding: the integral optimum T is feasible and T-1 is not.
  ms::Rng rng(7);
  for (int inst = 0; inst < 300; ++inst) {
    int kind = 0;
    const Placement p = random_instance_placement(rng, kind);
    const CountMatrix c = random_counts(rng, p.gpus, p.experts);
    const Plan plan = Solver(p).solve(c);
    if (plan.max_load == 0) continue;
    std::vector<std::int64_t> caps(static_cast<std::size_t>(p.gpus), plan.max_load - 1);
    ASSERT_FALSE(ms::testing::lp_feasible(p, c, caps)) << "instance " << inst;
    std::fill(caps.begin(), caps.end(), plan.max_load);
    ASSERT_TRUE(ms::testing::lp_feasible(p, c, caps));
  }
}

TEST(Solver, CapacityWeightsExact) {
  ms::Rng rng(99);
  for (int inst = 0; inst < 400; ++inst) {
    int kind = 0;
    const Placement p = random_instance_placement(rng, kind);
    ms::SolverOptions o;
    o.capacity_weights.resize(static_cast<std::size_t>(p.gpus));
    for (auto& w : o.capacity_weights) w = 1 + static_cast<std::int64_t>(rng.below(rng.below(2) ? 4 : 1000));
    const std::int64_t wmax = *std::max_element(o.capacity_weights.begin(), o.capacity_weights.end());
    Solver solver(p, o);
    for (int t = 0; t < 3; ++t) {
      const CountMatrix c = random_counts(rng, p.gpus, p.experts);
      const Plan plan = t == 1 ? solver.solve(c) : solver.solve_loads(c.expert_loads());
      ASSERT_NO_FATAL_FAILURE(expect_valid_plan(p, c.expert_loads(), plan));
      const std::int64_t T = plan.objective;
      auto caps_at = [&](std::int64_t level) {
        std::vector<std::int64_t> caps(static_cast<std::size_t>(p.gpus));
        for (int g = 0; g < p.gpus; ++g)
          caps[static_cast<std::size_t>(g)] = level * o.capacity_weights[static_cast<std::size_t>(g)] / wmax;
        return caps;
      };
      const auto caps = caps_at(T);
      for (int g = 0; g < p.gpus; ++g)
        ASSERT_LE(plan.gpu_load[static_cast<std::size_t>(g)], caps[static_cast<std::size_t>(g)]);
      if (T > 0) {
        ASSERT_FALSE(ms::testing::lp_feasible(p, c, caps_at(T - 1))) << "instance " << inst;
      }
    }
  }
}

TEST(Solver, SlowGpuGetsProportionallyLess) {
  const Placement p = ms::make_symmetric_placement(8, 8, 32);
  ms::SolverOptions o;
  o.capacity_weights = {2, 2, 2, 2, 2, 2, 2, 1};
  CountMatrix c(8, 32);
  for (auto& v : c.data) v = 100;
  const Plan plan = Solver(p, o).solve(c);
  // 25600 tokens over 7.5 weight units: fast GPUs ~3414, the slow one ~1707.
  EXPECT_LE(plan.gpu_load[7] * 2, plan.objective);
  EXPECT_EQ(plan.objective, (25600 * 2 + 14) / 15);
}

TEST(Solver, WarmStartMatchesColdAndIsDeterministic) {
  const Placement p = ms::make_symmetric_placement(16, 8, 64, 3);
  for (double s : {0.5, 1.0, 2.0}) {
    ms::testing::DriftingZipf gen(16, 64, s, 512, 2, 11, 3);
    Solver warm(p), warm2(p);
    ms::SolverOptions cold_opt;
    cold_opt.warm_start = false;
    Solver cold(p, cold_opt);
    Plan reused, reused_loads;
    ms::SolverOptions compact;
    compact.dense_tokens = false;
    Solver warm_loads(p), warm_loads2(p, compact);
    for (int t = 0; t < 60; ++t) {
      const CountMatrix c = gen.next();
      const Plan a = warm.solve(c);
      const Plan b = cold.solve(c);
      warm2.solve(c, reused);
      ASSERT_EQ(a.max_load, b.max_load) << "s " << s << " step " << t;
      ASSERT_EQ(a.tokens, reused.tokens) << "same history must give bit-identical plans";
      ASSERT_EQ(a.gpu_load, reused.gpu_load);
      const Plan fresh = Solver(p, cold_opt).solve(c);
      ASSERT_EQ(b.tokens, fresh.tokens) << "cold solves are history-free";
      const auto loads = c.expert_loads();
      const Plan wl = warm_loads.solve_loads(loads);
      warm_loads2.solve_loads(loads, reused_loads);
      ASSERT_NO_FATAL_FAILURE(expect_valid_plan(p, loads, wl));
      ASSERT_EQ(wl.max_load, b.max_load) << "warm loads-only solve is exact too";
      ASSERT_EQ(wl.slot_tokens, reused_loads.slot_tokens) << "and deterministic given the history";
    }
  }
}

TEST(Solver, EdgeCases) {
  {  // all loads zero
    const Placement p = ms::make_symmetric_placement(8, 4, 16);
    const Plan plan = Solver(p).solve(CountMatrix(8, 16));
    EXPECT_EQ(plan.max_load, 0);
    EXPECT_EQ(plan.total_tokens, 0);
    EXPECT_DOUBLE_EQ(plan.imbalance(), 1.0);
  }
  {  // one expert holds every token: spread evenly over its d replicas
    const Placement p = ms::make_symmetric_placement(8, 4, 16);
    CountMatrix c(8, 16);
    for (int g = 0; g < 8; ++g) c(g, 5) = 1001;
    const Plan plan = Solver(p).solve(c);
    EXPECT_EQ(plan.max_load, (8008 + 1) / 2);
    for (int g : p.replicas(5)) EXPECT_EQ(plan.at(5, g), 4004);
  }
  {                                                             // E < G
    const Placement p = ms::make_random_placement(8, 1, 4, 5);  // d = 2
    CountMatrix c(8, 4);
    for (int g = 0; g < 8; ++g)
      for (int e = 0; e < 4; ++e) c(g, e) = g + e;
    const Plan plan = Solver(p).solve(c);
    ASSERT_NO_FATAL_FAILURE(expect_valid_plan(p, c.expert_loads(), plan));
  }
  {  // d = 1 reduces to EP: every expert's load on its only GPU
    const Placement p = ms::make_ep_placement(4, 8, 4);
    ms::Rng rng(3);
    CountMatrix c = random_counts(rng, 4, 8);
    const auto loads = c.expert_loads();
    const Plan plan = Solver(p).solve(c);
    for (int e = 0; e < 8; ++e) EXPECT_EQ(plan.at(e, p.replicas(e)[0]), loads[static_cast<std::size_t>(e)]);
    std::int64_t mx = 0;
    for (int g = 0; g < 4; ++g) {
      std::int64_t l = 0;
      for (int e = 0; e < 8; ++e)
        if (p.replicas(e)[0] == g) l += loads[static_cast<std::size_t>(e)];
      mx = std::max(mx, l);
    }
    EXPECT_EQ(plan.max_load, mx);
  }
  {  // G = 1
    const Placement p = ms::make_ep_placement(1, 4, 1);
    CountMatrix c(1, 4, {3, 0, 5, 9});
    const Plan plan = Solver(p).solve(c);
    EXPECT_EQ(plan.max_load, 17);
    const auto r = ms::build_routes(p, c, plan, 1);
    EXPECT_EQ(r.cross_gpu_tokens(), 0);
  }
}

TEST(Solver, RejectsBadInput) {
  const Placement p = ms::make_symmetric_placement(4, 2, 4);
  Solver s(p);
  EXPECT_THROW(s.solve(CountMatrix(3, 4)), std::invalid_argument);
  EXPECT_THROW(s.solve(CountMatrix(4, 5)), std::invalid_argument);
  CountMatrix neg(4, 4);
  neg(2, 1) = -1;
  try {
    s.solve(neg);
    FAIL() << "negative count accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("source 2, expert 1"), std::string::npos) << e.what();
  }
  ms::SolverOptions o;
  o.capacity_weights = {1, 2, 0, 1};
  EXPECT_THROW(Solver(p, o), std::invalid_argument);
  o.capacity_weights = {1, 2};
  EXPECT_THROW(Solver(p, o), std::invalid_argument);
  ms::SolverOptions bad_node;
  bad_node.gpus_per_node = -1;
  EXPECT_THROW(Solver(p, bad_node), std::invalid_argument);
  EXPECT_THROW(s.solve_loads({1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(s.solve_loads({1, 2, -3, 4}), std::invalid_argument);
}

TEST(Solver, LocalityGapVsLp) {
  // Among optimal plans the solver keeps tokens local first; measure the gap to the best
  // achievable at the same max load (LP with the max load fixed).
  ms::Rng rng(4242);
  std::int64_t total = 0, mine_gpu = 0, best_gpu = 0, mine_node = 0, best_node = 0;
  int worse_instances = 0, n = 0;
  for (int inst = 0; inst < 300; ++inst) {
    int kind = 0;
    const Placement p = random_instance_placement(rng, kind);
    if (p.gpus < 2) continue;
    const int per_node = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(p.gpus)));
    const CountMatrix c = random_counts(rng, p.gpus, p.experts);
    ms::SolverOptions o;
    o.gpus_per_node = per_node;
    const Plan plan = Solver(p, o).solve(c);
    ASSERT_NO_FATAL_FAILURE(expect_valid_plan(p, c.expert_loads(), plan));
    ASSERT_EQ(plan.max_load, Solver(p).solve(c).max_load) << "node-aware plans are exact too";
    const auto routes = ms::build_routes(p, c, plan, per_node);
    std::vector<std::int64_t> caps(static_cast<std::size_t>(p.gpus), plan.max_load);
    const std::int64_t best_local = ms::testing::lp_best_local(p, c, caps, 0);
    const std::int64_t best_node_local = ms::testing::lp_best_local(p, c, caps, per_node);
    ASSERT_GE(best_local, 0);
    const std::int64_t t = plan.total_tokens;
    ASSERT_GE(routes.cross_gpu_tokens(), t - best_local) << "the LP bound must hold";
    ASSERT_GE(routes.cross_node_tokens(), t - best_node_local);
    total += t;
    mine_gpu += routes.cross_gpu_tokens();
    best_gpu += t - best_local;
    mine_node += routes.cross_node_tokens();
    best_node += t - best_node_local;
    worse_instances += routes.cross_gpu_tokens() > t - best_local;
    ++n;
  }
  const double gap_gpu =
      static_cast<double>(mine_gpu - best_gpu) / static_cast<double>(std::max<std::int64_t>(1, best_gpu));
  const double gap_node =
      static_cast<double>(mine_node - best_node) / static_cast<double>(std::max<std::int64_t>(1, best_node));
  std::printf(
      "[ info ] locality over %d instances, %lld tokens: cross-GPU %lld vs best %lld (+%.2f%%, %d instances above), "
      "cross-node %lld vs best %lld (+%.2f%%)\n",
      n, static_cast<long long>(total), static_cast<long long>(mine_gpu), static_cast<long long>(best_gpu),
      100 * gap_gpu, worse_instances, static_cast<long long>(mine_node), static_cast<long long>(best_node),
      100 * gap_node);
  EXPECT_LT(gap_gpu, 0.01);
  EXPECT_LT(gap_node, 0.05);
}
