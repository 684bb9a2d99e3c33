// SPDX-License-Identifier: BSD-3-Clause
// Per-rank routes: one GPU's row (its send legs) and column (what every source sends to its
// slots) of build_routes' table, computed without building the table.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

/// The routes of one GPU for one micro-batch: exactly build_routes' legs of source `gpu` (same
/// legs, same order) and build_routes' tokens from every source to `gpu`'s slots.
struct RankRoutes {
  int gpu = 0;
  int sources = 0;  ///< G
  int experts = 0;
  int slots_per_gpu = 0;
  std::vector<std::int64_t> leg_begin;    ///< [E + 1]: legs of expert e are [leg_begin[e], leg_begin[e + 1])
  std::vector<RouteLeg> legs;             ///< this GPU's legs, expert by expert, in the Routes order
  std::vector<std::int64_t> received;     ///< [source * S + slot]: tokens `source` sends to this GPU's slot
  std::vector<std::int64_t> send_counts;  ///< [G]: tokens this GPU sends to each GPU (all experts)
  std::vector<std::int64_t> recv_counts;  ///< [G]: tokens each GPU sends to this one (all slots)

  /// Same as Routes::legs(gpu, e).
  RouteLegSpan legs_of(int expert) const {
    const auto e = static_cast<std::size_t>(expert);
    return {legs.data() + leg_begin[e], legs.data() + leg_begin[e + 1]};
  }
  std::int64_t received_from(int source, int slot) const {
    return received[static_cast<std::size_t>(source) * slots_per_gpu + slot];
  }
};

/// Builds `gpu`'s routes (see RankRoutes), reusing `out`'s buffers. Same rule as build_routes
/// (routes.hpp): the quota filling couples sources, so a source's legs depend on the tokens of
/// the sources before it; they are reached through prefix sums of the counts per node, not
/// through the whole table. Reads the plan's slot_tokens (dense tokens are not needed).
///
/// `node_counts` (optional): the per-node column sums [node * E + e] of the counts for nodes of
/// `gpus_per_node` GPUs, as Solver::node_counts() holds them after solve(counts); with nullptr
/// they are summed here when 1 < gpus_per_node < G (one pass over the counts). The plan must
/// conserve the counts (as every Solver plan does); a plan that leaves this GPU's tokens
/// without a replica throws std::invalid_argument (a full check would cost the table).
void build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                       int gpu, RankRoutes& out, const std::int64_t* node_counts = nullptr);
RankRoutes build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                             int gpu);

}  // namespace micromoe::schedule
