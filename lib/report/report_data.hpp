// SPDX-License-Identifier: BSD-3-Clause
// What a run reports: plain arrays the training loop fills (rank 0, after gathering), and the
// run-wide facts. write_report() (report_writer.hpp) turns them into the HDF5 report whose
// schema docs/report.md describes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/phase.hpp"

namespace micromoe::report {

/// The timed phases (lib/core/phase.hpp), in report order.
using micromoe::kPhaseCount;
using micromoe::Phase;
/// Phase names as stored in the report ("gate", "count_exchange", ...), indexed by Phase.
const std::array<const char*, kPhaseCount>& phase_names();

/// One strategy's measurements, row-major flat arrays with explicit dims. Shapes (I =
/// iterations, L = layers, M = micro_batches, R = ranks, P = kPhaseCount):
///   loads, bytes_sent                      [I][L][M][R]
///   imbalance, tokens_dropped, schedule_us [I][L][M]
///   phase_times                            [I][P][R]
///   loss, step_time, tokens_per_second     [I]
/// After a SIGTERM, `iterations` is the number of iterations completed (may be 0).
struct StrategyResults {
  std::string name;  ///< the strategy as in decks ("ep", "microep-adaptive", ...): the group name
  int iterations = 0;
  int layers = 0;
  int micro_batches = 0;
  int ranks = 0;
  int experts = 0;  ///< 0: no per-expert counts recorded

  std::vector<std::int64_t> loads;           ///< tokens (routed copies) computed by each rank
  std::vector<std::int64_t> expert_copies;   ///< routed copies of each expert, all ranks (before drops)
  std::vector<double> imbalance;             ///< max / mean of loads over ranks (1 = balanced)
  std::vector<double> phase_times;           ///< seconds per phase per rank, summed over the iteration
  std::vector<std::int64_t> bytes_sent;      ///< bytes each rank sent in dispatch + combine
  std::vector<std::int64_t> tokens_dropped;  ///< tokens dropped (ep-capacity), summed over ranks
  std::vector<double> schedule_us;           ///< scheduler time, microseconds (max over ranks)
  std::vector<double> loss;                  ///< training loss
  std::vector<double> step_time;             ///< seconds per iteration (max over ranks)
  std::vector<double> tokens_per_second;     ///< tokens processed per second (all ranks)
  std::int64_t peak_memory_bytes = 0;        ///< max over ranks

  /// Sets the dims and sizes every array to them, zero-filled.
  void resize(int iterations, int layers, int micro_batches, int ranks, int experts = 0);
  /// Flat index into expert_copies.
  std::size_t expert_index(int iteration, int layer, int micro_batch, int expert) const {
    return index(iteration, layer, micro_batch) * static_cast<std::size_t>(experts) + static_cast<std::size_t>(expert);
  }
  /// Flat index into loads / bytes_sent.
  std::size_t index(int iteration, int layer, int micro_batch, int rank) const {
    return index(iteration, layer, micro_batch) * static_cast<std::size_t>(ranks) + static_cast<std::size_t>(rank);
  }
  /// Flat index into imbalance / tokens_dropped / schedule_us.
  std::size_t index(int iteration, int layer, int micro_batch) const {
    return (static_cast<std::size_t>(iteration) * static_cast<std::size_t>(layers) + static_cast<std::size_t>(layer)) *
               static_cast<std::size_t>(micro_batches) +
           static_cast<std::size_t>(micro_batch);
  }
  /// Flat index into phase_times.
  std::size_t phase_index(int iteration, Phase phase, int rank) const {
    return (static_cast<std::size_t>(iteration) * kPhaseCount + static_cast<std::size_t>(phase)) *
               static_cast<std::size_t>(ranks) +
           static_cast<std::size_t>(rank);
  }
  /// Keeps only the first `completed` iterations of every array (after a SIGTERM).
  void truncate(int completed);
  /// max / mean of loads over ranks in one cell (1 where no tokens).
  double load_imbalance(int iteration, int layer, int micro_batch) const;
  /// Fills imbalance from loads (load_imbalance of every cell).
  void compute_imbalance();
  /// Empty when every array has the size its dims say, else what is wrong.
  std::string shape_problem() const;
};

/// The summary attributes of a strategy group (computed over the measured iterations:
/// those after warmup_iterations, or all of them when no more remain).
struct StrategySummary {
  int measured_iterations = 0;
  double mean_step_time = -1;     ///< seconds; -1 when no iteration was completed
  double median_step_time = -1;   ///< seconds (lower median); -1 when no iteration was completed
  double tokens_per_second = -1;  ///< total tokens / total time over the measured iterations
  double mean_imbalance = -1;
  double max_imbalance = -1;
  double mean_schedule_us = -1;
  double speedup_over_ep = -1;      ///< ep's median step time / this one's; -1 without an ep group
  std::int64_t tokens_dropped = 0;  ///< total over the whole run
  std::int64_t peak_memory_bytes = 0;
};

/// Summary of `results`; `ep` (may be null) is the ep group for speedup_over_ep.
StrategySummary summarize(const StrategyResults& results, int warmup_iterations, const StrategyResults* ep);

/// Run-wide facts stored in /run.
struct RunInfo {
  std::vector<std::pair<std::string, std::string>> build_info;  ///< micromoe::build_info()
  std::string deck;                                             ///< the effective deck (deck::render_deck)
  std::string command_line;                                     ///< argv joined by spaces
  std::vector<std::string> hosts;                               ///< host name of each rank
  int ranks = 0;
  std::string start_time;  ///< ISO 8601 UTC (utc_timestamp())
  std::string end_time;
  bool truncated = false;                 ///< stopped early by SIGTERM
  std::int64_t iterations_completed = 0;  ///< of the last strategy that ran (all of them when not truncated)
  int warmup_iterations = 0;              ///< iterations left out of the summaries
};

/// Now as "2026-11-29T01:23:45Z".
std::string utc_timestamp();

}  // namespace micromoe::report
