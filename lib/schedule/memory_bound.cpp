// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/memory_bound.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

double MemoryBound::operator()(const std::vector<std::int64_t>& loads, int gpus, std::int64_t replicas) {
  const auto E = static_cast<std::int64_t>(loads.size());
  if (gpus < 1 || E > replicas)
    throw std::invalid_argument("memory bound: need gpus >= 1 and at least one replica per expert (" +
                                std::to_string(E) + " experts, " + std::to_string(replicas) + " replicas)");
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  const double mean = static_cast<double>(total) / gpus;
  if (E == 0) return mean;
  // Max-heap on load per replica (exact: a/b < c/d as a*d < c*b in 128 bits; ties lower id
  // first is not needed, the value is what counts).
  const auto less = [](const Item& a, const Item& b) {
    return static_cast<__int128>(a.load) * b.replicas < static_cast<__int128>(b.load) * a.replicas;
  };
  heap_.clear();
  for (auto l : loads) heap_.push_back({l, 1});
  std::make_heap(heap_.begin(), heap_.end(), less);
  for (std::int64_t spare = replicas - E; spare > 0; --spare) {
    const Item& top = heap_.front();
    if (top.replicas >= gpus || static_cast<double>(top.load) <= mean * static_cast<double>(top.replicas)) break;
    std::pop_heap(heap_.begin(), heap_.end(), less);
    ++heap_.back().replicas;
    std::push_heap(heap_.begin(), heap_.end(), less);
  }
  const Item& top = heap_.front();
  return std::max(mean, static_cast<double>(top.load) / static_cast<double>(top.replicas));
}

}  // namespace micromoe::schedule
