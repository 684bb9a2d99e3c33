// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/memory_bound.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("memory bound: " + what); }

}  // namespace

std::int64_t MemoryBound::operator()(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu) {
  const int E = static_cast<int>(loads.size());
  if (gpus < 1 || slots_per_gpu < 1 || E < 1) fail("gpus, slots and experts must be >= 1");
  const std::int64_t slots = static_cast<std::int64_t>(gpus) * slots_per_gpu;
  if (slots < E) fail(std::to_string(E) + " experts do not fit " + std::to_string(slots) + " slots");
  std::int64_t total = 0;
  for (auto l : loads) {
    if (l < 0) fail("a negative load");
    total += l;
  }
  // Max-heap on ceil(L / r) (ties: lower id first, for a fixed order; the value does not depend on it).
  const auto below = [](const Item& a, const Item& b) { return a.key != b.key ? a.key < b.key : a.expert > b.expert; };
  heap_.clear();
  for (int e = 0; e < E; ++e)
    heap_.push_back({loads[static_cast<std::size_t>(e)], loads[static_cast<std::size_t>(e)], 1, e});
  std::make_heap(heap_.begin(), heap_.end(), below);
  const std::int64_t mean = ceil_div(total, gpus);
  for (std::int64_t spare = slots - E; spare > 0; --spare) {
    const Item& top = heap_.front();
    // The maximum cannot drop further (top at G replicas), or need not (the mean term binds).
    if (top.replicas >= gpus || top.key <= mean) break;
    std::pop_heap(heap_.begin(), heap_.end(), below);
    Item& it = heap_.back();
    ++it.replicas;
    it.key = ceil_div(it.load, it.replicas);
    std::push_heap(heap_.begin(), heap_.end(), below);
  }
  return std::max(mean, heap_.front().key);
}

std::int64_t memory_bound(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu) {
  MemoryBound bound;
  return bound(loads, gpus, slots_per_gpu);
}

double memory_bound_imbalance(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu) {
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  const std::int64_t b = memory_bound(loads, gpus, slots_per_gpu);
  return total > 0 ? static_cast<double>(b) * gpus / static_cast<double>(total) : 1.0;
}

}  // namespace micromoe::schedule
