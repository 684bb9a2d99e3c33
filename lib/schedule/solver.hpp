// SPDX-License-Identifier: BSD-3-Clause
// The MicroEP scheduler's solver: an exact integral min-max plan x[expert][gpu] for one
// micro-batch, locality-aware, deterministic, warm-started from the previous micro-batch.
#pragma once

#include <cstdint>
#include <vector>

#include "core/state_blob.hpp"
#include "schedule/placement.hpp"

namespace micromoe::schedule {

/// Routing counts c[source][expert]: tokens (routed copies, top-k counted k times) that
/// source GPU s holds for expert e. Row-major: data[s * experts + e].
struct CountMatrix {
  int sources = 0;
  int experts = 0;
  std::vector<std::int64_t> data;

  CountMatrix() = default;
  CountMatrix(int sources, int experts)
      : sources(sources), experts(experts), data(static_cast<std::size_t>(sources) * experts, 0) {}
  CountMatrix(int sources, int experts, std::vector<std::int64_t> data)
      : sources(sources), experts(experts), data(std::move(data)) {}

  std::int64_t& operator()(int s, int e) { return data[static_cast<std::size_t>(s) * experts + e]; }
  std::int64_t operator()(int s, int e) const { return data[static_cast<std::size_t>(s) * experts + e]; }
  /// L[e] = sum over sources of c[s][e].
  std::vector<std::int64_t> expert_loads() const;
  /// Throws std::invalid_argument on a wrong data size or a negative count.
  void validate() const;
};

/// Solver options.
struct SolverOptions {
  /// Optional per-GPU capacity weights (positive integers <= 2^20, e.g. relative speeds; empty
  /// = all equal). At level T GPU g may compute floor(T * w_g / max_w) tokens: the objective T
  /// is the load of the fastest GPU, and a GPU of half the weight gets half of it.
  std::vector<std::int64_t> capacity_weights;
  /// Prefer plans that keep tokens on their source GPU (the local-first flow): among the plans
  /// with the optimal objective, tokens are moved off a GPU's own count last.
  bool locality = true;
  /// GPUs per node (0: unknown, one node). With locality, tokens are first rebalanced inside
  /// nodes, so fewer cross node boundaries (routes then keep them on the node).
  int gpus_per_node = 0;
  /// Warm start from the previous calls: the densest GPU sets they found give lower bounds
  /// under the new loads (usually tight), and solve_loads starts from the previous plan.
  bool warm_start = true;
  /// Fill Plan::tokens, the dense E x G matrix. Off: Plan::tokens stays empty and the plan is in
  /// Plan::slot_tokens only (per GPU slot, G x S), which is all the MoE layer needs and saves
  /// scattered writes into E*G*8 bytes at large G (8 MiB at 1024 x 1024).
  bool dense_tokens = true;
};

/// An integral plan: tokens[e * gpus + g] of expert e computed by its replica on GPU g. The
/// solver's output, quotas per (expert, GPU): what each GPU computes, not whose copies. Who sends
/// what where is a routing (routing.hpp), made from a plan by build_routes / build_rank_routes.
struct Plan {
  int gpus = 0;
  int experts = 0;
  int slots_per_gpu = 0;
  std::vector<std::int64_t> tokens;  ///< [e * gpus + g], nonzero only on replicas of e (empty with dense_tokens off)
  std::vector<std::int64_t> slot_tokens;  ///< [g * slots_per_gpu + slot]: the same plan per GPU slot
  std::vector<std::int64_t> gpu_load;     ///< [g] = sum over e of tokens[e * gpus + g]
  std::int64_t total_tokens = 0;          ///< sum of all loads
  std::int64_t max_load = 0;              ///< max over g of gpu_load[g]
  /// Proven lower bound on the objective (== objective: every plan is optimal; kept so callers
  /// and reports can check it).
  std::int64_t lower_bound = 0;
  /// The minimised level T: max over g of ceil(gpu_load[g] * max_w / w_g). Equals max_load
  /// without capacity weights.
  std::int64_t objective = 0;
  int flow_rounds = 0;    ///< max-flow rounds (levels tried) in this solve: statistics only
  int augmentations = 0;  ///< augmenting paths in this solve: statistics only

