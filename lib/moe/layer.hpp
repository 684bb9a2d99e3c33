// SPDX-License-Identifier: BSD-3-Clause
// The distributed MoE layer: gate, count all-gather, strategy routing, permutation, dispatch,
// expert FFNs, combine, and the whole backward pass, on Kokkos Views; expert-gradient
// synchronisation among replicas; SGD/Adam; weight + optimizer-state migration on re-placement.
// MoELayer orchestrates; the jobs live beside it: the exchange plan (exchange_plan.hpp, pure
// host), the parameters (parameter_store.hpp), the gradient sync (gradient_sync.hpp, MPI or
// NCCL), expert compute (expert_ffn.hpp), and the phases' regions and timers (phase_timers.hpp).
//
// API for a training driver (every call is collective over the group communicator; all ranks
// call in the same order):
//
//   moe::LayerConfig cfg;  cfg.hidden = 1024; cfg.ffn = 4096; cfg.experts = 64; cfg.top_k = 2;
//   cfg.strategy.kind = strategy::StrategyKind::microep; cfg.strategy.ep_size = 8; cfg.backend = comm::Backend::nccl;
//   moe::MoELayer layer(cfg, group);                  // group: comm::Communicator of the MicroEP group
//   for each iteration:
//     for each micro-batch:
//       RowMatrix<float> y  = layer.forward(exec, x);    // x: [T, H] tokens of this rank (T may be 0)
//       RowMatrix<float> dx = layer.backward(exec, dy);  // dy: [T, H]; accumulates gradients
//       const moe::MicroBatchStats& s = layer.last_stats();  // loads, imbalance, bytes, drops
//     layer.step(exec);   // gradient sync among replicas + optimizer + zero gradients +
//                         // strategy re-placement (eplb, microep-adaptive: migration)
//   layer.timers().seconds(moe::Phase::dispatch) ...  // per-phase times (fenced), reset_timers()
//   layer.set_phase_timing(false)                      // no timing fences; phases stay profiling regions
//   layer.peak_bytes()                                  // peak memory of the layer on this rank
//
// The loss is whatever produced dy: gradients are plain sums over the tokens of all ranks (the
// gate gradient is all-reduced over the group, each expert's over its replicas). One forward
// must be followed by its backward before the next forward (one micro-batch in flight).
// Kokkos Kernels 3.x runs its GEMMs on the default instance: pass ExecSpace() there.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/exchange_layout.hpp"
#include "comm/shared_nccl.hpp"
#include "comm/token_exchange.hpp"
#include "core/kokkos_types.hpp"
#include "core/phase.hpp"
#include "moe/layer_config.hpp"
#include "moe/parameter_store.hpp"
#include "moe/phase_timers.hpp"
#include "schedule/solver.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::moe {

/// Phases of the layer, timed separately (lib/core/phase.hpp). backward covers the whole backward pass.
using micromoe::Phase;
using micromoe::phase_name;
constexpr int phase_count = static_cast<int>(kPhaseCount);

/// Statistics of the last forward pass (one micro-batch), identical on every rank except the
/// rank-local fields.
struct MicroBatchStats {
  std::vector<std::int64_t> gpu_load;  ///< token copies computed by each rank of the group
  std::int64_t total_copies = 0;       ///< copies computed in the group (after drops)
  std::int64_t max_load = 0;
  double imbalance = 1.0;           ///< max load / mean load
  std::int64_t lower_bound = 0;     ///< scheduler's proven optimum (microep*), else 0
  std::int64_t tokens_dropped = 0;  ///< copies dropped in the group (ep-capacity)
  std::int64_t bytes_sent =
      0;  ///< rank-local: wire bytes to other ranks, dispatch + combine (after the backward: its two exchanges too)
  std::int64_t rows_received = 0;           ///< rank-local: copies this rank computed
  std::vector<std::int64_t> expert_copies;  ///< routed copies of each expert in the group (before drops)
};

class ExpertFFN;
class GradientSync;
struct ExchangePlan;

class MoELayer {
 public:
  using Matrix = RowMatrix<float>;
  using ConstMatrix = Kokkos::View<const float**, TokenLayout, MemSpace>;
  using Slots = Kokkos::View<float***, TokenLayout, MemSpace>;

