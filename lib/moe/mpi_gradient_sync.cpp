// SPDX-License-Identifier: BSD-3-Clause
// The MPI backend of the gradient sync: the gate's non-blocking all-reduce over the group, each
// replicated slot summed among its replicas by point-to-point messages on the group's own
// communicator (no communicator per replica set: a re-placement creates none), GPU gradients
// staged through page-locked host copies kept between steps.
#include <algorithm>
#include <climits>
#include <memory>
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
  // The replicas (ascending ranks) of this rank's expert in each slot; empty: not replicated.
  // Creating a communicator per replica set cost every re-placement one collective per new set
  // (eplb: 1-5 new sets per layer and re-placement, 20-110 ms on 4 CPU ranks), more than
  // moving its weights; the messages below need none.
  std::vector<std::vector<int>> slot_members_;
  // This rank's replicated slots in ascending expert id: both ends of a pair post their
  // messages in this order, and MPI matches messages of one tag between two ranks in order, so
  // one tag per tensor names them all (slot indices may differ between the two GPUs).
  std::vector<int> slot_order_;
  static constexpr int kTagBase = 7100;  // + tensor (w1: 0, w2: 1)
  std::vector<float> received_;          // the other replicas' gradients, kept between steps
  // Host copies (page-locked) of the gradients (GPU builds), kept between steps: allocating
  // gigabytes of host memory every step costs more than the reduction.
  Kokkos::View<float**, TokenLayout, StagingSpace> gate_host_;
  Kokkos::View<float***, TokenLayout, StagingSpace> w1_host_, w2_host_;
};

void MpiGradientSync::set_placement(const schedule::Placement& p) {
  const int me = group_.rank();
  slot_members_.assign(static_cast<std::size_t>(p.slots_per_gpu), {});
  for (int j = 0; j < p.slots_per_gpu; ++j) {
    const int e = p.expert(me, j);
    if (e >= 0 && p.replica_count(e) >= 2) slot_members_[static_cast<std::size_t>(j)] = p.replicas(e);
  }
  slot_order_.clear();
  for (const auto& expert_slot : replicated_by_expert(p, me)) slot_order_.push_back(expert_slot.second);
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
      if (!every_slot && slot_members_[static_cast<std::size_t>(a)].empty()) {
        ++a;
        continue;
      }
      int b = a + 1;
      while (b < S && (every_slot || !slot_members_[static_cast<std::size_t>(b)].empty())) ++b;
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
  // Every message is started before any is awaited, so the sums of different replica sets
  // overlap. A replicated slot: each replica sends its gradient to the other replicas and
  // receives theirs (posted in ascending expert id on both ends: slot_order_), then sums the
  // parts in ascending rank order: every replica the same bits (two replicas: the all-reduce's
  // bits).
  std::vector<MPI_Request> requests;
  const auto post = [&](bool send, float* data, std::size_t n, int peer, int tag, MPI_Comm comm) {
    // A slot of more than INT_MAX values (H x F1 can be) goes in INT_MAX pieces, in order.
    for (std::size_t done = 0; done < n; done += static_cast<std::size_t>(INT_MAX)) {
      const int piece = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
      requests.emplace_back();
      if (send)
        MICROMOE_CHECK_MPI(MPI_Isend(data + done, piece, MPI_FLOAT, peer, tag, comm, &requests.back()));
      else
        MICROMOE_CHECK_MPI(MPI_Irecv(data + done, piece, MPI_FLOAT, peer, tag, comm, &requests.back()));
    }
  };
  if (group_.size() > 1)
    for (std::size_t done = 0; done < gate.span(); done += static_cast<std::size_t>(INT_MAX)) {
      const int piece = static_cast<int>(std::min<std::size_t>(gate.span() - done, INT_MAX));
      requests.emplace_back();
      MICROMOE_CHECK_MPI(
          MPI_Iallreduce(MPI_IN_PLACE, gate.data() + done, piece, MPI_FLOAT, MPI_SUM, group_.get(), &requests.back()));
    }
  const int me = group_.rank();
  const std::size_t slot1 = dev.w1.extent(1) * dev.w1.extent(2), slot2 = dev.w2.extent(1) * dev.w2.extent(2);
  std::size_t need = 0;
  for (int j = 0; j < S; ++j)
    need += (std::max<std::size_t>(slot_members_[static_cast<std::size_t>(j)].size(), 1) - 1) * (slot1 + slot2);
  if (received_.size() < need) received_.resize(need);
  // parts[j][m]: where member m's part of slot j lies (this rank's own: the gradient itself).
  std::vector<std::vector<const float*>> parts1(static_cast<std::size_t>(S)), parts2(static_cast<std::size_t>(S));
  std::size_t next = 0;
  for (const int j : slot_order_)
    for (const int m : slot_members_[static_cast<std::size_t>(j)]) {
      float* own1 = g1.data() + j * slot1;
      float* own2 = g2.data() + j * slot2;
      if (m == me) {
        parts1[static_cast<std::size_t>(j)].push_back(own1);
        parts2[static_cast<std::size_t>(j)].push_back(own2);
        continue;
      }
      float* in1 = received_.data() + next;
      float* in2 = in1 + slot1;
      next += slot1 + slot2;
      parts1[static_cast<std::size_t>(j)].push_back(in1);
      parts2[static_cast<std::size_t>(j)].push_back(in2);
      post(false, in1, slot1, m, kTagBase, group_.get());
      post(false, in2, slot2, m, kTagBase + 1, group_.get());
      post(true, own1, slot1, m, kTagBase, group_.get());
      post(true, own2, slot2, m, kTagBase + 1, group_.get());
    }
  MICROMOE_CHECK_MPI(MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE));
  // The sums, in place (every send of this rank's own parts has completed).
  const auto ordered_sum = [](const std::vector<const float*>& p, float* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      float acc = p[0][i];
      for (std::size_t m = 1; m < p.size(); ++m) acc += p[m][i];
      out[i] = acc;
    }
  };
  for (int j = 0; j < S; ++j)
    if (!slot_members_[static_cast<std::size_t>(j)].empty()) {
      ordered_sum(parts1[static_cast<std::size_t>(j)], g1.data() + j * slot1, slot1);
      ordered_sum(parts2[static_cast<std::size_t>(j)], g2.data() + j * slot2, slot2);
    }
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
