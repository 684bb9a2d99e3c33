// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/routing.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

std::int64_t max_gpu_load(const std::vector<std::int64_t>& gpu_load) {
  return gpu_load.empty() ? 0 : *std::max_element(gpu_load.begin(), gpu_load.end());
}

double load_imbalance(const std::vector<std::int64_t>& gpu_load) {
  const std::int64_t total = std::accumulate(gpu_load.begin(), gpu_load.end(), std::int64_t{0});
  if (total == 0 || gpu_load.empty()) return 1.0;
  return static_cast<double>(max_gpu_load(gpu_load)) * static_cast<double>(gpu_load.size()) /
         static_cast<double>(total);
}

std::int64_t Routing::sent_to(int source, int expert, int gpu) const {
  for (const RouteLeg& l : legs_of(source, expert))
    if (l.gpu == gpu) return l.tokens;
  return 0;
}

std::vector<std::int64_t> Routing::send_counts(int src) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(gpus), 0);
  for (int e = 0; e < experts; ++e)
    for (const RouteLeg& l : legs_of(src, e)) out[static_cast<std::size_t>(l.gpu)] += l.tokens;
  return out;
}

std::int64_t Routing::cross_gpu_tokens() const {
  std::int64_t n = 0;
  for (int s = 0; s < sources; ++s)
    for (auto l = leg_begin[static_cast<std::size_t>(s) * experts];
         l < leg_begin[static_cast<std::size_t>(s + 1) * experts]; ++l)
      if (legs[static_cast<std::size_t>(l)].gpu != s) n += legs[static_cast<std::size_t>(l)].tokens;
  return n;
}

std::int64_t Routing::cross_node_tokens() const {
  std::int64_t n = 0;
  for (int s = 0; s < sources; ++s)
    for (auto l = leg_begin[static_cast<std::size_t>(s) * experts];
         l < leg_begin[static_cast<std::size_t>(s + 1) * experts]; ++l)
      if (legs[static_cast<std::size_t>(l)].gpu / gpus_per_node != s / gpus_per_node)
        n += legs[static_cast<std::size_t>(l)].tokens;
  return n;
}

void Routing::reset(int s, int e, int g) {
  sources = s;
  experts = e;
  gpus = g;
  gpus_per_node = std::max(1, g);
  const std::size_t n = static_cast<std::size_t>(s) * static_cast<std::size_t>(e);
  kept.assign(n, 0);
  leg_begin.assign(n + 1, 0);
  legs.clear();
  gpu_load.assign(static_cast<std::size_t>(g), 0);
  dropped = 0;
  lower_bound = 0;
  filled_ = 0;
}

void Routing::add_leg(int s, int e, int gpu, std::int64_t tokens) {
  if (tokens <= 0) return;
  const std::int64_t k = static_cast<std::int64_t>(s) * experts + e;
  if (k < filled_) throw std::logic_error("routing: legs added out of (source, expert) order");
  const auto size = static_cast<std::int64_t>(legs.size());
  for (auto j = filled_ + 1; j <= k; ++j) leg_begin[static_cast<std::size_t>(j)] = size;
  filled_ = k;
  legs.push_back({gpu, tokens});
  gpu_load[static_cast<std::size_t>(gpu)] += tokens;
}

void Routing::finish() {
  const auto size = static_cast<std::int64_t>(legs.size());
  for (auto j = filled_ + 1; j < static_cast<std::int64_t>(leg_begin.size()); ++j)
    leg_begin[static_cast<std::size_t>(j)] = size;
  filled_ = static_cast<std::int64_t>(leg_begin.size()) - 1;
}

void Routing::check(const Placement& placement, const CountMatrix& counts) const {
  if (counts.sources != sources || counts.experts != experts)
    throw std::invalid_argument("routing: shape differs from the counts");
  for (int s = 0; s < sources; ++s)
    for (int e = 0; e < experts; ++e) {
      const std::size_t k = static_cast<std::size_t>(s) * experts + e;
      if (kept[k] < 0 || kept[k] > counts(s, e)) throw std::invalid_argument("routing: kept copies exceed the counts");
      const auto& reps = placement.replicas(e);
      std::int64_t sum = 0;
      for (const RouteLeg& l : legs_of(s, e)) {
        if (!std::binary_search(reps.begin(), reps.end(), l.gpu))
          throw std::invalid_argument("routing: a leg of expert " + std::to_string(e) + " goes to GPU " +
                                      std::to_string(l.gpu) + ", which does not hold it");
        sum += l.tokens;
      }
      if (sum != kept[k])
        throw std::invalid_argument("routing: legs of (source " + std::to_string(s) + ", expert " + std::to_string(e) +
                                    ") do not sum to the kept copies");
    }
}

}  // namespace micromoe::schedule
