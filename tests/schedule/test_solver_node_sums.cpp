// SPDX-License-Identifier: BSD-3-Clause
// Solver::solve with the per-node sums given (what a reduction beside the counts' all-gather
// delivers) plans the same bits as solve(counts), which sums the G x E counts itself: one and
// several nodes, warm along drifting sequences, zero rows, one hot expert; wrong shapes and
// negative sums are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "instances.hpp"
#include "schedule/placement.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {
namespace {

std::vector<std::int64_t> node_sums_of(const CountMatrix& c, int per_node) {
  const int nodes = (c.sources + per_node - 1) / per_node;
  std::vector<std::int64_t> s(static_cast<std::size_t>(nodes) * c.experts, 0);
  for (int g = 0; g < c.sources; ++g)
    for (int e = 0; e < c.experts; ++e)
      s[static_cast<std::size_t>(g / per_node) * c.experts + e] += c.data[static_cast<std::size_t>(g) * c.experts + e];
  return s;
}

void expect_same(const Plan& a, const Plan& b, const std::string& what) {
  EXPECT_EQ(a.tokens, b.tokens) << what;
  EXPECT_EQ(a.slot_tokens, b.slot_tokens) << what;
  EXPECT_EQ(a.gpu_load, b.gpu_load) << what;
  EXPECT_EQ(a.max_load, b.max_load) << what;
  EXPECT_EQ(a.lower_bound, b.lower_bound) << what;
  EXPECT_EQ(a.objective, b.objective) << what;
}

TEST(SolverNodeSums, SamePlanAsSummingTheCounts) {
  int instances = 0;
  for (const auto& [G, E, S, per_node] : {std::tuple{16, 32, 4, 4}, std::tuple{16, 32, 4, 0}, std::tuple{64, 128, 4, 8},
                                          std::tuple{24, 48, 6, 8}, std::tuple{8, 16, 4, 8}}) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      const Placement p = make_symmetric_placement(G, S, E, seed, 1);
      SolverOptions o;
      o.gpus_per_node = per_node;
      Solver summing(p, o), given(p, o);
      testing::DriftingZipf gen(G, E, 1.0, 512, 2, seed, 2);
      Plan a, b;
      std::mt19937_64 rng(seed);
      for (int t = 0; t < 30; ++t) {
        CountMatrix c = gen.next();
        if (t % 5 == 1) {  // a source with no tokens
          const auto g = static_cast<std::ptrdiff_t>(rng() % static_cast<std::uint64_t>(G));
          std::fill(c.data.begin() + g * E, c.data.begin() + (g + 1) * E, 0);
        }
        if (t % 7 == 3)  // one hot expert
          for (int g = 0; g < G; ++g) c.data[static_cast<std::size_t>(g) * E] += 400;
        summing.solve(c, a);
        given.solve(c, node_sums_of(c, per_node > 0 && per_node < G ? per_node : G), b);
        expect_same(a, b, "G " + std::to_string(G) + " node " + std::to_string(per_node) + " t " + std::to_string(t));
        EXPECT_EQ(summing.node_counts(), given.node_counts());
        ++instances;
      }
    }
  }
  EXPECT_GE(instances, 600);
}

TEST(SolverNodeSums, RefusesWrongShapesAndNegativeSums) {
  const Placement p = make_symmetric_placement(16, 4, 32, 1, 1);
  SolverOptions o;
  o.gpus_per_node = 4;
  Solver s(p, o);
  const CountMatrix c(16, 32);
  Plan out;
  EXPECT_THROW(s.solve(c, std::vector<std::int64_t>(32, 0), out), std::invalid_argument) << "one row for 4 nodes";
  std::vector<std::int64_t> sums(4 * 32, 0);
  sums[5] = -1;
  EXPECT_THROW(s.solve(c, sums, out), std::invalid_argument);
  EXPECT_THROW(s.solve(CountMatrix(8, 32), std::vector<std::int64_t>(4 * 32, 0), out), std::invalid_argument);
}

}  // namespace
}  // namespace micromoe::schedule
