// SPDX-License-Identifier: BSD-3-Clause
#include "comm/shared_nccl.hpp"

#include "comm/nccl_communicator.hpp"

namespace micromoe::comm {

SharedNccl share_nccl([[maybe_unused]] Backend backend, [[maybe_unused]] const Communicator& group,
                      [[maybe_unused]] const Communicator* data_parallel) {
  SharedNccl shared;
#if MICROMOE_ENABLE_NCCL
  if (backend != Backend::nccl) return shared;
  shared.group = std::make_shared<const NcclCommunicator>(group);
  if (data_parallel != nullptr && data_parallel->size() > 1)
    shared.data_parallel = std::make_shared<const NcclCommunicator>(*data_parallel);
#endif
  return shared;
}

}  // namespace micromoe::comm
