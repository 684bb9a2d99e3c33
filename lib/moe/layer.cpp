// SPDX-License-Identifier: BSD-3-Clause
#include "moe/layer.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "moe/expert_ffn.hpp"
#include "moe/kernels.hpp"
#include "moe/moe_compat.hpp"
#include "moe/nccl_gradient_sync.hpp"
#include "moe/optimizer_update.hpp"

namespace micromoe::moe {

using detail::Blocks;
using detail::Flat;
using detail::I64;
using detail::IntMatrix;

double PhaseTimers::total() const { return std::accumulate(seconds_.begin(), seconds_.end(), 0.0); }

// ---- Helpers ----------------------------------------------------------------------------------

namespace {

template <class V>
std::size_t bytes_of(const V& v) {
  return v.span() * sizeof(typename V::value_type);
}

/// Grows a 2-D buffer to at least `rows` rows of width `cols` (contents not kept).
template <class V>
void ensure(const ExecSpace& exec, V& v, std::int64_t rows, std::int64_t cols, const char* label) {
  if (static_cast<std::int64_t>(v.extent(0)) < rows || static_cast<std::int64_t>(v.extent(1)) != cols || !v.data())
    v = V(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)),
          static_cast<std::size_t>(std::max<std::int64_t>(rows, 1)), static_cast<std::size_t>(cols));
}
void ensure1(const ExecSpace& exec, I64& v, std::int64_t n, const char* label) {
  if (static_cast<std::int64_t>(v.extent(0)) < n || !v.data())
    v = I64(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)),
            static_cast<std::size_t>(std::max<std::int64_t>(n, 1)));
}

detail::Matrix rows_of(const detail::Matrix& m, std::int64_t first, std::int64_t n) {
  return Kokkos::subview(m, std::make_pair(first, first + n), Kokkos::ALL);
}
Flat flat(const MoELayer::Slots& s) { return Flat(s.data(), s.span()); }
Flat flat_slot(const MoELayer::Slots& s, int j) {
  const std::size_t n = s.extent(1) * s.extent(2);
  return Flat(s.data() + static_cast<std::size_t>(j) * n, n);
}
Flat flat(const detail::Matrix& m) { return Flat(m.data(), m.span()); }

/// Copies of (source, expert) on `gpu` in the routing, 0 if none.
std::int64_t leg_tokens(const strategy::Routing& r, int src, int e, int gpu) {
  const std::size_t k = static_cast<std::size_t>(src) * r.experts + e;
  for (std::int64_t l = r.leg_begin[k]; l < r.leg_begin[k + 1]; ++l)
    if (r.leg_gpu[static_cast<std::size_t>(l)] == gpu) return r.leg_tokens[static_cast<std::size_t>(l)];
  return 0;
}

/// Closes a phase: fences the execution space and adds the elapsed time.
class PhaseClock {
 public:
  PhaseClock(const ExecSpace& exec, PhaseTimers& timers) : exec_(exec), timers_(timers) {}
  void lap(Phase p) {
    compat::fence(exec_, std::string("micromoe::MoELayer::") + phase_name(p));
    timers_.add(p, timer_.seconds());
    timer_.reset();
  }

 private:
  const ExecSpace& exec_;
  PhaseTimers& timers_;
  Kokkos::Timer timer_;
};

}  // namespace

// ---- Per-micro-batch state --------------------------------------------------------------------

struct MoELayer::Impl {
  // Host copies (page-locked) of the gradients for the MPI all-reduces (GPU builds), kept
  // between steps: allocating gigabytes of host memory every step costs more than the reduction.
  Kokkos::View<float**, TokenLayout, StagingSpace> gate_host;
  Kokkos::View<float***, TokenLayout, StagingSpace> w1_host, w2_host;
  // Saved by forward for backward.
  ConstMatrix x;
  std::int64_t T = 0;
  bool have_forward = false;
  detail::Matrix logits, probs, gw, dgw;
  IntMatrix idx;
  I64 pos, start, counts, scratch, copy_row, kept, leg_first;
  Blocks legs, blocks;
  int nblocks = 0;
  // Exchange buffers: send [send_rows, H] (later dy copies), recv [R, H] (source-major),
  // xin [R, H] (slot-major expert input), hpre [R, F1], act [R, F], out [R, H], back [send_rows, H].
  detail::Matrix send, recv, xin, hpre, act, out, back;
  comm::ExchangeLayout layout, reversed;
  SlotRows slots;  // slot-major row ranges of the received copies
  std::int64_t R = 0, send_rows = 0;
  // Host side of the plan.
  Kokkos::View<std::int64_t*, HostSpace> counts_host;
  Kokkos::View<std::int64_t*, HostSpace> kept_host, leg_first_host;
  Kokkos::View<std::int64_t*[3], TokenLayout, HostSpace> legs_host, blocks_host;
  schedule::CountMatrix all_counts;
  strategy::Routing routing;

  std::size_t bytes() const {
    return bytes_of(logits) + bytes_of(probs) + bytes_of(gw) + bytes_of(dgw) + bytes_of(idx) + bytes_of(pos) +
           bytes_of(start) + bytes_of(counts) + bytes_of(scratch) + bytes_of(copy_row) + bytes_of(kept) +
           bytes_of(leg_first) + bytes_of(legs) + bytes_of(blocks) + bytes_of(send) + bytes_of(recv) + bytes_of(xin) +
           bytes_of(hpre) + bytes_of(act) + bytes_of(out) + bytes_of(back);
  }
};

// ---- Construction -----------------------------------------------------------------------------

