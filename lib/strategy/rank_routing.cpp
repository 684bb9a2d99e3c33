// SPDX-License-Identifier: BSD-3-Clause
#include "strategy/rank_routing.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::strategy {

std::int64_t RankRouting::sent_to(int expert, int gpu) const {
  const auto e = static_cast<std::size_t>(expert);
  for (std::int64_t l = leg_begin[e]; l < leg_begin[e + 1]; ++l)
    if (leg_gpu[static_cast<std::size_t>(l)] == gpu) return leg_tokens[static_cast<std::size_t>(l)];
  return 0;
}

std::int64_t RankRouting::max_load() const {
  return gpu_load.empty() ? 0 : *std::max_element(gpu_load.begin(), gpu_load.end());
}

double RankRouting::imbalance() const {
  const std::int64_t total = std::accumulate(gpu_load.begin(), gpu_load.end(), std::int64_t{0});
  if (total == 0 || gpu_load.empty()) return 1.0;
  return static_cast<double>(max_load()) * static_cast<double>(gpu_load.size()) / static_cast<double>(total);
}

namespace {

void shape(RankRouting& out, int gpu, int gpus, int experts, int slots) {
  out.gpu = gpu;
  out.gpus = gpus;
  out.experts = experts;
  out.slots_per_gpu = slots;
  out.kept.resize(static_cast<std::size_t>(experts));
  out.leg_begin.assign(static_cast<std::size_t>(experts) + 1, 0);
  out.leg_gpu.clear();
  out.leg_tokens.clear();
}

}  // namespace

void slice_routing(const Routing& r, const schedule::Placement& p, int gpu, RankRouting& out) {
  const int G = p.gpus, E = p.experts, S = p.slots_per_gpu;
  MICROMOE_REQUIRE(gpu >= 0 && gpu < G, "slice_routing: rank out of range");
  MICROMOE_REQUIRE(r.experts == E && r.gpus == G && r.sources == G, "slice_routing: routing and placement differ");
  shape(out, gpu, G, E, S);
  const std::size_t base = static_cast<std::size_t>(gpu) * E;
  for (int e = 0; e < E; ++e) {
    out.kept[static_cast<std::size_t>(e)] = r.kept[base + e];
    out.leg_begin[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(out.leg_gpu.size());
    for (std::int64_t l = r.leg_begin[base + e]; l < r.leg_begin[base + e + 1]; ++l) {
      out.leg_gpu.push_back(r.leg_gpu[static_cast<std::size_t>(l)]);
      out.leg_tokens.push_back(r.leg_tokens[static_cast<std::size_t>(l)]);
    }
  }
  out.leg_begin[static_cast<std::size_t>(E)] = static_cast<std::int64_t>(out.leg_gpu.size());
  out.received.assign(static_cast<std::size_t>(G) * S, 0);
  for (int q = 0; q < G; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(gpu, j);
      if (e < 0) continue;
      const std::size_t k = static_cast<std::size_t>(q) * E + e;
      for (std::int64_t l = r.leg_begin[k]; l < r.leg_begin[k + 1]; ++l)
        if (r.leg_gpu[static_cast<std::size_t>(l)] == gpu)
          out.received[static_cast<std::size_t>(q) * S + j] += r.leg_tokens[static_cast<std::size_t>(l)];
    }
  out.gpu_load = r.gpu_load;
  out.dropped = r.dropped;
  out.lower_bound = r.lower_bound;
}

void from_rank_routes(const schedule::RankRoutes& routes, const schedule::CountMatrix& counts,
                      const std::vector<std::int64_t>& gpu_load, RankRouting& out) {
  const int E = routes.experts;
  shape(out, routes.gpu, routes.sources, E, routes.slots_per_gpu);
  const std::int64_t* row = counts.data.data() + static_cast<std::size_t>(routes.gpu) * E;
  std::copy(row, row + E, out.kept.begin());
  std::copy(routes.leg_begin.begin(), routes.leg_begin.end(), out.leg_begin.begin());
  out.leg_gpu.resize(routes.legs.size());
  out.leg_tokens.resize(routes.legs.size());
  for (std::size_t l = 0; l < routes.legs.size(); ++l) {
    out.leg_gpu[l] = routes.legs[l].gpu;
    out.leg_tokens[l] = routes.legs[l].tokens;
  }
  out.received = routes.received;
  out.gpu_load = gpu_load;
  out.dropped = 0;
  out.lower_bound = 0;
}

// Strategy::route_rank's default (declared in strategy.hpp): the whole routing, sliced.
void Strategy::route_rank(const schedule::CountMatrix& counts, int gpu, RankRouting& out) {
  route(counts, whole_);
  slice_routing(whole_, placement_, gpu, out);
}

}  // namespace micromoe::strategy
