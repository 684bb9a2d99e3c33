// SPDX-License-Identifier: BSD-3-Clause
// How popular each token cluster is, iteration by iteration: Zipf(s) over a ranking of the
// clusters that drifts as training goes on, with occasional bursts of one cluster.
#pragma once

#include <cstdint>
#include <vector>

namespace micromoe::workload {

struct PopularityConfig {
  int clusters = 64;
  double zipf_s = 1.0;             ///< Zipf exponent: weight of the r-th most popular is (r+1)^-s
  double drift = 0.05;             ///< fraction of clusters that swap rank with a neighbour per iteration
  double burst_probability = 0.0;  ///< chance per iteration that one cluster bursts
  double burst_factor = 4.0;       ///< weight multiplier of a bursting cluster
  std::uint64_t seed = 1;
};

/// Deterministic in (config, iteration): every rank and every strategy of a run computes the
/// same probabilities. Cheap to query in increasing iteration order (the ranking is advanced
/// incrementally); querying an earlier iteration replays from the start.
class PopularitySchedule {
 public:
  explicit PopularitySchedule(const PopularityConfig& config);

  /// Probability of each cluster at `iteration` (sums to 1).
  std::vector<double> at(int iteration);

  const PopularityConfig& config() const { return config_; }

 private:
  void advance_to(int iteration);

  PopularityConfig config_;
  std::vector<int> ranking_;  ///< ranking_[r] = cluster at popularity rank r
  int ranking_iteration_ = 0;
};

}  // namespace micromoe::workload
