// SPDX-License-Identifier: BSD-3-Clause
// An NCCL communicator built from (and spanning the same ranks as) an MPI communicator.
#pragma once

#include "core/build_config.hpp"

#if MICROMOE_ENABLE_NCCL
#include <nccl.h>

#include "comm/communicator.hpp"

namespace micromoe::comm {

/// Owns an ncclComm_t over the ranks of `comm` (same rank numbering). Construction is
/// collective over `comm`: rank 0 creates the unique id and broadcasts it over MPI.
/// Each rank must already have selected its GPU (Kokkos initialisation does).
class NcclCommunicator {
 public:
  explicit NcclCommunicator(const Communicator& comm);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  ncclComm_t get() const { return comm_; }

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace micromoe::comm
#else
namespace micromoe::comm {
/// Without NCCL the type exists (so owners compile unchanged) but cannot be constructed.
class NcclCommunicator {
 public:
  NcclCommunicator() = delete;
};
}  // namespace micromoe::comm
#endif