  /// max(ceil(total / capacity), max over e of ceil(L[e] / d_e)): the simple bound, for reports.
  std::int64_t simple_bound = 0;

  /// tokens[e * gpus + g] (needs dense_tokens).
  std::int64_t at(int expert, int gpu) const { return tokens[static_cast<std::size_t>(expert) * gpus + gpu]; }
  /// max_load / (total_tokens / gpus); 1.0 when there are no tokens. For reports only.
  double imbalance() const;

 private:
  friend class Solver;
  std::vector<std::size_t> written_;  // entries of `tokens` the last solve wrote (cheap clearing on reuse)
  std::uint64_t layout_id_ = 0;       // the solver that wrote them (same solver: same positions)
};

/// The exact min-max solver for one placement.
///
/// Method: GPU loads are balanced by augmenting paths on the GPU graph (g -> h whenever a
/// slot j of g holds tokens of an expert that h also holds, necessarily at slot j), which is
/// the residual graph of the textbook flow network (source -> expert cap L[e] -> replica GPUs
/// -> sink cap T*w_g). For a level T, an initial plan, then Dinic max-flow from the overloaded
/// to the underloaded GPUs. If excess remains, the GPUs reachable from it in the residual graph
/// form a set U whose experts lie entirely inside U and whose load exceeds its capacity at T:
/// its density is a new lower bound, and T jumps to it (no binary search). The first feasible T
/// is therefore both a lower bound and achieved: the exact integral optimum ceil(m*).
///
/// A solve starts from the largest of the global bound, the per-expert bounds ceil(L[e] / d_e)
/// and (warm start) the densities of the last 4 sets that forced a jump, under the new loads.
/// Initial plan with counts (solve): each replica keeps its own GPU's tokens, then tokens from
/// a node go to the expert's replicas on that node (gpus_per_node), the rest is water-filled
/// into the replicas' room; the flow moves non-local tokens inside nodes first, then non-local
/// tokens anywhere, then any. Loads only (solve_loads), warm: the previous plan plus each
/// expert's load change split evenly over its replicas, then one- and two-hop relief paths,
/// then Dinic for the rest.
///
/// Determinism: integer arithmetic only, fixed iteration orders; the same placement, options
/// and sequence of calls give bit-identical plans. With warm_start a plan depends on the
/// solver's previous calls (the starting level; for solve_loads also the previous plan);
/// ranks that feed identically constructed solvers the same sequence (as the MoE layer does)
/// agree bit for bit. warm_start = false, or reset(), makes every solve history-free.
class Solver {
 public:
  explicit Solver(Placement placement, SolverOptions options = {});

  /// Solves for counts c[source][expert], one source row per GPU (G x E). Throws
  /// std::invalid_argument on wrong shapes or negative counts.
  Plan solve(const CountMatrix& counts);
  /// Same, reusing `out`'s buffers (no allocation in steady state). `out` must not have been
  /// edited since this solver last wrote it (only the replica positions are rewritten).
  void solve(const CountMatrix& counts, Plan& out);
  /// As solve(counts, out), with the per-node column sums of `counts` given ([node * E + e],
  /// nodes = ceil(G / gpus_per_node); one row, the loads, unless the solver is node-aware), as
  /// a reduction beside the counts' all-gather would deliver them: the solve then sums nodes x E
  /// entries instead of G x E, and the plan is the same bits. `counts` is read only where the
  /// plan's locality needs it and not validated again (the caller's own counts). Throws
  /// std::invalid_argument on wrong shapes or negative sums.
  void solve(const CountMatrix& counts, const std::vector<std::int64_t>& node_sums, Plan& out);
  /// Solves for expert loads only (no locality preference).
  Plan solve_loads(const std::vector<std::int64_t>& loads);
  void solve_loads(const std::vector<std::int64_t>& loads, Plan& out);

  /// Forgets the warm-start state.
  void reset();
  /// Checkpoint/restart: the warm-start state (critical sets, previous loads and plan), and its
  /// restoration into a solver of the same placement and options, which then plans bit for bit
  /// like the one saved. load_warm_state throws std::invalid_argument for a record that does
  /// not fit this solver's sizes.
  void save_warm_state(StateWriter& out) const;
  void load_warm_state(StateReader& in);

