// SPDX-License-Identifier: BSD-3-Clause
// The NCCL backend of the gradient sync: on the device instead of MPI through host memory. The
// gate gradient is all-reduced over the group; each expert slot's gradients are summed over its
// replica set by grouped sends and receives on the group's own NCCL communicator (no
// communicator per replica set, so re-placement creates none), every member adding the parts
// in member order, so replicas stay bit-identical; with several MicroEP groups the whole
// gradient is then all-reduced over the data-parallel ranks.
#include "core/build_config.hpp"
#include "core/error.hpp"
#include "moe/gradient_sync.hpp"

#if MICROMOE_ENABLE_NCCL
#include <utility>
#include <vector>

#include "comm/nccl_communicator.hpp"
#include "core/gpu_error.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;

/// out[i] = parts[0][i] + parts[1][i] + ... in this order (every member uses the same order).
void ordered_sum(const ExecSpace& exec, const Kokkos::View<std::uintptr_t*, MemSpace>& parts, int count, float* out,
                 std::int64_t n) {
  Kokkos::parallel_for(
      "micromoe::moe::replica_sum", Range(exec, 0, n), KOKKOS_LAMBDA(const std::int64_t i) {
        float acc = reinterpret_cast<const float*>(parts(0))[i];
        for (int k = 1; k < count; ++k) acc += reinterpret_cast<const float*>(parts(k))[i];
        out[i] = acc;
      });
}

class NcclGradientSync final : public GradientSync {
 public:
  /// Collective over `data_parallel` when it is given and has several ranks: its NCCL
  /// communicator is `shared_data_parallel` (over the same ranks) or, when that is null, one
  /// built here.
  NcclGradientSync(const comm::NcclCommunicator& group, const comm::Communicator* data_parallel,
                   std::shared_ptr<const comm::NcclCommunicator> shared_data_parallel);

  void set_placement(const schedule::Placement& placement) override { placement_ = placement; }
  void run(const ExecSpace& exec, const GradientViews& g) override;

 private:
  /// data (n floats) <- sum over `members` (ascending group ranks, `me` among them), in order.
  void replica_sum(const ExecSpace& exec, ncclComm_t comm, const std::vector<int>& members, int me, float* data,
                   std::size_t n);

  const comm::NcclCommunicator& group_;
  schedule::Placement placement_;
  std::shared_ptr<const comm::NcclCommunicator> data_parallel_;
  Kokkos::View<float*, MemSpace> scratch_;                 // (members - 1) parts of one slot
  Kokkos::View<std::uintptr_t*, MemSpace> part_pointers_;  // the members' parts, in member order
};

NcclGradientSync::NcclGradientSync(const comm::NcclCommunicator& group, const comm::Communicator* data_parallel,
                                   std::shared_ptr<const comm::NcclCommunicator> shared_data_parallel)
    : group_(group) {
  if (data_parallel == nullptr || data_parallel->size() < 2) return;
  if (shared_data_parallel == nullptr)
    shared_data_parallel = std::make_shared<const comm::NcclCommunicator>(*data_parallel);
  MICROMOE_REQUIRE(
      shared_data_parallel->size() == data_parallel->size() && shared_data_parallel->rank() == data_parallel->rank(),
      "gradient sync: the shared NCCL communicator spans other ranks than the data-parallel one");
  data_parallel_ = std::move(shared_data_parallel);
}

