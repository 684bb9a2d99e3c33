// SPDX-License-Identifier: BSD-3-Clause
#include "moe/exchange_plan.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace micromoe::moe {

void plan_exchange(const schedule::Routing& r, const schedule::Placement& p, int me, std::int64_t block_rows,
                   ExchangePlan& plan) {
  MICROMOE_REQUIRE(me >= 0 && me < p.gpus && block_rows > 0, "plan_exchange: rank or block size out of range");
  schedule::RankRouting mine;
  schedule::slice_routing(r, p, me, mine);
  plan_exchange(mine, p, block_rows, plan);
}

void plan_exchange(const schedule::RankRouting& r, const schedule::Placement& p, std::int64_t block_rows,
                   ExchangePlan& plan) {
  const int G = p.gpus, S = p.slots_per_gpu, E = p.experts, me = r.gpu;
  MICROMOE_REQUIRE(me >= 0 && me < G && block_rows > 0, "plan_exchange: rank or block size out of range");
  MICROMOE_REQUIRE(r.experts == E && r.gpus == G && r.slots_per_gpu == S,
                   "plan_exchange: routing and placement differ");
  const std::size_t g_count = static_cast<std::size_t>(G);
  MICROMOE_REQUIRE(r.send_counts.size() == g_count && r.recv_counts.size() == g_count,
                   "plan_exchange: the routing has no per-rank send / receive counts");
  // The all-to-all's counts come with the rank routing (build_rank_routes / slice_routing).
  plan.send_counts = r.send_counts;
  plan.recv_counts = r.recv_counts;
  // Send blocks: destination rank, then slot; the first send row of block (gpu, slot).
  std::vector<std::int64_t> block_off(g_count * S, 0);
  std::int64_t off = 0;
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(g, j);
      if (e < 0) continue;
      const std::int64_t n = r.sent_to(e, g);
      block_off[static_cast<std::size_t>(g) * S + j] = off;
      off += n;
    }
  plan.send_rows = off;
  // Leg table of this source.
  plan.kept.assign(r.kept.begin(), r.kept.end());
  plan.leg_first.assign(static_cast<std::size_t>(E) + 1, 0);
  plan.legs.clear();
  for (int e = 0; e < E; ++e) {
    plan.leg_first[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(plan.legs.size());
    std::int64_t cum = 0;
    for (const schedule::RouteLeg& l : r.legs_of(e)) {
      plan.legs.push_back({cum, l.tokens, block_off[static_cast<std::size_t>(l.gpu) * S + p.slot_on(l.gpu, e)]});
      cum += l.tokens;
    }
  }
  plan.leg_first[static_cast<std::size_t>(E)] = static_cast<std::int64_t>(plan.legs.size());
  // Receive blocks: source rank, then my slot; slot-major destination rows.
  plan.slots.rows.assign(static_cast<std::size_t>(S), 0);
  for (int q = 0; q < G; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(me, j);
      if (e < 0) continue;
      plan.slots.rows[static_cast<std::size_t>(j)] += r.received_from(q, j);
    }
  plan.slots.first.assign(static_cast<std::size_t>(S), 0);
  for (int j = 1; j < S; ++j) plan.slots.first[j] = plan.slots.first[j - 1] + plan.slots.rows[j - 1];
  plan.recv_rows = std::accumulate(plan.slots.rows.begin(), plan.slots.rows.end(), std::int64_t{0});
  // Copy blocks from the received (source-major) rows to slot-major rows, in pieces of at most
  // block_rows rows (one GPU team each).
  plan.blocks.clear();
  std::vector<std::int64_t> fill(static_cast<std::size_t>(S), 0);
  std::int64_t recv_off = 0;
  for (int q = 0; q < G; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(me, j);
      if (e < 0) continue;
      const std::int64_t n = r.received_from(q, j);
      for (std::int64_t done = 0; done < n; done += block_rows)
        plan.blocks.push_back({recv_off + done, plan.slots.first[j] + fill[j] + done, std::min(block_rows, n - done)});
      fill[j] += n;
      recv_off += n;
    }
  plan.remote_rows = 0;
  for (int g = 0; g < G; ++g)
    if (g != me)
      plan.remote_rows += plan.send_counts[static_cast<std::size_t>(g)] + plan.recv_counts[static_cast<std::size_t>(g)];
}

}  // namespace micromoe::moe
