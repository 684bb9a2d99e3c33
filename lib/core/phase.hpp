// SPDX-License-Identifier: BSD-3-Clause
// The timed phases of an MoE training step: one list for the layer's timers, the trainer and
// the report (whose phase_times dataset is indexed in this order).
#pragma once

#include <array>
#include <cstddef>

namespace micromoe {

enum class Phase {
  gate,
  count_exchange,
  schedule,
  permute,
  dispatch,
  expert_compute,
  combine,
  backward,
  gradient_sync,
  optimizer,
  migration,  ///< eplb / microep-adaptive re-placement: moving weights and optimizer state
};
inline constexpr std::size_t kPhaseCount = 11;

/// Names as stored in reports ("gate", "count_exchange", ...), indexed by Phase.
inline constexpr std::array<const char*, kPhaseCount> kPhaseNames = {
    "gate",    "count_exchange", "schedule",      "permute",   "dispatch", "expert_compute",
    "combine", "backward",       "gradient_sync", "optimizer", "migration"};

inline constexpr const char* phase_name(Phase p) { return kPhaseNames[static_cast<std::size_t>(p)]; }

}  // namespace micromoe
