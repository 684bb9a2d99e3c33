// SPDX-License-Identifier: BSD-3-Clause
// Gradient synchronisation of one MoE layer: the gate gradient summed over the group, each
// expert slot's gradients over the ranks holding a replica of its expert, and, with several
// MicroEP groups, everything over the data-parallel ranks. One interface, two backends chosen
// at construction by the exchange backend: MPI through (page-locked) host memory
// (mpi_gradient_sync.cpp) and NCCL on the device (nccl_gradient_sync.cpp).
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "comm/backend.hpp"
#include "comm/communicator.hpp"
#include "comm/shared_nccl.hpp"
#include "comm/token_exchange.hpp"
#include "core/kokkos_types.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe {

/// The device gradients of a layer: gate [H][E], w1 [S][H][F1], w2 [S][F][H].
struct GradientViews {
  Kokkos::View<float**, TokenLayout, MemSpace> gate;
  Kokkos::View<float***, TokenLayout, MemSpace> w1, w2;
};

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  /// The placement the next run() sums for (construction and every re-placement). Local: no
  /// backend creates communicators or talks to other ranks here.
  virtual void set_placement(const schedule::Placement& placement) = 0;
  /// Collective: sums the gradients in place. They are ready on `exec` when it returns
  /// (enqueued on it, or complete).
  virtual void run(const ExecSpace& exec, const GradientViews& gradients) = 0;
  /// Communicators this object created for replica sets so far: none (both backends sum a
  /// replicated slot by messages among its replicas on the group's communicator).
  virtual std::int64_t communicators_created() const { return 0; }
};

/// The backend's gradient sync for `group` (the layer's communicator, which must outlive it)
/// and `data_parallel` (optional, likewise). NCCL uses `exchange`'s group communicator and
/// `shared.data_parallel` (or builds one); MPI stages GPU data through host memory.
/// Collective over `group` (and `data_parallel`).
std::unique_ptr<GradientSync> make_gradient_sync(comm::Backend backend, const comm::Communicator& group,
                                                 const comm::Communicator* data_parallel,
                                                 const comm::TokenExchange& exchange, const comm::SharedNccl& shared,
                                                 const schedule::Placement& placement);

namespace detail {
/// (expert, slot) of every expert on `gpu` with two or more replicas, in ascending expert id:
/// the order both backends sum replica sets in on every rank (an expert's slot index may
/// differ between its GPUs, its id does not).
std::vector<std::pair<int, int>> replicated_by_expert(const schedule::Placement& placement, int gpu);
/// The MPI backend (every build).
std::unique_ptr<GradientSync> make_mpi_gradient_sync(const comm::Communicator& group,
                                                     const comm::Communicator* data_parallel);
/// The NCCL backend; throws in builds without NCCL.
std::unique_ptr<GradientSync> make_nccl_gradient_sync(const comm::TokenExchange& exchange,
                                                      const comm::Communicator* data_parallel,
                                                      const comm::SharedNccl& shared);
}  // namespace detail

}  // namespace micromoe::moe
