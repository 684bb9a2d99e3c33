// SPDX-License-Identifier: BSD-3-Clause
#include "budget/memory_budget.hpp"

#include <mpi.h>

#include <climits>

#include "comm/verdict.hpp"
#include "core/error.hpp"

namespace micromoe::budget {

namespace {

std::string share(std::int64_t bytes, int ranks, const char* of) {
  return format_bytes(bytes) + " (" + of + " / " + std::to_string(ranks) + " rank" + (ranks == 1 ? "" : "s") + ")";
}

/// The problem of this rank, or "" when it has what the estimate asks for.
std::string shortfall(const MemoryEstimate& e, const MemoryAvailable& a, int rank) {
  const auto problem = [&](const char* memory, CheckedSize need, const std::string& keys, strategy::StrategyKind kind,
                           const std::string& what) {
    return keys + ": a rank needs up to " + format_bytes(need) + " of " + memory + " memory (strategy '" +
           to_string(kind) + "'); rank " + std::to_string(rank) + " has " + what +
           "; fix: lower these keys, use more ranks, or set run.memory_check = \"warn\"";
  };
  if (a.host >= 0 && !e.host.fits(a.host))
    return problem("host", e.host, e.host_keys, e.host_strategy, share(a.host, a.node_ranks, "MemAvailable"));
  if (!e.unified && a.device >= 0 && !e.device.fits(a.device))
    return problem("device", e.device, e.device_keys, e.device_strategy,
                   share(a.device, a.device_ranks, "free device memory"));
  return {};
}

std::string describe(const MemoryBudget& b) {
  const MemoryEstimate& e = b.estimate;
  const MemoryAvailable& a = b.available;
  std::string line = "memory per rank (upper bound): ";
  line += e.unified ? "host " + format_bytes(e.host) + " (CPU build: device buffers included)"
                    : "host " + format_bytes(e.host) + ", device " + format_bytes(e.device);
  if (!b.compared) return line + "; not compared with this machine (--ranks describes another job)";
  line += "; available: host ";
  line += a.host >= 0 ? share(a.host, a.node_ranks, "MemAvailable") : std::string("unknown");
  if (!e.unified)
    line += ", device " + (a.device >= 0 ? share(a.device, a.device_ranks, "free") : std::string("unknown"));
  if (b.exceeded) line += "; MORE THAN AVAILABLE";
  return line;
}

}  // namespace

MemoryBudget check_memory(const deck::RunConfig& resolved, int ranks, const comm::Communicator& world, bool compare) {
  MemoryBudget b;
  b.estimate = estimate_memory(resolved, ranks);
  if (!compare) {
    b.compared = false;
    b.line = describe(b);
    return b;
  }
  const MemoryAvailable mine = memory_available(world);
  const std::string problem = shortfall(b.estimate, mine, world.rank());
  const MemoryCheck mode = resolved.run.memory_check;
  if (mode == MemoryCheck::error)
    comm::agree_on_every_rank(world, [&] {
      if (!problem.empty()) throw InputError("deck " + resolved.source + ": " + problem);
    });
  // What the least-endowed rank has (unknown, -1, only where every rank does not know).
  b.available = mine;
  long long host = mine.host < 0 ? -1 : mine.host, device = mine.device < 0 ? -1 : mine.device;
  long long host_min = host < 0 ? LLONG_MAX : host, device_min = device < 0 ? LLONG_MAX : device;
  MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &host_min, 1, MPI_LONG_LONG, MPI_MIN, world.get()));
  MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &device_min, 1, MPI_LONG_LONG, MPI_MIN, world.get()));
  b.available.host = host_min == LLONG_MAX ? -1 : host_min;
  b.available.device = device_min == LLONG_MAX ? -1 : device_min;
  int short_here = problem.empty() ? 0 : 1;
  MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &short_here, 1, MPI_INT, MPI_MAX, world.get()));
  b.exceeded = mode != MemoryCheck::off && short_here != 0;
  b.line = describe(b);
  return b;
}

}  // namespace micromoe::budget
