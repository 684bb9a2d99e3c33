// SPDX-License-Identifier: BSD-3-Clause
// The memory a solve of a placement needs, checked before any allocation: the solver's GPU graph
// has sum over experts of d_e * (d_e - 1) arcs (O(G^2) for an expert on every GPU) and the
// dense plan E * G entries, so a large enough placement would die of bad_alloc instead of a
// clear refusal.
#pragma once

#include <cstdint>
#include <string>

#include "schedule/placement.hpp"

namespace micromoe::commands {

/// The most memory the schedule command lets one solve take (estimate), 2 GiB.
constexpr std::int64_t kMaxSolveBytes = std::int64_t{2} << 30;

/// The estimated bytes of a solver, its dense plan and routes for `placement`.
std::int64_t solve_memory_bytes(const schedule::Placement& placement);

/// "" when the estimate is within kMaxSolveBytes, else a one-line refusal naming the sizes.
std::string solve_memory_problem(const schedule::Placement& placement);

}  // namespace micromoe::commands
