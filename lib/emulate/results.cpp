// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/results.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "strategy/strategy_kind.hpp"
#include "train/progress.hpp"

namespace micromoe::emulate {

namespace {
const StrategyResult* find(const std::vector<StrategyResult>& results, strategy::StrategyKind kind) {
  for (const auto& r : results)
    if (r.name == name_of(kind)) return &r;
  return nullptr;
}
double ratio(double a, double b) { return a > 0 && b > 0 && std::isfinite(a / b) ? a / b : -1; }
}  // namespace

StrategyResult summarize(const StrategyPlan& plan, std::vector<double> seconds, std::vector<double> flops,
                         int warmup_iterations, std::int64_t tokens_per_micro_batch) {
  StrategyResult r;
  r.name = plan.name;
  r.iterations = plan.iterations;
  r.micro_batches = plan.micro_batches;
  r.ranks = plan.ranks;
  r.slots = plan.slots;
  r.seconds = std::move(seconds);
  r.flops = std::move(flops);
  r.loads = plan.loads;
  r.dropped = plan.dropped;
  r.lower_bound = plan.lower_bound;
  r.memory_bound = plan.memory_bound;
  r.migrations = plan.migrations;
  const int I = r.iterations, M = r.micro_batches, R = r.ranks;
  r.compute_time.assign(static_cast<std::size_t>(I) * M, 0.0);
  r.imbalance.assign(r.compute_time.size(), 1.0);
  r.iteration_time.assign(static_cast<std::size_t>(I), 0.0);
  for (int i = 0; i < I; ++i)
    for (int m = 0; m < M; ++m) {
      const std::size_t im = static_cast<std::size_t>(i) * M + m;
      const auto first = plan.cell(i, m, 0);
      r.compute_time[im] = *std::max_element(r.seconds.begin() + first, r.seconds.begin() + first + R);
      const std::int64_t max = *std::max_element(r.loads.begin() + first, r.loads.begin() + first + R);
      std::int64_t sum = 0;
      for (int k = 0; k < R; ++k) sum += r.loads[first + k];
      r.imbalance[im] = sum > 0 ? static_cast<double>(max) * R / static_cast<double>(sum) : 1.0;
      r.iteration_time[static_cast<std::size_t>(i)] += r.compute_time[im];
    }

  const int first = warmup_iterations < I ? warmup_iterations : 0;
  r.measured_iterations = I - first;
  if (r.measured_iterations <= 0) return r;
  std::vector<double> times(r.iteration_time.begin() + first, r.iteration_time.end());
  const auto mid = times.begin() + static_cast<std::ptrdiff_t>((times.size() - 1) / 2);
  std::nth_element(times.begin(), mid, times.end());
  r.median_iteration_time = *mid;
  double sum = 0, max = 0;
  for (std::size_t im = static_cast<std::size_t>(first) * M; im < r.imbalance.size(); ++im) {
    sum += r.imbalance[im];
    max = std::max(max, r.imbalance[im]);
  }
  r.mean_imbalance = sum / (static_cast<double>(r.measured_iterations) * M);
  r.max_imbalance = max;
  r.tokens_per_second = ratio(static_cast<double>(tokens_per_micro_batch) * M * R, r.median_iteration_time);
  double work = 0, time = 0;
  for (std::size_t c = plan.cell(first, 0, 0); c < r.seconds.size(); ++c) {
    work += c < r.flops.size() ? r.flops[c] : 0.0;
    time += r.seconds[c];
  }
  r.flop_rate = ratio(work, time);
  return r;
}

Comparison compare(const std::vector<StrategyResult>& results) {
  Comparison c;
  using strategy::StrategyKind;
  const auto* ep = find(results, StrategyKind::ep);
  const auto* microep = find(results, StrategyKind::microep);
  const auto* eplb = find(results, StrategyKind::eplb);
  const auto* balanced = find(results, StrategyKind::balanced);
  if (ep && microep) {
    c.time_ratio = ratio(ep->median_iteration_time, microep->median_iteration_time);
    c.imbalance_ratio = ratio(ep->mean_imbalance, microep->mean_imbalance);
    c.gain_capture = ratio(c.time_ratio, c.imbalance_ratio);
  }
  if (balanced && microep)
    c.microep_vs_balanced = ratio(balanced->median_iteration_time, microep->median_iteration_time);
  if (balanced && eplb) c.eplb_vs_balanced = ratio(balanced->median_iteration_time, eplb->median_iteration_time);
  if (const auto* adaptive = find(results, StrategyKind::microep_adaptive); balanced && adaptive)
    c.adaptive_vs_balanced = ratio(balanced->median_iteration_time, adaptive->median_iteration_time);
  return c;
}

std::string result_table(const std::vector<StrategyResult>& results, const Comparison& comparison) {
  std::string text =
      "| strategy | slots | median compute / iteration | tokens/s | mean imbalance | max imbalance | TFLOP/s | "
      "migrations "
      "| dropped |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : results) {
    std::int64_t moved = 0, dropped = 0;
    for (const auto v : r.migrations) moved += v;
    for (const auto v : r.dropped) dropped += v;
    char row[400];
    std::snprintf(row, sizeof row, "| %s | %d | %s | %.4g | %.3f | %.3f | %.3g | %lld | %lld |\n", r.name.c_str(),
                  r.slots,
                  r.median_iteration_time < 0 ? "n/a" : train::format_duration(r.median_iteration_time).c_str(),
                  r.tokens_per_second, r.mean_imbalance, r.max_imbalance, r.flop_rate > 0 ? r.flop_rate * 1e-12 : -1.0,
                  static_cast<long long>(moved), static_cast<long long>(dropped));
    text += row;
  }
  const auto value = [](double v, const char* format) {
    if (v < 0) return std::string("n/a");
    char s[64];
    std::snprintf(s, sizeof s, format, v);
    return std::string(s);
  };
  text += "\nep / microep: compute time " + value(comparison.time_ratio, "%.3fx") + ", imbalance " +
          value(comparison.imbalance_ratio, "%.3fx") + ", gain captured " + value(comparison.gain_capture, "%.3f") +
          " (target >= 0.9)\n";
  text += "throughput relative to balanced: microep " + value(comparison.microep_vs_balanced, "%.3f") +
          " (target >= 0.95), microep-adaptive " + value(comparison.adaptive_vs_balanced, "%.3f") + ", eplb " +
          value(comparison.eplb_vs_balanced, "%.3f") + "\n";
  return text;
}

}  // namespace micromoe::emulate
