// SPDX-License-Identifier: BSD-3-Clause
// The per-rank memory a deck needs, from the deck alone: the sum of rank_buffers() for each
// strategy of the deck (they train one after another), the largest of them. In CPU builds the
// device is the host, so everything counts as host memory.
#pragma once

#include <string>

#include "core/checked_size.hpp"
#include "deck/run_config.hpp"
#include "strategy/strategy_kind.hpp"

namespace micromoe::budget {

struct MemoryEstimate {
  CheckedSize host;    ///< bytes of host memory per rank (CPU builds: everything)
  CheckedSize device;  ///< bytes of device memory per rank (0 in CPU builds)
  strategy::StrategyKind host_strategy{}, device_strategy{};  ///< the strategies that need them
  std::string host_keys, device_keys;                         ///< the deck keys of the largest buffers
  bool unified = true;                                        ///< CPU build: device buffers live in host memory
};

/// Collective-free and allocation-free: every rank computes the same estimate.
MemoryEstimate estimate_memory(const deck::RunConfig& resolved, int ranks);

}  // namespace micromoe::budget
