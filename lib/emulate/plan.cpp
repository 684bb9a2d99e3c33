// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/plan.hpp"

#include <algorithm>
#include <memory>

#include "schedule/adaptive.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::emulate {

Layout layout_of(const deck::RunConfig& resolved, int ranks) {
  Layout l;
  l.ranks = ranks;
  l.ep_size = resolved.parallel.ep_size;
  l.microep_group = resolved.parallel.microep_group;
  l.group_size = l.ep_size * l.microep_group;
  l.groups = l.group_size > 0 ? ranks / l.group_size : 0;
  return l;
}

std::int64_t StrategyPlan::max_rows() const {
  std::int64_t most = 0;
  for (const auto& r : rows) most = std::max(most, r.total());
  return most;
}

std::vector<moe::SlotRows> slot_rows(const schedule::Routing& routing, const schedule::Placement& placement) {
  const int S = placement.slots_per_gpu;
  std::vector<moe::SlotRows> out(static_cast<std::size_t>(routing.gpus));
  for (auto& r : out) {
    r.first.assign(static_cast<std::size_t>(S), 0);
    r.rows.assign(static_cast<std::size_t>(S), 0);
  }
  for (int s = 0; s < routing.sources; ++s)
    for (int e = 0; e < routing.experts; ++e) {
      const std::size_t k = static_cast<std::size_t>(s) * routing.experts + e;
      for (auto l = routing.leg_begin[k]; l < routing.leg_begin[k + 1]; ++l) {
        const auto leg = static_cast<std::size_t>(l);
        const int g = routing.legs[leg].gpu;
        out[static_cast<std::size_t>(g)].rows[static_cast<std::size_t>(placement.slot_on(g, e))] +=
            routing.legs[leg].tokens;
      }
    }
  for (auto& r : out)
    for (int j = 1; j < S; ++j) r.first[j] = r.first[j - 1] + r.rows[j - 1];
  return out;
}

StrategyPlan plan_strategy(const deck::RunConfig& resolved, const Layout& layout, strategy::StrategyKind kind,
                           CountSource& counts) {
  const int I = resolved.training.iterations, M = resolved.training.micro_batches, G = layout.group_size;
  const int E = resolved.model.experts, T = resolved.training.tokens_per_micro_batch, K = resolved.model.top_k;
  // Layer 0's strategy, exactly as training configures it (one node unless the deck says otherwise).
  const auto config = train::layer_configs(resolved, kind, resolved.parallel.gpus_per_node).at(0).strategy;
  std::vector<std::unique_ptr<strategy::Strategy>> groups;
  for (int g = 0; g < layout.groups; ++g) groups.push_back(strategy::make_strategy(config, G, E));

  StrategyPlan plan;
  plan.name = to_string(kind);
  plan.iterations = I;
  plan.micro_batches = M;
  plan.ranks = layout.ranks;
  plan.slots = groups.front()->placement().slots_per_gpu;
  plan.rows.resize(static_cast<std::size_t>(I) * M * layout.ranks);
  plan.loads.assign(plan.rows.size(), 0);
  plan.dropped.assign(static_cast<std::size_t>(I) * M, 0);
  plan.lower_bound.assign(plan.dropped.size(), 0);
  plan.memory_bound.assign(plan.dropped.size(), 0.0);
  plan.migrations.assign(static_cast<std::size_t>(I), 0);

  const bool forced = groups.front()->forced_balance();
  const schedule::CountMatrix round_robin = forced ? forced_counts(G, E, T, K) : schedule::CountMatrix{};
  schedule::Routing routing;
  std::vector<std::int64_t> iteration_loads(static_cast<std::size_t>(E));
  for (int i = 0; i < I; ++i) {
    std::fill(iteration_loads.begin(), iteration_loads.end(), 0);
    for (int m = 0; m < M; ++m)
      for (int g = 0; g < layout.groups; ++g) {
        const schedule::CountMatrix c = forced ? round_robin : counts.counts(i, m, g);
        auto& strategy = *groups[static_cast<std::size_t>(g)];
        strategy.route(c, routing);
        plan.slots = std::max(plan.slots, strategy.placement().slots_per_gpu);  // eplb's may change
        const auto rows = slot_rows(routing, strategy.placement());
        for (int r = 0; r < G; ++r) {
          const std::size_t cell = plan.cell(i, m, g * G + r);
          plan.rows[cell] = rows[static_cast<std::size_t>(r)];
          plan.loads[cell] = routing.gpu_load[static_cast<std::size_t>(r)];
        }
        const std::size_t im = static_cast<std::size_t>(i) * M + m;
        plan.dropped[im] += routing.dropped;
        plan.lower_bound[im] = std::max(plan.lower_bound[im], routing.lower_bound);
        const auto loads = c.expert_loads();
        plan.memory_bound[im] = std::max(
            plan.memory_bound[im], schedule::memory_bound_imbalance(loads, G, strategy.placement().slots_per_gpu));
        for (int e = 0; e < E; ++e) iteration_loads[static_cast<std::size_t>(e)] += loads[static_cast<std::size_t>(e)];
      }
    // The layer sums the loads over data-parallel groups, so every group re-places alike.
    for (auto& strategy : groups)
      if (strategy->end_iteration(iteration_loads))
        plan.migrations[static_cast<std::size_t>(i)] += strategy->last_migrations();
  }
  return plan;
}

}  // namespace micromoe::emulate
