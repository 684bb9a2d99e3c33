// SPDX-License-Identifier: BSD-3-Clause
// One rank's part of a micro-batch's routing: what the MoE layer's exchange plan reads. A rank
// needs its row of the routing (its kept copies and their legs) and its column (what every
// source sends to its slots), not the whole G x E table.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"
#include "schedule/rank_routes.hpp"
#include "schedule/solver.hpp"

namespace micromoe::strategy {

struct Routing;

/// Rank `gpu`'s part of a Routing: the same numbers as the whole routing's row and column.
struct RankRouting {
  int gpu = 0;
  int gpus = 0;
  int experts = 0;
  int slots_per_gpu = 0;
  std::vector<std::int64_t> kept;        ///< [e]: this rank's copies of e that are sent (the rest dropped)
  std::vector<std::int64_t> leg_begin;   ///< [E + 1]: legs of e are [leg_begin[e], leg_begin[e + 1])
  std::vector<int> leg_gpu;              ///< destination GPU of each of this rank's legs
  std::vector<std::int64_t> leg_tokens;  ///< copies of each leg (> 0)
  std::vector<std::int64_t> received;    ///< [q * S + j]: copies source q sends to this rank's slot j
  std::vector<std::int64_t> gpu_load;    ///< [g]: copies computed by GPU g (the whole group)
  std::int64_t dropped = 0;              ///< copies dropped in the whole group
  std::int64_t lower_bound = 0;          ///< exact optimum of max load where a solver ran, else 0

  std::int64_t received_from(int source, int slot) const {
    return received[static_cast<std::size_t>(source) * slots_per_gpu + slot];
  }
  /// Copies of this rank's expert e that go to `gpu`, 0 if none.
  std::int64_t sent_to(int expert, int gpu) const;
  std::int64_t max_load() const;
  /// max load / mean load (1 when there are no copies), as Routing::imbalance.
  double imbalance() const;
};

/// Rank `gpu`'s part of a whole routing under `placement`.
void slice_routing(const Routing& routing, const schedule::Placement& placement, int gpu, RankRouting& out);

/// Rank routes of the scheduler (every copy kept) and the plan's GPU loads as a RankRouting.
void from_rank_routes(const schedule::RankRoutes& routes, const schedule::CountMatrix& counts,
                      const std::vector<std::int64_t>& gpu_load, RankRouting& out);

}  // namespace micromoe::strategy
