// SPDX-License-Identifier: BSD-3-Clause
// Per-rank routes: one GPU's row (its send legs) and column (what every source sends to its
// slots) of build_routes' routing, computed without building the whole routing.
#pragma once

#include <cstdint>

#include "schedule/placement.hpp"
#include "schedule/rank_routing.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

/// Builds `gpu`'s part of the plan's routing (rank_routing.hpp), reusing `out`'s buffers: exactly
/// build_routes' legs of source `gpu` (same legs, same order) and build_routes' tokens from every
/// source to `gpu`'s slots; every count kept, gpu_load and lower_bound the plan's. Same rule as
/// build_routes (routes.hpp): the quota filling couples sources, so a source's legs depend on the tokens of
/// the sources before it; they are reached through prefix sums of the counts per node, not
/// through the whole table. Reads the plan's slot_tokens (dense tokens are not needed).
///
/// `node_counts` (optional): the per-node column sums [node * E + e] of the counts for nodes of
/// `gpus_per_node` GPUs, as Solver::node_counts() holds them after solve(counts); with nullptr
/// they are summed here when 1 < gpus_per_node < G (one pass over the counts). The plan must
/// conserve the counts (as every Solver plan does); a plan that leaves this GPU's tokens
/// without a replica throws std::invalid_argument (a full check would cost the table).
void build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                       int gpu, RankRouting& out, const std::int64_t* node_counts = nullptr);
RankRouting build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan,
                              int gpus_per_node, int gpu);

}  // namespace micromoe::schedule
