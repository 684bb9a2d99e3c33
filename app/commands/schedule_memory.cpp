// SPDX-License-Identifier: BSD-3-Clause
#include "commands/schedule_memory.hpp"

namespace micromoe::commands {

std::int64_t solve_memory_bytes(const schedule::Placement& p) {
  std::int64_t arcs = 0;
  for (int e = 0; e < p.experts; ++e) {
    const std::int64_t d = p.replica_count(e);
    arcs += d * (d - 1);
  }
  const std::int64_t cells = static_cast<std::int64_t>(p.gpus) * p.experts;  // counts, dense plan
  const std::int64_t slots = static_cast<std::int64_t>(p.gpus) * p.slots_per_gpu;
  // arcs: two ints; the dense plan and the count matrix: 8 bytes a cell each; per slot about a
  // dozen 8-byte solver and route arrays.
  return 8 * arcs + 16 * cells + 96 * slots;
}

std::string solve_memory_problem(const schedule::Placement& p) {
  const std::int64_t bytes = solve_memory_bytes(p);
  if (bytes <= kMaxSolveBytes) return std::string();
  return "the placement (" + std::to_string(p.gpus) + " GPUs, " + std::to_string(p.experts) + " experts, " +
         std::to_string(p.slots_per_gpu) + " slots per GPU) needs about " + std::to_string(bytes >> 20) +
         " MiB to solve, more than the limit of " + std::to_string(kMaxSolveBytes >> 20) +
         " MiB (the solver's GPU graph grows with the square of an expert's replica count)";
}

}  // namespace micromoe::commands
