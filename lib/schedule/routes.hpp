// SPDX-License-Identifier: BSD-3-Clause
// Routes: how many tokens each source GPU sends to each replica of each expert, derived from
// a plan and the counts, local-first.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

/// One destination of a source's tokens for one expert.
struct RouteLeg {
  int gpu = 0;              ///< destination GPU (a replica of the expert)
  std::int64_t tokens = 0;  ///< > 0
};

/// A read-only range of legs.
struct RouteLegSpan {
  const RouteLeg* first = nullptr;
  const RouteLeg* last = nullptr;
  const RouteLeg* begin() const { return first; }
  const RouteLeg* end() const { return last; }
  std::size_t size() const { return static_cast<std::size_t>(last - first); }
  bool empty() const { return first == last; }
  const RouteLeg& operator[](std::size_t i) const { return first[i]; }
};

/// Routes r[src][expert][gpu] for one micro-batch.
///
/// The contract with the MoE layer: `legs(src, e)` lists only legs with tokens > 0, and their
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
class Routes;
void build_routes(const Placement&, const CountMatrix&, const Plan&, int, Routes&);

class Routes {
 public:
  Routes() = default;

  int sources() const { return sources_; }
  int experts() const { return experts_; }
  int gpus_per_node() const { return gpus_per_node_; }
  RouteLegSpan legs(int src, int expert) const {
    const std::size_t k = static_cast<std::size_t>(src) * experts_ + expert;
    return {legs_.data() + offset_[k], legs_.data() + offset_[k + 1]};
  }
  /// All legs, source-major then expert: legs(s, e) is the slice [offset(s,e), offset(s,e+1)).
  const std::vector<RouteLeg>& all_legs() const { return legs_; }
  const std::vector<std::int64_t>& offsets() const { return offset_; }

  /// Tokens that leave their source GPU / their source node.
  std::int64_t cross_gpu_tokens() const { return cross_gpu_; }
  std::int64_t cross_node_tokens() const { return cross_node_; }
  /// Tokens src sends to each GPU (all experts): the send counts of the dispatch all-to-all.
  std::vector<std::int64_t> send_counts(int src) const;

 private:
  friend void build_routes(const Placement&, const CountMatrix&, const Plan&, int, Routes&);
  int sources_ = 0, experts_ = 0, gpus_ = 0, gpus_per_node_ = 1;
  std::vector<std::int64_t> offset_;
  std::vector<RouteLeg> legs_;
  std::int64_t cross_gpu_ = 0, cross_node_ = 0;
};

/// Builds the routes (see Routes). `gpus_per_node` >= 1 (1: every GPU its own node; a value
/// larger than G: one node). Throws std::invalid_argument when shapes disagree or the plan does
/// not conserve the counts (sum over g of x[e][g] != L[e], or tokens off the replicas).
Routes build_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node);
/// Same, reusing `out`'s buffers (and per-thread scratch): no allocation in steady state.
void build_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                  Routes& out);

/// Lower bounds the routes reach for a plan: tokens that must leave their GPU / node given
/// x (sum over e of L[e] - sum over g of min(c[g][e], x[e][g]), and the node analogue).
struct LocalityVolume {
  std::int64_t cross_gpu = 0;
  std::int64_t cross_node = 0;
};
LocalityVolume plan_locality(const Placement& placement, const CountMatrix& counts, const Plan& plan,
                             int gpus_per_node);

}  // namespace micromoe::schedule
