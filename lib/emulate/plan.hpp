// SPDX-License-Identifier: BSD-3-Clause
// The host half of the emulation: every strategy routes every micro-batch of every MicroEP
// group exactly as training would (same StrategyConfig, same end-of-iteration re-placement),
// and each emulated rank's expert work is written down as slot row ranges. No device work.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deck/run_config.hpp"
#include "emulate/routing_counts.hpp"
#include "moe/expert_ffn.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::emulate {

/// Ranks of the emulated cluster: `groups` MicroEP groups of `group_size` consecutive ranks.
struct Layout {
  int ranks = 0;
  int group_size = 0;  ///< ep_size * microep_group
  int groups = 0;
  int ep_size = 0;
  int microep_group = 0;
};
/// The layout of a deck resolved (deck::resolve_layout) for `ranks` ranks.
Layout layout_of(const deck::RunConfig& resolved, int ranks);

/// One strategy's work on every emulated rank. Cells are (iteration i, micro-batch m, rank r),
/// r global (group * group_size + rank in group), flat index (i * M + m) * R + r.
struct StrategyPlan {
  std::string name;
  int iterations = 0, micro_batches = 0, ranks = 0;
  int slots =
      0;  ///< slots per rank, the most any placement used (eplb: E / ep_size + redundant slots, sometimes one more)
  std::vector<moe::SlotRows> rows;        ///< [i][m][r]: slot-major rows the rank's experts compute
  std::vector<std::int64_t> loads;        ///< [i][m][r]: routing.gpu_load (copies computed)
  std::vector<std::int64_t> dropped;      ///< [i][m]: copies dropped, all groups (ep-capacity)
  std::vector<std::int64_t> migrations;   ///< [i]: expert copies moved after the iteration, all groups
  std::vector<std::int64_t> lower_bound;  ///< [i][m]: max over groups of the scheduler's optimum (0: none)
  std::vector<double> memory_bound;       ///< [i][m]: max over groups of schedule::memory_bound_imbalance

  std::size_t cell(int iteration, int micro_batch, int rank) const {
    return (static_cast<std::size_t>(iteration) * micro_batches + micro_batch) * ranks + rank;
  }
  /// The largest rows.total() of any cell.
  std::int64_t max_rows() const;
};

/// Rows per (gpu, slot) of one routing: the copies of every leg land on the leg's GPU in the
/// slot that holds its expert there (placement.slot_on). Slot-major, slots in index order.
std::vector<moe::SlotRows> slot_rows(const schedule::Routing& routing, const schedule::Placement& placement);

/// Routes every (iteration, micro-batch, group) of the deck with `kind` (config from
/// train::layer_configs, as training builds it; one strategy instance per group, re-placed
/// from the iteration's loads summed over groups, as the layer does).
StrategyPlan plan_strategy(const deck::RunConfig& resolved, const Layout& layout, strategy::StrategyKind kind,
                           CountSource& counts);

}  // namespace micromoe::emulate
