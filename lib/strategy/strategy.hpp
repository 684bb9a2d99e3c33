// SPDX-License-Identifier: BSD-3-Clause
// Load-balancing strategies of the MoE layer behind one interface: where expert replicas sit
// (a schedule::Placement) and, every micro-batch, how many token copies each source sends to
// each replica (a schedule::Routing, or one rank's schedule::RankRouting: the types
// build_routes and build_rank_routes fill, filled here by every strategy). Pure host code,
// deterministic: every rank of a MicroEP group calls the same methods with the same arguments
// and gets bit-identical answers, so no routing information is ever exchanged.
//
//   ep               Megatron-style dropless EP: the replica in the source's own EP group.
//   ep-capacity      ep with a capacity factor: per source and expert at most
//                    ceil(capacity_factor * copies_of_source / E) copies, the rest dropped.
//   eplb             DeepSeek's EPLB (deepseek-ai/EPLB): G * (E/P + extra slots) replicas
//                    re-balanced every K iterations from the load history, copies split evenly
//                    over each expert's replicas.
//   microep          symmetric (or random) shuffled placement + the exact scheduler every micro-batch.
//   microep-adaptive microep + asymmetric re-placement from a hedged forecast every K iterations,
//                    or after the iteration in which a shift was detected (schedule/adaptive.hpp);
//                    every expert keeps >= 2 replicas where memory allows, copies moved per
//                    re-placement are bounded (the layer migrates weights and optimizer state).
//   balanced         force-balanced routing: top-k replaced by round-robin experts (math changes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/state_blob.hpp"
#include "schedule/placement.hpp"
#include "schedule/rank_routing.hpp"
#include "schedule/routing.hpp"
#include "schedule/solver.hpp"
#include "strategy/strategy_kind.hpp"

namespace micromoe::strategy {

/// Parameters of every strategy (each uses the ones it needs; the rest are ignored).
struct StrategyConfig {
  StrategyKind kind = StrategyKind::microep;
  int ep_size = 0;               ///< EP group size P (divides G and E); 0: gcd(G, E). S = E / P.
  double capacity_factor = 1.0;  ///< ep-capacity
  int eplb_extra_slots = 1;      ///< eplb: extra slot indices per GPU (more memory)
  int eplb_groups = 1;           ///< eplb: expert groups (DeepSeek's group-limited routing); 1: none
  int replace_interval = 50;     ///< eplb, microep-adaptive: re-place every K iterations (>= 1)
  schedule::PlacementKind placement = schedule::PlacementKind::symmetric;  ///< microep(-adaptive) initial placement
  std::uint64_t seed = 0;                                                  ///< placement seeds
  int gpus_per_node = 0;                 ///< locality order of routes; 0: all GPUs on one node
  int adaptive_search_iterations = 400;  ///< microep-adaptive local search
  int adaptive_min_replicas = 0;         ///< microep-adaptive: replica floor of every expert; 0: auto (adaptive_floors)
  int adaptive_max_migrations = 0;       ///< microep-adaptive: copies moved per re-placement; 0: G*S/2
  double adaptive_recent_weight = 0.5;   ///< microep-adaptive: EWMA weight of the newest iteration's shares
  double adaptive_shift_threshold = 1.10;  ///< microep-adaptive: proven optimum / mean above which a shift is declared
};

/// One strategy instance per layer; all ranks of the group construct it identically.
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual StrategyKind kind() const = 0;
  /// The kind's name: "ep", "microep-adaptive", ...
  std::string name() const { return to_string(kind()); }
  /// False for ep-capacity and balanced, whose math differs from the reference layer.
  virtual bool exact() const { return true; }
  /// True for balanced: the layer replaces top-k by round-robin experts.
  virtual bool forced_balance() const { return false; }
  const schedule::Placement& placement() const { return placement_; }
  /// Every rank calls with the same all-gathered counts c[s][e]; deterministic.
  virtual void route(const schedule::CountMatrix& counts, schedule::Routing& out) = 0;
  /// Rank `gpu`'s part of route()'s routing (the same numbers), in place of route() where one
  /// rank needs only its own part (the MoE layer). The default slices route()'s whole routing;
  /// microep and microep-adaptive compute only this rank's part (schedule::build_rank_routes).
  /// A strategy instance serves one rank: call either route or route_rank per micro-batch.
  virtual void route_rank(const schedule::CountMatrix& counts, int gpu, schedule::RankRouting& out);
  /// Called once per training iteration, after the optimizer step, with the iteration's expert
  /// loads L[e] (summed over micro-batches). Returns true when the placement changed: the layer
  /// then migrates expert weights and optimizer state to placement().
  virtual bool end_iteration(const std::vector<std::int64_t>& expert_loads) {
    (void)expert_loads;
    return false;
  }
  /// (gpu, expert) pairs new in the last placement change (weights moved).
  std::int64_t last_migrations() const { return last_migrations_; }
  /// Checkpoint/restart: everything the strategy's later decisions depend on (placement, load
  /// history, the solver's warm start), and its restoration into a strategy made from the same
  /// config, which then decides bit for bit like the saved one. load_state throws
  /// std::invalid_argument for a record that does not fit.
  virtual void save_state(StateWriter& out) const;
  virtual void load_state(StateReader& in);
  /// Micro-batches detected as load shifts so far (microep-adaptive; 0 for the others).
  virtual std::int64_t shifts_detected() const { return 0; }

 protected:
  schedule::Placement placement_;
  std::int64_t last_migrations_ = 0;

 private:
  schedule::Routing whole_;  // route_rank's default: the whole routing, then sliced
};

/// Builds the strategy config.kind for a MicroEP group of `gpus` ranks and `experts` experts.
/// Throws micromoe::InputError for a kind outside StrategyKind or impossible sizes.
std::unique_ptr<Strategy> make_strategy(const StrategyConfig& config, int gpus, int experts);
/// The EP size a config resolves to for G ranks and E experts.
int resolve_ep_size(const StrategyConfig& config, int gpus, int experts);

/// Per-source capacity of ep-capacity: ceil(factor * copies / experts).
std::int64_t capacity_per_expert(double capacity_factor, std::int64_t copies_of_source, int experts);

}  // namespace micromoe::strategy
