// SPDX-License-Identifier: BSD-3-Clause
// Replay of recorded routing: per (iteration, layer, micro-batch) per-expert token counts,
// e.g. exported from Megatron-LM's tokens-per-expert logging (format: docs/trace.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace micromoe::workload {

/// counts(i, l, m, e): routed token copies of expert e, summed over all ranks.
struct RoutingTrace {
  int iterations = 0, layers = 0, micro_batches = 0, experts = 0;
  std::vector<std::int64_t> data;  ///< [((i * layers + l) * micro_batches + m) * experts + e]

  std::int64_t& at(int i, int l, int m, int e) {
    return data[((static_cast<std::size_t>(i) * layers + l) * micro_batches + m) * experts + e];
  }
  std::int64_t at(int i, int l, int m, int e) const {
    return data[((static_cast<std::size_t>(i) * layers + l) * micro_batches + m) * experts + e];
  }
  /// The counts of one micro-batch; a run longer than the trace cycles through it.
  std::vector<std::int64_t> micro_batch_counts(int iteration, int layer, int micro_batch) const;
};

/// Reads a CSV trace ("iteration,layer,micro_batch,expert,tokens" header, one row per
/// non-zero count; missing rows are zeros). Throws micromoe::InputError naming the file,
/// line and problem: unreadable file, bad header, non-integer or negative fields, an
/// expert id >= `experts`, a duplicate row, an empty trace.
RoutingTrace read_trace_csv(const std::string& path, int experts);

/// Turns one micro-batch's global counts into this rank's routing: expert ids [tokens][top_k]
/// (row-major), each token with top_k distinct experts, such that summed over ranks the
/// per-expert counts equal `counts` rescaled to ranks * tokens * top_k copies (largest
/// remainder; an expert is capped at one copy per token, the excess going to the others).
std::vector<int> trace_routing(const std::vector<std::int64_t>& counts, int ranks, int rank, int tokens, int top_k);

/// The per-expert copies trace_routing distributes in total (rescaled and capped counts).
std::vector<std::int64_t> rescale_counts(const std::vector<std::int64_t>& counts, std::int64_t total, std::int64_t cap);

}  // namespace micromoe::workload
