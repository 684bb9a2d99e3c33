// SPDX-License-Identifier: BSD-3-Clause
// Replay of recorded routing: per (iteration, layer, micro-batch) per-expert token counts,
// optionally per source rank (format: docs/trace.md). Readers: trace_csv.cpp (CSV),
// trace_megatron.cpp (Megatron-LM's --moe-routing-trace-path JSON lines); replay:
// trace_replay.cpp.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace micromoe::workload {

/// counts(i, l, m, s, e): routed token copies of expert e sent by source rank s (one source,
/// s = 0, when the trace records only totals over all ranks).
struct RoutingTrace {
  int iterations = 0, layers = 0, micro_batches = 0, experts = 0;
  int sources = 1;                 ///< source ranks recorded (1 for a trace without a `source` column)
  bool per_source = false;         ///< the trace names its sources (CSV `source` column, Megatron ranks)
  int top_k = 0;                   ///< experts per token the trace declares (`# top_k = K`, Megatron topk); 0: not said
  std::vector<std::int64_t> data;  ///< [(((i * layers + l) * micro_batches + m) * sources + s) * experts + e]

  std::size_t offset(int i, int l, int m, int s) const {
    return (((static_cast<std::size_t>(i) * layers + l) * micro_batches + m) * sources + s) * experts;
  }
  /// The counts of one micro-batch summed over the sources; a run longer than the trace cycles
  /// through it (each index modulo the trace's extent).
  std::vector<std::int64_t> micro_batch_counts(int iteration, int layer, int micro_batch) const;
  /// The counts one source sent in one micro-batch (cycling as above).
  std::vector<std::int64_t> source_counts(int iteration, int layer, int micro_batch, int source) const;
  /// What rank `rank` of `ranks` replays from a per-source trace: the sum of the sources s with
  /// s mod ranks == rank mod sources (rank r replays source r mod S when ranks >= S; with fewer
  /// ranks than sources, rank r merges sources r, r + ranks, ...).
  std::vector<std::int64_t> rank_counts(int iteration, int layer, int micro_batch, int ranks, int rank) const;
};

/// Limits every reader enforces before any arithmetic (docs/trace.md).
constexpr std::size_t kTraceMaxLineBytes = std::size_t{1} << 26;  ///< 64 MiB: one Megatron record of ~10^6 tokens
/// iterations x layers x micro-batches x sources x experts of the dense table: 2^25 cells (256 MiB
/// of counts). A few bytes of CSV can declare a huge index, so this bounds what one line can
/// make every rank allocate; real traces are far smaller (the shared ones: <= 23,040 cells).
constexpr std::int64_t kTraceMaxCells = std::int64_t{1} << 25;
constexpr int kTraceMaxIndex = (1 << 30) - 1;  ///< any index field (iteration, layer, ..., expert)

/// Parses a trace of either format from `in`: Megatron JSON lines when the first non-blank
/// character is '{', the CSV otherwise. `name` labels error messages ("name:line: problem").
/// `experts` > 0 checks every expert id against it; `experts` <= 0 takes the largest id + 1.
/// Throws micromoe::InputError naming the line and the problem. The entry point for tools that
/// read traces without a run (micromoe schedule's batch mode).
RoutingTrace parse_trace(std::istream& in, const std::string& name, int experts);

/// The CSV format alone (header `iteration,layer,micro_batch[,source],expert,tokens`).
RoutingTrace parse_trace_csv(std::istream& in, const std::string& name, int experts);

/// Megatron-LM's router trace alone (router_trace_rank*.jsonl records, concatenated).
RoutingTrace parse_trace_megatron(std::istream& in, const std::string& name, int experts);

/// Reads a trace file (regular files only; either format). Errors as parse_trace, prefixed
/// "trace PATH".
RoutingTrace read_trace(const std::string& path, int experts);

/// The deck's top_k against the trace's declared one: InputError naming both when they differ.
void check_trace_top_k(const RoutingTrace& trace, int deck_top_k, const std::string& path);

/// How much the one-copy-per-token cap reshaped a micro-batch's rescaled counts.
struct CapEffect {
  std::int64_t moved = 0;  ///< copies moved off capped experts
  double tv_distance = 0;  ///< total-variation distance between the rescaled and the replayed shares
};

/// The per-expert copies to route in total: `counts` rescaled to `total` by the largest
/// remainder (exact integers; an all-zero row becomes uniform), then capped at `cap` per expert
/// with the excess spread over the experts below the cap in proportion to their trace counts
/// (uniformly among them when those are all zero), again by the largest remainder, repeated
/// until nothing exceeds the cap. Deterministic; the sum is `total`. `effect` (optional) says
/// what the cap moved.
std::vector<std::int64_t> rescale_counts(const std::vector<std::int64_t>& counts, std::int64_t total, std::int64_t cap,
                                         CapEffect* effect = nullptr);

/// Turns one micro-batch's global counts into this rank's routing: expert ids [tokens][top_k]
/// (row-major), each token with top_k distinct experts, such that summed over ranks the
/// per-expert counts equal rescale_counts(counts, ranks * tokens * top_k, ranks * tokens).
std::vector<int> trace_routing(const std::vector<std::int64_t>& counts, int ranks, int rank, int tokens, int top_k);

/// This rank's routing of one (iteration, layer, micro-batch): a per-source trace routes the
/// rank's own counts (RoutingTrace::rank_counts rescaled to tokens * top_k), any other trace
/// the global counts spread over the ranks (trace_routing).
std::vector<int> replay_routing(const RoutingTrace& trace, int iteration, int layer, int micro_batch, int ranks,
                                int rank, int tokens, int top_k);

/// The cap's effect over the whole trace as a run of `ranks` x `tokens` x `top_k` replays it:
/// rows (micro-batches, per rank for a per-source trace) the cap reshaped, of all rows, and the
/// largest total-variation distance it caused.
struct CapSummary {
  std::int64_t rows = 0, rows_capped = 0;
  double max_tv_distance = 0;
};
CapSummary cap_summary(const RoutingTrace& trace, int ranks, int tokens, int top_k);

}  // namespace micromoe::workload
