// SPDX-License-Identifier: BSD-3-Clause
#include "moe/parameter_store.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "moe/kernels.hpp"
#include "moe/migration_rounds.hpp"
#include "moe/optimizer_update.hpp"

namespace micromoe::moe {

using detail::Flat;

namespace {
template <class V>
std::size_t bytes_of(const V& v) {
  return v.span() * sizeof(typename V::value_type);
}
Flat flat(const ParameterStore::Slots& s) { return Flat(s.data(), s.span()); }
Flat flat(const ParameterStore::Matrix& m) { return Flat(m.data(), m.span()); }
Flat flat_slot(const ParameterStore::Slots& s, int j) {
  const std::size_t n = s.extent(1) * s.extent(2);
  return Flat(s.data() + static_cast<std::size_t>(j) * n, n);
}
}  // namespace

ParameterStore::ParameterStore(int hidden, int ffn, int w1_cols, int experts, int slots, OptimizerKind optimizer)
    : H_(hidden), F_(ffn), F1_(w1_cols), E_(experts), adam_(optimizer == OptimizerKind::adam) {
  wg_ = Matrix("micromoe::moe::gate", H_, E_);
  dwg_ = Matrix("micromoe::moe::gate_grad", H_, E_);
  wg_s1_ = Matrix("micromoe::moe::gate_state1", H_, E_);
  wg_s2_ = Matrix("micromoe::moe::gate_state2", adam_ ? H_ : 0, adam_ ? E_ : 0);
  allocate_slots(slots);
}

void ParameterStore::allocate_slots(int slots) {
  S_ = slots;
  auto make = [&](const char* label, int a, int b, bool on) { return Slots(std::string(label), on ? S_ : 0, a, b); };
  w1_ = make("micromoe::moe::w1", H_, F1_, true);
  w2_ = make("micromoe::moe::w2", F_, H_, true);
  dw1_ = make("micromoe::moe::w1_grad", H_, F1_, true);
  dw2_ = make("micromoe::moe::w2_grad", F_, H_, true);
  w1_s1_ = make("micromoe::moe::w1_state1", H_, F1_, true);
  w2_s1_ = make("micromoe::moe::w2_state1", F_, H_, true);
  w1_s2_ = make("micromoe::moe::w1_state2", H_, F1_, adam_);
  w2_s2_ = make("micromoe::moe::w2_state2", F_, H_, adam_);
}

void ParameterStore::init_weights(const ExecSpace& exec, std::uint64_t seed, const schedule::Placement& placement,
                                  int me) {
  detail::init_uniform(exec, flat(wg_), seed, 0, 1.0f / std::sqrt(static_cast<float>(H_)));
  for (int j = 0; j < S_; ++j) {
    const int e = placement.expert(me, j);
    if (e < 0) continue;
    detail::init_uniform(exec, flat_slot(w1_, j), seed, 1 + 2 * static_cast<std::uint64_t>(e),
                         1.0f / std::sqrt(static_cast<float>(H_)));
    detail::init_uniform(exec, flat_slot(w2_, j), seed, 2 + 2 * static_cast<std::uint64_t>(e),
                         1.0f / std::sqrt(static_cast<float>(F_)));
  }
}

void ParameterStore::set(const ExecSpace& exec, const HostTensors& params, const schedule::Placement& placement,
                         int me) {
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
    const int e = placement.expert(me, j);
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
  for (const Matrix* m : {&dwg_, &wg_s1_, &wg_s2_}) Kokkos::deep_copy(exec, *m, 0.0f);
  for (const Slots* s : {&dw1_, &dw2_, &w1_s1_, &w2_s1_, &w1_s2_, &w2_s2_}) Kokkos::deep_copy(exec, *s, 0.0f);
  gradients_ = Gradients::zero;
  steps_ = 0;
  compat::fence(exec, "micromoe::moe::set_parameters");  // the host mirrors die here
}

const ParameterStore::Slots& ParameterStore::slots(Tensor which, int w) const {
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

const ParameterStore::Matrix& ParameterStore::gate(Tensor which) const {
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

bool ParameterStore::begin_backward(const ExecSpace& exec, const SlotRows& rows) {
  const bool accumulate = gradients_ == Gradients::accumulating;
  if (gradients_ == Gradients::stale) {
    Kokkos::deep_copy(exec, dwg_, 0.0f);
    for (int j = 0; j < S_; ++j)
      if (j >= static_cast<int>(rows.rows.size()) || rows.rows[static_cast<std::size_t>(j)] == 0) {
        Kokkos::deep_copy(exec, flat_slot(dw1_, j), 0.0f);
        Kokkos::deep_copy(exec, flat_slot(dw2_, j), 0.0f);
      }
  }
  gradients_ = Gradients::accumulating;
  return accumulate;
}

void ParameterStore::zero_gradients(const ExecSpace& exec) {
  // Flat fills: one 1-D pass each, the gradients are contiguous.
  Kokkos::deep_copy(exec, flat(dwg_), 0.0f);
  Kokkos::deep_copy(exec, flat(dw1_), 0.0f);
  Kokkos::deep_copy(exec, flat(dw2_), 0.0f);
  gradients_ = Gradients::zero;
}

void ParameterStore::optimizer_step(const ExecSpace& exec, const OptimizerConfig& o,
                                    std::pair<std::uint16_t*, std::uint16_t*> copies) {
  ++steps_;
  const float c1 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(steps_)));
  const float c2 = static_cast<float>(1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(steps_)));
  detail::optimizer_update(exec, o, c1, c2, flat(wg_), flat(dwg_), flat(wg_s1_), adam_ ? flat(wg_s2_) : flat(wg_s1_));
  detail::optimizer_update(exec, o, c1, c2, flat(w1_), flat(dw1_), flat(w1_s1_), adam_ ? flat(w1_s2_) : flat(w1_s1_),
                           copies.first);
  detail::optimizer_update(exec, o, c1, c2, flat(w2_), flat(dw2_), flat(w2_s1_), adam_ ? flat(w2_s2_) : flat(w2_s1_),
                           copies.second);
}

