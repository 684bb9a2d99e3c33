// SPDX-License-Identifier: BSD-3-Clause
// The simulator: the topology's all-to-all and transfer times, the calibration's interpolation
// and file, the cost model on routings small enough to compute by hand, the inclusion
// probabilities of the fast counts, and the loop's invariants (every copy lands on a rank, a
// micro-batch takes its slowest rank's local work and compute plus four all-to-alls, the exact
// counts are emulate's, so the compute part is comparable with micromoe emulate).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "core/error.hpp"
#include "deck/deck.hpp"
#include "emulate/plan.hpp"
#include "emulate/routing_counts.hpp"
#include "simulate/calibration.hpp"
#include "simulate/cost_model.hpp"
#include "simulate/fast_counts.hpp"
#include "simulate/measure_calibration.hpp"
#include "simulate/simulation.hpp"
#include "simulate/summary.hpp"
#include "simulate/topology.hpp"

namespace micromoe::simulate {
namespace {

/// A slow, round topology: every number below is exact in decimal.
Topology slow_topology(int gpus_per_node) {
  Topology t;
  t.gpus_per_node = gpus_per_node;
  t.intra_bandwidth = 2000;  // bytes/s
  t.intra_latency = 0.002;
  t.inter_bandwidth = 1000;
  t.inter_latency = 0.001;
  return t;
}

/// FFN time = rows milliseconds (linear through the grid and beyond it).
Calibration linear_calibration() {
  Calibration c;
  c.rows = {1, 100};
  c.ffn_seconds = {1e-3, 100e-3};
  return c;
}

TEST(Topology, AllToAllIsBoundByTheBusiestPortOfEachClass) {
  const Topology t = slow_topology(2);
  std::vector<PortBytes> ports(3);
  ports[0].send_intra = 10;
  ports[1].recv_intra = 40;  // busiest intra port: 40 B at 2000 B/s = 0.02 s + 0.002
  ports[2].send_inter = 15;  // busiest inter port: 15 B at 1000 B/s = 0.015 s + 0.001
  EXPECT_DOUBLE_EQ(all_to_all_seconds(t, ports), 0.022);
  ports[2].recv_inter = 30;  // now 0.031: the inter-node class decides
  EXPECT_DOUBLE_EQ(all_to_all_seconds(t, ports), 0.031);
  EXPECT_DOUBLE_EQ(all_to_all_seconds(t, std::vector<PortBytes>(4)), 0.0);  // nothing sent: no latency either
  EXPECT_DOUBLE_EQ(transfer_seconds(t, 20, 0), 0.012);
  EXPECT_DOUBLE_EQ(transfer_seconds(t, 0, 0), 0.0);
  EXPECT_DOUBLE_EQ(all_reduce_bytes(100, 4), 150);
  EXPECT_DOUBLE_EQ(all_reduce_bytes(100, 1), 0);
}

TEST(Topology, FromTheDeckConvertsUnits) {
  deck::ClusterConfig c;
  c.gpus_per_node = 4;
  c.intra_node_bandwidth = 360;
  c.intra_node_latency = 15;
  c.inter_node_bandwidth = 47;
  c.inter_node_latency = 30;
  const Topology t = Topology::from(c);
  EXPECT_EQ(t.gpus_per_node, 4);
  EXPECT_DOUBLE_EQ(t.intra_bandwidth, 360e9);
  EXPECT_DOUBLE_EQ(t.inter_bandwidth, 47e9);
  EXPECT_DOUBLE_EQ(t.intra_latency, 15e-6);
  EXPECT_DOUBLE_EQ(t.inter_latency, 30e-6);
  EXPECT_TRUE(t.same_node(4, 7));
  EXPECT_FALSE(t.same_node(3, 4));
}

TEST(Calibration, InterpolatesInRowsPerSlot) {
  Calibration c;
  c.rows = {1, 2, 4};
  c.ffn_seconds = {1.0, 2.0, 3.0};
  EXPECT_DOUBLE_EQ(c.ffn_time(0), 0.0);  // an idle slot costs nothing
  EXPECT_DOUBLE_EQ(c.ffn_time(1), 1.0);
  EXPECT_DOUBLE_EQ(c.ffn_time(3), 2.5);  // halfway between 2 and 4 rows
  EXPECT_DOUBLE_EQ(c.ffn_time(4), 3.0);
  EXPECT_DOUBLE_EQ(c.ffn_time(8), 6.0);  // above the grid: proportional to the last point
}

TEST(Calibration, GridIsLogSpacedFromOneToTheLargest) {
  const auto g = rows_grid(65536);
  EXPECT_EQ(g.front(), 1);
  EXPECT_EQ(g.back(), 65536);
  EXPECT_GE(g.size(), 30u);
  for (std::size_t i = 1; i < g.size(); ++i) {
    EXPECT_GT(g[i], g[i - 1]);
    EXPECT_LE(g[i], 2 * g[i - 1]);  // dense enough to interpolate
  }
  EXPECT_EQ(rows_grid(1), std::vector<std::int64_t>{1});
}

TEST(Calibration, FileRoundTripsAndIsCheckedAgainstTheDeck) {
  const auto deck = deck::parse_deck_text("[model]\nhidden = 16\nffn = 32\n", "deck.toml");
  Calibration c = linear_calibration();
  c.device = "test device";
  c.date = "2026-12-03T00:00:00Z";
  c.commit = "abc";
  c.hidden = 16;
  c.ffn = 32;
  c.experts = 16;
  c.top_k = 2;
  c.gate_seconds_per_token = 1e-7;
  c.row_seconds_per_copy = 2e-8;
  c.optimizer_seconds_per_slot = 3e-5;
  c.repeats = 3;
  c.tokens = 512;
  c.slots = 4;
  c.sustain_seconds = 0.3;
  const std::string path = "test_simulate_calibration.h5";
  write_calibration(path, c);
  const Calibration back = read_calibration(path);
  EXPECT_EQ(back.device, c.device);
  EXPECT_EQ(back.rows, c.rows);
  EXPECT_EQ(back.ffn_seconds, c.ffn_seconds);
  EXPECT_EQ(back.hidden, 16);
  EXPECT_EQ(back.precision, moe::Precision::fp32);
  EXPECT_DOUBLE_EQ(back.optimizer_seconds_per_slot, 3e-5);
  EXPECT_EQ(back.slots, 4);
  EXPECT_DOUBLE_EQ(back.sustain_seconds, 0.3);
  EXPECT_NO_THROW(check_matches(back, deck));
  const auto other = deck::parse_deck_text("[model]\nhidden = 16\nffn = 32\nprecision = \"bf16\"\n", "deck.toml");
  EXPECT_THROW(check_matches(back, other), InputError);
  const auto wider = deck::parse_deck_text("[model]\nhidden = 32\nffn = 32\n", "deck.toml");
  EXPECT_THROW(check_matches(back, wider), InputError);
  std::remove(path.c_str());
  EXPECT_THROW(read_calibration(path), InputError);  // missing
  EXPECT_THROW(read_calibration(""), InputError);    // not given
  std::ofstream("test_simulate_not_hdf5.h5") << "not a calibration\n";
  EXPECT_THROW(read_calibration("test_simulate_not_hdf5.h5"), InputError);
  std::remove("test_simulate_not_hdf5.h5");
}

/// ep on 2 GPUs, 2 experts (one per GPU): s0 sends 3 copies to e0 and 1 to e1, s1 2 and 4.
struct TwoRankCase {
  schedule::Placement placement = schedule::make_ep_placement(2, 2, 2);
  schedule::Routing routing;
  Calibration calibration = linear_calibration();
  LayerCosts costs;
  TwoRankCase() {
    routing.reset(2, 2, 2);
    routing.add_leg(0, 0, 0, 3);
    routing.add_leg(0, 1, 1, 1);
    routing.add_leg(1, 0, 0, 2);
    routing.add_leg(1, 1, 1, 4);
    routing.finish();
    routing.gpu_load = {5, 5};
    costs.row_bytes = 10;
    costs.gate_seconds = 0.5e-3;
    costs.row_seconds_per_copy = 0.1e-3;
    costs.calibration = &calibration;
  }
};

TEST(CostModel, TwoRanksOnTwoNodesByHand) {
  TwoRankCase c;
  GroupMicroBatch mb;
  cost_micro_batch(c.routing, c.placement, 0, slow_topology(1), c.costs, 0.2e-3, mb);
  // Rows: GPU 0 computes 3 + 2 copies of e0, GPU 1 1 + 4 of e1: 5 ms each.
  EXPECT_DOUBLE_EQ(mb.compute[0], 5e-3);
  EXPECT_DOUBLE_EQ(mb.compute[1], 5e-3);
  // Only s0 -> GPU 1 (1 copy, 10 B) and s1 -> GPU 0 (2 copies, 20 B) cross: both across nodes.
  EXPECT_DOUBLE_EQ(mb.ports[0].send_inter, 10);
  EXPECT_DOUBLE_EQ(mb.ports[0].recv_inter, 20);
  EXPECT_DOUBLE_EQ(mb.ports[1].send_inter, 20);
  EXPECT_DOUBLE_EQ(mb.ports[1].recv_inter, 10);
  EXPECT_DOUBLE_EQ(mb.ports[0].send_intra + mb.ports[1].recv_intra, 0);
  EXPECT_DOUBLE_EQ(mb.dispatch, 0.001 + 20.0 / 1000);  // busiest port 20 B
  // Local: gate 0.5 ms + copies sent (4 and 6) * 0.1 ms + scheduler 0.2 ms.
  EXPECT_NEAR(mb.local[0], 1.1e-3, 1e-15);
  EXPECT_NEAR(mb.local[1], 1.3e-3, 1e-15);
  EXPECT_NEAR(mb.time, 1.3e-3 + 4 * 0.021 + 5e-3, 1e-15);
}

TEST(CostModel, OneNodeUsesTheNvlinkClass) {
  TwoRankCase c;
  GroupMicroBatch mb;
  cost_micro_batch(c.routing, c.placement, 0, slow_topology(2), c.costs, 0.0, mb);
  EXPECT_DOUBLE_EQ(mb.ports[0].recv_intra, 20);
  EXPECT_DOUBLE_EQ(mb.ports[0].send_inter + mb.ports[0].recv_inter, 0);
  EXPECT_DOUBLE_EQ(mb.dispatch, 0.002 + 20.0 / 2000);
  // Ranks 2 and 3 (the second group) are on node 1 of 2-GPU nodes: still one node.
  cost_micro_batch(c.routing, c.placement, 2, slow_topology(2), c.costs, 0.0, mb);
  EXPECT_DOUBLE_EQ(mb.dispatch, 0.012);
  // Ranks 1 and 2 of 2-GPU nodes straddle two nodes.
  cost_micro_batch(c.routing, c.placement, 1, slow_topology(2), c.costs, 0.0, mb);
  EXPECT_DOUBLE_EQ(mb.dispatch, 0.021);
}

TEST(CostModel, GradientSyncOptimizerAndMigrationByHand) {
  LayerCosts costs;
  costs.expert_gradient_bytes = 100;
  costs.gate_gradient_bytes = 0;
  costs.optimizer_seconds_per_slot = 0.25;
  costs.expert_migration_bytes = 300;
  // One expert replicated on both GPUs of a group; GPUs on separate nodes.
  const schedule::Placement replicated(2, 1, 1, {0, 0});
  // Ring all-reduce over 2 replicas: 100 B each way, across nodes: 0.001 + 0.1 s.
  EXPECT_DOUBLE_EQ(gradient_sync_seconds(replicated, 1, slow_topology(1), costs), 0.101);
  // Three data-parallel groups: + all-reduce of the 100 B slot over 3 copies (133.3 B) across nodes.
  EXPECT_NEAR(gradient_sync_seconds(replicated, 3, slow_topology(1), costs), 0.101 + 0.001 + 0.4 / 3, 1e-12);
  // ep (no replicas, one group): nothing to sum.
  const auto ep = schedule::make_ep_placement(2, 2, 2);
  EXPECT_DOUBLE_EQ(gradient_sync_seconds(ep, 1, slow_topology(1), costs), 0.0);
  EXPECT_DOUBLE_EQ(optimizer_seconds(ep, costs), 0.25);
  // The experts swap GPUs: one new expert per GPU, in each of 3 groups.
  const schedule::Placement swapped(2, 1, 2, {1, 0});
  const Migration m = migration_cost(ep, swapped, 3, slow_topology(1), costs);
  EXPECT_EQ(m.experts, 6);
  EXPECT_DOUBLE_EQ(m.bytes, 1800);
  EXPECT_DOUBLE_EQ(m.seconds, 0.001 + 0.3);  // 300 B into the busiest GPU, across nodes
  EXPECT_EQ(migration_cost(ep, ep, 3, slow_topology(1), costs).experts, 0);
}

TEST(FastCounts, InclusionProbabilitiesAreWaterFilled) {
  const auto pi = inclusion_probabilities({0.7, 0.2, 0.1}, 2);
  EXPECT_DOUBLE_EQ(pi[0], 1.0);  // 2 * 0.7 > 1: every token picks it
  EXPECT_NEAR(pi[1], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(pi[2], 1.0 / 3.0, 1e-12);
  const auto flat = inclusion_probabilities({0.25, 0.25, 0.25, 0.25}, 2);
  for (const double p : flat) EXPECT_DOUBLE_EQ(p, 0.5);
  const auto few = inclusion_probabilities({0.5, 0.5, 0.0}, 3);  // k above the experts with any mass
  EXPECT_DOUBLE_EQ(few[0] + few[1] + few[2], 2.0);
}

// The loop on a tiny deck: 8 ranks, MicroEP groups of 4, nodes of 2.
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
[cluster]
gpus_per_node = 2
)";

TEST(Simulation, PhasesAddUpAndCountsAreEmulates) {
  constexpr int R = 8;
  const auto c = deck::resolve_layout(deck::parse_deck_text(kDeck, "simulate.toml"), R);
  const auto layout = emulate::layout_of(c, R);
  Calibration cal = linear_calibration();
  cal.gate_seconds_per_token = 1e-6;
  cal.row_seconds_per_copy = 1e-7;
  cal.optimizer_seconds_per_slot = 1e-4;
  const auto costs = LayerCosts::from(c, cal);
  const auto topology = Topology::from(c.cluster);
  const auto results = simulate_strategies(c, layout, topology, costs);
  ASSERT_EQ(results.size(), c.run.strategies.size());
  for (const auto& r : results) {
    // The same loads as emulate's plan of the same deck (the same counts, the same strategies).
    emulate::CountSource fresh(c, layout.group_size);
    const auto plan = emulate::plan_strategy(c, layout, c.run.strategies[&r - results.data()], fresh);
    EXPECT_EQ(r.loads, plan.loads) << r.name;
    for (int i = 0; i < r.iterations; ++i) {
      double slowest_group = 0;
      for (int d = 0; d < r.groups; ++d) {
        double group = 0;
        for (int m = 0; m < r.micro_batches; ++m) {
          double local = 0, compute = 0;
          for (int g = 0; g < r.group_size; ++g) {
            const auto cell = r.rank_cell(i, m, d * r.group_size + g);
            local = std::max(local, r.local[cell]);
            compute = std::max(compute, r.compute[cell]);
            // Linear calibration: compute = load milliseconds, slot by slot.
            EXPECT_NEAR(r.compute[cell], r.loads[cell] * 1e-3, 1e-12) << r.name;
          }
          const auto gc = r.group_cell(i, m, d);
          EXPECT_NEAR(r.micro_batch_time[gc], local + 4 * r.dispatch[gc] + compute, 1e-12) << r.name;
          group += r.micro_batch_time[gc];
        }
        slowest_group = std::max(slowest_group, group);
      }
      EXPECT_NEAR(r.iteration_time[i], slowest_group + r.gradient_sync[i] + r.optimizer[i] + r.migration[i], 1e-12)
          << r.name;
    }
    for (int i = 0; i < r.iterations; ++i)
      for (int m = 0; m < r.micro_batches; ++m) {
        std::int64_t total = 0;
        for (int q = 0; q < R; ++q) total += r.loads[r.rank_cell(i, m, q)];
        EXPECT_EQ(total + r.dropped[static_cast<std::size_t>(i) * r.micro_batches + m], std::int64_t{R} * 48 * 2)
            << r.name;
      }
    const auto s = summarize(r, c.training.warmup_iterations, c.training.tokens_per_micro_batch);
    EXPECT_NEAR(s.local + s.exchange + s.compute + s.gradient_sync + s.optimizer + s.migration, s.mean_iteration_time,
                1e-12)
        << r.name;
  }
}

TEST(Simulation, FastCountsKeepTheMeanCopies) {
  constexpr int R = 8;
  const auto c =
      deck::resolve_layout(deck::parse_deck_text(kDeck, "simulate.toml", {"training.tokens_per_micro_batch=4000"}), R);
  FastCounts fast(c, 4);
  double total = 0;
  for (int m = 0; m < 2; ++m) {
    const auto a = fast.counts(0, m, 1), b = fast.counts(0, m, 1);
    EXPECT_EQ(a.data, b.data);  // counter-based
    for (const auto v : a.data) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 4000);  // at most one copy of an expert per token
      total += static_cast<double>(v);
    }
  }
  // 2 micro-batches x 4 ranks x 4000 tokens x top-2 = 64000 copies expected.
  EXPECT_NEAR(total, 64000, 64000 * 0.02);
}

}  // namespace
}  // namespace micromoe::simulate
