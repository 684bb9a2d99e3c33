// SPDX-License-Identifier: BSD-3-Clause
#include "moe/gradient_sync.hpp"

#include <algorithm>

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

std::vector<std::pair<int, int>> detail::replicated_by_expert(const schedule::Placement& placement, int gpu) {
  std::vector<std::pair<int, int>> out;
  for (int j = 0; j < placement.slots_per_gpu; ++j) {
    const int e = placement.expert(gpu, j);
    if (e >= 0 && placement.replica_count(e) >= 2) out.emplace_back(e, j);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace micromoe::moe
