// SPDX-License-Identifier: BSD-3-Clause
// Routing counts for thousands of ranks (cluster.fast_counts): instead of drawing every token's
// top-k experts (emulate::CountSource, exact but O(tokens * k) per rank), each rank's count of
// expert e is one binomial draw Binomial(tokens, pi_e), where pi_e is the chance that a token
// picks e among its k distinct experts, approximated by k * p_e capped at 1 with the excess
// spread over the other experts (water filling). Same popularity, same mean counts; the counts
// of one rank no longer sum to exactly tokens * k.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "deck/run_config.hpp"
#include "schedule/solver.hpp"
#include "workload/popularity.hpp"

namespace micromoe::simulate {

/// pi_e: min(1, c * p_e) with c chosen so that the pi sum to min(k, experts with p_e > 0).
std::vector<double> inclusion_probabilities(const std::vector<double>& popularity, int top_k);

class FastCounts {
 public:
  FastCounts(const deck::RunConfig& resolved, int group_size);
  /// c[s][e] of the group's ranks at (iteration, micro-batch): counter-based, the same for the
  /// same arguments in any order.
  schedule::CountMatrix counts(int iteration, int micro_batch, int group);

 private:
  int group_size_, experts_, tokens_, top_k_, micro_batches_;
  std::uint64_t seed_;
  workload::PopularitySchedule popularity_;
  std::vector<double> pi_;
  /// Binomial(tokens, pi_e)'s parameters, set up once per iteration: their set-up (logs, square
  /// roots) cost more than the draw itself when made for every draw.
  std::vector<std::binomial_distribution<std::int64_t>::param_type> binomial_;
  int pi_iteration_ = -1;
};

}  // namespace micromoe::simulate