// Stale gradients (after a step) read as the zeros they stand for, whatever their memory holds.
void ParameterStore::restore_local(const ExecSpace& exec, int slots, std::int64_t steps, const LocalTensors& weights,
                                   const LocalTensors& state1, const LocalTensors& state2) {
  if (slots < 0) throw std::invalid_argument("checkpoint: negative slot count");
  if (slots != S_) allocate_slots(slots);
  const auto copy_in = [&](auto view, const std::vector<float>& values) {
    auto host = Kokkos::create_mirror_view(view);
    if (values.size() != host.span()) throw std::invalid_argument("checkpoint: a tensor of another size");
    std::copy(values.begin(), values.end(), host.data());
    Kokkos::deep_copy(exec, view, host);
    exec.fence();  // host is a temporary
  };
  const std::pair<Tensor, const LocalTensors*> kinds[] = {
      {Tensor::weights, &weights}, {Tensor::state1, &state1}, {Tensor::state2, &state2}};
  for (const auto& [which, values] : kinds) {
    copy_in(gate(which), values->gate);
    copy_in(this->slots(which, 1), values->slots.w1);
    copy_in(this->slots(which, 2), values->slots.w2);
  }
  zero_gradients(exec);
  steps_ = steps;
}

HostSlots ParameterStore::local_slots(Tensor which) const {
  const bool zeros = which == Tensor::gradients && gradients_ == Gradients::stale;
  HostSlots out;
  for (int w : {1, 2}) {
    auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), slots(which, w));
    std::vector<float>& v = w == 1 ? out.w1 : out.w2;
    v.assign(h.data(), h.data() + h.span());
    if (zeros) std::fill(v.begin(), v.end(), 0.0f);
  }
  return out;
}

std::vector<float> ParameterStore::local_gate(Tensor which) const {
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), gate(which));
  std::vector<float> out(h.data(), h.data() + h.span());
  if (which == Tensor::gradients && gradients_ == Gradients::stale) std::fill(out.begin(), out.end(), 0.0f);
  return out;
}

