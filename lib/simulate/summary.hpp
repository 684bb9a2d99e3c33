// SPDX-License-Identifier: BSD-3-Clause
// The figures of a simulation: per strategy, the median predicted iteration time and its phase
// breakdown on the critical group (the one the iteration waited for), and the Markdown table
// `micromoe simulate` prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "simulate/simulation.hpp"

namespace micromoe::simulate {

/// Means over the measured iterations (i >= warmup_iterations); -1 = undefined. The phases
/// add up to the mean iteration time.
struct StrategySummary {
  std::string name;
  int measured_iterations = 0;
  double median_iteration_time = -1, mean_iteration_time = -1;
  double local = -1;     ///< sum over micro-batches of the critical group's slowest local work
  double exchange = -1;  ///< sum over micro-batches of 4 all-to-alls (dispatch, combine, backward)
  double compute = -1;   ///< sum over micro-batches of the critical group's slowest expert compute
  double gradient_sync = -1, optimizer = -1, migration = -1;
  double scheduler = -1;  ///< of local: the critical group's routing calls
  double mean_imbalance = -1, max_imbalance = -1;
  double tokens_per_second = -1;  ///< all ranks' tokens per iteration / median iteration time
};

StrategySummary summarize(const StrategySimulation& s, int warmup_iterations, std::int64_t tokens_per_micro_batch);

/// The table (one row per strategy, times in ms per iteration) and, with ep and microep(-adaptive)
/// present, the predicted speed-up of MicroEP over EP and its overheads.
std::string summary_table(const std::vector<StrategySummary>& summaries, int gpus);

/// Predicted speed-up median T_ep / T_name; -1 where either is missing.
double speedup_over_ep(const std::vector<StrategySummary>& summaries, const std::string& name);

}  // namespace micromoe::simulate
