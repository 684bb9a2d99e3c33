// SPDX-License-Identifier: BSD-3-Clause
// Edge cases of the distributed MoE layer, each checked against the serial reference: a rank
// that receives no tokens, experts with no tokens, every token to one expert, top-k = E, an
// empty micro-batch (one rank, and all ranks), more ranks than experts.
#include "moe_harness.hpp"

namespace micromoe::moe::testing {
namespace {

class Edge : public ::testing::TestWithParam<StrategyKind> {};

TEST_P(Edge, AllTokensToOneExpert) {
  // k = 1: only expert 0's replicas receive tokens; every other rank receives none and every
  // other expert is idle (exactly zero gradients).
  Case c;
  c.strategy = GetParam();
  c.one_expert = true;
  c.top_k = 1;
  check_case(c);
  c.top_k = 2;  // second choices spread, first all on expert 0
  check_case(c);
}

TEST_P(Edge, RankWithoutTokensToReceive) {
  // Every token routed to expert 0 and pure EP over all ranks: ranks 1.. receive nothing.
  Case c;
  c.strategy = GetParam();
  c.one_expert = true;
  c.top_k = 1;
  c.ep_size = ranks();
  c.experts = 8;
  const Outcome o = check_case(c);
  // Pure EP (Megatron's crash case): expert 0 lives on rank 0 only, so every other rank
  // receives nothing. (eplb gives the hot expert extra replicas, the others may place it elsewhere.)
  if (GetParam() == StrategyKind::ep) {
    if (rank() != 0) EXPECT_EQ(o.stats.rows_received, 0);
    EXPECT_EQ(o.stats.max_load, o.stats.total_copies);
  }
}

TEST_P(Edge, TopKEqualsExperts) {
  Case c;
  c.strategy = GetParam();
  c.experts = 4;
  c.top_k = 4;
  c.skew = true;
  check_case(c);
}

TEST_P(Edge, EmptyMicroBatchOnOneRank) {
  Case c;
  c.strategy = GetParam();
  c.empty_rank = ranks() - 1;
  c.skew = true;
  check_case(c);
}

TEST_P(Edge, EmptyMicroBatchEverywhere) {
  Case c;
  c.strategy = GetParam();
  c.tokens = 0;
  check_case(c);
}

TEST_P(Edge, MoreRanksThanExperts) {
  Case c;
  c.strategy = GetParam();
  c.experts = 2;
  c.top_k = 1;
  c.skew = true;
  check_case(c);
}

TEST_P(Edge, FewTokensManyExperts) {
  // Most experts idle, some ranks idle.
  Case c;
  c.strategy = GetParam();
  c.experts = 16;
  c.tokens = 2;
  c.top_k = 1;
  check_case(c);
}

INSTANTIATE_TEST_SUITE_P(Strategies, Edge,
                         ::testing::Values(StrategyKind::ep, StrategyKind::eplb, StrategyKind::microep,
                                           StrategyKind::microep_adaptive),
                         [](const auto& info) { return test_name(info.param); });

}  // namespace
}  // namespace micromoe::moe::testing
