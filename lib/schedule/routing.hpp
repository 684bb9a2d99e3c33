// SPDX-License-Identifier: BSD-3-Clause
// The routing of one micro-batch, whole: for every (source, expert) how many of the source's
// copies are kept and to which GPUs they go, with the GPU loads and the solver's bound. The one
// shape every producer fills: build_routes (the scheduler's plan made into legs) and every
// strategy (strategy/strategy.hpp: ep, ep-capacity, eplb, microep, microep-adaptive, balanced).
// One rank's part of it is a RankRouting (rank_routing.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

/// The max of GPU loads, and max / mean (1 when there are no copies): Routing's and
/// RankRouting's max_load and imbalance.
std::int64_t max_gpu_load(const std::vector<std::int64_t>& gpu_load);
double load_imbalance(const std::vector<std::int64_t>& gpu_load);

struct Routing;
void build_routes(const Placement&, const CountMatrix&, const Plan&, int, Routing&);

/// One destination of a source's copies of one expert.
struct RouteLeg {
  int gpu = 0;              ///< destination GPU (a replica of the expert)
  std::int64_t tokens = 0;  ///< > 0
  friend bool operator==(const RouteLeg& a, const RouteLeg& b) { return a.gpu == b.gpu && a.tokens == b.tokens; }
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

/// The routing of one micro-batch over G GPUs. For every (source s, expert e) the first
/// kept[s*E+e] of s's copies of e (in copy order) go to legs(s, e) in order; the rest are dropped.
///
/// Legs have tokens > 0 and sum to kept. Where the scheduler routed (build_routes, microep*),
/// the order is the locality order of routes.hpp: the local leg, then the same node's GPUs
/// ascending, then the other nodes' ascending; the MoE layer assigns copies to legs in it.
/// Not to be confused with a Plan (solver.hpp): the plan is per (expert, GPU) quotas, which
/// say what each GPU computes but not whose copies; a routing says who sends what where.
struct Routing {
  int sources = 0;                      ///< G (the sources are the group's GPUs)
  int experts = 0;                      ///< E
  int gpus = 0;                         ///< G
  int gpus_per_node = 1;                ///< node size of the locality order (reset: gpus, one node)
  std::vector<std::int64_t> kept;       ///< [s*E+e]: s's copies of e that are sent
  std::vector<std::int64_t> leg_begin;  ///< [S*E+1]: legs of (s,e) are legs[leg_begin[s*E+e] .. leg_begin[s*E+e+1])
  std::vector<RouteLeg> legs;           ///< all legs, source-major then expert
  std::vector<std::int64_t> gpu_load;   ///< [g]: copies computed by GPU g
  std::int64_t dropped = 0;             ///< copies dropped in the whole group (ep-capacity)
  std::int64_t lower_bound = 0;         ///< exact optimum of the max load where a solver ran, else 0

  RouteLegSpan legs_of(int source, int expert) const {
    const std::size_t k = static_cast<std::size_t>(source) * experts + expert;
    return {legs.data() + leg_begin[k], legs.data() + leg_begin[k + 1]};
  }
  /// Copies of source's expert that go to `gpu`, 0 if none.
  std::int64_t sent_to(int source, int expert, int gpu) const;
  /// Tokens src sends to each GPU (all experts): the send counts of the dispatch all-to-all.
  std::vector<std::int64_t> send_counts(int src) const;
  /// Copies that leave their source GPU / their source node (nodes of gpus_per_node GPUs).
  std::int64_t cross_gpu_tokens() const;
  std::int64_t cross_node_tokens() const;
  std::int64_t max_load() const { return max_gpu_load(gpu_load); }
  /// max load / mean load (1 when there are no copies).
  double imbalance() const { return load_imbalance(gpu_load); }

  /// Filling by hand (the strategies): reset, then add_leg in (s, e) row-major order (kept and
  /// dropped are set by the caller), then finish. reset: every count 0, one node.
  void reset(int sources, int experts, int gpus);
  /// Appends a leg to (s, e) and adds it to gpu_load (ignored unless tokens > 0).
  void add_leg(int s, int e, int gpu, std::int64_t tokens);
  /// Completes leg_begin after the last add_leg.
  void finish();

  /// Throws std::invalid_argument when legs do not sum to kept, kept exceeds the counts, or a
  /// leg goes to a GPU that does not hold the expert.
  void check(const Placement& placement, const CountMatrix& counts) const;

 private:
  friend void build_routes(const Placement&, const CountMatrix&, const Plan&, int, Routing&);
  std::int64_t filled_ = 0;  // leg_begin is final up to this index (add_leg)
};

}  // namespace micromoe::schedule
