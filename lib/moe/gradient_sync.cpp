// SPDX-License-Identifier: BSD-3-Clause
#include "moe/gradient_sync.hpp"

namespace micromoe::moe {

std::unique_ptr<GradientSync> make_gradient_sync(comm::Backend backend, const comm::Communicator& group,
                                                 const comm::Communicator* data_parallel,
                                                 const comm::TokenExchange& exchange, const comm::SharedNccl& shared,
                                                 const schedule::Placement& placement) {
  std::unique_ptr<GradientSync> sync = backend == comm::Backend::nccl
                                           ? detail::make_nccl_gradient_sync(exchange, data_parallel, shared)
                                           : detail::make_mpi_gradient_sync(group, data_parallel);
  sync->set_placement(placement);
  return sync;
}

}  // namespace micromoe::moe
