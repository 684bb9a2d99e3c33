// SPDX-License-Identifier: BSD-3-Clause
#include "moe/layer.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "comm/collectives.hpp"
#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "core/state_blob.hpp"
#include "moe/bf16.hpp"
#include "moe/exchange_plan.hpp"
#include "moe/expert_ffn.hpp"
#include "moe/gradient_sync.hpp"
#include "moe/kernels.hpp"
#include "moe/moe_compat.hpp"

namespace micromoe::moe {

using detail::Blocks;
using detail::Flat;
using detail::I64;
using detail::IntMatrix;

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

/// Host rows of the plan as the kernels read them (no copy: the plan's vectors are the data).
using HostRows = Kokkos::View<const std::int64_t* [3], TokenLayout, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using HostI64 = Kokkos::View<const std::int64_t*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
HostRows host_rows(const std::vector<PlanRow>& v) { return HostRows(v.empty() ? nullptr : v.front().data(), v.size()); }
HostI64 host_i64(const std::vector<std::int64_t>& v) { return HostI64(v.data(), v.size()); }

/// Grows a device row table to at least `n` rows (contents not kept).
void ensure_rows(const ExecSpace& exec, Blocks& b, std::size_t n, const char* label) {
  if (b.extent(0) < n || !b.data())
    b = Blocks(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)), std::max<std::size_t>(n, 1));
}

}  // namespace

// ---- Per-micro-batch state --------------------------------------------------------------------

struct MoELayer::Impl {
  // Saved by forward for backward.
  ConstMatrix x;
  std::int64_t T = 0;
  bool have_forward = false;
  detail::Matrix logits, probs, gw, dgw;
  IntMatrix idx;
  I64 pos, start, counts, scratch, copy_row, kept, leg_first;
  Blocks legs, blocks;
  // Exchange buffers: send [send_rows, H] (later dy copies), recv [R, H] (source-major),
  // xin [R, H] (slot-major expert input), hpre [R, F1], act [R, F], out [R, H], back [send_rows, H].
  detail::Matrix send, recv, xin, hpre, act, out, back;
  // bf16 wire (wire_bf16_): the rows of one exchange as they travel, [send rows, H] / [recv rows, H].
  Kokkos::View<Bf16**, TokenLayout, MemSpace> wire_send, wire_recv;
  comm::ExchangeLayout layout, reversed;
  ExchangePlan plan;  // host side: counts, leg table, slot rows, copy blocks
  Kokkos::View<std::int64_t*, HostSpace> counts_host;
  schedule::CountMatrix all_counts;
  schedule::RankRouting routing;  // this rank's part: its legs and what every peer sends it

