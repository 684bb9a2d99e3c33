// SPDX-License-Identifier: BSD-3-Clause
// The NCCL communicators of a MicroEP group and of its data-parallel ranks, built once by a
// training driver and shared by all its MoE layers (nccl backend). NCCL allocates buffers per
// communicator and peer, so one pair per layer would cost GPU memory and start-up time per
// layer; the layers issue their NCCL calls in the same order on every rank, on one stream.
#pragma once

#include <memory>

#include "comm/backend.hpp"
#include "comm/communicator.hpp"

namespace micromoe::comm {

class NcclCommunicator;

struct SharedNccl {
  std::shared_ptr<const NcclCommunicator> group;          ///< over the MicroEP group
  std::shared_ptr<const NcclCommunicator> data_parallel;  ///< over the data-parallel ranks, if > 1
};

/// For the nccl backend: both communicators (collective over `group`, then over
/// `data_parallel` when it is given and has several ranks). For the mpi backend: none.
SharedNccl share_nccl(Backend backend, const Communicator& group, const Communicator* data_parallel);

}  // namespace micromoe::comm
