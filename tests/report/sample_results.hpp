// SPDX-License-Identifier: BSD-3-Clause
// Small, deterministic, realistic-looking report contents for the writer and post-processing tests.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "report/report_data.hpp"

namespace micromoe::report::testing {

/// A strategy's results: loads skewed by `skew` (1 = balanced), step time growing with it.
inline StrategyResults sample_results(const std::string& name, double skew, int iterations = 5, int layers = 2,
                                      int micro_batches = 3, int ranks = 4, int experts = 6) {
  StrategyResults r;
  r.name = name;
  r.resize(iterations, layers, micro_batches, ranks, experts);
  auto& loads = r.int64("loads");
  auto& bytes_sent = r.int64("bytes_sent");
  auto& expert_copies = r.int64("expert_copies");
  auto& tokens_dropped = r.int64("tokens_dropped");
  auto& schedule_us = r.float64("schedule_us");
  auto& phase_times = r.float64("phase_times");
  auto& loss = r.float64("loss");
  auto& step_time = r.float64("step_time");
  auto& tokens_per_second = r.float64("tokens_per_second");
  for (int i = 0; i < iterations; ++i) {
    for (int l = 0; l < layers; ++l)
      for (int m = 0; m < micro_batches; ++m) {
        for (int g = 0; g < ranks; ++g) {
          const double w = g == (i + l + m) % ranks ? skew : 1.0;
          loads[r.index(i, l, m, g)] = static_cast<std::int64_t>(100 * w) + g;
          bytes_sent[r.index(i, l, m, g)] = 4096 * (g + 1) + i;
        }
        for (int e = 0; e < experts; ++e) expert_copies[r.expert_index(i, l, m, e)] = 10 * e + i + l + m;
        tokens_dropped[r.index(i, l, m)] = name == "ep-capacity" ? 7 * (m + 1) : 0;
        schedule_us[r.index(i, l, m)] = name.rfind("microep", 0) == 0 ? 20.0 + i + 3 * m : 1.0;
      }
    for (std::size_t p = 0; p < kPhaseCount; ++p)
      for (int g = 0; g < ranks; ++g)
        phase_times[r.phase_index(i, static_cast<Phase>(p), g)] = 0.001 * (p + 1) * (g == 0 ? skew : 1.0);
    loss[i] = 2.0 * std::exp(-0.3 * i);
    step_time[i] = 0.05 * skew + 0.001 * i;
    tokens_per_second[i] = ranks * micro_batches * 512 / step_time[i];
  }
  r.compute_imbalance();
  r.peak_memory_bytes = 1 << 20;
  return r;
}

inline RunInfo sample_run_info(int ranks = 4) {
  RunInfo info;
  info.build_info = {{"version", "0.1.0"}, {"git_revision", "abc123"}, {"kokkos", "3.4.01 (Serial, OpenMP)"}};
  info.deck = "[model]\nhidden = 128\n";
  info.command_line = "micromoe run sample.toml";
  for (int g = 0; g < ranks; ++g) info.hosts.push_back("node" + std::to_string(g / 2));
  info.ranks = ranks;
  info.start_time = "2026-11-29T00:00:00Z";
  info.end_time = utc_timestamp();
  info.iterations_completed = 5;
  info.warmup_iterations = 1;
  return info;
}

}  // namespace micromoe::report::testing
