// SPDX-License-Identifier: BSD-3-Clause
// The emulated cluster: each rank's slot rows add up to the routed copies; a rank's load is
// exactly the strategy's gpu_load for the same counts; a micro-batch's compute time is its
// slowest rank's; microep balances a skewed workload at least as well as ep; the sampled,
// forced and replayed counts are what they claim; and the same deck gives the same plan.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>

#include "deck/deck.hpp"
#include "emulate/plan.hpp"
#include "emulate/rank_bench.hpp"
#include "emulate/results.hpp"
#include "emulate/routing_counts.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::emulate {
namespace {

// 8 ranks: MicroEP groups of 4 (two EP groups of 2), two data-parallel groups.
constexpr int kRanks = 8;
const char* kDeck = R"([model]
hidden = 8
ffn = 16
experts = 8
top_k = 2
layers = 1
[parallel]
ep_size = 2
microep_group = 2
replace_interval = 1
[workload]
zipf_s = 1.5
[training]
iterations = 3
warmup_iterations = 1
micro_batches = 2
tokens_per_micro_batch = 48
)";

deck::RunConfig deck(const std::vector<std::string>& overrides = {}) {
  return deck::resolve_layout(deck::parse_deck_text(kDeck, "emulate.toml", overrides), kRanks);
}

std::vector<StrategyPlan> all_plans(const deck::RunConfig& c) {
  const Layout layout = layout_of(c, kRanks);
  CountSource counts(c, layout.group_size);
  std::vector<StrategyPlan> plans;
  for (const auto kind : c.run.strategies) plans.push_back(plan_strategy(c, layout, kind, counts));
  return plans;
}

std::int64_t rows_of(const moe::SlotRows& r) { return std::accumulate(r.rows.begin(), r.rows.end(), std::int64_t{0}); }

TEST(Emulate, LayoutCoversEveryRank) {
  const Layout l = layout_of(deck(), kRanks);
  EXPECT_EQ(l.group_size, 4);
  EXPECT_EQ(l.groups, 2);
  EXPECT_EQ(l.group_size * l.groups, kRanks);
}

TEST(Emulate, RowsPerRankSumToTheRoutedCopies) {
  const auto c = deck();
  const std::int64_t copies = static_cast<std::int64_t>(c.model.top_k) * c.training.tokens_per_micro_batch * kRanks;
  for (const auto& p : all_plans(c)) {
    ASSERT_EQ(p.rows.size(), static_cast<std::size_t>(p.iterations) * p.micro_batches * kRanks);
    for (int i = 0; i < p.iterations; ++i)
      for (int m = 0; m < p.micro_batches; ++m) {
        std::int64_t sum = 0;
        for (int r = 0; r < kRanks; ++r) {
          const auto& rows = p.rows[p.cell(i, m, r)];
          ASSERT_EQ(rows.rows.size(), static_cast<std::size_t>(p.slots)) << p.name;
          for (int j = 1; j < p.slots; ++j) EXPECT_EQ(rows.first[j], rows.first[j - 1] + rows.rows[j - 1]);
          EXPECT_EQ(rows_of(rows), p.loads[p.cell(i, m, r)]) << p.name << " rank " << r;
          sum += rows_of(rows);
        }
        const std::int64_t dropped = p.dropped[static_cast<std::size_t>(i) * p.micro_batches + m];
        if (p.name == "ep-capacity")
          EXPECT_EQ(sum + dropped, copies);
        else
          EXPECT_EQ(sum, copies) << p.name << " drops nothing";
      }
  }
}

TEST(Emulate, LoadsAreTheStrategysGpuLoad) {
  const auto c = deck();
  const Layout layout = layout_of(c, kRanks);
  const auto plans = all_plans(c);
  // The first micro-batch, routed afresh by a strategy built the way training builds it.
  CountSource counts(c, layout.group_size);
  for (std::size_t k = 0; k < plans.size(); ++k) {
    const auto config = train::layer_configs(c, c.run.strategies[k], 0).at(0).strategy;
    for (int g = 0; g < layout.groups; ++g) {
      auto strategy = strategy::make_strategy(config, layout.group_size, c.model.experts);
      const auto cm = strategy->forced_balance() ? forced_counts(layout.group_size, c.model.experts,
                                                                 c.training.tokens_per_micro_batch, c.model.top_k)
                                                 : counts.counts(0, 0, g);
      schedule::Routing routing;
      strategy->route(cm, routing);
      ASSERT_NO_THROW(routing.check(strategy->placement(), cm));
      const auto rows = slot_rows(routing, strategy->placement());
      for (int r = 0; r < layout.group_size; ++r) {
        EXPECT_EQ(plans[k].loads[plans[k].cell(0, 0, g * layout.group_size + r)], routing.gpu_load[r]) << plans[k].name;
        EXPECT_EQ(rows_of(rows[r]), routing.gpu_load[r]);
      }
    }
  }
}

