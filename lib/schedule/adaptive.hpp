// SPDX-License-Identifier: BSD-3-Clause
// The parts of microep-adaptive that make it survive load shifts: a forecast that hedges
// between the recent and the long-run load, a shift detector on the scheduler's proven optimum,
// a re-placement with a bounded number of expert copies moved. The detector compares with the
// memory bound (schedule/memory_bound.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "core/state_blob.hpp"
#include "schedule/memory_bound.hpp"
#include "schedule/placement.hpp"

namespace micromoe::schedule {

/// Forecast of the next loads that hedges between the recent and the long-run load: every
/// observation (an iteration's loads) is turned into shares s_e = L_e / T; the forecast share of
/// expert e is max(recent_e, longrun_e), recent an EWMA of the shares (weight `recent_weight` on
/// the newest) and longrun their mean over all observations. An expert that is hot now or was hot
/// on average keeps the replicas of its larger share, so a load that shifts back (or a recent
/// burst that fades) finds replicas in place. Doubles in a fixed order: identical on every rank.
class HedgedForecast {
 public:
  explicit HedgedForecast(int experts = 0, double recent_weight = 0.5);
  /// Adds one observation (loads.size() must equal the expert count; an all-zero one is ignored).
  void add(const std::vector<std::int64_t>& loads);
  /// After a detected shift: the recent part restarts from this observation alone (the long-run
  /// mean keeps its history).
  void restart_recent(const std::vector<std::int64_t>& loads);
  int observations() const { return observations_; }
  /// Hedged shares scaled to integers: round(scale * max(recent_e, longrun_e)) + 1 (the +1 keeps
  /// an unseen expert's weight positive). All 1 before any observation.
  static constexpr std::int64_t kScale = std::int64_t{1} << 24;  ///< forecast()'s default: a share of 1
  std::vector<std::int64_t> forecast(std::int64_t scale = kScale) const;
  const std::vector<double>& recent() const { return recent_; }
  /// The long-run mean share of every expert.
  std::vector<double> longrun() const;
  /// Checkpoint/restart: the whole state, doubles bit for bit.
  void save(StateWriter& out) const;
  void load(StateReader& in);

 private:
  double weight_;
  int observations_ = 0;
  std::vector<double> recent_, sum_;
};

/// Shift detection: a micro-batch is a shift when the scheduler's proven optimum on the current
/// placement is above `threshold` times the mean load and above `margin` times the memory bound
/// of its loads (a re-placement could help: the replica counts, not the memory, limit it).
struct ShiftOptions {
  double threshold = 1.10;
  double margin = 1.05;
};

class ShiftDetector {
 public:
  explicit ShiftDetector(ShiftOptions options = {}) : options_(options) {}
  /// One micro-batch: `optimum` is the max load the scheduler proved optimal for `loads` on a
  /// placement of G GPUs with S slots each. Returns true (and sets pending()) for a shift.
  bool observe(std::int64_t optimum, const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu);
  bool pending() const { return pending_; }
  void clear() { pending_ = false; }
  std::int64_t shifts() const { return shifts_; }  ///< micro-batches detected as shifts so far
  void save(StateWriter& out) const {
    out.put(pending_ ? 1 : 0);
    out.put(shifts_);
  }
  void load(StateReader& in) {
    pending_ = in.get() != 0;
    shifts_ = in.get();
  }

 private:
  ShiftOptions options_;
  bool pending_ = false;
  std::int64_t shifts_ = 0;
};

/// The replica floors of microep-adaptive, one per expert, for the forecast loads F and the
/// knob `min_replicas` (deck key parallel.adaptive_min_replicas). With d = min(G, floor(G*S/E)),
/// ep's replica count at this memory:
///  * min_replicas > 0: that floor for every expert, capped as replica_floor packs it.
///    min_replicas >= d keeps every expert at ep's count: never worse than ep on the first
///    micro-batch after any shift, at the price of balance (docs/layer.md).
///  * min_replicas == 0 (auto, the default): robust where the memory allows it. Every expert
///    first gets need_e = min(G, max(1, ceil(2 G F_e / T_F))) replicas (twice those that bring
///    its forecast load per replica down to the mean: headroom for a load that grows;
///    T_F = `share_scale` where the forecast is hedged shares scaled by it, else sum_e F_e).
///    The spare G*S - sum need_e then raises the experts one level at a time (to 2, then 3, ...),
///    the largest forecast first, up to ep's count d; floor_e = min(that count, d). Where the hot experts need
///    more than the memory holds (sum need_e > G*S) every floor is 1. An expert left below d
///    can make the first micro-batch after a shift up to d / floor_e times ep's max load.
/// Throws std::invalid_argument for G*S < E or a negative min_replicas.
std::vector<int> adaptive_floors(int gpus, int slots_per_gpu, const std::vector<std::int64_t>& forecast,
                                 int min_replicas, std::int64_t share_scale = 0);
/// The smallest floor adaptive_floors gives any expert for these G, S, E, whatever the forecast
/// (auto: 1): what a caller may assert of every placement.
int adaptive_floor(int gpus, int slots_per_gpu, int experts, int min_replicas);

/// Options of make_bounded_replacement.
struct ReplacementOptions {
  AdaptiveOptions adaptive;  ///< of the fresh placement (its floors / min_replicas: kept by every move)
  int max_migrations = 0;    ///< expert copies moved at most per re-placement (<= 0: unbounded)
};

/// Result of make_bounded_replacement.
struct Replacement {
  Placement placement;
  std::int64_t migrations = 0;         ///< (gpu, expert) pairs new vs the current placement
  std::int64_t forecast_max_load = 0;  ///< exact optimum for the forecast on `placement`
  std::int64_t current_max_load = 0;   ///< exact optimum for the forecast on the current placement
  bool fresh = false;                  ///< the fresh adaptive placement fitted the migration budget
};

/// The re-placement of microep-adaptive. The fresh adaptive placement for `forecast` (started
/// from `current`) when it moves at most max_migrations expert copies; otherwise at most
/// max_migrations single-copy moves from `current`, each giving one position (any GPU without
/// the expert, any slot index) to the expert with the largest forecast load per replica that can
/// take one: an empty position, else a copy of the expert with the smallest load per remaining
/// replica above its floor, where that lowers the pair's largest load per replica; among equal
/// candidates the GPU with the least forecast share. Deterministic. Callers keep `current` when
/// forecast_max_load is not below current_max_load.
Replacement make_bounded_replacement(const Placement& current, const std::vector<std::int64_t>& forecast,
                                     const ReplacementOptions& options);

}  // namespace micromoe::schedule
