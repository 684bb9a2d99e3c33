// SPDX-License-Identifier: BSD-3-Clause
#include "budget/memory_available.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "core/build_config.hpp"
#include "core/error.hpp"
#if MICROMOE_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

namespace micromoe::budget {

std::int64_t host_memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    long long kib = -1;
    if (fields >> name >> kib && name == "MemAvailable:" && kib >= 0 && kib < (1LL << 53)) return kib * 1024;
  }
  return -1;
}

MemoryAvailable memory_available(const comm::Communicator& world, int node_ranks) {
  MemoryAvailable a;
  MPI_Comm node = MPI_COMM_NULL;
  MICROMOE_CHECK_MPI(MPI_Comm_split_type(world.get(), MPI_COMM_TYPE_SHARED, world.rank(), MPI_INFO_NULL, &node));
  MICROMOE_CHECK_MPI(MPI_Comm_size(node, &a.node_ranks));
  if (node_ranks > 0) a.node_ranks = node_ranks;
  const std::int64_t host = host_memory_available();
  a.host = host < 0 ? -1 : host / a.node_ranks;
#if MICROMOE_ENABLE_CUDA
  // No usable device (a login node running `check`): the device side stays unknown.
  int device = -1;
  std::size_t free_bytes = 0, total_bytes = 0;
  const bool have = cudaGetDevice(&device) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
  MPI_Comm same_device = MPI_COMM_NULL;  // collective whether or not this rank has a device
  MICROMOE_CHECK_MPI(MPI_Comm_split(node, have ? device : MPI_UNDEFINED, 0, &same_device));
  if (have) {
    MICROMOE_CHECK_MPI(MPI_Comm_size(same_device, &a.device_ranks));
    MICROMOE_CHECK_MPI(MPI_Comm_free(&same_device));
    a.device = static_cast<std::int64_t>(free_bytes) / a.device_ranks;
  }
#endif
  MICROMOE_CHECK_MPI(MPI_Comm_free(&node));
  return a;
}

}  // namespace micromoe::budget