void NcclGradientSync::replica_sum(const ExecSpace& exec, ncclComm_t comm, const std::vector<int>& members, int me,
                                   float* data, std::size_t n) {
  const std::size_t others = members.size() - 1;
  if (scratch_.extent(0) < others * n)
    scratch_ = Kokkos::View<float*, MemSpace>(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "micromoe::moe::replica_sum_scratch"), others * n);
  const cudaStream_t stream = exec.cuda_stream();
  std::vector<std::uintptr_t> parts;
  std::size_t next = 0;
  MICROMOE_CHECK_NCCL(ncclGroupStart());
  for (const int m : members) {
    if (m == me) {
      parts.push_back(reinterpret_cast<std::uintptr_t>(data));
      continue;
    }
    float* slot = scratch_.data() + next * n;
    ++next;
    parts.push_back(reinterpret_cast<std::uintptr_t>(slot));
    MICROMOE_CHECK_NCCL(ncclSend(data, n, ncclFloat, m, comm, stream));
    MICROMOE_CHECK_NCCL(ncclRecv(slot, n, ncclFloat, m, comm, stream));
  }
  MICROMOE_CHECK_NCCL(ncclGroupEnd());
  if (part_pointers_.extent(0) < parts.size())
    part_pointers_ = Kokkos::View<std::uintptr_t*, MemSpace>("micromoe::moe::replica_sum_parts", parts.size());
  // Pageable source: the copy returns once staged, so `parts` may go out of scope.
  MICROMOE_CHECK_CUDA(cudaMemcpyAsync(part_pointers_.data(), parts.data(), parts.size() * sizeof(std::uintptr_t),
                                      cudaMemcpyHostToDevice, stream));
  // The sum overwrites this member's own part only after every send of it was enqueued before
  // (same stream): NCCL reads `data` before the kernel writes it.
  ordered_sum(exec, part_pointers_, static_cast<int>(parts.size()), data, static_cast<std::int64_t>(n));
}

void NcclGradientSync::run(const ExecSpace& exec, const GradientViews& g) {
  const cudaStream_t stream = exec.cuda_stream();
  const int me = group_.rank();
  float* gate = g.gate.data();
  float* w1 = g.w1.data();
  float* w2 = g.w2.data();
  const std::size_t gate_n = g.gate.span();
  const std::size_t slot1 = g.w1.extent(1) * g.w1.extent(2), slot2 = g.w2.extent(1) * g.w2.extent(2);
  MICROMOE_CHECK_NCCL(ncclAllReduce(gate, gate, gate_n, ncclFloat, ncclSum, group_.get(), stream));
  // Every rank walks its replicated experts in ascending expert id (their slot indices may
  // differ between GPUs), so the grouped calls of different replica sets never cross.
  for (const auto& [e, j] : replicated_by_expert(placement_, me)) {
    const std::vector<int>& members = placement_.replicas(e);
    replica_sum(exec, group_.get(), members, me, w1 + static_cast<std::size_t>(j) * slot1, slot1);
    replica_sum(exec, group_.get(), members, me, w2 + static_cast<std::size_t>(j) * slot2, slot2);
  }
  if (data_parallel_) {
    const std::size_t S = static_cast<std::size_t>(placement_.slots_per_gpu);
    MICROMOE_CHECK_NCCL(ncclAllReduce(gate, gate, gate_n, ncclFloat, ncclSum, data_parallel_->get(), stream));
    MICROMOE_CHECK_NCCL(ncclAllReduce(w1, w1, S * slot1, ncclFloat, ncclSum, data_parallel_->get(), stream));
    MICROMOE_CHECK_NCCL(ncclAllReduce(w2, w2, S * slot2, ncclFloat, ncclSum, data_parallel_->get(), stream));
  }
}

}  // namespace

std::unique_ptr<GradientSync> make_nccl_gradient_sync(const comm::TokenExchange& exchange,
                                                      const comm::Communicator* data_parallel,
                                                      const comm::SharedNccl& shared) {
  MICROMOE_REQUIRE(exchange.nccl() != nullptr,
                   "gradient sync: the nccl backend needs the exchange's NCCL communicator");
  return std::make_unique<NcclGradientSync>(*exchange.nccl(), data_parallel, shared.data_parallel);
}

}  // namespace micromoe::moe::detail
#else
namespace micromoe::moe::detail {
std::unique_ptr<GradientSync> make_nccl_gradient_sync(const comm::TokenExchange&, const comm::Communicator*,
                                                      const comm::SharedNccl&) {
  throw Error("gradient sync: this build has no NCCL (MICROMOE_ENABLE_NCCL=OFF)");
}
}  // namespace micromoe::moe::detail
#endif