TEST(Emulate, MicroBatchComputeTimeIsTheSlowestRank) {
  const auto c = deck({"run.strategies=ep,microep"});
  const auto plans = all_plans(c);
  int slots = 0;
  std::int64_t rows = 0;
  for (const auto& p : plans) {
    slots = std::max(slots, p.slots);
    rows = std::max(rows, p.max_rows());
  }
  RankBench bench(ffn_setup(c), slots, rows);
  for (const auto& p : plans) {
    std::vector<double> flops;
    auto seconds = bench.time_plan(p, &flops);
    ASSERT_EQ(seconds.size(), p.rows.size());
    for (std::size_t cell = 0; cell < seconds.size(); ++cell)
      if (p.loads[cell] > 0) EXPECT_GT(seconds[cell], 0.0) << p.name << " cell " << cell;
    const auto r = summarize(p, seconds, flops, c.training.warmup_iterations, c.training.tokens_per_micro_batch);
    for (int i = 0; i < p.iterations; ++i) {
      double sum = 0;
      for (int m = 0; m < p.micro_batches; ++m) {
        const auto first = seconds.begin() + static_cast<std::ptrdiff_t>(p.cell(i, m, 0));
        const double slowest = *std::max_element(first, first + kRanks);
        EXPECT_EQ(r.compute_time[static_cast<std::size_t>(i) * p.micro_batches + m], slowest);
        sum += slowest;
      }
      EXPECT_DOUBLE_EQ(r.iteration_time[static_cast<std::size_t>(i)], sum);
    }
    EXPECT_EQ(r.measured_iterations, p.iterations - c.training.warmup_iterations);
    EXPECT_GT(r.median_iteration_time, 0.0);
    EXPECT_GT(r.flop_rate, 0.0);
  }
}

TEST(Emulate, MicroepImbalanceAtMostEpOnSkewedRouting) {
  const auto c = deck({"run.strategies=ep,microep", "workload.zipf_s=1.5"});
  const auto plans = all_plans(c);
  std::vector<StrategyResult> results;
  for (const auto& p : plans)
    results.push_back(summarize(p, std::vector<double>(p.rows.size(), 1.0), {}, 0, c.training.tokens_per_micro_batch));
  EXPECT_GT(results[0].mean_imbalance, 1.2) << "the workload is skewed";
  EXPECT_LE(results[1].mean_imbalance, results[0].mean_imbalance);
  const auto cmp = compare(results);
  EXPECT_GE(cmp.imbalance_ratio, 1.0);
  EXPECT_EQ(cmp.microep_vs_balanced, -1) << "no balanced group: undefined";
}

TEST(Emulate, SamePlanBitForBitAndGroupsDrawTheirOwnTokens) {
  const auto a = all_plans(deck()), b = all_plans(deck());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].loads, b[k].loads) << a[k].name;
    EXPECT_EQ(a[k].migrations, b[k].migrations);
    for (std::size_t cell = 0; cell < a[k].rows.size(); ++cell) {
      EXPECT_EQ(a[k].rows[cell].rows, b[k].rows[cell].rows);
      EXPECT_EQ(a[k].rows[cell].first, b[k].rows[cell].first);
    }
  }
  const auto c = deck();
  CountSource counts(c, 4);
  EXPECT_NE(counts.counts(0, 0, 0).data, counts.counts(0, 0, 1).data);
  EXPECT_NE(counts.counts(0, 0, 0).data, counts.counts(0, 1, 0).data);
  EXPECT_EQ(counts.counts(1, 1, 1).data, CountSource(c, 4).counts(1, 1, 1).data) << "order-independent";
}

TEST(Emulate, SampledTokensPickTopKDistinctExperts) {
  const auto c = deck({"model.top_k=7"});  // nearly all experts: the exact fallback draws too
  CountSource counts(c, 4);
  const auto m = counts.counts(2, 1, 0);
  for (int s = 0; s < m.sources; ++s) {
    std::int64_t sum = 0;
    for (int e = 0; e < m.experts; ++e) {
      EXPECT_LE(m(s, e), c.training.tokens_per_micro_batch) << "at most one copy per token";
      sum += m(s, e);
    }
    EXPECT_EQ(sum, 7 * c.training.tokens_per_micro_batch);
  }
}

TEST(Emulate, ForcedCountsAreTheRoundRobin) {
  const int G = 3, E = 5, T = 7, K = 2;
  const auto c = forced_counts(G, E, T, K);
  schedule::CountMatrix expected(G, E);
  for (int s = 0; s < G; ++s)
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < K; ++i) ++expected(s, (t * K + i + s) % E);
  EXPECT_EQ(c.data, expected.data);
}

TEST(Emulate, TraceCountsAreTheReplayedTrace) {
  const std::string path = ::testing::TempDir() + "emulate_trace.csv";
  {
    std::ofstream f(path);
    f << "iteration,layer,micro_batch,expert,tokens\n0,0,0,0,500\n0,0,0,3,100\n0,0,1,5,7\n";
  }
  const auto c = deck({"workload.kind=trace", "workload.trace_file=" + path});
  CountSource counts(c, 4);
  const auto m = counts.counts(0, 0, 1);
  const std::int64_t T = c.training.tokens_per_micro_batch;
  workload::RoutingTrace trace = workload::read_trace(path, c.model.experts);
  EXPECT_EQ(m.expert_loads(), workload::rescale_counts(trace.micro_batch_counts(0, 0, 0), 4 * T * 2, 4 * T));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace micromoe::emulate
