// SPDX-License-Identifier: BSD-3-Clause
// What the emulation measured and the figures derived from it: a micro-batch's compute time is
// its slowest rank's (the step waits for it), an iteration's the sum over its micro-batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "emulate/plan.hpp"

namespace micromoe::emulate {

/// One strategy's timings and loads. Shapes (I iterations, M micro-batches, R ranks) as in
/// StrategyPlan: seconds, flops, loads [I][M][R]; compute_time, imbalance, dropped [I][M]; [I] per iteration.
struct StrategyResult {
  std::string name;
  int iterations = 0, micro_batches = 0, ranks = 0, slots = 0;
  std::vector<double> seconds;               ///< forward + backward of each rank's experts
  std::vector<double> flops;                 ///< floating-point operations of each rank
  std::vector<std::int64_t> loads;           ///< copies each rank computed (routing.gpu_load)
  std::vector<double> compute_time;          ///< max over ranks of seconds
  std::vector<double> imbalance;             ///< max over ranks / mean over ranks of loads (1 when empty)
  std::vector<std::int64_t> dropped;         ///< copies dropped (ep-capacity)
  std::vector<std::int64_t> lower_bound;     ///< the scheduler's optimum max load (max over groups; 0: none)
  std::vector<double> memory_bound;          ///< schedule::memory_bound_imbalance (max over groups)
  std::vector<double> iteration_time;        ///< [I] sum over micro-batches of compute_time
  std::vector<std::int64_t> migrations;      ///< [I] expert copies moved after the iteration
  std::vector<std::int64_t> migrated_bytes;  ///< [I] weights and optimizer state those copies carry

  // Summary over the measured iterations (i >= warmup_iterations); -1 = undefined.
  int measured_iterations = 0;
  double median_iteration_time = -1;  ///< lower median
  double mean_imbalance = -1, max_imbalance = -1;
  double tokens_per_second = -1;  ///< tokens of all ranks per iteration / median_iteration_time
  double flop_rate = -1;          ///< sum of flops / sum of seconds over all ranks (the device's rate)
};

/// Builds the result of a plan and its per-cell timings (`seconds`, `flops` flat as plan.rows).
StrategyResult summarize(const StrategyPlan& plan, std::vector<double> seconds, std::vector<double> flops,
                         int warmup_iterations, std::int64_t tokens_per_micro_batch);

/// MicroEP against the others; -1 where a strategy is missing or a value undefined.
struct Comparison {
  double time_ratio = -1;       ///< median iteration time ep / microep
  double imbalance_ratio = -1;  ///< mean imbalance ep / microep
  double gain_capture = -1;     ///< time_ratio / imbalance_ratio (target >= 0.9)
  double microep_vs_balanced =
      -1;                        ///< T_balanced / T_microep: microep's throughput relative to balanced (target >= 0.95)
  double eplb_vs_balanced = -1;  ///< T_balanced / T_eplb
  double adaptive_vs_balanced = -1;  ///< T_balanced / T_microep-adaptive
};
Comparison compare(const std::vector<StrategyResult>& results);

/// A Markdown table of the strategies followed by the comparison lines.
std::string result_table(const std::vector<StrategyResult>& results, const Comparison& comparison);

}  // namespace micromoe::emulate
