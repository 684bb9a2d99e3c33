// SPDX-License-Identifier: BSD-3-Clause
// The parameters of one MoE layer on one rank, indexed by slot: gate and expert weights, their
// gradients and optimizer state; the optimizer step over them; the stale-gradient state that
// makes the gradient reset free; host access by slot and by expert; and the migration of
// weights and optimizer state to a new placement.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "comm/token_exchange.hpp"
#include "core/kokkos_types.hpp"
#include "moe/gradient_sync.hpp"
#include "moe/layer_config.hpp"
#include "moe/migration_rounds.hpp"
#include "moe/slot_rows.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe {

/// Which tensors to read or write.
enum class Tensor { weights, gradients, state1, state2 };

/// A whole layer's parameters on the host, indexed by expert (not by slot):
/// gate [H][E], w1 [E][H][F1], w2 [E][F][H] (F1 = 2F for swiglu, else F), row-major.
struct HostTensors {
  std::vector<float> gate;
  std::vector<float> w1;
  std::vector<float> w2;
};

/// Per-slot expert tensors of this rank: w1 [S][H][F1], w2 [S][F][H] (slot j holds
/// placement().expert(rank, j), or nothing when that is -1).
struct HostSlots {
  std::vector<float> w1;
  std::vector<float> w2;
};

/// One tensor kind of this rank as local_gate / local_slots return it (checkpoints).
struct LocalTensors {
  std::vector<float> gate;
  HostSlots slots;
};

class ParameterStore {
 public:
  using Matrix = Kokkos::View<float**, TokenLayout, MemSpace>;
  using Slots = Kokkos::View<float***, TokenLayout, MemSpace>;

  /// Zeroed tensors for `slots` slots per rank (Adam keeps a second state).
  ParameterStore(int hidden, int ffn, int w1_cols, int experts, int slots, OptimizerKind optimizer);

  /// Seeded uniform weights, identical on every replica of an expert (the rest stays as it is).
  void init_weights(const ExecSpace& exec, std::uint64_t seed, const schedule::Placement& placement, int me);
  /// Weights from host data indexed by expert; gradients, optimizer state and steps zeroed.
  void set(const ExecSpace& exec, const HostTensors& params, const schedule::Placement& placement, int me);

  const Matrix& gate(Tensor which) const;
  /// w = 1: w1 [S][H][F1]; w = 2: w2 [S][F][H].
  const Slots& slots(Tensor which, int w) const;
  GradientViews gradients() const { return {dwg_, dw1_, dw2_}; }
  int slot_count() const { return S_; }

  // Gradient reset without a pass over the gradients. After a step the gradients are stale:
  // logically zero, but their memory still holds the last iteration's. The next backward then
  // writes the weight gradients of the slots with rows instead of adding to them (never
  // reading them) and zero-fills only the rest; anything else that reads gradients first makes
  // the zeros real (materialize_zero_gradients). Zero and stale both mean "the next backward
  // writes, not adds".
  /// Before a backward over `rows`: whether it adds to the gradients (else writes them); stale
  /// gradients get zeros where the backward writes nothing (gate, slots without rows).
  bool begin_backward(const ExecSpace& exec, const SlotRows& rows);
  /// After a step: the gradients are logically zero.
  void mark_stale() { gradients_ = Gradients::stale; }
  bool gradients_stale() const { return gradients_ == Gradients::stale; }
  /// Real zeros (one flat fill per tensor).
  void zero_gradients(const ExecSpace& exec);

  /// One optimizer step on the gradients (t = steps() + 1). `bf16_copies`: the expert weights'
  /// bf16 copies, written in the same pass (ExpertFFN::bf16_weight_copies), or nulls.
  void optimizer_step(const ExecSpace& exec, const OptimizerConfig& config,
                      std::pair<std::uint16_t*, std::uint16_t*> bf16_copies);
  std::int64_t steps() const { return steps_; }

  /// This rank's per-slot expert tensors / gate tensor (stale gradients read as zeros).
  HostSlots local_slots(Tensor which) const;
  std::vector<float> local_gate(Tensor which) const;
  /// This rank's part of the by-expert tensors: its gate, and the experts it holds (all of its
  /// replicas, or only those it is the lowest-rank replica of); zeros elsewhere.
  HostTensors local_by_expert(Tensor which, const schedule::Placement& placement, int me, bool every_replica) const;

  /// Collective over `exchange`: moves weights and optimizer state from placement `from` to
  /// `to` (expert gradients and empty slots become zeros; the gate's gradient keeps its state).
  /// `note_buffers` is called with the bytes of the transfer buffers while they exist. The
  /// copies travel in rounds of at most `round_bytes` per rank each way (a larger copy in
  /// pieces; moe/migration_rounds.hpp), which bounds the receive buffer and the MPI backend's
  /// host staging. Returns the expert copies that crossed ranks in the group.
  std::int64_t migrate(const ExecSpace& exec, const schedule::Placement& from, const schedule::Placement& to, int me,
                       comm::TokenExchange& exchange, const std::function<void(std::size_t)>& note_buffers,
                       std::size_t round_bytes = kMigrationRoundBytes);

  /// Bytes of weights and optimizer state this rank received in the last migrate().
  std::int64_t last_migration_bytes() const { return last_migration_bytes_; }
  /// Restart: this rank's weights and optimizer states as local_gate / local_slots gave them,
  /// for `slots` slots per rank (reallocated when that differs), and the step count; gradients
  /// become zero. Throws std::invalid_argument for tensors of other sizes.
  void restore_local(const ExecSpace& exec, int slots, std::int64_t steps, const LocalTensors& weights,
                     const LocalTensors& state1, const LocalTensors& state2);

  /// Bytes held (parameters, gradients, optimizer state).
  std::size_t bytes() const;

 private:
  void allocate_slots(int slots);

  int H_, F_, F1_, E_, S_ = 0;
  bool adam_;
  Matrix wg_, dwg_, wg_s1_, wg_s2_;
  Slots w1_, w2_, dw1_, dw2_, w1_s1_, w2_s1_, w1_s2_, w2_s2_;
  std::int64_t steps_ = 0;
  std::int64_t last_migration_bytes_ = 0;
  enum class Gradients { accumulating, zero, stale };
  Gradients gradients_ = Gradients::zero;
};

}  // namespace micromoe::moe
