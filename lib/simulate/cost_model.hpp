// SPDX-License-Identifier: BSD-3-Clause
// The cost model of `micromoe simulate` (docs/simulate.md, "The cost model"): from one MicroEP
// group's routing of a micro-batch, each rank's predicted expert compute (the calibration's FFN
// time interpolated in rows per slot, summed over the rank's slots), its local work (gate, row
// kernels, the scheduler's measured time) and its dispatch bytes by link class; per iteration,
// gradient sync, optimizer and migration. Pure host code.
#pragma once

#include <cstdint>
#include <vector>

#include "deck/run_config.hpp"
#include "schedule/placement.hpp"
#include "simulate/calibration.hpp"
#include "simulate/topology.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::simulate {

/// What the model needs of the deck and the calibration, in bytes and seconds.
struct LayerCosts {
  int hidden = 0;
  double row_bytes = 0;                   ///< one token row on the wire (hidden * exchange_bytes)
  double expert_gradient_bytes = 0;       ///< one expert's fp32 gradients (W1 and W2)
  double expert_migration_bytes = 0;      ///< one expert's weights and optimizer state, fp32
  double gate_gradient_bytes = 0;         ///< the gate's fp32 gradient [H][E]
  double gate_seconds = 0;                ///< gate forward + backward of one rank's micro-batch
  double row_seconds_per_copy = 0;        ///< row kernels per routed copy a rank sends
  double optimizer_seconds_per_slot = 0;  ///< one expert's optimizer pass
  const Calibration* calibration = nullptr;

  static LayerCosts from(const deck::RunConfig& resolved, const Calibration& calibration);
};

/// One group's micro-batch.
struct GroupMicroBatch {
  std::vector<double> compute;          ///< [G] expert forward + backward of each rank
  std::vector<double> local;            ///< [G] gate + row kernels + scheduler
  std::vector<std::int64_t> loads;      ///< [G] copies each rank computes
  std::vector<PortBytes> ports;         ///< [G] dispatch bytes by link class
  std::vector<std::int64_t> slot_rows;  ///< [G * S] rows per (rank, slot), scratch of the model
  double dispatch = 0;                  ///< one dispatch all-to-all (combine and both backward ones mirror it)
  double time = 0;                      ///< max local + 4 * dispatch + max compute
};

/// Costs the routing of group ranks [first_rank, first_rank + G) (G = routing.gpus) under
/// `placement`; `scheduler_seconds` is the measured time of the group's routing call.
void cost_micro_batch(const schedule::Routing& routing, const schedule::Placement& placement, int first_rank,
                      const Topology& topology, const LayerCosts& costs, double scheduler_seconds,
                      GroupMicroBatch& out);

/// Gradient sync after an iteration: every expert slot's gradients summed over its replicas in
/// the group (ring all-reduce), then everything over the `groups` data-parallel copies; the
/// gate over the group, then over the copies. Max over all ranks of the two stages' sum.
double gradient_sync_seconds(const schedule::Placement& placement, int groups, const Topology& topology,
                             const LayerCosts& costs);

/// The optimizer pass: the busiest rank's slots holding an expert times one slot's pass.
double optimizer_seconds(const schedule::Placement& placement, const LayerCosts& costs);

/// A re-placement's weight and optimizer-state moves.
struct Migration {
  std::int64_t experts = 0;  ///< new (gpu, expert) pairs, all groups
  double bytes = 0;          ///< bytes moved, all groups
  double seconds = 0;        ///< the busiest receiving rank (across nodes when the group spans nodes)
};
Migration migration_cost(const schedule::Placement& before, const schedule::Placement& after, int groups,
                         const Topology& topology, const LayerCosts& costs);

}  // namespace micromoe::simulate