MoELayer::MoELayer(const LayerConfig& config, const comm::Communicator& group, const comm::Communicator* data_parallel,
                   const comm::SharedNccl& shared)
    : config_(config), comm_(group.get()) {
  if (data_parallel != nullptr && data_parallel->size() > 1)
    data_parallel_ = std::make_unique<comm::Communicator>(data_parallel->get());
  if (config.hidden < 1 || config.ffn < 1 || config.experts < 1)
    throw InputError("MoE layer: hidden, ffn and experts must be >= 1");
  if (config.top_k < 1 || config.top_k > config.experts)
    throw InputError("MoE layer: top_k must be in [1, experts = " + std::to_string(config.experts) + "], got " +
                     std::to_string(config.top_k));
  if (!(config.optimizer.lr >= 0.0f)) throw InputError("MoE layer: optimizer lr must be >= 0");
  G_ = comm_.size();
  me_ = comm_.rank();
  E_ = config.experts;
  H_ = config.hidden;
  F_ = config.ffn;
  F1_ = w1_columns(config.activation, F_);
  K_ = config.top_k;
  strategy_ = strategy::make_strategy(config.strategy, G_, E_);
  exchange_ = std::make_unique<comm::TokenExchange>(comm_, config.backend, shared.group);
  impl_ = std::make_unique<Impl>();
  impl_->counts_host = Kokkos::View<std::int64_t*, HostSpace>("micromoe::MoELayer::counts_host", E_);
  iteration_loads_.assign(static_cast<std::size_t>(E_), 0);
  const ExecSpace exec;
  allocate_parameters();
  ffn_ = std::make_unique<ExpertFFN>(S_, H_, F_, config.activation, config.precision,
                                     config.expert_gemm == ExpertGemm::grouped);
#if MICROMOE_ENABLE_NCCL
  if (config.backend == comm::Backend::nccl)
    nccl_sync_ = std::make_unique<detail::NcclGradientSync>(data_parallel_.get(), shared.data_parallel);
#endif
  init_parameters(exec);
  build_replica_comms();
  compat::fence(exec, "micromoe::MoELayer::constructed");
  account();
}

MoELayer::~MoELayer() = default;

bool MoELayer::grouped_gemm_fell_back() const { return ffn_->grouped_fell_back(); }

void MoELayer::allocate_parameters() {
  const bool adam = config_.optimizer.kind == OptimizerKind::adam;
  wg_ = Matrix("micromoe::MoELayer::gate", H_, E_);
  dwg_ = Matrix("micromoe::MoELayer::gate_grad", H_, E_);
  wg_s1_ = Matrix("micromoe::MoELayer::gate_state1", H_, E_);
  wg_s2_ = Matrix("micromoe::MoELayer::gate_state2", adam ? H_ : 0, adam ? E_ : 0);
  allocate_slots();
}

void MoELayer::allocate_slots() {
  S_ = placement().slots_per_gpu;
  const bool adam = config_.optimizer.kind == OptimizerKind::adam;
  auto slots = [&](const char* label, int a, int b, bool on) { return Slots(std::string(label), on ? S_ : 0, a, b); };
  w1_ = slots("micromoe::MoELayer::w1", H_, F1_, true);
  w2_ = slots("micromoe::MoELayer::w2", F_, H_, true);
  dw1_ = slots("micromoe::MoELayer::w1_grad", H_, F1_, true);
  dw2_ = slots("micromoe::MoELayer::w2_grad", F_, H_, true);
  w1_s1_ = slots("micromoe::MoELayer::w1_state1", H_, F1_, true);
  w2_s1_ = slots("micromoe::MoELayer::w2_state1", F_, H_, true);
  w1_s2_ = slots("micromoe::MoELayer::w1_state2", H_, F1_, adam);
  w2_s2_ = slots("micromoe::MoELayer::w2_state2", F_, H_, adam);
}

void MoELayer::init_parameters(const ExecSpace& exec) {
  const std::uint64_t seed = config_.seed;
  detail::init_uniform(exec, flat(wg_), seed, 0, 1.0f / std::sqrt(static_cast<float>(H_)));
  for (int j = 0; j < S_; ++j) {
    const int e = placement().expert(me_, j);
    if (e < 0) continue;
    detail::init_uniform(exec, flat_slot(w1_, j), seed, 1 + 2 * static_cast<std::uint64_t>(e),
                         1.0f / std::sqrt(static_cast<float>(H_)));
    detail::init_uniform(exec, flat_slot(w2_, j), seed, 2 + 2 * static_cast<std::uint64_t>(e),
                         1.0f / std::sqrt(static_cast<float>(F_)));
  }
}

void MoELayer::build_replica_comms() {
  const auto& p = placement();
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
      const bool mine = std::binary_search(set.begin(), set.end(), me_);
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
    auto c = comm_.split(color, me_);
    if (color != MPI_UNDEFINED)
      replica_comms_[static_cast<std::size_t>(color)] = std::make_unique<comm::Communicator>(std::move(c));
  }
}

// ---- Forward ----------------------------------------------------------------------------------

