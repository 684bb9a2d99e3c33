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
/// NCCL allocates buffers per communicator and peer, so owners build one and share it
/// (std::shared_ptr) among all users of the same ranks; users must then issue their
/// operations in the same order on every rank and on one stream, as collective calls do.
class NcclCommunicator {
 public:
  explicit NcclCommunicator(const Communicator& comm);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  ncclComm_t comm_ = nullptr;
  int rank_ = -1;
  int size_ = 0;
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