  const Placement& placement() const { return placement_; }
  const SolverOptions& options() const { return options_; }
  /// GPUs of the set that proved the last objective (empty: all GPUs, the global bound).
  const std::vector<int>& critical_set() const { return critical_gpus_; }
  /// Per-node column sums [node * E + e] of the last solve(counts)'s counts, summed in the same
  /// pass as the loads; empty unless the solver is node-aware (locality, 1 < gpus_per_node < G).
  /// build_rank_routes takes them instead of summing the counts again.
  const std::vector<std::int64_t>& node_counts() const { return node_counts_; }

 private:
  void run(const std::int64_t* counts, const std::int64_t* loads, Plan& out);  // loads: equal to loads_
  std::int64_t cap(int g, std::int64_t level) const;
  std::int64_t set_bound(const std::vector<int>& gpus, std::int64_t load) const;
  std::int64_t expert_bound(int e, std::int64_t load) const;
  void remember_critical(const std::vector<int>& gpus);
  bool max_flow(std::int64_t level, int mode);  // mode 0 any token, 1 non-local tokens, 2 and inside nodes
  void relieve_one_hop();
  bool relieve_two_hop();  // true when some GPU is still above capacity
  std::int64_t dfs(int g, std::int64_t f, int mode);
  static constexpr int kMaskGpus = 64;  // up to this many GPUs, max_flow_masks replaces Dinic (mode 0)
  bool max_flow_masks();
  void split_pair_changes();
  std::uint64_t adjacency(int g) const;

  Placement placement_;
  SolverOptions options_;
  int G_ = 0, S_ = 0, E_ = 0;
  int gpus_per_node_ = 1;
  int uniform_d_ = 0;   // d when every expert has d replicas, else 0
  int gpu_shift_ = -1;  // log2(G) when G is a power of two, else -1
  bool node_aware() const { return options_.locality && gpus_per_node_ > 1 && gpus_per_node_ < G_; }
  std::vector<std::int64_t> node_counts_;  // [node * E + e]: tokens of the node's GPUs for e
  bool weighted_ = false;
  std::int64_t wmax_ = 1;
  std::vector<std::int64_t> w_;
  // Arcs of the GPU graph: for GPU g, arcs_[arc_begin_[g] .. arc_begin_[g+1]) = (slot, to,
  // the expert's slot on `to`: an expert's slot index may differ between its GPUs).
  std::vector<int> arc_begin_;
  std::vector<int> arc_slot_, arc_to_, arc_to_slot_;
  std::vector<int> slot_expert_;             // [g*S+j] expert or -1
  std::vector<std::int64_t> replica_count_;  // d_e
  std::vector<int> rep_begin_, rep_gpu_;     // replicas in CSR form: rep_gpu_[rep_begin_[e] ..]
  std::vector<std::int64_t> rep_x_;          // and their index g*S+j into x_
  std::vector<int> all_gpus_;
  std::vector<std::int64_t> token_index_;  // [g*S+j] -> e*G+g in Plan::tokens, or -1
  std::uint64_t id_ = 0;                   // identity for Plan buffer reuse

  // Per-solve state.
  std::vector<std::int64_t> loads_, x_, local_, gpu_load_, capv_;
  std::vector<int> level_, it_, queue_;
  std::vector<std::uint64_t> nb_mask_;  // G <= kMaskGpus: [g*S+j] the other replicas of its expert
  std::int64_t augment_count_ = 0;
  // Warm plan: x_ / gpu_load_ hold the previous plan for prev_loads_.
  std::vector<std::int64_t> prev_loads_;
  bool have_prev_ = false;

  // Warm start: the critical set and the experts inside it.
  std::vector<int> critical_gpus_;
  struct CriticalSet {
    std::vector<int> gpus, experts;  // a dense GPU set and the experts whose replicas all lie in it
  };
  static constexpr std::size_t kHistory = 4;
  std::vector<CriticalSet> history_;  // the last kHistory sets found by density jumps
  std::size_t history_next_ = 0;
  std::vector<char> mark_;
};

}  // namespace micromoe::schedule