void MoELayer::plan_exchange() {
  Impl& s = *impl_;
  const auto& p = placement();
  const auto& r = s.routing;
  const int S = p.slots_per_gpu;
  // Send blocks: destination rank, then slot; offset of block (gpu, slot).
  std::vector<std::int64_t> send_counts(static_cast<std::size_t>(G_), 0), recv_counts(static_cast<std::size_t>(G_), 0);
  std::vector<std::int64_t> block_off(static_cast<std::size_t>(G_) * S, 0);
  std::int64_t off = 0;
  for (int g = 0; g < G_; ++g)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(g, j);
      if (e < 0) continue;
      const std::int64_t n = leg_tokens(r, me_, e, g);
      block_off[static_cast<std::size_t>(g) * S + j] = off;
      off += n;
      send_counts[static_cast<std::size_t>(g)] += n;
    }
  s.send_rows = off;
  // Leg table of this source.
  if (static_cast<int>(s.kept_host.extent(0)) < E_) {
    s.kept_host = Kokkos::View<std::int64_t*, HostSpace>("micromoe::MoELayer::kept_host", E_);
    s.leg_first_host = Kokkos::View<std::int64_t*, HostSpace>("micromoe::MoELayer::leg_first_host", E_ + 1);
  }
  const std::size_t base = static_cast<std::size_t>(me_) * E_;
  const std::int64_t nlegs = r.leg_begin[base + E_] - r.leg_begin[base];
  if (static_cast<std::int64_t>(s.legs_host.extent(0)) < nlegs || !s.legs_host.data())
    s.legs_host = Kokkos::View<std::int64_t* [3], TokenLayout, HostSpace>("micromoe::MoELayer::legs_host",
                                                                          std::max<std::int64_t>(nlegs, 1));
  std::int64_t l = 0;
  for (int e = 0; e < E_; ++e) {
    s.kept_host(e) = r.kept[base + e];
    s.leg_first_host(e) = l;
    std::int64_t cum = 0;
    for (std::int64_t q = r.leg_begin[base + e]; q < r.leg_begin[base + e + 1]; ++q, ++l) {
      const int g = r.leg_gpu[static_cast<std::size_t>(q)];
      const std::int64_t n = r.leg_tokens[static_cast<std::size_t>(q)];
      s.legs_host(l, 0) = cum;
      s.legs_host(l, 1) = n;
      s.legs_host(l, 2) = block_off[static_cast<std::size_t>(g) * S + p.slot_of(e)];
      cum += n;
    }
  }
  s.leg_first_host(E_) = l;
  // Receive blocks: source rank, then my slot; slot-major destination rows.
  s.slots.rows.assign(static_cast<std::size_t>(S), 0);
  for (int q = 0; q < G_; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(me_, j);
      if (e < 0) continue;
      const std::int64_t n = leg_tokens(r, q, e, me_);
      recv_counts[static_cast<std::size_t>(q)] += n;
      s.slots.rows[static_cast<std::size_t>(j)] += n;
    }
  s.slots.first.assign(static_cast<std::size_t>(S), 0);
  for (int j = 1; j < S; ++j) s.slots.first[j] = s.slots.first[j - 1] + s.slots.rows[j - 1];
  s.R = std::accumulate(s.slots.rows.begin(), s.slots.rows.end(), std::int64_t{0});
  // Copy blocks from the received (source-major) rows to slot-major rows, in pieces of at most
  // kBlockRows rows (one GPU team each).
  std::vector<std::array<std::int64_t, 3>> blocks;
  std::vector<std::int64_t> fill(static_cast<std::size_t>(S), 0);
  std::int64_t recv_off = 0;
  for (int q = 0; q < G_; ++q)
    for (int j = 0; j < S; ++j) {
      const int e = p.expert(me_, j);
      if (e < 0) continue;
      const std::int64_t n = leg_tokens(r, q, e, me_);
      for (std::int64_t done = 0; done < n; done += detail::kBlockRows)
        blocks.push_back({recv_off + done, s.slots.first[j] + fill[j] + done, std::min(detail::kBlockRows, n - done)});
      fill[j] += n;
      recv_off += n;
    }
  s.nblocks = static_cast<int>(blocks.size());
  if (static_cast<std::int64_t>(s.blocks_host.extent(0)) < s.nblocks || !s.blocks_host.data())
    s.blocks_host = Kokkos::View<std::int64_t* [3], TokenLayout, HostSpace>("micromoe::MoELayer::blocks_host",
                                                                            std::max(s.nblocks, 1));
  for (int b = 0; b < s.nblocks; ++b)
    for (int c = 0; c < 3; ++c) s.blocks_host(b, c) = blocks[static_cast<std::size_t>(b)][static_cast<std::size_t>(c)];
  s.layout = comm::ExchangeLayout::from_counts(send_counts, recv_counts);
  s.reversed = s.layout.reversed();

  // Statistics.
  stats_.gpu_load = r.gpu_load;
  stats_.total_copies = std::accumulate(r.gpu_load.begin(), r.gpu_load.end(), std::int64_t{0});
  stats_.max_load = r.max_load();
  stats_.imbalance = r.imbalance();
  stats_.lower_bound = r.lower_bound;
  stats_.tokens_dropped = r.dropped;
  std::int64_t remote = 0;
  for (int g = 0; g < G_; ++g)
    if (g != me_) remote += send_counts[static_cast<std::size_t>(g)] + recv_counts[static_cast<std::size_t>(g)];
  stats_.bytes_sent = remote * H_ * static_cast<std::int64_t>(sizeof(float));
  stats_.rows_received = s.R;
}

void MoELayer::set_next_choices(const Kokkos::View<const int**, TokenLayout, MemSpace>& choices) {
  MICROMOE_REQUIRE(static_cast<int>(choices.extent(1)) == K_, "routing override must have top_k columns");
  given_choices_ = choices;
}

