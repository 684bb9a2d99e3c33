// SPDX-License-Identifier: BSD-3-Clause
// Gradient synchronisation on the device through NCCL (the nccl backend), instead of MPI
// through host memory: the gate gradient is all-reduced over the group; each expert slot's
// gradients are summed over its replica set by grouped sends and receives on the group's own
// NCCL communicator (no communicator per replica set, so re-placement creates none), every
// member adding the parts in member order, so replicas stay bit-identical; with several
// MicroEP groups the whole gradient is then all-reduced over the data-parallel ranks.
#pragma once

#include "core/build_config.hpp"

#if MICROMOE_ENABLE_NCCL
#include <memory>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/nccl_communicator.hpp"
#include "core/kokkos_types.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe::detail {

class NcclGradientSync {
 public:
  /// Collective over `data_parallel` when it is given and has several ranks: its NCCL
  /// communicator is `shared_data_parallel` (over the same ranks) or, when that is null, one
  /// built here.
  NcclGradientSync(const comm::Communicator* data_parallel,
                   std::shared_ptr<const comm::NcclCommunicator> shared_data_parallel);

  /// Enqueues the synchronisation on `exec`. `me`: this rank in the group; gradients are device
  /// arrays: gate [gate_n], w1 [S][slot1], w2 [S][slot2].
  void run(const ExecSpace& exec, const comm::NcclCommunicator& group, int me, const schedule::Placement& placement,
           float* gate, std::size_t gate_n, float* w1, std::size_t slot1, float* w2, std::size_t slot2);

 private:
  /// data (n floats) <- sum over `members` (ascending group ranks, `me` among them), in order.
  void replica_sum(const ExecSpace& exec, ncclComm_t comm, const std::vector<int>& members, int me, float* data,
                   std::size_t n);

  std::shared_ptr<const comm::NcclCommunicator> data_parallel_;
  Kokkos::View<float*, MemSpace> scratch_;                 // (members - 1) parts of one slot
  Kokkos::View<std::uintptr_t*, MemSpace> part_pointers_;  // the members' parts, in member order
};

}  // namespace micromoe::moe::detail
#else
namespace micromoe::moe::detail {
/// Without NCCL the type exists (so the layer compiles unchanged) but cannot be constructed.
class NcclGradientSync {
 public:
  NcclGradientSync() = delete;
};
}  // namespace micromoe::moe::detail
#endif
