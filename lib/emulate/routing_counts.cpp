// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/routing_counts.hpp"

#include <algorithm>

#include "workload/counter_random.hpp"

namespace micromoe::emulate {

namespace {
constexpr std::uint64_t kTokenStream = 0xe111a7e;  // emulated tokens: apart from the workload's own streams
constexpr int kAttempts = 16;                      // rejection draws before the exact scan

/// Uniform in [0, 1) from the top 53 bits.
double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace

workload::PopularityConfig popularity_config(const deck::RunConfig& c) {
  workload::PopularityConfig p;
  p.clusters = c.model.experts;  // one popularity per expert: the gate is not emulated
  p.zipf_s = c.workload.zipf_s;
  p.drift = c.workload.drift;
  p.burst_probability = c.workload.burst_probability;
  p.burst_factor = c.workload.burst_factor;
  p.seed = c.training.seed;
  return p;
}

CountSource::CountSource(const deck::RunConfig& resolved, int group_size)
    : group_size_(group_size),
      experts_(resolved.model.experts),
      tokens_(resolved.training.tokens_per_micro_batch),
      top_k_(resolved.model.top_k),
      micro_batches_(resolved.training.micro_batches),
      seed_(resolved.training.seed),
      popularity_(popularity_config(resolved)) {
  if (resolved.workload.kind == workload::WorkloadKind::trace)
    trace_ = std::make_unique<workload::RoutingTrace>(
        workload::read_trace(resolved.workload.trace_file, resolved.model.experts));
  if (trace_) workload::check_trace_top_k(*trace_, top_k_, resolved.workload.trace_file);
}

const std::vector<double>& CountSource::cdf(int iteration) {
  if (iteration != cdf_iteration_) {
    const auto p = popularity_.at(iteration);
    cdf_.resize(p.size());
    double sum = 0;
    for (std::size_t e = 0; e < p.size(); ++e) cdf_[e] = sum += p[e];
    cdf_iteration_ = iteration;
  }
  return cdf_;
}

schedule::CountMatrix CountSource::counts(int iteration, int micro_batch, int group) {
  schedule::CountMatrix c(group_size_, experts_);
  if (trace_) {
    // Every group replays the same trace, as training replays it over a group's ranks.
    for (int s = 0; s < group_size_; ++s)
      for (const int e : workload::replay_routing(*trace_, iteration, 0, micro_batch, group_size_, s, tokens_, top_k_))
        ++c(s, e);
    return c;
  }
  const auto& p = cdf(iteration);
  const auto step = static_cast<std::uint64_t>(iteration) * static_cast<std::uint64_t>(micro_batches_) +
                    static_cast<std::uint64_t>(micro_batch);
  for (int s = 0; s < group_size_; ++s) {
    const std::uint64_t seed = workload::hash_indices(seed_, kTokenStream, static_cast<std::uint64_t>(group), step,
                                                      static_cast<std::uint64_t>(s));
    const auto row = sample_expert_counts(p, tokens_, top_k_, seed, step);
    std::copy(row.begin(), row.end(), c.data.begin() + static_cast<std::ptrdiff_t>(s) * experts_);
  }
  return c;
}

schedule::CountMatrix forced_counts(int sources, int experts, int tokens, int top_k) {
  schedule::CountMatrix c(sources, experts);
  const std::int64_t copies = static_cast<std::int64_t>(tokens) * top_k;  // copy t*k+i, in order
  for (int s = 0; s < sources; ++s) {
    // Copies s, s+1, ..., s+copies-1 (mod E): every expert gets copies/E, the next copies%E one more.
    for (int e = 0; e < experts; ++e) c(s, e) = copies / experts;
    for (std::int64_t r = 0; r < copies % experts; ++r) ++c(s, static_cast<int>((s + r) % experts));
  }
  return c;
}

std::vector<std::int64_t> sample_expert_counts(const std::vector<double>& cdf, int tokens, int top_k,
                                               std::uint64_t seed, std::uint64_t stream) {
  const int E = static_cast<int>(cdf.size());
  const double total = E > 0 ? cdf.back() : 0.0;
  const auto prob = [&](int e) { return cdf[static_cast<std::size_t>(e)] - (e > 0 ? cdf[e - 1] : 0.0); };
  std::vector<std::int64_t> counts(static_cast<std::size_t>(E), 0);
  std::vector<int> chosen(static_cast<std::size_t>(top_k));
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < top_k; ++i) {
      const auto taken = [&](int e) { return std::find(chosen.begin(), chosen.begin() + i, e) != chosen.begin() + i; };
      int pick = -1;
      // Draw from the whole popularity and redraw a repeat (cheap while the chosen are few) ...
      for (int a = 0; a < kAttempts && pick < 0; ++a) {
        const double u = unit(workload::hash_indices(seed, stream, static_cast<std::uint64_t>(t),
                                                     static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(a)));
        const int e = static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), u * total) - cdf.begin());
        const int clamped = std::min(e, E - 1);
        if (!taken(clamped)) pick = clamped;
      }
      // ... and when the chosen hold most of the mass, draw exactly from the rest.
      if (pick < 0) {
        double rest = 0;
        for (int e = 0; e < E; ++e) rest += taken(e) ? 0.0 : prob(e);
        const double target = unit(workload::hash_indices(seed, stream, static_cast<std::uint64_t>(t),
                                                          static_cast<std::uint64_t>(i), kAttempts)) *
                              rest;
        double acc = 0;
        for (int e = 0; e < E; ++e) {
          if (taken(e)) continue;
          pick = e;  // the last free expert absorbs rounding
          acc += prob(e);
          if (acc > target) break;
        }
      }
      chosen[static_cast<std::size_t>(i)] = pick;
      ++counts[static_cast<std::size_t>(pick)];
    }
  }
  return counts;
}

}  // namespace micromoe::emulate