MoELayer::Matrix MoELayer::forward(const ExecSpace& exec, const ConstMatrix& x) {
  Impl& s = *impl_;
  const std::int64_t T = static_cast<std::int64_t>(x.extent(0));
  MICROMOE_REQUIRE(T == 0 || static_cast<int>(x.extent(1)) == H_, "MoE forward: x must have hidden columns");
  MICROMOE_REQUIRE(given_choices_.extent(0) == 0 || static_cast<std::int64_t>(given_choices_.extent(0)) == T,
                   "MoE forward: the routing override has a different number of tokens than x");
  PhaseClock clock(exec, timers_);
  s.x = x;
  s.T = T;
  // Gate.
  ensure(exec, s.logits, T, E_, "micromoe::MoELayer::logits");
  ensure(exec, s.probs, T, E_, "micromoe::MoELayer::probs");
  ensure(exec, s.gw, T, K_, "micromoe::MoELayer::gate_weights");
  ensure(exec, s.dgw, T, K_, "micromoe::MoELayer::gate_weight_grads");
  if (static_cast<std::int64_t>(s.idx.extent(0)) < T || static_cast<int>(s.idx.extent(1)) != K_ || !s.idx.data())
    s.idx = IntMatrix(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::choices"),
                      std::max<std::int64_t>(T, 1), K_);
  const detail::Matrix logits = rows_of(s.logits, 0, T), probs = rows_of(s.probs, 0, T), gw = rows_of(s.gw, 0, T);
  const IntMatrix idx = Kokkos::subview(s.idx, std::make_pair(std::int64_t{0}, T), Kokkos::ALL);
  kk::gemm(exec, "N", "N", 1.0f, x, wg_, 0.0f, logits);
  detail::gate_select(exec, logits, probs, idx, gw, config_.renormalize, strategy_->forced_balance(), me_,
                      given_choices_);
  given_choices_ = {};  // an override applies to one forward only
  clock.lap(Phase::gate);

  // Counts and their all-gather.
  ensure1(exec, s.pos, T * K_, "micromoe::MoELayer::sorted_position");
  ensure1(exec, s.copy_row, T * K_, "micromoe::MoELayer::copy_row");
  ensure1(exec, s.start, E_, "micromoe::MoELayer::expert_start");
  ensure1(exec, s.counts, E_, "micromoe::MoELayer::expert_counts");
  ensure1(exec, s.kept, E_, "micromoe::MoELayer::kept");
  ensure1(exec, s.leg_first, E_ + 1, "micromoe::MoELayer::leg_first");
  detail::bucket_positions(exec, idx, E_, s.pos, s.start, s.counts, s.scratch);
  Kokkos::deep_copy(exec, s.counts_host, Kokkos::subview(s.counts, std::make_pair(0, E_)));
  compat::fence(exec, "micromoe::MoELayer::counts_to_host");
  s.all_counts = schedule::CountMatrix(G_, E_);
  MICROMOE_CHECK_MPI(
      MPI_Allgather(s.counts_host.data(), E_, MPI_INT64_T, s.all_counts.data.data(), E_, MPI_INT64_T, comm_.get()));
  stats_.expert_copies.assign(static_cast<std::size_t>(E_), 0);
  for (int g = 0; g < G_; ++g)
    for (int e = 0; e < E_; ++e) stats_.expert_copies[static_cast<std::size_t>(e)] += s.all_counts(g, e);
  for (int e = 0; e < E_; ++e) iteration_loads_[static_cast<std::size_t>(e)] += stats_.expert_copies[e];
  clock.lap(Phase::count_exchange);

  // Routing and the exchange plan.
  strategy_->route(s.all_counts, s.routing);
  plan_exchange();
  clock.lap(Phase::schedule);

  // Permute token copies into send order.
  if (s.legs.extent(0) < s.legs_host.extent(0) || !s.legs.data())
    s.legs = Blocks(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::legs"),
                    s.legs_host.extent(0));
  if (s.blocks.extent(0) < s.blocks_host.extent(0) || !s.blocks.data())
    s.blocks = Blocks(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::blocks"),
                      s.blocks_host.extent(0));
  Kokkos::deep_copy(exec, Kokkos::subview(s.kept, std::make_pair(0, E_)), s.kept_host);
  Kokkos::deep_copy(exec, Kokkos::subview(s.leg_first, std::make_pair(0, E_ + 1)), s.leg_first_host);
  Kokkos::deep_copy(exec, Kokkos::subview(s.legs, std::make_pair(std::size_t{0}, s.legs_host.extent(0)), Kokkos::ALL),
                    s.legs_host);
  Kokkos::deep_copy(exec,
                    Kokkos::subview(s.blocks, std::make_pair(std::size_t{0}, s.blocks_host.extent(0)), Kokkos::ALL),
                    s.blocks_host);
  ensure(exec, s.send, s.send_rows, H_, "micromoe::MoELayer::send");
  const I64 copy_row = Kokkos::subview(s.copy_row, std::make_pair(std::int64_t{0}, T * K_));
  detail::assign_send_rows(exec, idx, s.pos, s.start, s.kept, s.leg_first, s.legs, copy_row);
  detail::gather_rows(exec, x, K_, copy_row, s.send);
  clock.lap(Phase::permute);

  // Dispatch, then slot-major expert input.
  ensure(exec, s.recv, s.R, H_, "micromoe::MoELayer::recv");
  ensure(exec, s.xin, s.R, H_, "micromoe::MoELayer::expert_input");
  exchange_->all_to_all_v(exec, s.send, s.layout, s.recv);
  detail::block_copy(exec, s.recv, s.xin, s.blocks, s.nblocks, false);
  clock.lap(Phase::dispatch);

  // Expert FFNs, slot by slot.
  ensure(exec, s.hpre, s.R, F1_, "micromoe::MoELayer::pre_activation");
  ensure(exec, s.act, s.R, F_, "micromoe::MoELayer::activation");
  ensure(exec, s.out, s.R, H_, "micromoe::MoELayer::expert_output");
  ffn_->forward(exec, w1_, w2_, s.slots, s.xin, s.hpre, s.act, s.out);
  clock.lap(Phase::expert_compute);

  // Combine: back to source-major order, reverse exchange, weighted sum over the k copies.
  ensure(exec, s.back, s.send_rows, H_, "micromoe::MoELayer::combined");
  detail::block_copy(exec, s.out, s.recv, s.blocks, s.nblocks, true);
  exchange_->all_to_all_v(exec, s.recv, s.reversed, s.back);
  Matrix y(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::y"), T, H_);
  detail::combine_rows(exec, s.back, copy_row, gw, y);
  clock.lap(Phase::combine);
  s.have_forward = true;
  account();
  return y;
}

// ---- Backward ---------------------------------------------------------------------------------

MoELayer::Matrix MoELayer::backward(const ExecSpace& exec, const ConstMatrix& dy) {
  Impl& s = *impl_;
  MICROMOE_REQUIRE(s.have_forward, "MoE backward called without a forward");
  const std::int64_t T = s.T;
  MICROMOE_REQUIRE(static_cast<std::int64_t>(dy.extent(0)) == T && (T == 0 || static_cast<int>(dy.extent(1)) == H_),
                   "MoE backward: dy must have the shape of the forward output");
  PhaseClock clock(exec, timers_);
  const detail::Matrix probs = rows_of(s.probs, 0, T), gw = rows_of(s.gw, 0, T), dgw = rows_of(s.dgw, 0, T);
  const detail::Matrix dlogits = rows_of(s.logits, 0, T);
  const IntMatrix idx = Kokkos::subview(s.idx, std::make_pair(std::int64_t{0}, T), Kokkos::ALL);
  const I64 copy_row = Kokkos::subview(s.copy_row, std::make_pair(std::int64_t{0}, T * K_));

  // Output gradient of every copy (into send order) and the gate-weight gradients.
  detail::scatter_output_grad(exec, dy, s.back, copy_row, gw, s.send, dgw);
  // Combine^T: the forward dispatch layout; slot-major dO into `out`.
  exchange_->all_to_all_v(exec, s.send, s.layout, s.recv);
  detail::block_copy(exec, s.recv, s.out, s.blocks, s.nblocks, false);
  // FFN backward: dW2 += A^T dO, dA -> act, dH -> hpre, dW1 += X^T dH, dX -> xin. The first
  // backward after a reset writes the weight gradients instead (each slot's dW is written once
  // per backward, without reading it); of stale gradients only the slots without rows and the
  // gate's need zeros.
  const bool accumulate = gradients_ == Gradients::accumulating;
  if (gradients_ == Gradients::stale) {
    Kokkos::deep_copy(exec, dwg_, 0.0f);
    for (int j = 0; j < S_; ++j)
      if (j >= static_cast<int>(s.slots.rows.size()) || s.slots.rows[static_cast<std::size_t>(j)] == 0) {
        Kokkos::deep_copy(exec, flat_slot(dw1_, j), 0.0f);
        Kokkos::deep_copy(exec, flat_slot(dw2_, j), 0.0f);
      }
  }
  gradients_ = Gradients::accumulating;
  ffn_->backward(exec, w1_, w2_, dw1_, dw2_, s.slots, s.xin, s.hpre, s.act, s.out, accumulate);
  // Dispatch^T: back to the sources.
  detail::block_copy(exec, s.xin, s.recv, s.blocks, s.nblocks, true);
  exchange_->all_to_all_v(exec, s.recv, s.reversed, s.back);
  // Gate backward and dx.
  detail::gate_backward(exec, probs, idx, dgw, config_.renormalize, dlogits);
  Matrix dx(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::dx"), T, H_);
  kk::gemm(exec, "N", "T", 1.0f, dlogits, wg_, 0.0f, dx);
  detail::add_copy_grads(exec, s.back, copy_row, K_, dx);
  kk::gemm(exec, "T", "N", 1.0f, s.x, dlogits, 1.0f, dwg_);
  clock.lap(Phase::backward);
  s.have_forward = false;
  return dx;
}

// ---- Gradients, optimizer, migration ----------------------------------------------------------

void MoELayer::sync_gradients(const ExecSpace& exec) {
  materialize_zero_gradients(exec);
  PhaseClock clock(exec, timers_);
  // One rank and no data-parallel copies: every gradient is already complete.
  if (G_ == 1 && !data_parallel_) {
    clock.lap(Phase::gradient_sync);
    return;
  }
#if MICROMOE_ENABLE_NCCL
  if (nccl_sync_) {  // nccl backend: on the device, no host staging
    nccl_sync_->run(exec, *exchange_->nccl(), me_, placement(), dwg_.data(), dwg_.span(), dw1_.data(),
                    static_cast<std::size_t>(H_) * F1_, dw2_.data(), static_cast<std::size_t>(F_) * H_);
    clock.lap(Phase::gradient_sync);
    return;
  }
#endif
  // Host views of the gradients: the arrays themselves on host backends, one staged copy each
  // on GPUs (three copies per direction instead of one per slot and tensor).
  Impl& s = *impl_;
  constexpr bool staged = !host_accessible_v<MemSpace>;
  // A mirror is re-made when the tensor was re-allocated (migration can change the slots); on
  // host backends it is the tensor itself.
  auto mirror = [](auto& host, const auto& dev) {
    if (host.span() != dev.span() || host.extent(0) != dev.extent(0) || (!staged && host.data() != dev.data()))
      host = Kokkos::create_mirror_view(StagingSpace(), dev);
    return host;
  };
  auto gate = mirror(s.gate_host, dwg_);
  auto g1 = mirror(s.w1_host, dw1_);
  auto g2 = mirror(s.w2_host, dw2_);
  // Only what is summed travels through the host: the gate, and the slots whose expert has
  // replicas (every slot with data-parallel groups). Experts without replicas (EP placement)
  // stay on the device: staging them cost the H200 154 ms per GPT-layer step for nothing.
  const bool every_slot = data_parallel_ != nullptr;
  const auto for_each_summed_run = [&](auto&& copy) {  // maximal runs [a, b) of summed slots
    for (int a = 0; a < S_;) {
      if (!every_slot && slot_comm_[static_cast<std::size_t>(a)] < 0) {
        ++a;
        continue;
      }
      int b = a + 1;
      while (b < S_ && (every_slot || slot_comm_[static_cast<std::size_t>(b)] >= 0)) ++b;
      copy(std::make_pair(a, b));
      a = b;
    }
  };
  if (staged) {
    Kokkos::deep_copy(exec, gate, dwg_);
    for_each_summed_run([&](const std::pair<int, int> run) {
      Kokkos::deep_copy(exec, Kokkos::subview(g1, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(dw1_, run, Kokkos::ALL, Kokkos::ALL));
      Kokkos::deep_copy(exec, Kokkos::subview(g2, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(dw2_, run, Kokkos::ALL, Kokkos::ALL));
    });
  }
  compat::fence(exec, "micromoe::MoELayer::gradients_ready");
  // Every all-reduce is started before any is awaited, so the collectives of different replica
  // sets overlap instead of running one after another; they are still issued in slot order.
  std::vector<MPI_Request> requests;
  const auto start = [&](float* data, std::size_t n, MPI_Comm comm) {
    if (n == 0) return;
    MICROMOE_REQUIRE(n <= static_cast<std::size_t>(INT_MAX), "gradient block too large for one MPI call");
    requests.emplace_back();
    MICROMOE_CHECK_MPI(
        MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, comm, &requests.back()));
  };
  if (G_ > 1) start(gate.data(), gate.span(), comm_.get());
  const std::size_t slot1 = static_cast<std::size_t>(H_) * F1_, slot2 = static_cast<std::size_t>(F_) * H_;
  for (int j = 0; j < S_; ++j) {
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
    const MPI_Comm dp = data_parallel_->get();
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, gate.data(), static_cast<int>(gate.span()), MPI_FLOAT, MPI_SUM, dp));
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, g1.data(), static_cast<int>(g1.span()), MPI_FLOAT, MPI_SUM, dp));
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, g2.data(), static_cast<int>(g2.span()), MPI_FLOAT, MPI_SUM, dp));
  }
  if (staged) {
    Kokkos::deep_copy(exec, dwg_, gate);
    for_each_summed_run([&](const std::pair<int, int> run) {
      Kokkos::deep_copy(exec, Kokkos::subview(dw1_, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(g1, run, Kokkos::ALL, Kokkos::ALL));
      Kokkos::deep_copy(exec, Kokkos::subview(dw2_, run, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(g2, run, Kokkos::ALL, Kokkos::ALL));
    });
  }
  clock.lap(Phase::gradient_sync);
}

void MoELayer::optimizer_step(const ExecSpace& exec) {
  materialize_zero_gradients(exec);
  PhaseClock clock(exec, timers_);
  ++steps_;
  const auto& o = config_.optimizer;
  const float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(steps_)));
  const float c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(steps_)));
  const bool adam = o.kind == OptimizerKind::adam;
  detail::optimizer_update(exec, o, c1, c2, flat(wg_), flat(dwg_), flat(wg_s1_), adam ? flat(wg_s2_) : flat(wg_s1_));
  // bf16: the expert weights' bf16 copies are written in the same pass (not re-read later).
  const auto copies = ffn_->bf16_weight_copies(exec, w1_.span(), w2_.span());
  detail::optimizer_update(exec, o, c1, c2, flat(w1_), flat(dw1_), flat(w1_s1_), adam ? flat(w1_s2_) : flat(w1_s1_),
                           copies.first);
  detail::optimizer_update(exec, o, c1, c2, flat(w2_), flat(dw2_), flat(w2_s1_), adam ? flat(w2_s2_) : flat(w2_s1_),
                           copies.second);
  if (copies.first != nullptr)
    ffn_->weights_refreshed();
  else
    ffn_->weights_changed();
  clock.lap(Phase::optimizer);
}

