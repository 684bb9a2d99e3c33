// SPDX-License-Identifier: BSD-3-Clause
// The memory estimate of a deck against what each rank has, per run.memory_check: the run
// header and `micromoe check` print it; a deck that needs more is refused up front, on every
// rank, before anything is allocated.
#pragma once

#include <string>

#include "budget/memory_available.hpp"
#include "budget/memory_estimate.hpp"
#include "comm/communicator.hpp"
#include "deck/run_config.hpp"

namespace micromoe::budget {

struct MemoryBudget {
  MemoryEstimate estimate;
  MemoryAvailable available;  ///< the least any rank has (host and device separately)
  bool exceeded = false;      ///< some rank has less than the estimate (memory_check warn)
  bool compared = true;       ///< false: the estimate alone (`check --ranks N` for another job)
  std::string line;           ///< "memory per rank: ..." for the run header and `check`
};

/// Collective over `world`. With run.memory_check = error, a deck that needs more than some rank
/// has throws InputError on every rank (the lowest such rank's numbers, naming the deck keys of
/// the largest buffers). `compare` false: the estimate alone, no comparison (`check --ranks N`
/// on a machine that is not the job's).
MemoryBudget check_memory(const deck::RunConfig& resolved, int ranks, const comm::Communicator& world,
                          bool compare = true);

}  // namespace micromoe::budget
