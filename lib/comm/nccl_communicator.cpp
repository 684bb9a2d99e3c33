// SPDX-License-Identifier: BSD-3-Clause
#include "comm/nccl_communicator.hpp"

#if MICROMOE_ENABLE_NCCL
#include "core/error.hpp"
#include "core/gpu_error.hpp"

namespace micromoe::comm {

NcclCommunicator::NcclCommunicator(const Communicator& comm) : rank_(comm.rank()), size_(comm.size()) {
  ncclUniqueId id;
  if (comm.rank() == 0) MICROMOE_CHECK_NCCL(ncclGetUniqueId(&id));
  MICROMOE_CHECK_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm.get()));
  MICROMOE_CHECK_NCCL(ncclCommInitRank(&comm_, comm.size(), id, comm.rank()));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);
}

}  // namespace micromoe::comm
#endif
