// SPDX-License-Identifier: BSD-3-Clause
// What one rank may use: its share of the node's available host memory (MemAvailable of
// /proc/meminfo divided by the ranks on the node) and of its device's free memory
// (cudaMemGetInfo divided by the ranks of the node that use the same device).
#pragma once

#include <cstdint>

#include "comm/communicator.hpp"

namespace micromoe::budget {

struct MemoryAvailable {
  std::int64_t host = -1;    ///< bytes of host memory for this rank; -1 = unknown (no /proc/meminfo)
  std::int64_t device = -1;  ///< bytes of device memory for this rank; -1 = no device (CPU build)
  int node_ranks = 1;        ///< ranks the host memory is shared by
  int device_ranks = 1;      ///< ranks the device memory is shared by
};

/// The node's MemAvailable in bytes, -1 when unknown.
std::int64_t host_memory_available();

/// Collective over `world`. `node_ranks` > 0 overrides the ranks per node found by the MPI
/// shared-memory split.
MemoryAvailable memory_available(const comm::Communicator& world, int node_ranks = 0);

}  // namespace micromoe::budget
