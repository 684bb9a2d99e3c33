// SPDX-License-Identifier: BSD-3-Clause
// The MPI backend of the gradient sync: non-blocking all-reduces, one communicator per distinct
// replica set, GPU gradients staged through page-locked host copies kept between steps.
#include <algorithm>
#include <climits>
#include <map>
#include <utility>
#include <vector>

#include "comm/collectives.hpp"
#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "moe/gradient_sync.hpp"

namespace micromoe::moe::detail {

namespace {

class MpiGradientSync final : public GradientSync {
 public:
  MpiGradientSync(const comm::Communicator& group, const comm::Communicator* data_parallel)
      : group_(group),
        data_parallel_(data_parallel != nullptr && data_parallel->size() > 1 ? data_parallel : nullptr) {}

  void set_placement(const schedule::Placement& p) override;
  void run(const ExecSpace& exec, const GradientViews& g) override;

 private:
  const comm::Communicator& group_;
  const comm::Communicator* data_parallel_;
  // One communicator per distinct replica set (size > 1); slot j of this rank uses
  // replica_comms_[slot_comm_[j]] or nothing (-1).
  std::vector<std::unique_ptr<comm::Communicator>> replica_comms_;
  std::vector<int> slot_comm_;
  // Host copies (page-locked) of the gradients (GPU builds), kept between steps: allocating
  // gigabytes of host memory every step costs more than the reduction.
  Kokkos::View<float**, TokenLayout, StagingSpace> gate_host_;
  Kokkos::View<float***, TokenLayout, StagingSpace> w1_host_, w2_host_;
};

void MpiGradientSync::set_placement(const schedule::Placement& p) {
  const int me = group_.rank();
  replica_comms_.clear();
  slot_comm_.assign(static_cast<std::size_t>(p.slots_per_gpu), -1);
  std::map<std::vector<int>, int> ids;  // replica set -> id, identical on every rank
  std::vector<std::vector<int>> slot_experts(static_cast<std::size_t>(p.slots_per_gpu));
  for (int e = 0; e < p.experts; ++e) slot_experts[static_cast<std::size_t>(p.slot_of(e))].push_back(e);
  for (int j = 0; j < p.slots_per_gpu; ++j) {
    int color = MPI_UNDEFINED;
    for (int e : slot_experts[static_cast<std::size_t>(j)]) {
      const auto& set = p.replicas(e);
      if (set.size() < 2) continue;
      const bool mine = std::binary_search(set.begin(), set.end(), me);
      auto it = ids.find(set);
      if (it != ids.end()) {
        if (mine) slot_comm_[static_cast<std::size_t>(j)] = it->second;
        continue;
      }
      const int id = static_cast<int>(ids.size());
      ids.emplace(set, id);
      replica_comms_.emplace_back();
      if (mine) {
        color = id;
        slot_comm_[static_cast<std::size_t>(j)] = id;
      }
    }
    // One split per slot index, on every rank, in slot order.
    auto c = group_.split(color, me);
    if (color != MPI_UNDEFINED)
      replica_comms_[static_cast<std::size_t>(color)] = std::make_unique<comm::Communicator>(std::move(c));
  }
}

void MpiGradientSync::run(const ExecSpace& exec, const GradientViews& dev) {
  // Host views of the gradients: the arrays themselves on host backends, one staged copy each
  // on GPUs (three copies per direction instead of one per slot and tensor).
  constexpr bool staged = !host_accessible_v<MemSpace>;
  // A mirror is re-made when the tensor was re-allocated (migration can change the slots); on
  // host backends it is the tensor itself.
  auto mirror = [](auto& host, const auto& d) {
    if (host.span() != d.span() || host.extent(0) != d.extent(0) || (!staged && host.data() != d.data()))
      host = Kokkos::create_mirror_view(StagingSpace(), d);
    return host;
  };
  auto gate = mirror(gate_host_, dev.gate);
  auto g1 = mirror(w1_host_, dev.w1);
  auto g2 = mirror(w2_host_, dev.w2);
  const int S = static_cast<int>(dev.w1.extent(0));
  // Only what is summed travels through the host: the gate, and the slots whose expert has
  // replicas (every slot with data-parallel groups). Experts without replicas (EP placement)
  // stay on the device: staging them cost the H200 154 ms per GPT-layer step for nothing.
  const bool every_slot = data_parallel_ != nullptr;
  const auto for_each_summed_run = [&](auto&& copy) {  // maximal runs [a, b) of summed slots
    for (int a = 0; a < S;) {
      if (!every_slot && slot_comm_[static_cast<std::size_t>(a)] < 0) {
        ++a;
        continue;
      }
      int b = a + 1;
      while (b < S && (every_slot || slot_comm_[static_cast<std::size_t>(b)] >= 0)) ++b;
      copy(std::make_pair(a, b));
      a = b;
    }
  };
  if (staged) {
    Kokkos::deep_copy(exec, gate, dev.gate);
    for_each_summed_run([&](const std::pair<int, int> run) {
      Kokkos::deep_copy(exec, Kokkos::subview(g1, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(dev.w1, run, Kokkos::ALL, Kokkos::ALL));
      Kokkos::deep_copy(exec, Kokkos::subview(g2, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(dev.w2, run, Kokkos::ALL, Kokkos::ALL));
    });
  }
  compat::fence(exec, "micromoe::moe::gradients_ready");
  // Every all-reduce is started before any is awaited, so the collectives of different replica
  // sets overlap instead of running one after another; they are still issued in slot order.
  std::vector<MPI_Request> requests;
  const auto start = [&](float* data, std::size_t n, MPI_Comm comm) {
    // A slot of more than INT_MAX values (H x F1 can be) goes in INT_MAX pieces.
    for (std::size_t done = 0; done < n; done += static_cast<std::size_t>(INT_MAX)) {
      const int piece = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
      requests.emplace_back();
      MICROMOE_CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, data + done, piece, MPI_FLOAT, MPI_SUM, comm, &requests.back()));
    }
  };
  if (group_.size() > 1) start(gate.data(), gate.span(), group_.get());
  const std::size_t slot1 = dev.w1.extent(1) * dev.w1.extent(2), slot2 = dev.w2.extent(1) * dev.w2.extent(2);
  for (int j = 0; j < S; ++j) {
    const int c = slot_comm_[static_cast<std::size_t>(j)];
    if (c < 0) continue;
    const MPI_Comm mc = replica_comms_[static_cast<std::size_t>(c)]->get();
    start(g1.data() + j * slot1, slot1, mc);
    start(g2.data() + j * slot2, slot2, mc);
  }
  MICROMOE_CHECK_MPI(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
  if (data_parallel_) {
    // Several MicroEP groups: the rank at this place in every group holds the same experts in
    // the same slots, so whole arrays are summed (after the group sums above).
    comm::all_reduce_sum(*data_parallel_, gate.data(), gate.span());
    comm::all_reduce_sum(*data_parallel_, g1.data(), g1.span());
    comm::all_reduce_sum(*data_parallel_, g2.data(), g2.span());
  }
  if (staged) {
    Kokkos::deep_copy(exec, dev.gate, gate);
    for_each_summed_run([&](const std::pair<int, int> run) {
      Kokkos::deep_copy(exec, Kokkos::subview(dev.w1, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(g1, run, Kokkos::ALL, Kokkos::ALL));
      Kokkos::deep_copy(exec, Kokkos::subview(dev.w2, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(g2, run, Kokkos::ALL, Kokkos::ALL));
    });
  }
}

}  // namespace

std::unique_ptr<GradientSync> make_mpi_gradient_sync(const comm::Communicator& group,
                                                     const comm::Communicator* data_parallel) {
  return std::make_unique<MpiGradientSync>(group, data_parallel);
}

}  // namespace micromoe::moe::detail
