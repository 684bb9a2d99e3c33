// SPDX-License-Identifier: BSD-3-Clause
// Per-rank routes: every GPU's row and column equal build_routes' table, on seeded instances of
// every shape the layer meets (nodes, zero rows and columns, a hot expert, d = 1, 2, 4, uneven
// replica counts, arbitrary conserving plans, G up to 1,024).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "instances.hpp"
#include "schedule/placement.hpp"
#include "schedule/rank_routes.hpp"
#include "schedule/rng.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using ms::CountMatrix;
using ms::Placement;

namespace {

/// Rank `me`'s routes against the whole table.
void expect_rank_equals_table(const Placement& p, const CountMatrix& c, const ms::Routing& table,
                              const ms::RankRouting& mine, int me) {
  const int G = p.gpus, E = p.experts, S = p.slots_per_gpu;
  ASSERT_EQ(mine.gpu, me);
  ASSERT_EQ(mine.leg_begin.size(), static_cast<std::size_t>(E) + 1);
  for (int e = 0; e < E; ++e) {
    const auto want = table.legs_of(me, e);
    const auto got = mine.legs_of(e);
    ASSERT_EQ(got.size(), want.size()) << "legs of (" << me << ", " << e << ")";
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].gpu, want[i].gpu) << "leg " << i << " of (" << me << ", " << e << ")";
      ASSERT_EQ(got[i].tokens, want[i].tokens) << "leg " << i << " of (" << me << ", " << e << ")";
    }
  }
  ASSERT_EQ(mine.send_counts, table.send_counts(me));
  std::vector<std::int64_t> recv_counts(static_cast<std::size_t>(G), 0);
  for (int s = 0; s < G; ++s)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(me, j);
      std::int64_t want = 0;
      if (e >= 0)
        for (const auto& l : table.legs_of(s, e))
          if (l.gpu == me) want += l.tokens;
      ASSERT_EQ(mine.received_from(s, j), want) << "tokens from " << s << " to (" << me << ", slot " << j << ")";
      recv_counts[static_cast<std::size_t>(s)] += want;
    }
  ASSERT_EQ(mine.recv_counts, recv_counts);
  // Every other field as the whole routing's slice (the layer's default path for other strategies).
  ms::RankRouting sliced;
  ms::slice_routing(table, p, me, sliced);
  ASSERT_EQ(mine.gpus, sliced.gpus);
  ASSERT_EQ(mine.slots_per_gpu, sliced.slots_per_gpu);
  ASSERT_EQ(mine.kept, sliced.kept);
  ASSERT_EQ(mine.leg_begin, sliced.leg_begin);
  ASSERT_EQ(mine.received, sliced.received);
  ASSERT_EQ(mine.send_counts, sliced.send_counts);
  ASSERT_EQ(mine.recv_counts, sliced.recv_counts);
  ASSERT_EQ(mine.gpu_load, sliced.gpu_load);
  ASSERT_EQ(mine.dropped, sliced.dropped);
  ASSERT_EQ(mine.lower_bound, sliced.lower_bound);
  (void)c;
}

/// Every rank (or `ranks` of them, spread over the GPUs, always with the first and last).
void expect_all_ranks(const Placement& p, const CountMatrix& c, const ms::Plan& plan, int per_node,
                      const std::int64_t* node_counts, int ranks) {
  const ms::Routing table = ms::build_routes(p, c, plan, per_node);
  ms::RankRouting mine;
  const int G = p.gpus;
  const int step = std::max(1, G / std::max(1, ranks));
  std::vector<int> checked;
  for (int me = 0; me < G; me += step) checked.push_back(me);
  if (checked.back() != G - 1) checked.push_back(G - 1);
  for (int me : checked) {
    ms::build_rank_routes(p, c, plan, per_node, me, mine, node_counts);
    ASSERT_NO_FATAL_FAILURE(expect_rank_equals_table(p, c, table, mine, me)) << "rank " << me;
  }
}

