// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/simulation.hpp"

#include <algorithm>
#include <ctime>
#include <memory>

#include "core/state_blob.hpp"
#include "emulate/routing_counts.hpp"
#include "simulate/fast_counts.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::simulate {

namespace {

/// One strategy's instances (one per group) and its result.
struct Running {
  std::vector<std::unique_ptr<strategy::Strategy>> groups;
  StrategySimulation result;
  std::vector<std::int64_t> iteration_loads;  // [E] summed over micro-batches and groups
  std::vector<double> group_time;             // [D] this iteration's micro-batches so far
};

void size_result(StrategySimulation& r, int I, int M, const emulate::Layout& layout) {
  r.iterations = I;
  r.micro_batches = M;
  r.ranks = layout.ranks;
  r.groups = layout.groups;
  r.group_size = layout.group_size;
  const std::size_t per_rank = static_cast<std::size_t>(I) * M * layout.ranks;
  const std::size_t per_group = static_cast<std::size_t>(I) * M * layout.groups;
  const std::size_t per_mb = static_cast<std::size_t>(I) * M;
  for (auto* v : {&r.compute, &r.local, &r.send_bytes, &r.inter_node_bytes, &r.recv_bytes}) v->assign(per_rank, 0.0);
  r.loads.assign(per_rank, 0);
  for (auto* v : {&r.dispatch, &r.scheduler, &r.micro_batch_time}) v->assign(per_group, 0.0);
  r.imbalance.assign(per_mb, 1.0);
  r.dropped.assign(per_mb, 0);
  r.lower_bound.assign(per_mb, 0);
  for (auto* v : {&r.gradient_sync, &r.optimizer, &r.migration, &r.migration_bytes, &r.iteration_time})
    v->assign(static_cast<std::size_t>(I), 0.0);
  r.migrations.assign(static_cast<std::size_t>(I), 0);
  r.critical_group.assign(static_cast<std::size_t>(I), 0);
}

/// Every group's end of iteration with the same summed loads. When the groups' strategies hold
/// the same state (eplb and every kind whose routing keeps no history of its own group), one
/// re-placement serves all: the others load its state, with which they decide bit for bit
/// alike (Strategy::save_state). The coloring search of eplb's re-placement dominated a
/// 1,024-GPU run (8 groups re-placing alike); kinds whose states differ (a solver's warm start
/// from its own group's counts) re-place one by one as before. True when the placement changed.
bool end_iteration_of_groups(std::vector<std::unique_ptr<strategy::Strategy>>& groups,
                             const std::vector<std::int64_t>& loads) {
  bool alike = groups.size() > 1;
  StateWriter first;
  if (alike) groups.front()->save_state(first);
  for (std::size_t d = 1; d < groups.size() && alike; ++d) {
    StateWriter other;
    groups[d]->save_state(other);
    alike = other.data() == first.data();
  }
  if (!alike) {
    bool changed = false;
    for (auto& strategy : groups) changed = strategy->end_iteration(loads) || changed;
    return changed;
  }
  const bool changed = groups.front()->end_iteration(loads);
  StateWriter after;  // also when unchanged: the load history may have moved on
  groups.front()->save_state(after);
  for (std::size_t d = 1; d < groups.size(); ++d) {
    StateReader in(after.data());
    groups[d]->load_state(in);
  }
  return changed;
}

/// This thread's CPU seconds: the scheduler's own cost, unaffected by other processes sharing
/// the machine (a wall clock on a busy host would count their time too).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

std::vector<StrategySimulation> simulate_strategies(const deck::RunConfig& resolved, const emulate::Layout& layout,
                                                    const Topology& topology, const LayerCosts& costs,
                                                    void (*progress)(int, int)) {
  const int I = resolved.training.iterations, M = resolved.training.micro_batches;
  const int G = layout.group_size, D = layout.groups, R = layout.ranks;
  const int E = resolved.model.experts, T = resolved.training.tokens_per_micro_batch, K = resolved.model.top_k;

  std::vector<Running> running(resolved.run.strategies.size());
  for (std::size_t k = 0; k < running.size(); ++k) {
    const auto kind = resolved.run.strategies[k];
    // Layer 0's strategy exactly as training configures it, with the cluster's node size for
    // the routes' locality order.
    const auto config = train::layer_configs(resolved, kind, resolved.cluster.gpus_per_node).at(0).strategy;
    for (int d = 0; d < D; ++d) running[k].groups.push_back(strategy::make_strategy(config, G, E));
    running[k].result.name = to_string(kind);
    size_result(running[k].result, I, M, layout);
    running[k].iteration_loads.assign(static_cast<std::size_t>(E), 0);
  }

  // The counts: token by token as emulate and run draw them, or per-expert binomials.
  const bool fast = resolved.cluster.fast_counts && resolved.workload.kind != workload::WorkloadKind::trace;
  std::unique_ptr<emulate::CountSource> exact;
  std::unique_ptr<FastCounts> binomial;
  if (fast)
    binomial = std::make_unique<FastCounts>(resolved, G);
  else
    exact = std::make_unique<emulate::CountSource>(resolved, G);
  const schedule::CountMatrix round_robin = emulate::forced_counts(G, E, T, K);

  std::vector<schedule::CountMatrix> counts(static_cast<std::size_t>(D));
  schedule::Routing routing;
  GroupMicroBatch mb;
  for (int i = 0; i < I; ++i) {
    for (auto& run : running) {
      std::fill(run.iteration_loads.begin(), run.iteration_loads.end(), 0);
      run.group_time.assign(static_cast<std::size_t>(D), 0.0);
    }
    for (int m = 0; m < M; ++m) {
      for (int d = 0; d < D; ++d) counts[d] = fast ? binomial->counts(i, m, d) : exact->counts(i, m, d);
      for (auto& run : running) {
        auto& r = run.result;
        const std::size_t im = static_cast<std::size_t>(i) * M + m;
        std::int64_t most = 0, total = 0;
        for (int d = 0; d < D; ++d) {
          auto& strategy = *run.groups[static_cast<std::size_t>(d)];
          const auto& c = strategy.forced_balance() ? round_robin : counts[static_cast<std::size_t>(d)];
          const double start = thread_seconds();
          strategy.route(c, routing);
          const double scheduler = thread_seconds() - start;
          cost_micro_batch(routing, strategy.placement(), d * G, topology, costs, scheduler, mb);
          for (int g = 0; g < G; ++g) {
            const std::size_t cell = r.rank_cell(i, m, d * G + g);
            const auto& port = mb.ports[static_cast<std::size_t>(g)];
            r.compute[cell] = mb.compute[static_cast<std::size_t>(g)];
            r.local[cell] = mb.local[static_cast<std::size_t>(g)];
            r.loads[cell] = mb.loads[static_cast<std::size_t>(g)];
            r.send_bytes[cell] = port.send_intra + port.send_inter;
            r.inter_node_bytes[cell] = port.send_inter;
            r.recv_bytes[cell] = port.recv_intra + port.recv_inter;
            most = std::max(most, r.loads[cell]);
            total += r.loads[cell];
          }
          const std::size_t gc = r.group_cell(i, m, d);
          r.dispatch[gc] = mb.dispatch;
          r.scheduler[gc] = scheduler;
          r.micro_batch_time[gc] = mb.time;
          run.group_time[static_cast<std::size_t>(d)] += mb.time;
          r.dropped[im] += routing.dropped;
          r.lower_bound[im] = std::max(r.lower_bound[im], routing.lower_bound);
          // The layer sums the real gate's loads (balanced's too) over the groups for re-placement.
          for (int s = 0; s < G; ++s)
            for (int e = 0; e < E; ++e) run.iteration_loads[static_cast<std::size_t>(e)] += c(s, e);
        }
        r.imbalance[im] = total > 0 ? static_cast<double>(most) * R / static_cast<double>(total) : 1.0;
      }
    }
    // End of the iteration: gradient sync and optimizer on this iteration's placement, then
    // the re-placement (the same loads in every group, so every group re-places alike).
    for (auto& run : running) {
      auto& r = run.result;
      const auto& placement = run.groups.front()->placement();
      r.gradient_sync[i] = gradient_sync_seconds(placement, D, topology, costs);
      r.optimizer[i] = optimizer_seconds(placement, costs);
      const schedule::Placement before = placement;
      const bool changed = end_iteration_of_groups(run.groups, run.iteration_loads);
      if (changed) {
        const auto moved = migration_cost(before, run.groups.front()->placement(), D, topology, costs);
        r.migration[i] = moved.seconds;
        r.migration_bytes[i] = moved.bytes;
        r.migrations[i] = moved.experts;
      }
      const auto slowest = std::max_element(run.group_time.begin(), run.group_time.end());
      r.critical_group[i] = static_cast<int>(slowest - run.group_time.begin());
      r.iteration_time[i] = *slowest + r.gradient_sync[i] + r.optimizer[i] + r.migration[i];
    }
    if (progress) progress(i + 1, I);
  }
  std::vector<StrategySimulation> out;
  for (auto& run : running) out.push_back(std::move(run.result));
  return out;
}

}  // namespace micromoe::simulate
