// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/rank_routing.hpp"

#include <stdexcept>

namespace micromoe::schedule {

std::int64_t RankRouting::sent_to(int expert, int gpu) const {
  for (const RouteLeg& l : legs_of(expert))
    if (l.gpu == gpu) return l.tokens;
  return 0;
}

void slice_routing(const Routing& r, const Placement& p, int gpu, RankRouting& out) {
  const int G = p.gpus, E = p.experts, S = p.slots_per_gpu;
  if (gpu < 0 || gpu >= G) throw std::invalid_argument("slice_routing: rank out of range");
  if (r.experts != E || r.gpus != G || r.sources != G)
    throw std::invalid_argument("slice_routing: routing and placement differ");
  out.gpu = gpu;
  out.gpus = G;
  out.experts = E;
  out.slots_per_gpu = S;
  out.kept.resize(static_cast<std::size_t>(E));
  out.leg_begin.assign(static_cast<std::size_t>(E) + 1, 0);
  out.legs.clear();
  out.send_counts.assign(static_cast<std::size_t>(G), 0);
  out.recv_counts.assign(static_cast<std::size_t>(G), 0);
  const std::size_t base = static_cast<std::size_t>(gpu) * E;
  for (int e = 0; e < E; ++e) {
    out.kept[static_cast<std::size_t>(e)] = r.kept[base + e];
    out.leg_begin[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(out.legs.size());
    for (const RouteLeg& l : r.legs_of(gpu, e)) {
      out.legs.push_back(l);
      out.send_counts[static_cast<std::size_t>(l.gpu)] += l.tokens;
    }
  }
  out.leg_begin[static_cast<std::size_t>(E)] = static_cast<std::int64_t>(out.legs.size());
  out.received.assign(static_cast<std::size_t>(G) * S, 0);
  for (int q = 0; q < G; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(gpu, j);
      if (e < 0) continue;
      std::int64_t n = 0;
      for (const RouteLeg& l : r.legs_of(q, e))
        if (l.gpu == gpu) n += l.tokens;
      out.received[static_cast<std::size_t>(q) * S + j] += n;
      out.recv_counts[static_cast<std::size_t>(q)] += n;
    }
  out.gpu_load = r.gpu_load;
  out.dropped = r.dropped;
  out.lower_bound = r.lower_bound;
}

}  // namespace micromoe::schedule