void MoELayer::zero_gradients(const ExecSpace& exec) {
  // Flat fills (one 1-D pass each, the gradients are contiguous), timed with the optimizer.
  PhaseClock clock(exec, timers_);
  Kokkos::deep_copy(exec, flat(dwg_), 0.0f);
  Kokkos::deep_copy(exec, flat(dw1_), 0.0f);
  Kokkos::deep_copy(exec, flat(dw2_), 0.0f);
  gradients_ = Gradients::zero;
  clock.lap(Phase::optimizer);
}

void MoELayer::materialize_zero_gradients(const ExecSpace& exec) {
  if (gradients_ == Gradients::stale) zero_gradients(exec);
}

void MoELayer::step(const ExecSpace& exec) {
  sync_gradients(exec);
  optimizer_step(exec);
  // zero_gradients without the pass: the gradients go stale and the next backward writes them.
  gradients_ = Gradients::stale;
  const schedule::Placement before = placement();
  if (data_parallel_)  // every group re-places from the same (summed) loads: placements stay equal
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, iteration_loads_.data(), static_cast<int>(iteration_loads_.size()),
                                     MPI_INT64_T, MPI_SUM, data_parallel_->get()));
  const bool moved = strategy_->end_iteration(iteration_loads_);
  std::fill(iteration_loads_.begin(), iteration_loads_.end(), 0);
  if (moved) migrate(exec, before);
}