/// A conserving plan the solver would not pick: each expert's load split at random over its replicas.
ms::Plan random_plan(const Placement& p, const CountMatrix& c, ms::Rng& rng) {
  ms::Plan plan;
  plan.gpus = p.gpus;
  plan.experts = p.experts;
  plan.slots_per_gpu = p.slots_per_gpu;
  plan.tokens.assign(static_cast<std::size_t>(p.experts) * p.gpus, 0);
  plan.slot_tokens.assign(static_cast<std::size_t>(p.gpus) * p.slots_per_gpu, 0);
  plan.gpu_load.assign(static_cast<std::size_t>(p.gpus), 0);
  const auto loads = c.expert_loads();
  for (int e = 0; e < p.experts; ++e) {
    const auto& reps = p.replicas(e);
    std::int64_t left = loads[static_cast<std::size_t>(e)];
    for (std::size_t i = 0; i < reps.size(); ++i) {
      const std::int64_t t =
          i + 1 == reps.size() ? left : static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(left) + 1));
      left -= t;
      const int g = reps[i];
      plan.tokens[static_cast<std::size_t>(e) * p.gpus + g] = t;
      plan.slot_tokens[static_cast<std::size_t>(g) * p.slots_per_gpu + p.slot_on(g, e)] = t;
      plan.gpu_load[static_cast<std::size_t>(g)] += t;
      plan.total_tokens += t;
    }
  }
  return plan;
}

/// Counts with the shapes that stress the rule: dense Zipf, zero rows, zero columns, one hot expert.
CountMatrix make_counts(int G, int E, int shape, ms::Rng& rng) {
  ms::testing::DriftingZipf gen(G, E, 0.25 * static_cast<double>(rng.below(9)), G <= 64 ? 48 : 256, 2, rng.next());
  CountMatrix c = G <= 64 ? gen.next() : gen.next_expected();
  if (shape == 1)  // zero rows
    for (int s = 0; s < G; ++s)
      if (rng.below(3) == 0)
        std::fill(c.data.begin() + static_cast<std::ptrdiff_t>(s) * E,
                  c.data.begin() + static_cast<std::ptrdiff_t>(s + 1) * E, 0);
  if (shape == 2)  // zero columns
    for (int e = 0; e < E; ++e)
      if (rng.below(3) == 0)
        for (int s = 0; s < G; ++s) c(s, e) = 0;
  if (shape == 3) {  // one hot expert takes most tokens
    const int hot = static_cast<int>(rng.below(static_cast<std::uint64_t>(E)));
    for (int s = 0; s < G; ++s) c(s, hot) += 40 + static_cast<std::int64_t>(rng.below(200));
  }
  if (shape == 4)  // sparse: a few nonzeros
    for (auto& v : c.data) v = rng.below(8) == 0 ? static_cast<std::int64_t>(rng.below(30)) : 0;
  return c;
}

Placement make_placement(int G, int S, int E, int kind, ms::Rng& rng) {
  switch (kind) {
    case 0:
      return ms::make_symmetric_placement(G, S, E, rng.next(), G <= 64 ? 4 : 1);
    case 1:
      return ms::make_random_placement(G, S, E, rng.next());
    default: {  // uneven replica counts from a skewed forecast
      std::vector<std::int64_t> forecast(static_cast<std::size_t>(E));
      for (int e = 0; e < E; ++e)
        forecast[static_cast<std::size_t>(e)] = 1 + static_cast<std::int64_t>(rng.below(1000)) / (1 + e % 7);
      ms::AdaptiveOptions opt;
      opt.seed = rng.next();
      opt.search_iterations = G <= 64 ? 20 : 0;
      return ms::make_adaptive_placement(G, S, forecast, nullptr, opt).placement;
    }
  }
}

/// One instance: a placement, counts, a plan (the node-aware solver's, a node-blind solver's
/// or a random conserving one) and every node size, compared rank by rank.
void run_instance(int G, int d, int E, int kind, ms::Rng& rng, int ranks) {
  const int S = E * d / G;
  const Placement p = make_placement(G, S, E, kind, rng);
  const CountMatrix c = make_counts(G, E, static_cast<int>(rng.below(5)), rng);
  const int sizes[] = {1, 2, 3, 8, G, G + 5};
  const int per_node = sizes[rng.below(6)];
  const auto plan_kind = rng.below(3);
  if (plan_kind == 2) {
    const ms::Plan plan = random_plan(p, c, rng);
    ASSERT_NO_FATAL_FAILURE(expect_all_ranks(p, c, plan, per_node, nullptr, ranks));
    return;
  }
  ms::SolverOptions options;
  options.gpus_per_node = plan_kind == 0 ? per_node : 0;
  ms::Solver solver(p, options);
  const ms::Plan plan = solver.solve(c);
  const auto& sums = solver.node_counts();
  // The solver's per-node sums when it formed them for this node size, else summed here.
  ASSERT_NO_FATAL_FAILURE(expect_all_ranks(p, c, plan, per_node, sums.empty() ? nullptr : sums.data(), ranks));
}

}  // namespace

