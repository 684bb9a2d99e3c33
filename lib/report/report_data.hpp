// SPDX-License-Identifier: BSD-3-Clause
// What a run reports: one array per dataset of the report schema (report_schema.hpp), filled
// on rank 0 from the ranks' records (rank_record.hpp), their summary, and the run-wide facts.
// write_report() (report_writer.hpp) turns them into the HDF5 report docs/report.md describes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/phase.hpp"
#include "report/report_schema.hpp"

namespace micromoe::report {

/// The timed phases (lib/core/phase.hpp), in report order.
using micromoe::kPhaseCount;
using micromoe::Phase;
/// Phase names as stored in the report ("gate", "count_exchange", ...), indexed by Phase.
const std::array<const char*, kPhaseCount>& phase_names();

/// One dataset's values, row-major in its schema dimensions: `int64` or `float64` as its type says.
struct DatasetValues {
  std::vector<std::int64_t> int64;
  std::vector<double> float64;
};

/// One strategy's measurements: one flat row-major array per dataset of report_datasets()
/// (report_schema.hpp), with explicit extents. After a SIGTERM, `iterations` is the number of
/// iterations completed (may be 0).
struct StrategyResults {
  std::string name;  ///< the strategy as in decks ("ep", "microep-adaptive", ...): the group name
  int iterations = 0;
  int layers = 0;
  int micro_batches = 0;
  int ranks = 0;
  int experts = 0;                      ///< 0: no per-expert counts recorded
  std::int64_t peak_memory_bytes = 0;   ///< max over ranks
  bool trace_replayed = false;          ///< routing replayed a trace (balanced keeps its forced routing)
  std::vector<DatasetValues> datasets;  ///< indexed like report_datasets()

  /// Sets the extents and sizes every dataset to them, zero-filled.
  void resize(int iterations, int layers, int micro_batches, int ranks, int experts = 0);
  /// The extent of a dimension (phase: kPhaseCount).
  std::size_t extent(Dim dim) const;
  /// Values in `dataset` at these extents: the product of its extents.
  std::size_t size(const DatasetSpec& dataset) const;
  /// The named dataset's values; micromoe::Error for an unknown name or another element type.
  std::vector<std::int64_t>& int64(std::string_view dataset);
  const std::vector<std::int64_t>& int64(std::string_view dataset) const;
  std::vector<double>& float64(std::string_view dataset);
  const std::vector<double>& float64(std::string_view dataset) const;

  /// Flat index into a dataset of dims [I][L][M][E] (expert_copies).
  std::size_t expert_index(int iteration, int layer, int micro_batch, int expert) const {
    return index(iteration, layer, micro_batch) * static_cast<std::size_t>(experts) + static_cast<std::size_t>(expert);
  }
  /// Flat index into a dataset of dims [I][L][M][R] (loads, bytes_sent).
  std::size_t index(int iteration, int layer, int micro_batch, int rank) const {
    return index(iteration, layer, micro_batch) * static_cast<std::size_t>(ranks) + static_cast<std::size_t>(rank);
  }
  /// Flat index into a dataset of dims [I][L][M] (imbalance, tokens_dropped, schedule_us).
  std::size_t index(int iteration, int layer, int micro_batch) const {
    return (static_cast<std::size_t>(iteration) * static_cast<std::size_t>(layers) + static_cast<std::size_t>(layer)) *
               static_cast<std::size_t>(micro_batches) +
           static_cast<std::size_t>(micro_batch);
  }
  /// Flat index into a dataset of dims [I][P][R] (phase_times).
  std::size_t phase_index(int iteration, Phase phase, int rank) const {
    return (static_cast<std::size_t>(iteration) * kPhaseCount + static_cast<std::size_t>(phase)) *
               static_cast<std::size_t>(ranks) +
           static_cast<std::size_t>(rank);
  }
  /// Appends `more`'s iterations (its other extents are these results') after the last one.
  void append(const StrategyResults& more);
  /// Keeps only the first `completed` iterations of every dataset (after a SIGTERM).
  void truncate(int completed);
  /// max / mean of loads over ranks in one cell (1 where no tokens).
  double load_imbalance(int iteration, int layer, int micro_batch) const;
  /// Fills imbalance from loads (load_imbalance of every cell).
  void compute_imbalance();
  /// Empty when every dataset has the size its extents say, else what is wrong.
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
  double mean_schedule_bound = -1;  ///< mean of schedule_bound (the placement's proven optimum / mean)
  double mean_memory_bound = -1;    ///< mean of memory_bound (the best any placement of this memory reaches)
  std::int64_t migrations = 0;      ///< expert copies moved over the whole run
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