void MoELayer::migrate(const ExecSpace& exec, const schedule::Placement& from) {
  PhaseClock clock(exec, timers_);
  ffn_->weights_changed();
  const auto& to = placement();
  const bool adam = config_.optimizer.kind == OptimizerKind::adam;
  // Every new (gpu, slot) gets its expert from the gpu itself when it already holds it, else
  // from one of the current replicas (spread by destination).
  auto source = [&](int g, int e) {
    const auto& reps = from.replicas(e);
    if (std::binary_search(reps.begin(), reps.end(), g)) return g;
    return reps[static_cast<std::size_t>(g) % reps.size()];
  };
  std::vector<const Slots*> old_tensors{&w1_, &w2_, &w1_s1_, &w2_s1_};
  if (adam) {
    old_tensors.push_back(&w1_s2_);
    old_tensors.push_back(&w2_s2_);
  }
  std::int64_t width = 0;
  for (const Slots* t : old_tensors) width += static_cast<std::int64_t>(t->extent(1) * t->extent(2));
  std::vector<std::int64_t> send_counts(static_cast<std::size_t>(G_), 0), recv_counts(static_cast<std::size_t>(G_), 0);
  std::vector<int> send_slots, recv_slots;  // old slot per send row; new slot per receive row
  for (int g = 0; g < G_; ++g)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(g, j);
      if (e < 0 || source(g, e) != me_) continue;
      send_slots.push_back(from.slot_of(e));
      ++send_counts[static_cast<std::size_t>(g)];
    }
  for (int q = 0; q < G_; ++q)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(me_, j);
      if (e < 0 || source(me_, e) != q) continue;
      recv_slots.push_back(j);
      ++recv_counts[static_cast<std::size_t>(q)];
    }
  // Group total of expert copies that cross ranks (the same on every rank).
  for (int g = 0; g < G_; ++g)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(g, j);
      if (e >= 0 && source(g, e) != g) ++migrations_;
    }
  Matrix send(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::migration_send"),
              std::max<std::size_t>(send_slots.size(), 1), width);
  Matrix recv(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::MoELayer::migration_recv"),
              std::max<std::size_t>(recv_slots.size(), 1), width);
  // The migration buffers count towards the layer's peak memory while they exist.
  peak_bytes_ = std::max(peak_bytes_, current_bytes() + bytes_of(send) + bytes_of(recv));
  for (std::size_t i = 0; i < send_slots.size(); ++i) {
    std::int64_t off = 0;
    for (const Slots* t : old_tensors) {
      const Flat src = flat_slot(*t, send_slots[i]);
      Kokkos::deep_copy(exec, Flat(send.data() + i * width + off, src.extent(0)), src);
      off += static_cast<std::int64_t>(src.extent(0));
    }
  }
  exchange_->all_to_all_v(exec, send, comm::ExchangeLayout::from_counts(send_counts, recv_counts), recv);
  // New tensors for the new slot count; empty slots stay zero.
  allocate_slots();  // S_ = to.slots_per_gpu; zeroed expert gradients and state (the gate's stay stale)
  std::vector<const Slots*> new_tensors{&w1_, &w2_, &w1_s1_, &w2_s1_};
  if (adam) {
    new_tensors.push_back(&w1_s2_);
    new_tensors.push_back(&w2_s2_);
  }
  for (std::size_t i = 0; i < recv_slots.size(); ++i) {
    std::int64_t off = 0;
    for (const Slots* t : new_tensors) {
      const Flat dst = flat_slot(*t, recv_slots[i]);
      Kokkos::deep_copy(exec, dst, Flat(recv.data() + i * width + off, dst.extent(0)));
      off += static_cast<std::int64_t>(dst.extent(0));
    }
  }
  compat::fence(exec, "micromoe::MoELayer::migrated");
  build_replica_comms();
  clock.lap(Phase::migration);
  account();
}