HostTensors ParameterStore::local_by_expert(Tensor which, const schedule::Placement& placement, int me,
                                            bool every_replica) const {
  const std::size_t n1 = static_cast<std::size_t>(H_) * F1_, n2 = static_cast<std::size_t>(F_) * H_;
  HostTensors out;
  out.gate = local_gate(which);
  out.w1.assign(n1 * E_, 0.0f);
  out.w2.assign(n2 * E_, 0.0f);
  const HostSlots mine = local_slots(which);
  if (!mine.w1.empty())
    for (int j = 0; j < S_; ++j) {
      const int e = placement.expert(me, j);
      if (e < 0 || (!every_replica && placement.replicas(e).front() != me)) continue;
      std::copy_n(mine.w1.data() + static_cast<std::size_t>(j) * n1, n1,
                  out.w1.data() + static_cast<std::size_t>(e) * n1);
      std::copy_n(mine.w2.data() + static_cast<std::size_t>(j) * n2, n2,
                  out.w2.data() + static_cast<std::size_t>(e) * n2);
    }
  return out;
}

std::int64_t ParameterStore::migrate(const ExecSpace& exec, const schedule::Placement& from,
                                     const schedule::Placement& to, int me, comm::TokenExchange& exchange,
                                     const std::function<void(std::size_t)>& note_buffers, std::size_t round_bytes) {
  const int G = to.gpus;
  std::vector<const Slots*> old_tensors{&w1_, &w2_, &w1_s1_, &w2_s1_};
  if (adam_) {
    old_tensors.push_back(&w1_s2_);
    old_tensors.push_back(&w2_s2_);
  }
  std::int64_t width = 0;  // floats of one copy: the tensors of a slot, one after the other
  for (const Slots* t : old_tensors) width += static_cast<std::int64_t>(t->extent(1) * t->extent(2));
  // Copies larger than a round travel in pieces of `pw` floats (rows of the exchange).
  const MigrationPieces cut = migration_pieces(width, round_bytes);
  const std::int64_t pw = cut.piece_floats;
  // With the slot count unchanged, a (gpu, slot) that keeps its expert keeps its tensors where
  // they are: nothing is copied for it (sender and receiver decide alike, from the placements).
  const bool in_place = from.slots_per_gpu == to.slots_per_gpu;
  const MigrationRounds plan = plan_migration(from, to, cut.per_round, cut.pieces);
  // This rank's sends in (round, destination, slot, piece) order: each round's rows are
  // contiguous and grouped by destination. Its receives per round in (source, slot, piece)
  // order, as they arrive.
  std::vector<const MigrationTransfer*> sends;
  std::vector<std::vector<const MigrationTransfer*>> receives(static_cast<std::size_t>(plan.rounds));
  for (const auto& t : plan.transfers) {
    if (t.from_gpu == me) sends.push_back(&t);
    if (t.to_gpu == me) receives[static_cast<std::size_t>(t.round)].push_back(&t);
  }
  std::stable_sort(sends.begin(), sends.end(), [](auto* a, auto* b) { return a->round < b->round; });
  for (auto& r : receives)
    std::stable_sort(r.begin(), r.end(), [](auto* a, auto* b) { return a->from_gpu < b->from_gpu; });
  // Group total of expert copies that cross ranks (the same on every rank).
  std::int64_t moved = 0;
  for (const auto& t : plan.transfers) moved += t.piece == 0 && t.from_gpu != t.to_gpu;
  // Piece k of a slot's copy: floats [k pw, min((k + 1) pw, width)) of its tensors in order,
  // copied between the slot and one row (`to_row`: slot -> row).
  const auto copy_piece = [&](const std::vector<const Slots*>& tensors, int slot, int k, float* row, bool to_row) {
    const std::int64_t lo = k * pw, hi = std::min(width, lo + pw);
    std::int64_t off = 0;
    for (const Slots* t : tensors) {
      const auto len = static_cast<std::int64_t>(t->extent(1) * t->extent(2));
      const std::int64_t a = std::max(lo, off), b = std::min(hi, off + len);
      if (a < b) {
        const Flat in_slot(t->data() + static_cast<std::size_t>(slot) * len + (a - off), b - a);
        const Flat in_row(row + (a - lo), b - a);
        if (to_row)
          Kokkos::deep_copy(exec, in_row, in_slot);
        else
          Kokkos::deep_copy(exec, in_slot, in_row);
      }
      off += len;
    }
  };
  // Every outgoing piece is packed before any arrives: in place, a slot that receives in one
  // round may be the source of another rank's copy in a later round. The receive buffer and the
  // MPI backend's host staging hold one round (at most cut.per_round pieces each way).
  const std::int64_t recv_rows = plan.max_recv_rows(me);
  Matrix send(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::migration_send"),
              std::max<std::size_t>(sends.size(), 1), pw);
  Matrix recv(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::migration_recv"),
              static_cast<std::size_t>(std::max<std::int64_t>(recv_rows, 1)), pw);
  note_buffers(bytes_of(send) + bytes_of(recv));
  for (std::size_t i = 0; i < sends.size(); ++i)
    copy_piece(old_tensors, sends[i]->from_slot, sends[i]->piece, send.data() + i * pw, true);
  if (in_place) {
    // Slots left empty become zeros; expert gradients are zeros (stale ones already are).
    for (int j = 0; j < to.slots_per_gpu; ++j)
      if (to.expert(me, j) < 0 && from.expert(me, j) >= 0)
        for (const Slots* t : old_tensors) Kokkos::deep_copy(exec, flat_slot(*t, j), 0.0f);
    if (!gradients_stale()) {
      Kokkos::deep_copy(exec, flat(dw1_), 0.0f);
      Kokkos::deep_copy(exec, flat(dw2_), 0.0f);
    }
  } else {
    // New tensors for the new slot count; empty slots stay zero.
    allocate_slots(to.slots_per_gpu);  // zeroed expert gradients and state (the gate's stay as they are)
  }
  std::vector<const Slots*> new_tensors{&w1_, &w2_, &w1_s1_, &w2_s1_};
  if (adam_) {
    new_tensors.push_back(&w1_s2_);
    new_tensors.push_back(&w2_s2_);
  }
  using Rows = Kokkos::View<float**, TokenLayout, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  std::size_t first_send = 0;
  std::int64_t received = 0;  // copies
  for (int round = 0; round < plan.rounds; ++round) {
    std::vector<std::int64_t> send_counts(static_cast<std::size_t>(G), 0), recv_counts(static_cast<std::size_t>(G), 0);
    std::size_t end_send = first_send;
    for (; end_send < sends.size() && sends[end_send]->round == round; ++end_send)
      ++send_counts[static_cast<std::size_t>(sends[end_send]->to_gpu)];
    const auto& in = receives[static_cast<std::size_t>(round)];
    for (const auto* t : in) ++recv_counts[static_cast<std::size_t>(t->from_gpu)];
    // (A round without sends still names a row of the buffer: nothing is read from it.)
    const Rows round_send(send.data() + (end_send > first_send ? first_send * pw : 0),
                          std::max<std::size_t>(end_send - first_send, 1), pw);
    exchange.all_to_all_v(exec, round_send, comm::ExchangeLayout::from_counts(send_counts, recv_counts), recv);
    for (std::size_t i = 0; i < in.size(); ++i) {
      copy_piece(new_tensors, in[i]->to_slot, in[i]->piece, recv.data() + i * pw, false);
      received += in[i]->piece == 0;
    }
    first_send = end_send;  // (the next round's exchange is ordered after these copies on `exec`)
  }
  last_migration_bytes_ = received * width * static_cast<std::int64_t>(sizeof(float));
  compat::fence(exec, "micromoe::moe::migrated");  // the transfer buffers die here
  return moved;
}

std::size_t ParameterStore::bytes() const {
  std::size_t b = bytes_of(wg_) + bytes_of(dwg_) + bytes_of(wg_s1_) + bytes_of(wg_s2_);
  for (const Slots* s : {&w1_, &w2_, &dw1_, &dw2_, &w1_s1_, &w2_s1_, &w1_s2_, &w2_s2_}) b += bytes_of(*s);
  return b;
}

}  // namespace micromoe::moe
