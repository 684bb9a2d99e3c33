// SPDX-License-Identifier: BSD-3-Clause
// The simulation loop of `micromoe simulate`: every (iteration, micro-batch) of the deck, the
// routing counts of all N ranks (drawn once, shared by the strategies), every strategy's real
// routing of every MicroEP group (timed: the scheduler's own cost), the cost model's phase times
// (cost_model.hpp), and at the end of each iteration gradient sync, optimizer and the
// strategies' re-placement with its migrations. One process, no device.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deck/run_config.hpp"
#include "emulate/plan.hpp"
#include "simulate/cost_model.hpp"
#include "simulate/topology.hpp"

namespace micromoe::simulate {

/// One strategy's predicted phases. I iterations, M micro-batches, R ranks, D groups; flat
/// row-major in that order ([i][m][r], [i][m][d], [i][m], [i]).
struct StrategySimulation {
  std::string name;
  int iterations = 0, micro_batches = 0, ranks = 0, groups = 0, group_size = 0;
  std::vector<double> compute;            ///< [I][M][R] expert forward + backward
  std::vector<double> local;              ///< [I][M][R] gate + row kernels + scheduler
  std::vector<std::int64_t> loads;        ///< [I][M][R] copies computed
  std::vector<double> send_bytes;         ///< [I][M][R] dispatch bytes sent to other ranks
  std::vector<double> inter_node_bytes;   ///< [I][M][R] of which across nodes
  std::vector<double> recv_bytes;         ///< [I][M][R] dispatch bytes received from other ranks
  std::vector<double> dispatch;           ///< [I][M][D] one dispatch all-to-all
  std::vector<double> scheduler;          ///< [I][M][D] the group's routing call, measured
  std::vector<double> micro_batch_time;   ///< [I][M][D] max local + 4 dispatch + max compute
  std::vector<double> imbalance;          ///< [I][M] max / mean of loads over all ranks
  std::vector<std::int64_t> dropped;      ///< [I][M] copies dropped, all groups
  std::vector<std::int64_t> lower_bound;  ///< [I][M] max over groups of the scheduler's optimum (0: none)
  std::vector<double> gradient_sync;      ///< [I]
  std::vector<double> optimizer;          ///< [I]
  std::vector<double> migration;          ///< [I] seconds of the re-placement after the iteration
  std::vector<double> migration_bytes;    ///< [I]
  std::vector<std::int64_t> migrations;   ///< [I] new (gpu, expert) pairs, all groups
  std::vector<int> critical_group;        ///< [I] the group whose micro-batches took longest
  std::vector<double> iteration_time;     ///< [I] max over groups of its micro-batches + sync + optimizer + migration

  std::size_t rank_cell(int i, int m, int r) const {
    return (static_cast<std::size_t>(i) * micro_batches + m) * ranks + r;
  }
  std::size_t group_cell(int i, int m, int d) const {
    return (static_cast<std::size_t>(i) * micro_batches + m) * groups + d;
  }
};

/// Simulates every strategy of the deck (run.strategies) on the layout's ranks.
/// `progress`: called after every iteration with (iteration, iterations).
std::vector<StrategySimulation> simulate_strategies(const deck::RunConfig& resolved, const emulate::Layout& layout,
                                                    const Topology& topology, const LayerCosts& costs,
                                                    void (*progress)(int, int) = nullptr);

}  // namespace micromoe::simulate
