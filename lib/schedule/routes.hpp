// SPDX-License-Identifier: BSD-3-Clause
// Routes: the whole routing (routing.hpp) of a plan: how many tokens each source GPU sends to
// each replica of each expert, local-first.
#pragma once

#include <cstdint>

#include "schedule/placement.hpp"
#include "schedule/routing.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

/// Builds the routing of a plan: how many tokens each source GPU sends to each replica of each
/// expert, local-first. Every count is kept (dropped = 0), gpu_load is what the plan gives each
/// GPU, lower_bound the plan's, gpus_per_node the argument.
///
/// The contract with the MoE layer: `legs_of(src, e)` lists only legs with tokens > 0, and their
/// tokens sum to c[src][e]. The order is fixed and meaningful - the layer assigns src's token
/// copies of e, in their order, to the legs in this order:
///   1. the local leg (dst == src), if src holds a replica of e;
///   2. legs to other replicas on src's node (dst / gpus_per_node == src / gpus_per_node),
///      ascending GPU id;
///   3. legs to replicas on other nodes, ascending GPU id.
/// How quotas are matched: every replica g first takes min(c[g][e], x[e][g]) of its own GPU's
/// tokens; then, per node, the node's remaining sources (ascending) fill the node's remaining
/// replica quotas (ascending); then all remaining sources (ascending) fill all remaining quotas
/// (ascending). This achieves, for the given plan, the largest possible same-GPU and same-node
/// token volume (both at once) and at most (#sources + #replicas - 1) legs per phase.
///
/// `gpus_per_node` >= 1 (1: every GPU its own node; a value larger than G: one node). Throws
/// std::invalid_argument when shapes disagree or the plan does not conserve the counts (sum over
/// g of x[e][g] != L[e], or tokens off the replicas). Needs the plan's dense tokens. Reuses
/// `out`'s buffers (and per-thread scratch): no allocation in steady state.
void build_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                  Routing& out);
Routing build_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node);

/// Lower bounds the routes reach for a plan: tokens that must leave their GPU / node given
/// x (sum over e of L[e] - sum over g of min(c[g][e], x[e][g]), and the node analogue).
struct LocalityVolume {
  std::int64_t cross_gpu = 0;
  std::int64_t cross_node = 0;
};
LocalityVolume plan_locality(const Placement& placement, const CountMatrix& counts, const Plan& plan,
                             int gpus_per_node);

}  // namespace micromoe::schedule
