// SPDX-License-Identifier: BSD-3-Clause
// One rank's part of a micro-batch's routing: what the MoE layer's exchange plan reads. A rank
// needs its row of the routing (its kept copies and their legs) and its column (what every
// source sends to its slots), not the whole G x E table. Filled by build_rank_routes
// (rank_routes.hpp: microep, microep-adaptive) or sliced from a whole Routing (slice_routing:
// every other strategy); both give the same numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/routing.hpp"

namespace micromoe::schedule {

/// Rank `gpu`'s part of a Routing: the same numbers as the whole routing's row and column.
struct RankRouting {
  int gpu = 0;
  int gpus = 0;  ///< G (also the number of sources)
  int experts = 0;
  int slots_per_gpu = 0;
  std::vector<std::int64_t> kept;         ///< [e]: this rank's copies of e that are sent (the rest dropped)
  std::vector<std::int64_t> leg_begin;    ///< [E + 1]: legs of e are legs[leg_begin[e] .. leg_begin[e + 1])
  std::vector<RouteLeg> legs;             ///< this rank's legs, expert by expert, in the Routing's order
  std::vector<std::int64_t> received;     ///< [q * S + j]: copies source q sends to this rank's slot j
  std::vector<std::int64_t> send_counts;  ///< [G]: copies this rank sends to each GPU (all experts)
  std::vector<std::int64_t> recv_counts;  ///< [G]: copies each GPU sends to this one (all slots)
  std::vector<std::int64_t> gpu_load;     ///< [g]: copies computed by GPU g (the whole group)
  std::int64_t dropped = 0;               ///< copies dropped in the whole group
  std::int64_t lower_bound = 0;           ///< exact optimum of the max load where a solver ran, else 0

  /// Same as Routing::legs_of(gpu, expert).
  RouteLegSpan legs_of(int expert) const {
    const auto e = static_cast<std::size_t>(expert);
    return {legs.data() + leg_begin[e], legs.data() + leg_begin[e + 1]};
  }
  std::int64_t received_from(int source, int slot) const {
    return received[static_cast<std::size_t>(source) * slots_per_gpu + slot];
  }
  /// Copies of this rank's expert e that go to `gpu`, 0 if none.
  std::int64_t sent_to(int expert, int gpu) const;
  std::int64_t max_load() const { return max_gpu_load(gpu_load); }
  /// max load / mean load (1 when there are no copies), as Routing::imbalance.
  double imbalance() const { return load_imbalance(gpu_load); }
};

/// Rank `gpu`'s part of a whole routing under `placement`. Throws std::invalid_argument when
/// the routing's shape differs from the placement's or the rank is out of range.
void slice_routing(const Routing& routing, const Placement& placement, int gpu, RankRouting& out);

}  // namespace micromoe::schedule