TEST(RankRoutes, EqualTheTableOnSmallInstances) {
  ms::Rng rng(14);
  int instances = 0;
  for (int t = 0; t < 900; ++t) {
    const int d = rng.below(2) ? 2 : 4;
    const int G = d * (1 + static_cast<int>(rng.below(8)));  // 2..32
    const int E = G * (1 + static_cast<int>(rng.below(4))) / d;
    const int kind = static_cast<int>(rng.below(3));
    ASSERT_NO_FATAL_FAILURE(run_instance(G, d, std::max(E, 1), kind, rng, G)) << "instance " << t;
    ++instances;
  }
  EXPECT_EQ(instances, 900);
}

TEST(RankRoutes, EqualTheTableOnLargeInstances) {
  ms::Rng rng(1024);
  struct Shape {
    int G, E, d, count, ranks;
  };
  // 64 x 256 and 256 x 256 as the layer runs them, 1,024 x 1,024 at the top (sampled ranks).
  const Shape shapes[] = {{64, 64, 2, 60, 64},   {64, 256, 2, 30, 64},   {128, 128, 4, 20, 32},
                          {256, 256, 4, 10, 32}, {1024, 1024, 2, 3, 48}, {1024, 1024, 4, 2, 48}};
  int instances = 0;
  for (const auto& sh : shapes)
    for (int t = 0; t < sh.count; ++t) {
      const int kind = sh.G >= 1024 ? static_cast<int>(rng.below(2)) : static_cast<int>(rng.below(3));
      ASSERT_NO_FATAL_FAILURE(run_instance(sh.G, sh.d, sh.E, kind, rng, sh.ranks))
          << sh.G << " x " << sh.E << " instance " << t;
      ++instances;
    }
  EXPECT_EQ(instances, 125);
}

TEST(RankRoutes, EpPlacementAndOneGpu) {
  ms::Rng rng(3);
  for (int t = 0; t < 40; ++t) {
    const int P = 1 << rng.below(4), groups = 1 + static_cast<int>(rng.below(3));
    const int G = P * groups, E = P * (1 + static_cast<int>(rng.below(4)));
    const Placement p = ms::make_ep_placement(G, E, P);
    const CountMatrix c = make_counts(G, E, static_cast<int>(rng.below(5)), rng);
    const ms::Plan plan = ms::Solver(p).solve(c);
    for (int per_node : {1, 2, G}) ASSERT_NO_FATAL_FAILURE(expect_all_ranks(p, c, plan, per_node, nullptr, G));
  }
}

TEST(RankRoutes, HandWorkedExample) {
  // As in test_routes: GPU 0 keeps 6 of its 10 tokens and sends 4 to GPU 1, which keeps its 2.
  const Placement p(2, 1, 1, {0, 0});
  const CountMatrix c(2, 1, {10, 2});
  const auto plan = ms::Solver(p).solve(c);
  const auto r0 = ms::build_rank_routes(p, c, plan, 1, 0);
  ASSERT_EQ(r0.legs_of(0).size(), 2u);
  EXPECT_EQ(r0.legs_of(0)[0].gpu, 0);
  EXPECT_EQ(r0.legs_of(0)[0].tokens, 6);
  EXPECT_EQ(r0.legs_of(0)[1].gpu, 1);
  EXPECT_EQ(r0.legs_of(0)[1].tokens, 4);
  const auto r1 = ms::build_rank_routes(p, c, plan, 1, 1);
  EXPECT_EQ(r1.received_from(0, 0), 4);
  EXPECT_EQ(r1.received_from(1, 0), 2);
  EXPECT_EQ(r1.recv_counts, (std::vector<std::int64_t>{4, 2}));
}

TEST(RankRoutes, RejectsBadArgumentsAndNonConservingPlans) {
  const Placement p = ms::make_symmetric_placement(4, 2, 4);
  CountMatrix c(4, 4);
  c(0, 0) = 3;
  auto plan = ms::Solver(p).solve(c);
  EXPECT_THROW(ms::build_rank_routes(p, c, plan, 0, 0), std::invalid_argument);
  EXPECT_THROW(ms::build_rank_routes(p, c, plan, 1, 4), std::invalid_argument);
  EXPECT_THROW(ms::build_rank_routes(p, CountMatrix(3, 4), plan, 1, 0), std::invalid_argument);
  // The plan loses one of GPU 0's tokens of expert 0.
  for (int g : p.replicas(0)) {
    auto& x = plan.slot_tokens[static_cast<std::size_t>(g) * p.slots_per_gpu + p.slot_on(g, 0)];
    if (x > 0) {
      --x;
      break;
    }
  }
  EXPECT_THROW(ms::build_rank_routes(p, c, plan, 1, 0), std::invalid_argument);
}