  /// Collective over `group` (duplicated inside). Throws InputError on a bad config (every rank).
  /// `data_parallel` (optional, duplicated inside): the ranks holding this rank's place in the
  /// other MicroEP groups of a run with several groups. Gradients are then also summed over it,
  /// and the iteration loads that drive re-placement too, so every group keeps the same
  /// placement and identical replicas.
  /// `shared` (nccl backend): NCCL communicators over `group` and `data_parallel` that the
  /// caller shares among its layers (comm::share_nccl); the layer builds its own where they
  /// are null.
  MoELayer(const LayerConfig& config, const comm::Communicator& group,
           const comm::Communicator* data_parallel = nullptr, const comm::SharedNccl& shared = {});
  ~MoELayer();
  MoELayer(const MoELayer&) = delete;
  MoELayer& operator=(const MoELayer&) = delete;

  /// y [T, H] for this rank's tokens x [T, H]. Collective.
  Matrix forward(const ExecSpace& exec, const ConstMatrix& x);
  /// Routing override for the next forward only (trace replay): token t goes to experts
  /// choices(t, 0..k-1) (distinct, in [0, E)) instead of the gate's top-k; the gate weights are
  /// still the gate's probabilities of those experts, so gradients flow through the gate.
  /// It takes precedence over every strategy's choice of experts (balanced's included).
  void set_next_choices(const Kokkos::View<const int**, TokenLayout, MemSpace>& choices);
  /// dx [T, H] for dy [T, H] of the last forward; accumulates weight gradients. Collective.
  Matrix backward(const ExecSpace& exec, const ConstMatrix& dy);

  /// Sums the gate gradient over the group and each expert's gradient over its replicas
  /// (messages among the replicas, summed in ascending rank order). Collective.
  void sync_gradients(const ExecSpace& exec);
  /// One optimizer step on the (synchronised) gradients. Local.
  void optimizer_step(const ExecSpace& exec);
  void zero_gradients(const ExecSpace& exec);
  /// End of a training iteration: sync_gradients, optimizer_step, zero_gradients (the reset is
  /// free: the next backward overwrites instead of adding), then the strategy's re-placement;
  /// on a new placement, weights and optimizer state migrate. Collective.
  void step(const ExecSpace& exec);

  const LayerConfig& config() const { return config_; }
  const strategy::Strategy& strategy() const { return *strategy_; }
  const schedule::Placement& placement() const { return strategy_->placement(); }
  /// The layer's own duplicate of the group communicator.
  const comm::Communicator& communicator() const { return comm_; }
  int rank() const { return comm_.rank(); }
  int ranks() const { return comm_.size(); }
  const MicroBatchStats& last_stats() const { return stats_; }
  const PhaseTimers& timers() const { return timers_; }
  void reset_timers() { timers_.reset(); }
  /// Phase timing (on by default): every phase ends with a fence of the execution space and
  /// adds its time. Off: no fence for timing (results are bit-identical), the timers stay as
  /// they are; the phases remain Kokkos profiling regions ("micromoe::gate", ...) either way.
  void set_phase_timing(bool on) { time_phases_ = on; }
  bool phase_timing() const { return time_phases_; }
  /// Bytes the layer holds now / at most so far on this rank (parameters, gradients, optimizer
  /// state, activations saved for backward, exchange buffers, and the bf16 copies of the bf16
  /// expert path).
  std::size_t current_bytes() const;
  std::size_t peak_bytes() const { return peak_bytes_; }
  /// Restart: the peak measured before it (a measurement: buffers restart empty, so a restarted
  /// run's later peak may differ from an uninterrupted run's by a few buffer sizes).
  void note_peak_bytes(std::size_t bytes) { peak_bytes_ = std::max(peak_bytes_, bytes); }
  std::int64_t optimizer_steps() const { return params_->steps(); }
  std::int64_t migrations() const { return migrations_; }  ///< expert copies moved so far
  /// Bytes of weights and optimizer state this rank received in the last step's migration (0 if none).
  std::int64_t migrated_bytes() const { return migrated_bytes_; }
  /// Communicators the gradient sync created for replica sets so far (none: it sums by messages).
  std::int64_t replica_communicators_created() const;
  /// True when the token rows travel as bf16 (precision bf16 and wire_precision auto).
  bool wire_bf16() const { return wire_bf16_; }
  /// True once config.expert_gemm asked for grouped GEMMs and they ran as one GEMM per expert
  /// instead (no grouped BLAS on CPUs; cuBLAS rejects some precisions).
  bool grouped_gemm_fell_back() const;

