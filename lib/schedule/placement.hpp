// SPDX-License-Identifier: BSD-3-Clause
// Placements: which expert each (GPU, slot) of a MicroEP group holds, and the builders of
// the placement kinds MicroMoE compares (ep, random, symmetric, adaptive, redundant).
//
// An expert may sit in different slot indices on different GPUs: the data path addresses a
// replica by (GPU, slot) (slot_on), and the gradient syncs walk the experts in id order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/enum_names.hpp"

namespace micromoe::schedule {

/// A placement of E experts on G GPUs with S slots each.
///
/// `expert_at[gpu * slots_per_gpu + slot]` is the expert id held there, or -1 for an empty
/// slot. The constructor validates and indexes; after editing `expert_at` by hand call
/// `reindex()`, which validates again. A default-constructed placement is empty (G = 0).
struct Placement {
  int gpus = 0;
  int slots_per_gpu = 0;
  int experts = 0;
  std::vector<int> expert_at;

  Placement() = default;
  /// Validates (see validate()) and builds the replica index. Throws std::invalid_argument.
  Placement(int gpus, int slots_per_gpu, int experts, std::vector<int> expert_at);

  /// Expert in (gpu, slot), or -1.
  int expert(int gpu, int slot) const { return expert_at[static_cast<std::size_t>(gpu) * slots_per_gpu + slot]; }
  /// GPUs holding `expert`, ascending. Precomputed.
  const std::vector<int>& replicas(int expert) const { return replicas_[static_cast<std::size_t>(expert)]; }
  /// The slot index of every replica of `expert`, aligned with replicas(expert). Precomputed.
  const std::vector<int>& replica_slots(int expert) const { return replica_slots_[static_cast<std::size_t>(expert)]; }
  /// The slot index `expert` occupies on `gpu`, or -1 when `gpu` holds no replica of it.
  int slot_on(int gpu, int expert) const;
  /// True when every expert uses one slot index on all its GPUs (what the structured builders
  /// produce; no longer required).
  bool same_slot() const;
  /// Number of replicas of `expert`.
  int replica_count(int expert) const { return static_cast<int>(replicas(expert).size()); }
  /// d if every expert has d replicas, else 0.
  int uniform_replicas() const;

  /// Throws std::invalid_argument naming the first problem found: non-positive sizes, a wrong
  /// `expert_at` length, an id out of range, an expert on a GPU twice, an expert with no replica.
  void validate() const;
  /// Validates and rebuilds the replica index after `expert_at` was edited.
  void reindex();

  /// Compact text: one line per GPU, "gpu g: e e e ...".
  std::string to_string() const;

  friend bool operator==(const Placement& a, const Placement& b) {
    return a.gpus == b.gpus && a.slots_per_gpu == b.slots_per_gpu && a.experts == b.experts &&
           a.expert_at == b.expert_at;
  }
  friend bool operator!=(const Placement& a, const Placement& b) { return !(a == b); }

