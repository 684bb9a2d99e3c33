// SPDX-License-Identifier: BSD-3-Clause
// Routes: conservation, the leg-order contract, and optimal locality for the given plan.
#include <gtest/gtest.h>

#include <algorithm>

#include "instances.hpp"
#include "schedule/placement.hpp"
#include "schedule/rng.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using ms::CountMatrix;
using ms::Placement;

namespace {

void check_routes(const Placement& p, const CountMatrix& c, const ms::Plan& plan, int per_node) {
  const ms::Routing r = ms::build_routes(p, c, plan, per_node);
  const int G = p.gpus, E = p.experts;
  std::vector<std::int64_t> recv(static_cast<std::size_t>(G) * E, 0);
  std::int64_t cross_gpu = 0, cross_node = 0;
  for (int s = 0; s < G; ++s)
    for (int e = 0; e < E; ++e) {
      const auto legs = r.legs_of(s, e);
      std::int64_t sum = 0;
      int phase = 0, last_gpu = -1;
      for (std::size_t i = 0; i < legs.size(); ++i) {
        const auto& l = legs[i];
        ASSERT_GT(l.tokens, 0);
        const auto& reps = p.replicas(e);
        ASSERT_TRUE(std::binary_search(reps.begin(), reps.end(), l.gpu)) << "leg to a GPU without the expert";
        const int ph = l.gpu == s ? 0 : (l.gpu / per_node == s / per_node ? 1 : 2);
        ASSERT_GE(ph, phase) << "order: local, same node, other nodes";
        if (ph == phase && ph > 0) {
          ASSERT_GT(l.gpu, last_gpu) << "ascending GPU id within a phase";
        }
        if (ph == 0) {
          ASSERT_EQ(i, 0u);
        }
        phase = ph;
        last_gpu = l.gpu;
        sum += l.tokens;
        recv[static_cast<std::size_t>(e) * G + l.gpu] += l.tokens;
        if (l.gpu != s) cross_gpu += l.tokens;
        if (l.gpu / per_node != s / per_node) cross_node += l.tokens;
      }
      ASSERT_EQ(sum, c(s, e)) << "legs of (" << s << ", " << e << ") do not sum to the count";
    }
  for (int e = 0; e < E; ++e)
    for (int g = 0; g < G; ++g) ASSERT_EQ(recv[static_cast<std::size_t>(e) * G + g], plan.at(e, g)) << "replica quota";
  ASSERT_EQ(cross_gpu, r.cross_gpu_tokens());
  ASSERT_EQ(cross_node, r.cross_node_tokens());
  const auto best = ms::plan_locality(p, c, plan, per_node);
  ASSERT_EQ(r.cross_gpu_tokens(), best.cross_gpu) << "routes reach the plan's best GPU locality";
  ASSERT_EQ(r.cross_node_tokens(), best.cross_node) << "and its best node locality";
  std::int64_t sent = 0;
  for (int s = 0; s < G; ++s)
    for (auto v : r.send_counts(s)) sent += v;
  ASSERT_EQ(sent, plan.total_tokens);
  // The rest of the routing: nothing dropped, the plan's loads and bound.
  ASSERT_EQ(r.kept, c.data);
  ASSERT_EQ(r.dropped, 0);
  ASSERT_EQ(r.gpu_load, plan.gpu_load);
  ASSERT_EQ(r.lower_bound, plan.lower_bound);
  ASSERT_NO_THROW(r.check(p, c));
}

}  // namespace

TEST(Routes, ConservationOrderAndLocalityOnRandomInstances) {
  ms::Rng rng(5);
  for (int t = 0; t < 300; ++t) {
    const int G = 2 * (1 + static_cast<int>(rng.below(8)));
    const int S = 1 + static_cast<int>(rng.below(6));
    const Placement p = rng.below(2) ? ms::make_symmetric_placement(G, S, G * S / 2, rng.next(), 2)
                                     : ms::make_random_placement(G, S, G * S / 2, rng.next());
    ms::testing::DriftingZipf gen(G, p.experts, 0.3 * static_cast<double>(rng.below(7)), 64, 2, rng.next());
    const CountMatrix c = gen.next();
    const auto plan = ms::Solver(p).solve(c);
    for (int per_node : {1, 2, 4, G, G + 3}) ASSERT_NO_FATAL_FAILURE(check_routes(p, c, plan, per_node)) << "t " << t;
  }
}

TEST(Routes, HandWorkedExample) {
  // 2 GPUs, 1 slot, expert 0 on both. GPU 0 holds 10 tokens, GPU 1 holds 2: balanced plan 6/6,
  // GPU 0 keeps 6 and sends 4 to GPU 1; GPU 1 keeps its 2.
  const Placement p(2, 1, 1, {0, 0});
  const CountMatrix c(2, 1, {10, 2});
  const auto plan = ms::Solver(p).solve(c);
  EXPECT_EQ(plan.max_load, 6);
  const auto r = ms::build_routes(p, c, plan, 1);
  ASSERT_EQ(r.legs_of(0, 0).size(), 2u);
  EXPECT_EQ(r.legs_of(0, 0)[0].gpu, 0);
  EXPECT_EQ(r.legs_of(0, 0)[0].tokens, 6);
  EXPECT_EQ(r.legs_of(0, 0)[1].gpu, 1);
  EXPECT_EQ(r.legs_of(0, 0)[1].tokens, 4);
  ASSERT_EQ(r.legs_of(1, 0).size(), 1u);
  EXPECT_EQ(r.legs_of(1, 0)[0].tokens, 2);
  EXPECT_EQ(r.cross_gpu_tokens(), 4);
  EXPECT_EQ(r.cross_node_tokens(), 4);
  EXPECT_EQ(ms::build_routes(p, c, plan, 2).cross_node_tokens(), 0);
}

TEST(Routes, EpNeverCrossesWhenLocalAndZeroSourcesHaveNoLegs) {
  const Placement p = ms::make_ep_placement(4, 4, 4);  // d = 1
  CountMatrix c(4, 4);
  c(0, 0) = 5;
  c(3, 0) = 7;
  const auto plan = ms::Solver(p).solve(c);
  const auto r = ms::build_routes(p, c, plan, 2);
  EXPECT_EQ(r.cross_gpu_tokens(), 7);
  EXPECT_EQ(r.cross_node_tokens(), 7);
  EXPECT_TRUE(r.legs_of(1, 0).empty());
  EXPECT_TRUE(r.legs_of(0, 1).empty());
}

TEST(Routes, RejectsInconsistentPlans) {
  const Placement p = ms::make_symmetric_placement(4, 2, 4);
  CountMatrix c(4, 4);
  c(0, 0) = 3;
  auto plan = ms::Solver(p).solve(c);
  EXPECT_THROW(ms::build_routes(p, c, plan, 0), std::invalid_argument);
  plan.tokens[static_cast<std::size_t>(p.replicas(0)[0])] += 1;
  EXPECT_THROW(ms::build_routes(p, c, plan, 1), std::invalid_argument);
  EXPECT_THROW(ms::build_routes(p, CountMatrix(3, 4), plan, 1), std::invalid_argument);
}