  int nblocks() const { return static_cast<int>(plan.blocks.size()); }
  std::size_t bytes() const {
    return bytes_of(logits) + bytes_of(probs) + bytes_of(gw) + bytes_of(dgw) + bytes_of(idx) + bytes_of(pos) +
           bytes_of(start) + bytes_of(counts) + bytes_of(scratch) + bytes_of(copy_row) + bytes_of(kept) +
           bytes_of(leg_first) + bytes_of(legs) + bytes_of(blocks) + bytes_of(send) + bytes_of(recv) + bytes_of(xin) +
           bytes_of(hpre) + bytes_of(act) + bytes_of(out) + bytes_of(back) + bytes_of(wire_send) + bytes_of(wire_recv);
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
  wire_bf16_ = config.precision == Precision::bf16 && config.wire_precision == WirePrecision::automatic;
  strategy_ = strategy::make_strategy(config.strategy, G_, E_);
  exchange_ = std::make_unique<comm::TokenExchange>(comm_, config.backend, shared.group);
  impl_ = std::make_unique<Impl>();
  impl_->counts_host = Kokkos::View<std::int64_t*, HostSpace>("micromoe::moe::counts_host", E_);
  iteration_loads_.assign(static_cast<std::size_t>(E_), 0);
  const ExecSpace exec;
  const int S = placement().slots_per_gpu;
  params_ = std::make_unique<ParameterStore>(H_, F_, F1_, E_, S, config.optimizer.kind);
  ffn_ = std::make_unique<ExpertFFN>(S, H_, F_, config.activation, config.precision,
                                     config.expert_gemm == ExpertGemm::grouped);
  params_->init_weights(exec, config.seed, placement(), me_);
  sync_ = make_gradient_sync(config.backend, comm_, data_parallel_.get(), *exchange_, shared, placement());
  compat::fence(exec, "micromoe::moe::constructed");
  account();
}

MoELayer::~MoELayer() = default;

bool MoELayer::grouped_gemm_fell_back() const { return ffn_->grouped_fell_back(); }

std::int64_t MoELayer::replica_communicators_created() const { return sync_->communicators_created(); }

// ---- Forward ----------------------------------------------------------------------------------

void MoELayer::plan_exchange() {
  Impl& s = *impl_;
  moe::plan_exchange(s.routing, placement(), detail::kBlockRows, s.plan);
  const ExchangePlan& plan = s.plan;
  s.layout = comm::ExchangeLayout::from_counts(plan.send_counts, plan.recv_counts);
  s.reversed = s.layout.reversed();

  // Statistics.
  const auto& r = s.routing;
  stats_.gpu_load = r.gpu_load;
  stats_.total_copies = std::accumulate(r.gpu_load.begin(), r.gpu_load.end(), std::int64_t{0});
  stats_.max_load = r.max_load();
  stats_.imbalance = r.imbalance();
  stats_.lower_bound = r.lower_bound;
  stats_.tokens_dropped = r.dropped;
  stats_.bytes_sent = plan.remote_rows * H_ * static_cast<std::int64_t>(wire_bf16_ ? sizeof(Bf16) : sizeof(float));
  stats_.rows_received = plan.recv_rows;
}

void MoELayer::exchange_rows(const ExecSpace& exec, const detail::Matrix& from, const comm::ExchangeLayout& layout,
                             const detail::Matrix& to) {
  if (!wire_bf16_) {
    exchange_->all_to_all_v(exec, from, layout, to);
    return;
  }
  // bf16 rows: every row is rounded, the rank's own too, so results do not depend on which
  // rank computes a copy. The expert GEMMs round their inputs to bf16 anyway.
  Impl& s = *impl_;
  const std::int64_t send_rows = layout.send_rows(), recv_rows = layout.recv_rows();
  ensure(exec, s.wire_send, send_rows, H_, "micromoe::moe::wire_send");
  ensure(exec, s.wire_recv, recv_rows, H_, "micromoe::moe::wire_recv");
  detail::to_bf16(exec, from.data(), s.wire_send.data(), send_rows * H_);
  exchange_->all_to_all_v(exec, s.wire_send, layout, s.wire_recv);
  detail::from_bf16(exec, s.wire_recv.data(), to.data(), recv_rows * H_);
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
  PhaseClock clock(exec, timers_, time_phases_, Phase::gate);
  s.x = x;
  s.T = T;
  // Gate.
  ensure(exec, s.logits, T, E_, "micromoe::moe::logits");
  ensure(exec, s.probs, T, E_, "micromoe::moe::probs");
  ensure(exec, s.gw, T, K_, "micromoe::moe::gate_weights");
  ensure(exec, s.dgw, T, K_, "micromoe::moe::gate_weight_grads");
  if (static_cast<std::int64_t>(s.idx.extent(0)) < T || static_cast<int>(s.idx.extent(1)) != K_ || !s.idx.data())
    s.idx = IntMatrix(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::choices"),
                      std::max<std::int64_t>(T, 1), K_);
  const detail::Matrix logits = rows_of(s.logits, 0, T), probs = rows_of(s.probs, 0, T), gw = rows_of(s.gw, 0, T);
  const IntMatrix idx = Kokkos::subview(s.idx, std::make_pair(std::int64_t{0}, T), Kokkos::ALL);
  const Matrix& wg = params_->gate(Tensor::weights);
  kk::gemm(exec, "N", "N", 1.0f, x, wg, 0.0f, logits);
  detail::gate_select(exec, logits, probs, idx, gw, config_.renormalize, strategy_->forced_balance(), me_,
                      given_choices_);
  given_choices_ = {};  // an override applies to one forward only

  // Counts and their all-gather.
  clock.next(Phase::count_exchange);
  ensure1(exec, s.pos, T * K_, "micromoe::moe::sorted_position");
  ensure1(exec, s.copy_row, T * K_, "micromoe::moe::copy_row");
  ensure1(exec, s.start, E_, "micromoe::moe::expert_start");
  ensure1(exec, s.counts, E_, "micromoe::moe::expert_counts");
  ensure1(exec, s.kept, E_, "micromoe::moe::kept");
  ensure1(exec, s.leg_first, E_ + 1, "micromoe::moe::leg_first");
  detail::bucket_positions(exec, idx, E_, s.pos, s.start, s.counts, s.scratch);
  Kokkos::deep_copy(exec, s.counts_host, Kokkos::subview(s.counts, std::make_pair(0, E_)));
  compat::fence(exec, "micromoe::moe::counts_to_host");
  s.all_counts = schedule::CountMatrix(G_, E_);
  comm::all_gather(comm_, s.counts_host.data(), static_cast<std::size_t>(E_), s.all_counts.data.data());
  stats_.expert_copies.assign(static_cast<std::size_t>(E_), 0);
  for (int g = 0; g < G_; ++g)
    for (int e = 0; e < E_; ++e) stats_.expert_copies[static_cast<std::size_t>(e)] += s.all_counts(g, e);
  for (int e = 0; e < E_; ++e) iteration_loads_[static_cast<std::size_t>(e)] += stats_.expert_copies[e];

  // Routing and the exchange plan.
  clock.next(Phase::schedule);
  strategy_->route_rank(s.all_counts, me_, s.routing);
  plan_exchange();

  // Permute token copies into send order.
  clock.next(Phase::permute);
  const ExchangePlan& plan = s.plan;
  ensure_rows(exec, s.legs, plan.legs.size(), "micromoe::moe::legs");
  ensure_rows(exec, s.blocks, plan.blocks.size(), "micromoe::moe::blocks");
  Kokkos::deep_copy(exec, Kokkos::subview(s.kept, std::make_pair(0, E_)), host_i64(plan.kept));
  Kokkos::deep_copy(exec, Kokkos::subview(s.leg_first, std::make_pair(0, E_ + 1)), host_i64(plan.leg_first));
  if (!plan.legs.empty())
    Kokkos::deep_copy(exec, Kokkos::subview(s.legs, std::make_pair(std::size_t{0}, plan.legs.size()), Kokkos::ALL),
                      host_rows(plan.legs));
  if (!plan.blocks.empty())
    Kokkos::deep_copy(exec, Kokkos::subview(s.blocks, std::make_pair(std::size_t{0}, plan.blocks.size()), Kokkos::ALL),
                      host_rows(plan.blocks));
  ensure(exec, s.send, plan.send_rows, H_, "micromoe::moe::send");
  const I64 copy_row = Kokkos::subview(s.copy_row, std::make_pair(std::int64_t{0}, T * K_));
  detail::assign_send_rows(exec, idx, s.pos, s.start, s.kept, s.leg_first, s.legs, copy_row);
  detail::gather_rows(exec, x, K_, copy_row, s.send);

  // Dispatch, then slot-major expert input.
  clock.next(Phase::dispatch);
  const std::int64_t R = plan.recv_rows;
  ensure(exec, s.recv, R, H_, "micromoe::moe::recv");
  ensure(exec, s.xin, R, H_, "micromoe::moe::expert_input");
  exchange_rows(exec, s.send, s.layout, s.recv);
  detail::block_copy(exec, s.recv, s.xin, s.blocks, s.nblocks(), false);

  // Expert FFNs, slot by slot.
  clock.next(Phase::expert_compute);
  ensure(exec, s.hpre, R, F1_, "micromoe::moe::pre_activation");
  ensure(exec, s.act, R, F_, "micromoe::moe::activation");
  ensure(exec, s.out, R, H_, "micromoe::moe::expert_output");
  ffn_->forward(exec, params_->slots(Tensor::weights, 1), params_->slots(Tensor::weights, 2), plan.slots, s.xin, s.hpre,
                s.act, s.out);

  // Combine: back to source-major order, reverse exchange, weighted sum over the k copies.
  clock.next(Phase::combine);
  ensure(exec, s.back, plan.send_rows, H_, "micromoe::moe::combined");
  detail::block_copy(exec, s.out, s.recv, s.blocks, s.nblocks(), true);
  exchange_rows(exec, s.recv, s.reversed, s.back);
  Matrix y(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::y"), T, H_);
  detail::combine_rows(exec, s.back, copy_row, gw, y);
  clock.end();
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
  PhaseClock clock(exec, timers_, time_phases_, Phase::backward);
  const detail::Matrix probs = rows_of(s.probs, 0, T), gw = rows_of(s.gw, 0, T), dgw = rows_of(s.dgw, 0, T);
  const detail::Matrix dlogits = rows_of(s.logits, 0, T);
  const IntMatrix idx = Kokkos::subview(s.idx, std::make_pair(std::int64_t{0}, T), Kokkos::ALL);
  const I64 copy_row = Kokkos::subview(s.copy_row, std::make_pair(std::int64_t{0}, T * K_));
  const ParameterStore& p = *params_;

  // Output gradient of every copy (into send order) and the gate-weight gradients.
  detail::scatter_output_grad(exec, dy, s.back, copy_row, gw, s.send, dgw);
  // Combine^T: the forward dispatch layout; slot-major dO into `out`.
  exchange_rows(exec, s.send, s.layout, s.recv);
  detail::block_copy(exec, s.recv, s.out, s.blocks, s.nblocks(), false);
  // FFN backward: dW2 += A^T dO, dA -> act, dH -> hpre, dW1 += X^T dH, dX -> xin. The first
  // backward after a reset writes the weight gradients instead (each slot's dW is written once
  // per backward, without reading it); of stale gradients only the slots without rows and the
  // gate's need zeros.
  const bool accumulate = params_->begin_backward(exec, s.plan.slots);
  ffn_->backward(exec, p.slots(Tensor::weights, 1), p.slots(Tensor::weights, 2), p.slots(Tensor::gradients, 1),
                 p.slots(Tensor::gradients, 2), s.plan.slots, s.xin, s.hpre, s.act, s.out, accumulate);
  // Dispatch^T: back to the sources.
  detail::block_copy(exec, s.xin, s.recv, s.blocks, s.nblocks(), true);
  exchange_rows(exec, s.recv, s.reversed, s.back);
  // Gate backward and dx.
  detail::gate_backward(exec, probs, idx, dgw, config_.renormalize, dlogits);
  Matrix dx(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::dx"), T, H_);
  kk::gemm(exec, "N", "T", 1.0f, dlogits, p.gate(Tensor::weights), 0.0f, dx);
  detail::add_copy_grads(exec, s.back, copy_row, K_, dx);
  kk::gemm(exec, "T", "N", 1.0f, s.x, dlogits, 1.0f, p.gate(Tensor::gradients));
  clock.end();
  // Its two exchanges carried the forward's rows back (same counts, same wire precision).
  stats_.bytes_sent += s.plan.remote_rows * H_ * static_cast<std::int64_t>(wire_bf16_ ? sizeof(Bf16) : sizeof(float));
  s.have_forward = false;
  return dx;
}

// ---- Gradients, optimizer, migration ----------------------------------------------------------

void MoELayer::sync_gradients(const ExecSpace& exec) {
  materialize_zero_gradients(exec);
  PhaseClock clock(exec, timers_, time_phases_, Phase::gradient_sync);
  // One rank and no data-parallel copies: every gradient is already complete.
  if (G_ > 1 || data_parallel_) sync_->run(exec, params_->gradients());
  clock.end();
}

void MoELayer::optimizer_step(const ExecSpace& exec) {
  materialize_zero_gradients(exec);
  PhaseClock clock(exec, timers_, time_phases_, Phase::optimizer);
  // bf16: the expert weights' bf16 copies are written in the same pass (not re-read later).
  const auto copies = ffn_->bf16_weight_copies(exec, params_->slots(Tensor::weights, 1).span(),
                                               params_->slots(Tensor::weights, 2).span());
  params_->optimizer_step(exec, config_.optimizer, copies);
  if (copies.first != nullptr)
    ffn_->weights_refreshed();
  else
    ffn_->weights_changed();
  clock.end();
}

void MoELayer::zero_gradients(const ExecSpace& exec) {
  PhaseClock clock(exec, timers_, time_phases_, Phase::optimizer);  // timed with the optimizer
  params_->zero_gradients(exec);
  clock.end();
}

void MoELayer::materialize_zero_gradients(const ExecSpace& exec) {
  if (params_->gradients_stale()) zero_gradients(exec);
}

void MoELayer::step(const ExecSpace& exec) {
  sync_gradients(exec);
  optimizer_step(exec);
  // zero_gradients without the pass: the gradients go stale and the next backward writes them.
  params_->mark_stale();
  const schedule::Placement before = placement();
  if (data_parallel_)  // every group re-places from the same (summed) loads: placements stay equal
    comm::all_reduce_sum(*data_parallel_, iteration_loads_.data(), iteration_loads_.size());
  migrated_bytes_ = 0;
  const bool moved = strategy_->end_iteration(iteration_loads_);
  std::fill(iteration_loads_.begin(), iteration_loads_.end(), 0);
  if (moved) migrate(exec, before);
}

void MoELayer::migrate(const ExecSpace& exec, const schedule::Placement& from) {
  PhaseClock clock(exec, timers_, time_phases_, Phase::migration);
  ffn_->weights_changed();
  // A placement of another slot count (no strategy makes one now; eplb padded slot indices
  // before 2026-12-03, and its checkpoints may still carry them) re-makes the FFN.
  if (placement().slots_per_gpu != from.slots_per_gpu)
    ffn_ = std::make_unique<ExpertFFN>(placement().slots_per_gpu, H_, F_, config_.activation, config_.precision,
                                       config_.expert_gemm == ExpertGemm::grouped);
  // The migration buffers count towards the layer's peak memory while they exist.
  const auto note = [&](std::size_t buffers) { peak_bytes_ = std::max(peak_bytes_, current_bytes() + buffers); };
  migrations_ += params_->migrate(exec, from, placement(), me_, *exchange_, note, config_.migration_round_bytes);
  migrated_bytes_ = params_->last_migration_bytes();
  sync_->set_placement(placement());
  clock.end();
  account();
}

// ---- Parameter access -------------------------------------------------------------------------

void MoELayer::set_parameters(const ExecSpace& exec, const HostTensors& params) {
  params_->set(exec, params, placement(), me_);
  ffn_->weights_changed();
}

std::vector<std::int64_t> MoELayer::save_state() const {
  StateWriter out;
  strategy_->save_state(out);
  out.put(params_->steps());
  out.put(migrations_);
  return out.data();
}

void MoELayer::restore_state(const ExecSpace& exec, const std::vector<std::int64_t>& state, const LocalTensors& weights,
                             const LocalTensors& state1, const LocalTensors& state2) {
  StateReader in(state);
  const int slots_before = placement().slots_per_gpu;
  strategy_->load_state(in);
  const std::int64_t steps = in.get(), migrations = in.get();
  if (!in.done() || steps < 0 || migrations < 0)
    throw std::invalid_argument("layer state record does not fit the layer");
  if (placement().slots_per_gpu != slots_before)  // a checkpoint of an eplb that padded slot indices
    ffn_ = std::make_unique<ExpertFFN>(placement().slots_per_gpu, H_, F_, config_.activation, config_.precision,
                                       config_.expert_gemm == ExpertGemm::grouped);
  params_->restore_local(exec, placement().slots_per_gpu, steps, weights, state1, state2);
  ffn_->weights_changed();
  sync_->set_placement(placement());
  migrations_ = migrations;
  account();
}

HostSlots MoELayer::local_slots(Tensor which) const { return params_->local_slots(which); }

std::vector<float> MoELayer::local_gate(Tensor which) const { return params_->local_gate(which); }

HostTensors MoELayer::gather(const ExecSpace& exec, Tensor which, bool sum_replicas) const {
  compat::fence(exec, "micromoe::moe::gather");
  HostTensors out = params_->local_by_expert(which, placement(), me_, sum_replicas);
  if (G_ > 1 && sum_replicas) comm::all_reduce_sum(comm_, out.gate.data(), out.gate.size());
  if (G_ > 1) {
    comm::all_reduce_sum(comm_, out.w1.data(), out.w1.size());
    comm::all_reduce_sum(comm_, out.w2.data(), out.w2.size());
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
  return (params_ ? params_->bytes() : 0) + (impl_ ? impl_->bytes() : 0) +
         (ffn_ ? ffn_->scratch_bytes() : 0);  // bf16 copies included
}

void MoELayer::account() { peak_bytes_ = std::max(peak_bytes_, current_bytes()); }

}  // namespace micromoe::moe