 private:
  std::vector<std::vector<int>> replicas_;
  std::vector<std::vector<int>> replica_slots_;
};

/// Standard expert parallelism (the baseline): EP size P divides G and E; S = E / P.
/// EP group k is GPUs [k*P, (k+1)*P); expert e sits on GPU k*P + e / S, slot e % S, identically
/// in every group, so each expert has G / P replicas whose replica sets are identical or disjoint.
Placement make_ep_placement(int gpus, int experts, int ep_size);

/// Shuffled placement with d = G*S/E replicas per expert (G*S must be a multiple of E, d <= G).
/// Experts are spread over the slot indices (at most floor(G/d) per slot, round robin over a
/// seeded permutation of the experts) and, within a slot, on a seeded random set of d GPUs.
/// Slots left over when d does not divide G stay empty (-1).
Placement make_random_placement(int gpus, int slots_per_gpu, int experts, std::uint64_t seed);

/// Structured placement with well-overlapping replica sets, d = G*S/E replicas per expert.
/// Every slot index is a partition of the GPUs into groups of d (for d = 2 a perfect matching)
/// built greedily so that two GPUs share as few experts as possible (for d = 2 and S <= G-1
/// no GPU pair shares two experts: the union of the matchings is a simple S-regular graph).
/// Among `candidates` seeded constructions the best is kept: fewest repeated GPU pairs, then
/// (G <= 16) the largest edge expansion min |cut(U)| / |U| over all |U| <= G/2, enumerated
/// exactly. Expert e goes to slot e / k, group e % k (k experts per slot).
Placement make_symmetric_placement(int gpus, int slots_per_gpu, int experts, std::uint64_t seed = 0,
                                   int candidates = 16);

/// The shuffled placements microep starts from: symmetric (structured) or random.
enum class PlacementKind { symmetric, random };

constexpr NameTable<2> name_table(PlacementKind) { return {"placement", {"symmetric", "random"}}; }

/// make_symmetric_placement or make_random_placement, as `kind` says (seed as theirs).
Placement make_shuffled_placement(PlacementKind kind, int gpus, int slots_per_gpu, int experts, std::uint64_t seed);

/// Result of the adaptive (asymmetric) placement.
struct AdaptivePlacement {
  Placement placement;
  std::vector<int> replica_counts;        ///< d_e chosen for every expert
  std::int64_t migrations = 0;            ///< (gpu, expert) pairs new vs `current`: expert weights to move
  std::int64_t forecast_max_load = 0;     ///< the exact optimal max GPU load for the forecast loads
  std::int64_t forecast_lower_bound = 0;  ///< ceil(sum of forecast / G): what perfect balance would be
};

/// Options of make_adaptive_placement.
struct AdaptiveOptions {
  std::uint64_t seed = 0;
  int search_iterations = 400;  ///< seeded local-search moves (each one exact solve of the forecast)
  /// Replicas every expert keeps at least (replica_floor: lowered where the memory does not
  /// allow it): 2 lets an expert that turns hot spread over two GPUs at once.
  int min_replicas = 1;
  /// Per-expert floors (schedule::adaptive_floors); when not empty they replace min_replicas
  /// (each clamped to [1, G]; their sum must fit G*S). Kept where the slot packing allows.
  std::vector<int> floors;
};

/// The replica floor the adaptive placement keeps for `min_replicas`: capped at G and lowered
/// until E experts of that many replicas pack into S slot indices of G positions
/// (floor(G / f) * S >= E); at least 1.
int replica_floor(int gpus, int slots_per_gpu, int experts, int min_replicas);

/// Asymmetric placement for a forecast load per expert (e.g. a moving average of past counts).
/// 1. Replica counts: every expert gets the floor (options.min_replicas, see there); the remaining
///    G*S - floor*E replicas go one at a time to the expert with the largest forecast load per
///    replica (ties: lower id), at most G each.
/// 2. Slots: experts (descending d_e) are packed into the S slot indices of G positions, each
///    into the slot index with the most room; an expert larger than that room continues in the
///    next one (its replicas then span slot indices, on distinct GPUs). No count is cut.
/// 3. GPUs: inside each slot index, the GPU sets start from `current` where possible (fewer
///    migrations; experts spanning slot indices first, never twice on one GPU), then a seeded
///    local search swaps GPUs between experts of a slot (never onto a GPU that already holds the
///    expert in another slot index), keeping a
///    move when the exact optimum max load for the forecast (the maximum induced density,
///    rounded up) decreases, or stays and migrations do not increase and a secondary spread
///    measure (sum over GPUs of squared forecast load share) does not worsen.
/// `current` may be null (no migration count) or a placement of the same G, S and E.
AdaptivePlacement make_adaptive_placement(int gpus, int slots_per_gpu, const std::vector<std::int64_t>& forecast_loads,
                                          const Placement* current = nullptr, const AdaptiveOptions& options = {});

/// EPLB-style redundant placement (the eplb baseline; it uses more memory): the EP placement
/// (G, E, P) plus `extra_slots_per_gpu` more slot indices. The hottest experts (greedy on forecast
/// load per replica, like EPLB) are promoted to an extra slot index where they get more replicas;
/// a promoted expert leaves its EP slot (which stays empty, -1: this variant keeps every expert in
/// one slot index) and keeps its EP GPUs, so only the added replicas move weights. Slots per GPU =
/// E/P + extra.
Placement make_redundant_placement(int gpus, int experts, int ep_size, int extra_slots_per_gpu,
                                   const std::vector<std::int64_t>& forecast_loads);

/// An exact rational number num/den (den > 0).
struct Density {
  std::int64_t num = 0;
  std::int64_t den = 1;
  double value() const { return den ? static_cast<double>(num) / static_cast<double>(den) : 0.0; }
};

/// Maximum induced density of a placement under `loads`: max over GPU sets U of
/// (load of the experts whose replicas all lie in U) / |U|. Its ceiling is the optimal
/// integral max GPU load. Exact by enumeration of all 2^G - 1 sets for G <= 16; above that
/// the densest set the exact solver proves (a lower bound whose ceiling equals the optimum).
Density max_induced_density(const Placement& placement, const std::vector<std::int64_t>& loads);

/// Expected imbalance (optimal max load / mean load) of a placement when expert popularity is
/// Zipf(s) over a random ranking of the experts: the mean over `samples` seeded rankings of the
/// exact optimum for the expected loads (`tokens` routed copies in all).
double expected_zipf_imbalance(const Placement& placement, double s, int samples = 64, std::uint64_t seed = 1,
                               std::int64_t tokens = 1 << 20);

/// Adversarial estimate of a placement's worst case under Zipf(s) popularity: a seeded hill
/// climb over rankings (swap two experts' ranks, keep the swap when the exact optimal imbalance
/// does not decrease) from `restarts` random rankings, `iterations` swaps each. A lower bound
/// on the worst ranking's imbalance (exact solver per step, so it is cheap at G <= 64).
double adversarial_zipf_imbalance(const Placement& placement, double s, int restarts = 4, int iterations = 300,
                                  std::uint64_t seed = 1, std::int64_t tokens = 1 << 20);

}  // namespace micromoe::schedule
