// SPDX-License-Identifier: BSD-3-Clause
#include "budget/memory_estimate.hpp"

#include <algorithm>
#include <set>

#include "budget/rank_buffers.hpp"
#include "core/build_config.hpp"

namespace micromoe::budget {

namespace {

/// The keys of the largest buffers: the largest and those at least a quarter of it (up to three).
std::string driving_keys(std::vector<Buffer> buffers) {
  std::sort(buffers.begin(), buffers.end(), [](const Buffer& a, const Buffer& b) { return b.bytes() < a.bytes(); });
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < buffers.size() && i < 3; ++i) {
    if (i > 0 && buffers[i].bytes() * CheckedSize(4) < buffers[0].bytes()) break;
    std::string list = buffers[i].keys;
    for (std::size_t at = 0; at <= list.size();) {
      const std::size_t end = std::min(list.find(", ", at), list.size());
      const std::string key = list.substr(at, end - at);
      if (!key.empty() && seen.insert(key).second) keys.push_back(key);
      at = end + 2;
    }
  }
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

}  // namespace

MemoryEstimate estimate_memory(const deck::RunConfig& resolved, int ranks) {
  MemoryEstimate e;
  e.unified = !MICROMOE_ENABLE_CUDA;
  bool first = true;
  for (const auto kind : resolved.run.strategies) {
    const auto buffers = rank_buffers(resolved, ranks, kind);
    CheckedSize host = 0, device = 0;
    std::vector<Buffer> on_host, on_device;
    for (const Buffer& b : buffers) {
      const bool is_host = e.unified || b.memory == Memory::host;
      (is_host ? host : device) += b.bytes();
      (is_host ? on_host : on_device).push_back(b);
    }
    if (first || e.host < host) {
      e.host = host;
      e.host_strategy = kind;
      e.host_keys = driving_keys(on_host);
    }
    if (first || e.device < device) {
      e.device = device;
      e.device_strategy = kind;
      e.device_keys = driving_keys(on_device);
    }
    first = false;
  }
  return e;
}

}  // namespace micromoe::budget
