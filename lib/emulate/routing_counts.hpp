// SPDX-License-Identifier: BSD-3-Clause
// The routing counts c[s][e] an emulated MicroEP group sees, micro-batch by micro-batch: drawn
// from the deck's expert popularity (synthetic), replayed from a trace, or balanced's forced
// round robin. No gate runs: the counts are what a gate with that popularity would produce.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "deck/run_config.hpp"
#include "schedule/solver.hpp"
#include "workload/popularity.hpp"
#include "workload/trace.hpp"

namespace micromoe::emulate {

/// The expert popularity of a deck: one Zipf(s) popularity per expert, drifting and bursting
/// as the deck's workload says (the gate is not emulated; workload.clusters is not used).
workload::PopularityConfig popularity_config(const deck::RunConfig& resolved);

/// Counts of every (iteration, micro-batch, group) of a resolved deck: a pure function of the
/// deck, so reruns and every strategy see the same routing. Groups draw their own tokens
/// (distinct seeds); the popularity is shared, as all data-parallel groups train one model.
class CountSource {
 public:
  /// `group_size` ranks per MicroEP group. Throws InputError for an unreadable trace.
  CountSource(const deck::RunConfig& resolved, int group_size);

  /// c[s][e] of the group's ranks s: tokens_per_micro_batch tokens each, top_k distinct
  /// experts per token (synthetic: drawn from the popularity at `iteration`; trace: the
  /// trace's counts spread over the ranks as training replays them).
  schedule::CountMatrix counts(int iteration, int micro_batch, int group);

 private:
  const std::vector<double>& cdf(int iteration);

  int group_size_, experts_, tokens_, top_k_, micro_batches_;
  std::uint64_t seed_;
  workload::PopularitySchedule popularity_;
  std::unique_ptr<workload::RoutingTrace> trace_;
  std::vector<double> cdf_;
  int cdf_iteration_ = -1;
};

/// Balanced's forced routing (the layer's gate_select when forced): token t's i-th copy on
/// group rank s goes to expert (t * top_k + i + s) mod experts.
schedule::CountMatrix forced_counts(int sources, int experts, int tokens, int top_k);

/// Per-expert copies of `tokens` tokens, each sent to `top_k` distinct experts drawn without
/// replacement from the cumulative popularity `cdf` (cdf.back() is the total). Counter-based:
/// token t's i-th draw hashes (seed, stream, t, i), so the result is independent of order.
std::vector<std::int64_t> sample_expert_counts(const std::vector<double>& cdf, int tokens, int top_k,
                                               std::uint64_t seed, std::uint64_t stream);

}  // namespace micromoe::emulate
