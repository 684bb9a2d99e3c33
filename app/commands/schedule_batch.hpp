// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule --batch`: many micro-batches through every placement the product has, as
// the MoE layer's strategies place and route them (ep as EP routes it, symmetric and random with
// the exact scheduler, adaptive with its re-placement every K iterations, eplb), one result per
// micro-batch and placement, and summary statistics with bounds (docs/schedule.md).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "schedule/solver.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::commands {

/// The placements batch mode compares, in their output order.
enum class BatchPlacement { ep, symmetric, random, adaptive, eplb };
const char* batch_placement_name(BatchPlacement p);
/// Parses "ep,symmetric,..." (each at most once). Throws InputError naming an unknown name.
std::vector<BatchPlacement> parse_batch_placements(const std::string& list);

/// The MicroEP group the micro-batches run on.
struct BatchLayout {
  int gpus = 0;               ///< G
  int experts = 0;            ///< E
  int ep_size = 0;            ///< P (0: gcd(G, E)); S = E / P slots per GPU (eplb: + extra)
  int gpus_per_node = 0;      ///< 0: one node
  int replace_interval = 50;  ///< adaptive, eplb: re-place every K iterations
  int eplb_extra_slots = 1;   ///< eplb: extra slot indices per GPU (more memory)
  std::uint64_t seed = 0;     ///< symmetric, random, adaptive placement seeds
  int adaptive_search_iterations = 400;
};

/// One micro-batch: its place in the run and the routing counts c[source][expert] (G x E).
struct MicroBatch {
  int iteration = 0, layer = 0, micro_batch = 0;
  schedule::CountMatrix counts;
};

/// One micro-batch under one placement.
struct BatchResult {
  int iteration = 0, layer = 0, micro_batch = 0;
  std::int64_t total_tokens = 0;
  std::int64_t max_load = 0;    ///< the max GPU load as the placement's strategy routes it
  std::int64_t optimum = 0;     ///< the exact optimum of max load on this placement (the solver)
  double memory_bound = 0.0;    ///< the best any placement of this memory could reach (schedule::MemoryBound)
  bool replaced = false;        ///< the placement changed before this micro-batch
  std::int64_t migrations = 0;  ///< with replaced: (GPU, expert) pairs moved
  std::vector<std::int64_t> gpu_load;
  double mean_load() const { return gpu_load.empty() ? 0.0 : static_cast<double>(total_tokens) / gpu_load.size(); }
  /// max_load / mean load (1 without tokens), like Plan::imbalance.
  double imbalance() const { return ratio(static_cast<double>(max_load)); }
  double optimum_imbalance() const { return ratio(static_cast<double>(optimum)); }
  double memory_bound_imbalance() const { return ratio(memory_bound); }

 private:
  double ratio(double load) const { return total_tokens > 0 ? load / mean_load() : 1.0; }
};

/// Runs micro-batches through the placements. One strategy per (placement, layer), as the layer
/// has one per MoE layer; each gets end_iteration() with its iteration's summed expert loads
/// when the iteration number advances (that is where adaptive and eplb re-place).
class BatchRunner {
 public:
  /// Throws InputError for sizes the strategies refuse (ep_size not dividing G and E, ...).
  BatchRunner(const BatchLayout& layout, std::vector<BatchPlacement> placements);
  ~BatchRunner();
  BatchRunner(const BatchRunner&) = delete;
  BatchRunner& operator=(const BatchRunner&) = delete;

  const std::vector<BatchPlacement>& placements() const { return placements_; }
  /// The EP size P in use (layout.ep_size, or gcd(G, E) when that is 0).
  int ep_size() const { return ep_size_; }
  /// Slot indices per GPU of a placement's memory (eplb: E/P + extra).
  int memory_slots(BatchPlacement p) const;
  /// Routes `mb` with every placement: results[k] for placements()[k] (resized). Iterations must
  /// not decrease (InputError otherwise); counts must be G x E.
  void route(const MicroBatch& mb, std::vector<BatchResult>& results);

 private:
  struct Lane;
  Lane& lane(std::size_t placement, int layer);
  BatchLayout layout_;
  int ep_size_ = 0;
  std::vector<BatchPlacement> placements_;
  std::vector<std::map<int, std::unique_ptr<Lane>>> lanes_;  // [placement][layer]
  int iteration_ = -1;
  std::vector<std::int64_t> loads_;
};

/// Per placement: how many micro-batches, and the mean / p90 / max of the imbalance, of the
/// placement's optimum and of the memory bound (each max load / mean load), re-placements.
struct BatchSummary {
  std::string placement;
  std::int64_t micro_batches = 0;
  double mean = 1.0, p90 = 1.0, max = 1.0;                 ///< imbalance as routed
  double optimum_mean = 1.0, optimum_max = 1.0;            ///< the placement's proven optimum
  double memory_bound_mean = 1.0, memory_bound_max = 1.0;  ///< best placement of this memory
  std::int64_t replacements = 0, migrations = 0;
};

/// The summary of one placement's results. p90 is the nearest-rank percentile: the
/// ceil(0.9 n)-th smallest imbalance.
BatchSummary summarize(const std::string& placement, const std::vector<BatchResult>& results);

/// The command line of batch mode.
struct ScheduleBatchOptions {
  std::string input;  ///< a trace CSV, or JSON lines ("-": JSON lines on standard input)
  std::string placements = "ep,symmetric,random,adaptive,eplb";
  BatchLayout layout;
  std::string out;  ///< "" : JSON lines on stdout; FILE.jsonl or FILE.h5
};

/// Runs batch mode: 0 success; 2 bad input or options (one "error: ..." line on `err`, no
/// output file left); 1 an internal error. Without `out` the results are JSON lines on `out`
/// followed by one summary line; with it the summary (JSON) goes to `out`.
int run_schedule_batch(const ScheduleBatchOptions& options, std::ostream& out, std::ostream& err);

}  // namespace micromoe::commands
