// SPDX-License-Identifier: BSD-3-Clause
// Synthetic tokens that imbalance an MoE the way real training does: each token belongs to a
// cluster, clusters' popularity follows a drifting Zipf law with bursts, and a learned gate
// routes by content - so the expert loads inherit the skew, and shift over iterations.
#pragma once

#include <cstdint>
#include <vector>

#include "core/kokkos_types.hpp"
#include "workload/popularity.hpp"

namespace micromoe::workload {

struct SyntheticConfig {
  int hidden = 64;
  int tokens = 256;     ///< tokens per rank per micro-batch
  float noise = 0.25f;  ///< standard deviation of a token around its cluster centre
  PopularityConfig popularity;
};

/// Generates (iteration, micro-batch, rank) token batches as a pure function of the seed:
/// every strategy of a run sees the same data, and reruns are bit-identical.
class SyntheticWorkload {
 public:
  explicit SyntheticWorkload(const SyntheticConfig& config);

  /// Fills x[tokens, hidden] with this rank's tokens and cluster[tokens] with their clusters.
  void generate(const ExecSpace& exec, int iteration, int micro_batch, int rank, const RowMatrix<float>& x,
                const Kokkos::View<int*, MemSpace>& cluster);

  /// Cluster centres [clusters, hidden], unit-variance entries scaled to norm ~1 per token.
  RowMatrix<const float> centers() const { return centers_; }
  const SyntheticConfig& config() const { return config_; }
  /// This iteration's cluster probabilities (what the data are drawn from).
  std::vector<double> popularity(int iteration) { return schedule_.at(iteration); }

 private:
  SyntheticConfig config_;
  PopularitySchedule schedule_;
  RowMatrix<float> centers_;
  Kokkos::View<double*, MemSpace> cdf_;  ///< cumulative popularity of the current iteration
  int cdf_iteration_ = -1;
};

}  // namespace micromoe::workload
