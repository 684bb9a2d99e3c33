// SPDX-License-Identifier: BSD-3-Clause
// Every sizeable buffer one rank of a run allocates, computed from the deck alone, in 64 bits
// (CheckedSize): the layers' weights, gradients and optimizer states by expert slot, the
// activations of a micro-batch, the exchange buffers (and their host staging in CUDA builds),
// routing tables, the trainer's and workload's tensors, and the results kept for the report.
// The one place that knows what a deck costs: the size limits (size_limits.hpp) and the memory
// estimate (memory_estimate.hpp) both read it. Rows received per micro-batch are bounded by
// their worst case (every copy of the group on one rank), so the sizes are upper bounds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/checked_size.hpp"
#include "deck/run_config.hpp"
#include "strategy/strategy_kind.hpp"

namespace micromoe::budget {

/// Where a buffer lives: the device (Kokkos' memory space; the host in CPU builds) or host
/// memory (staging, std::vector).
enum class Memory { device, host };

struct Buffer {
  std::string name;                ///< "expert weights W1"
  std::string keys;                ///< the deck keys its size grows with: "model.hidden, model.ffn"
  std::vector<std::int64_t> dims;  ///< its extents
  int element_bytes = 4;           ///< bytes per element
  int runtime_extents = 0;         ///< of its Kokkos View (0: not a View)
  Memory memory = Memory::device;  ///< where it lives
  std::int64_t count = 1;          ///< buffers of this shape on the rank (layers x tensors)
  bool in_layer = false;           ///< held by the MoE layers (moe::MoELayer::peak_bytes counts these)

  CheckedSize elements() const;
  CheckedSize bytes() const;  ///< all `count` buffers
  std::string shape() const;  ///< "16 x 2048 x 262144"
};

/// A count that MPI or a kernel launch takes as an int (exchange displacements, league sizes).
struct IntCount {
  std::string name;
  std::string keys;
  CheckedSize value;
};

/// The buffers of one rank training `kind` under the deck resolved for `ranks` ranks. Rank 0's
/// (it also keeps the report's results); the other ranks hold less.
std::vector<Buffer> rank_buffers(const deck::RunConfig& resolved, int ranks, strategy::StrategyKind kind);

/// The int counts of that run.
std::vector<IntCount> int_counts(const deck::RunConfig& resolved, int ranks);

/// Expert slots per rank under `kind` (at most: eplb's re-placements keep E/ep_size + extra).
int slots_per_rank(const deck::RunConfig& resolved, strategy::StrategyKind kind);

}  // namespace micromoe::budget