// ---- Parameter access -------------------------------------------------------------------------

const MoELayer::Slots& MoELayer::slots_of(Tensor which, int w) const {
  switch (which) {
    case Tensor::weights:
      return w == 1 ? w1_ : w2_;
    case Tensor::gradients:
      return w == 1 ? dw1_ : dw2_;
    case Tensor::state1:
      return w == 1 ? w1_s1_ : w2_s1_;
    case Tensor::state2:
      break;
  }
  return w == 1 ? w1_s2_ : w2_s2_;
}

const MoELayer::Matrix& MoELayer::gate_of(Tensor which) const {
  switch (which) {
    case Tensor::weights:
      return wg_;
    case Tensor::gradients:
      return dwg_;
    case Tensor::state1:
      return wg_s1_;
    case Tensor::state2:
      break;
  }
  return wg_s2_;
}

void MoELayer::set_parameters(const ExecSpace& exec, const HostTensors& params) {
  const std::size_t n1 = static_cast<std::size_t>(H_) * F1_, n2 = static_cast<std::size_t>(F_) * H_;
  MICROMOE_REQUIRE(params.gate.size() == static_cast<std::size_t>(H_) * E_ && params.w1.size() == n1 * E_ &&
                       params.w2.size() == n2 * E_,
                   "set_parameters: tensor sizes do not match the layer");
  auto gate = Kokkos::create_mirror_view(wg_);
  std::copy(params.gate.begin(), params.gate.end(), gate.data());
  Kokkos::deep_copy(exec, wg_, gate);
  auto h1 = Kokkos::create_mirror_view(w1_);
  auto h2 = Kokkos::create_mirror_view(w2_);
  for (int j = 0; j < S_; ++j) {
    const int e = placement().expert(me_, j);
    float* d1 = h1.data() + static_cast<std::size_t>(j) * n1;
    float* d2 = h2.data() + static_cast<std::size_t>(j) * n2;
    if (e < 0) {
      std::fill(d1, d1 + n1, 0.0f);
      std::fill(d2, d2 + n2, 0.0f);
    } else {
      std::copy_n(params.w1.data() + static_cast<std::size_t>(e) * n1, n1, d1);
      std::copy_n(params.w2.data() + static_cast<std::size_t>(e) * n2, n2, d2);
    }
  }
  Kokkos::deep_copy(exec, w1_, h1);
  Kokkos::deep_copy(exec, w2_, h2);
  ffn_->weights_changed();
  for (const Matrix* m : {&dwg_, &wg_s1_, &wg_s2_}) Kokkos::deep_copy(exec, *m, 0.0f);
  for (const Slots* s : {&dw1_, &dw2_, &w1_s1_, &w2_s1_, &w1_s2_, &w2_s2_}) Kokkos::deep_copy(exec, *s, 0.0f);
  gradients_ = Gradients::zero;
  steps_ = 0;
  compat::fence(exec, "micromoe::MoELayer::set_parameters");
}

