// SPDX-License-Identifier: BSD-3-Clause
// The MPI backend of the gradient sync: non-blocking all-reduces, one communicator per distinct
// replica set (created by its members once, cached across re-placements), GPU gradients staged
// through page-locked host copies kept between steps.
#include <algorithm>
#include <climits>
#include <iterator>
#include <map>
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
  std::int64_t communicators_created() const override { return created_; }

 private:
  const comm::Communicator& group_;
  const comm::Communicator* data_parallel_;
  // Communicators of the replica sets (size > 1) this rank belongs to, kept across
  // re-placements; slot j of this rank sums over slot_comm_[j] (nullptr: not replicated).
  static constexpr int kCreateTag = 7011;
  static constexpr std::size_t kMaxCached = 64;
  std::map<std::vector<int>, std::unique_ptr<comm::Communicator>> cache_;
  std::vector<const comm::Communicator*> slot_comm_;
  std::int64_t created_ = 0;
  // Host copies (page-locked) of the gradients (GPU builds), kept between steps: allocating
  // gigabytes of host memory every step costs more than the reduction.
  Kokkos::View<float**, TokenLayout, StagingSpace> gate_host_;
  Kokkos::View<float***, TokenLayout, StagingSpace> w1_host_, w2_host_;
};

void MpiGradientSync::set_placement(const schedule::Placement& p) {
  const int me = group_.rank();
  // This rank's replica set of each slot (empty: not replicated), and the distinct sets in the
  // same order on every rank (std::map), so creations below never cross.
  std::vector<std::vector<int>> slot_set(static_cast<std::size_t>(p.slots_per_gpu));
  std::map<std::vector<int>, bool> sets;  // set -> used by this placement
  for (int j = 0; j < p.slots_per_gpu; ++j) {
    const int e = p.expert(me, j);
    if (e < 0 || p.replica_count(e) < 2) continue;
    slot_set[static_cast<std::size_t>(j)] = p.replicas(e);
    sets.emplace(p.replicas(e), true);
  }
  // A set's communicator is created once, by its members only (MPI_Comm_create_group), and
  // kept across re-placements: a re-placement creates only those of sets it has not seen, and
  // ranks outside a set take no part. Every member of a set saw the same placements, so all
  // agree whether it is cached; each rank creates its new sets in the global (map) order.
  for (const auto& [set, used] : sets) {
    (void)used;
    if (cache_.count(set) != 0) continue;
    MPI_Group world_group = MPI_GROUP_NULL, set_group = MPI_GROUP_NULL;
    MICROMOE_CHECK_MPI(MPI_Comm_group(group_.get(), &world_group));
    MICROMOE_CHECK_MPI(MPI_Group_incl(world_group, static_cast<int>(set.size()), set.data(), &set_group));
    MPI_Comm created = MPI_COMM_NULL;
    MICROMOE_CHECK_MPI(MPI_Comm_create_group(group_.get(), set_group, kCreateTag, &created));
    MPI_Group_free(&set_group);
    MPI_Group_free(&world_group);
    cache_.emplace(set, std::make_unique<comm::Communicator>(comm::Communicator::adopt(created)));
    ++created_;
  }
  // Bounded cache: past kMaxCached sets, those this placement does not use are freed (in map
  // order; every member of a set decides alike, from the same placement history).
  if (cache_.size() > kMaxCached)
    for (auto it = cache_.begin(); it != cache_.end();)
      it = sets.count(it->first) != 0 ? std::next(it) : cache_.erase(it);
  slot_comm_.assign(static_cast<std::size_t>(p.slots_per_gpu), nullptr);
  for (int j = 0; j < p.slots_per_gpu; ++j)
    if (!slot_set[static_cast<std::size_t>(j)].empty())
      slot_comm_[static_cast<std::size_t>(j)] = cache_.at(slot_set[static_cast<std::size_t>(j)]).get();
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
      if (!every_slot && slot_comm_[static_cast<std::size_t>(a)] == nullptr) {
        ++a;
        continue;
      }
      int b = a + 1;
      while (b < S && (every_slot || slot_comm_[static_cast<std::size_t>(b)] != nullptr)) ++b;
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
    const comm::Communicator* c = slot_comm_[static_cast<std::size_t>(j)];
    if (c == nullptr) continue;
    const MPI_Comm mc = c->get();
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
