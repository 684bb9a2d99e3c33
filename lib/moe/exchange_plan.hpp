// SPDX-License-Identifier: BSD-3-Clause
// The exchange plan of one micro-batch on one rank, from this rank's part of the strategy's
// routing (its legs and what every peer sends to it): how many rows go to and come from every
// peer, where each (expert, leg) of this rank's copies lands in the send buffer, and how the
// received (source-major) rows are regrouped slot by slot for the expert FFNs. Pure host
// arithmetic, no MPI and no Kokkos: every rank derives its part from the same all-gathered
// counts, so no counts travel.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "moe/slot_rows.hpp"
#include "schedule/placement.hpp"
#include "schedule/rank_routing.hpp"
#include "schedule/routing.hpp"

namespace micromoe::moe {

/// Three int64 per row, as the kernels read them (lib/moe/kernels.hpp's Blocks).
using PlanRow = std::array<std::int64_t, 3>;

struct ExchangePlan {
  // Dispatch (the combine runs it reversed). Send blocks are ordered by destination rank, then
  // slot; receive blocks by source rank, then this rank's slot.
  std::vector<std::int64_t> send_counts;  ///< [G] rows sent to rank g
  std::vector<std::int64_t> recv_counts;  ///< [G] rows received from rank q
  std::int64_t send_rows = 0;             ///< sum of send_counts
  std::int64_t recv_rows = 0;             ///< sum of recv_counts (= slots.total())
  std::int64_t remote_rows = 0;           ///< rows sent to or received from other ranks

  // This rank's copies (assign_send_rows): of expert e the first kept[e] copies (in copy order)
  // are sent, leg by leg; legs of e are [leg_first[e], leg_first[e + 1]) of `legs`, each
  // (first copy of the leg among e's kept copies, copies, first send row).
  std::vector<std::int64_t> kept;       ///< [E]
  std::vector<std::int64_t> leg_first;  ///< [E + 1]
  std::vector<PlanRow> legs;

  // Receive side: slot-major rows of the expert input, and the copy blocks (received row,
  // slot-major row, rows) that regroup them, at most `block_rows` rows each.
  SlotRows slots;
  std::vector<PlanRow> blocks;
};

/// Fills `plan` (reusing its capacity) for rank `routing.gpu` of `placement.gpus` ranks from
/// that rank's part of the routing under `placement` (Strategy::route_rank).
void plan_exchange(const schedule::RankRouting& routing, const schedule::Placement& placement, std::int64_t block_rows,
                   ExchangePlan& plan);
/// Same from the whole group's routing (sliced for rank `me`).
void plan_exchange(const schedule::Routing& routing, const schedule::Placement& placement, int me,
                   std::int64_t block_rows, ExchangePlan& plan);

}  // namespace micromoe::moe
