// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/cost_model.hpp"

#include <algorithm>

namespace micromoe::simulate {

LayerCosts LayerCosts::from(const deck::RunConfig& r, const Calibration& calibration) {
  LayerCosts c;
  const double H = r.model.hidden, F = r.model.ffn, F1 = moe::w1_columns(r.model.activation, r.model.ffn);
  const double params = H * F1 + F * H;
  c.hidden = r.model.hidden;
  c.row_bytes = H * r.cluster.exchange_bytes;
  c.expert_gradient_bytes = 4.0 * params;
  // Weights plus optimizer state (Adam: two moments; SGD: momentum), fp32.
  const double state = r.training.optimizer == moe::OptimizerKind::adam ? 2.0 : 1.0;
  c.expert_migration_bytes = 4.0 * params * (1.0 + state);
  c.gate_gradient_bytes = 4.0 * H * r.model.experts;
  c.gate_seconds = calibration.gate_seconds_per_token * r.training.tokens_per_micro_batch;
  c.row_seconds_per_copy = calibration.row_seconds_per_copy;
  c.optimizer_seconds_per_slot = calibration.optimizer_seconds_per_slot;
  c.calibration = &calibration;
  return c;
}

void cost_micro_batch(const schedule::Routing& routing, const schedule::Placement& placement, int first_rank,
                      const Topology& topology, const LayerCosts& costs, double scheduler_seconds,
                      GroupMicroBatch& out) {
  const int G = routing.gpus, E = routing.experts, S = placement.slots_per_gpu;
  out.compute.assign(static_cast<std::size_t>(G), 0.0);
  out.local.assign(static_cast<std::size_t>(G), 0.0);
  out.loads.assign(routing.gpu_load.begin(), routing.gpu_load.end());
  out.ports.assign(static_cast<std::size_t>(G), PortBytes{});
  out.slot_rows.assign(static_cast<std::size_t>(G) * S, 0);
  // Node of each group rank, once (the legs' loop below is the hot one).
  std::vector<int> node(static_cast<std::size_t>(G));
  for (int g = 0; g < G; ++g) node[static_cast<std::size_t>(g)] = topology.node(first_rank + g);
  for (int s = 0; s < routing.sources; ++s) {
    std::int64_t sent = 0;
    auto& from = out.ports[static_cast<std::size_t>(s)];
    for (int e = 0; e < E; ++e) {
      const std::size_t k = static_cast<std::size_t>(s) * E + e;
      for (auto l = routing.leg_begin[k]; l < routing.leg_begin[k + 1]; ++l) {
        const auto leg = static_cast<std::size_t>(l);
        const int g = routing.legs[leg].gpu;
        const std::int64_t tokens = routing.legs[leg].tokens;
        out.slot_rows[static_cast<std::size_t>(g) * S + static_cast<std::size_t>(placement.slot_on(g, e))] += tokens;
        sent += tokens;
        if (g == s) continue;  // stays on the rank: no transfer
        const double bytes = static_cast<double>(tokens) * costs.row_bytes;
        auto& to = out.ports[static_cast<std::size_t>(g)];
        if (node[static_cast<std::size_t>(g)] == node[static_cast<std::size_t>(s)]) {
          from.send_intra += bytes;
          to.recv_intra += bytes;
        } else {
          from.send_inter += bytes;
          to.recv_inter += bytes;
        }
      }
    }
    out.local[static_cast<std::size_t>(s)] =
        costs.gate_seconds + costs.row_seconds_per_copy * static_cast<double>(sent) + scheduler_seconds;
  }
  double most_compute = 0, most_local = 0;
  for (int g = 0; g < G; ++g) {
    double t = 0;
    for (int j = 0; j < S; ++j) t += costs.calibration->ffn_time(out.slot_rows[static_cast<std::size_t>(g) * S + j]);
    out.compute[static_cast<std::size_t>(g)] = t;
    most_compute = std::max(most_compute, t);
    most_local = std::max(most_local, out.local[static_cast<std::size_t>(g)]);
  }
  out.dispatch = all_to_all_seconds(topology, out.ports);
  // Forward: local work, dispatch, experts, combine; backward: combine's and dispatch's mirrors
  // (same bytes reversed: the same busiest port). Each all-to-all waits for the slowest rank.
  out.time = most_local + 4.0 * out.dispatch + most_compute;
}

double gradient_sync_seconds(const schedule::Placement& p, int groups, const Topology& topology,
                             const LayerCosts& costs) {
  const int G = p.gpus, S = p.slots_per_gpu;
  const bool group_spans_nodes = topology.node(0) != topology.node(G - 1);
  double most = 0;
  for (int group = 0; group < groups; ++group)
    for (int g = 0; g < G; ++g) {
      const int rank = group * G + g;
      double intra = 0, inter = 0;
      int held = 0;
      // Stage 1, inside the group: each slot over its expert's replicas; the gate over the group.
      for (int j = 0; j < S; ++j) {
        const int e = p.expert(g, j);
        if (e < 0) continue;
        ++held;
        const auto& replicas = p.replicas(e);
        if (replicas.size() < 2) continue;
        bool spans = false;
        for (const int q : replicas) spans = spans || !topology.same_node(group * G + q, rank);
        (spans ? inter : intra) += all_reduce_bytes(costs.expert_gradient_bytes, static_cast<int>(replicas.size()));
      }
      (group_spans_nodes ? inter : intra) += all_reduce_bytes(costs.gate_gradient_bytes, G);
      double t = transfer_seconds(topology, intra, inter);
      // Stage 2, over the data-parallel copies (ranks g, G + g, 2G + g, ...).
      if (groups > 1) {
        const double bytes = all_reduce_bytes(held * costs.expert_gradient_bytes + costs.gate_gradient_bytes, groups);
        const bool spans = topology.node(g) != topology.node((groups - 1) * G + g);
        t += spans ? transfer_seconds(topology, 0, bytes) : transfer_seconds(topology, bytes, 0);
      }
      most = std::max(most, t);
    }
  return most;
}

double optimizer_seconds(const schedule::Placement& p, const LayerCosts& costs) {
  int most = 0;
  for (int g = 0; g < p.gpus; ++g) {
    int held = 0;
    for (int j = 0; j < p.slots_per_gpu; ++j) held += p.expert(g, j) >= 0 ? 1 : 0;
    most = std::max(most, held);
  }
  return most * costs.optimizer_seconds_per_slot;
}

Migration migration_cost(const schedule::Placement& before, const schedule::Placement& after, int groups,
                         const Topology& topology, const LayerCosts& costs) {
  Migration m;
  const int G = after.gpus;
  const bool group_spans_nodes = topology.node(0) != topology.node(G - 1);
  std::int64_t busiest = 0;
  for (int g = 0; g < G; ++g) {
    std::int64_t arrived = 0;
    for (int j = 0; j < after.slots_per_gpu; ++j) {
      const int e = after.expert(g, j);
      if (e < 0) continue;
      bool had = false;
      for (int i = 0; i < before.slots_per_gpu && !had; ++i) had = g < before.gpus && before.expert(g, i) == e;
      arrived += had ? 0 : 1;
    }
    m.experts += arrived * groups;
    busiest = std::max(busiest, arrived);
  }
  m.bytes = static_cast<double>(m.experts) * costs.expert_migration_bytes;
  const double bytes = static_cast<double>(busiest) * costs.expert_migration_bytes;
  m.seconds = group_spans_nodes ? transfer_seconds(topology, 0, bytes) : transfer_seconds(topology, bytes, 0);
  return m;
}

}  // namespace micromoe::simulate