// Stale gradients (after step()) read as the zeros they stand for, whatever their memory holds.
HostSlots MoELayer::local_slots(Tensor which) const {
  const bool zeros = which == Tensor::gradients && gradients_ == Gradients::stale;
  HostSlots out;
  for (int w : {1, 2}) {
    auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), slots_of(which, w));
    std::vector<float>& v = w == 1 ? out.w1 : out.w2;
    v.assign(h.data(), h.data() + h.span());
    if (zeros) std::fill(v.begin(), v.end(), 0.0f);
  }
  return out;
}

std::vector<float> MoELayer::local_gate(Tensor which) const {
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), gate_of(which));
  std::vector<float> out(h.data(), h.data() + h.span());
  if (which == Tensor::gradients && gradients_ == Gradients::stale) std::fill(out.begin(), out.end(), 0.0f);
  return out;
}

HostTensors MoELayer::gather(const ExecSpace& exec, Tensor which, bool sum_replicas) const {
  compat::fence(exec, "micromoe::MoELayer::gather");
  const std::size_t n1 = static_cast<std::size_t>(H_) * F1_, n2 = static_cast<std::size_t>(F_) * H_;
  HostTensors out;
  out.gate = local_gate(which);
  out.w1.assign(n1 * E_, 0.0f);
  out.w2.assign(n2 * E_, 0.0f);
  const HostSlots mine = local_slots(which);
  if (!mine.w1.empty())
    for (int j = 0; j < S_; ++j) {
      const int e = placement().expert(me_, j);
      if (e < 0 || (!sum_replicas && placement().replicas(e).front() != me_)) continue;
      std::copy_n(mine.w1.data() + static_cast<std::size_t>(j) * n1, n1,
                  out.w1.data() + static_cast<std::size_t>(e) * n1);
      std::copy_n(mine.w2.data() + static_cast<std::size_t>(j) * n2, n2,
                  out.w2.data() + static_cast<std::size_t>(e) * n2);
    }
  if (G_ > 1 && sum_replicas)
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, out.gate.data(), static_cast<int>(out.gate.size()), MPI_FLOAT,
                                     MPI_SUM, comm_.get()));
  if (G_ > 1) {
    MICROMOE_CHECK_MPI(
        MPI_Allreduce(MPI_IN_PLACE, out.w1.data(), static_cast<int>(out.w1.size()), MPI_FLOAT, MPI_SUM, comm_.get()));
    MICROMOE_CHECK_MPI(
        MPI_Allreduce(MPI_IN_PLACE, out.w2.data(), static_cast<int>(out.w2.size()), MPI_FLOAT, MPI_SUM, comm_.get()));
  }
  return out;
}

std::vector<int> MoELayer::last_choices() const {
  const Impl& s = *impl_;
  std::vector<int> out(static_cast<std::size_t>(s.T) * K_);
  if (s.T == 0) return out;
  auto sub = Kokkos::subview(s.idx, std::make_pair(std::int64_t{0}, s.T), Kokkos::ALL);
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), sub);
  for (std::int64_t t = 0; t < s.T; ++t)
    for (int i = 0; i < K_; ++i) out[static_cast<std::size_t>(t) * K_ + i] = h(t, i);
  return out;
}

std::vector<float> MoELayer::last_gate_weights() const {
  const Impl& s = *impl_;
  std::vector<float> out(static_cast<std::size_t>(s.T) * K_);
  if (s.T == 0) return out;
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), rows_of(s.gw, 0, s.T));
  for (std::int64_t t = 0; t < s.T; ++t)
    for (int i = 0; i < K_; ++i) out[static_cast<std::size_t>(t) * K_ + i] = h(t, i);
  return out;
}

std::vector<int> MoELayer::last_kept_copies() const {
  const Impl& s = *impl_;
  std::vector<int> out(static_cast<std::size_t>(s.T) * K_);
  if (s.T == 0) return out;
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(),
                                               Kokkos::subview(s.copy_row, std::make_pair(std::int64_t{0}, s.T * K_)));
  for (std::size_t n = 0; n < out.size(); ++n) out[n] = h(n) >= 0 ? 1 : 0;
  return out;
}

std::size_t MoELayer::current_bytes() const {
  std::size_t b = bytes_of(wg_) + bytes_of(dwg_) + bytes_of(wg_s1_) + bytes_of(wg_s2_);
  for (const Slots* s : {&w1_, &w2_, &dw1_, &dw2_, &w1_s1_, &w2_s1_, &w1_s2_, &w2_s2_}) b += bytes_of(*s);
  return b + (impl_ ? impl_->bytes() : 0) + (ffn_ ? ffn_->scratch_bytes() : 0);  // bf16 copies included
}

void MoELayer::account() { peak_bytes_ = std::max(peak_bytes_, current_bytes()); }

}  // namespace micromoe::moe