  /// Sets all parameters from host data indexed by expert (every rank passes the same);
  /// optimizer state and gradients are zeroed.
  void set_parameters(const ExecSpace& exec, const HostTensors& params);
  /// Collective: the layer's tensors by expert, each expert from its lowest-rank replica and the
  /// gate from this rank. With `sum_replicas`, the sum over all replicas (and, for the gate, over
  /// all ranks) instead: before sync_gradients, that is the synchronised gradient.
  HostTensors gather(const ExecSpace& exec, Tensor which, bool sum_replicas = false) const;
  /// This rank's per-slot expert tensors and its gate tensor.
  HostSlots local_slots(Tensor which) const;
  std::vector<float> local_gate(Tensor which) const;
  /// Checkpoint/restart: the layer's host state (its strategy's, the optimizer's step count,
  /// expert copies moved) as a flat record; local_gate / local_slots give its tensors.
  std::vector<std::int64_t> save_state() const;
  /// Restores a save_state record and this rank's tensors (weights, state1, state2) in a layer
  /// made from the same config; gradients become zero. Every rank of the group calls it (the
  /// gradient sync follows the restored placement). Throws std::invalid_argument for a record
  /// or tensors that do not fit.
  void restore_state(const ExecSpace& exec, const std::vector<std::int64_t>& state, const LocalTensors& weights,
                     const LocalTensors& state1, const LocalTensors& state2);
  /// Experts chosen for the last forward's tokens, [T][k] (after balanced's override).
  std::vector<int> last_choices() const;
  /// Gate weights of those choices, [T][k] (drops keep their weight: see last_kept_copies()).
  std::vector<float> last_gate_weights() const;
  /// 1 for every copy (t, i) of the last forward that was computed, 0 for a dropped one, [T][k].
  std::vector<int> last_kept_copies() const;
  /// Device views of the parameters (for the HDF5 dump and drivers).
  const Matrix& gate_weights() const { return params_->gate(Tensor::weights); }
  const Slots& w1() const { return params_->slots(Tensor::weights, 1); }
  const Slots& w2() const { return params_->slots(Tensor::weights, 2); }

 private:
  struct Impl;
  void plan_exchange();
  /// One token exchange of fp32 rows `from` -> `to`: as they are, or as bf16 rows (wire_bf16_).
  void exchange_rows(const ExecSpace& exec, const Kokkos::View<float**, TokenLayout, MemSpace>& from,
                     const comm::ExchangeLayout& layout, const Kokkos::View<float**, TokenLayout, MemSpace>& to);
  void migrate(const ExecSpace& exec, const schedule::Placement& from);
  void materialize_zero_gradients(const ExecSpace& exec);
  void account();

  LayerConfig config_;
  comm::Communicator comm_;
  std::unique_ptr<comm::Communicator> data_parallel_;  // same place in the other MicroEP groups
  std::unique_ptr<comm::TokenExchange> exchange_;
  std::unique_ptr<strategy::Strategy> strategy_;
  int G_ = 1, me_ = 0, E_ = 0, H_ = 0, F_ = 0, F1_ = 0, K_ = 1;

  std::unique_ptr<ParameterStore> params_;                          // weights, gradients, optimizer state by slot
  std::unique_ptr<GradientSync> sync_;                              // gradient sync of the exchange backend
  std::unique_ptr<ExpertFFN> ffn_;                                  // expert compute (precision, grouped GEMMs)
  std::unique_ptr<Impl> impl_;                                      // per-micro-batch buffers and the exchange plan
  Kokkos::View<const int**, TokenLayout, MemSpace> given_choices_;  // set_next_choices, one forward
  std::int64_t migrations_ = 0;
  std::int64_t migrated_bytes_ = 0;
  MicroBatchStats stats_;
  PhaseTimers timers_;
  bool time_phases_ = true;
  bool wire_bf16_ = false;  // token rows travel as bf16 (precision bf16, wire_precision auto)
  std::vector<std::int64_t> iteration_loads_;
  std::size_t peak_bytes_ = 0;
};

}  // namespace micromoe::moe
