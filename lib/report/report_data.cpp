// SPDX-License-Identifier: BSD-3-Clause
#include "report/report_data.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace micromoe::report {

const std::array<const char*, kPhaseCount>& phase_names() { return kPhaseNames; }

void StrategyResults::resize(int iterations_, int layers_, int micro_batches_, int ranks_, int experts_) {
  iterations = iterations_;
  layers = layers_;
  micro_batches = micro_batches_;
  ranks = ranks_;
  experts = experts_;
  const std::size_t ilm = static_cast<std::size_t>(iterations) * layers * micro_batches;
  loads.assign(ilm * ranks, 0);
  expert_copies.assign(ilm * static_cast<std::size_t>(std::max(experts, 0)), 0);
  bytes_sent.assign(ilm * ranks, 0);
  imbalance.assign(ilm, 0.0);
  tokens_dropped.assign(ilm, 0);
  schedule_us.assign(ilm, 0.0);
  phase_times.assign(static_cast<std::size_t>(iterations) * kPhaseCount * ranks, 0.0);
  loss.assign(iterations, 0.0);
  step_time.assign(iterations, 0.0);
  tokens_per_second.assign(iterations, 0.0);
}

void StrategyResults::truncate(int completed) {
  if (completed < 0 || completed >= iterations) return;
  const auto keep = [completed, this](auto& v) {
    v.resize(v.size() / static_cast<std::size_t>(iterations) * static_cast<std::size_t>(completed));
  };
  if (iterations > 0) {
    keep(loads);
    keep(expert_copies);
    keep(bytes_sent);
    keep(imbalance);
    keep(tokens_dropped);
    keep(schedule_us);
    keep(phase_times);
    keep(loss);
    keep(step_time);
    keep(tokens_per_second);
  }
  iterations = completed;
}

double StrategyResults::load_imbalance(int iteration, int layer, int micro_batch) const {
  const auto first = loads.begin() + static_cast<std::ptrdiff_t>(index(iteration, layer, micro_batch, 0));
  const auto last = first + ranks;
  if (ranks <= 0) return 1.0;
  const std::int64_t max = *std::max_element(first, last);
  std::int64_t sum = 0;
  for (auto it = first; it != last; ++it) sum += *it;
  return sum > 0 ? static_cast<double>(max) * ranks / static_cast<double>(sum) : 1.0;
}

void StrategyResults::compute_imbalance() {
  imbalance.assign(static_cast<std::size_t>(iterations) * layers * micro_batches, 1.0);
  for (int i = 0; i < iterations; ++i)
    for (int l = 0; l < layers; ++l)
      for (int m = 0; m < micro_batches; ++m) imbalance[index(i, l, m)] = load_imbalance(i, l, m);
}

std::string StrategyResults::shape_problem() const {
  if (experts < 0) return "experts must be >= 0 (got " + std::to_string(experts) + ")";
  if (iterations < 0 || layers < 1 || micro_batches < 1 || ranks < 1)
    return "dims must be iterations >= 0 and layers, micro_batches, ranks >= 1 (got " + std::to_string(iterations) +
           ", " + std::to_string(layers) + ", " + std::to_string(micro_batches) + ", " + std::to_string(ranks) + ")";
  const std::size_t ilm = static_cast<std::size_t>(iterations) * layers * micro_batches;
  const std::size_t r = static_cast<std::size_t>(ranks);
  const std::size_t i = static_cast<std::size_t>(iterations);
  const std::pair<const char*, std::pair<std::size_t, std::size_t>> checks[] = {
      {"loads", {loads.size(), ilm * r}},
      {"expert_copies", {expert_copies.size(), ilm * static_cast<std::size_t>(experts)}},
      {"bytes_sent", {bytes_sent.size(), ilm * r}},
      {"imbalance", {imbalance.size(), ilm}},
      {"tokens_dropped", {tokens_dropped.size(), ilm}},
      {"schedule_us", {schedule_us.size(), ilm}},
      {"phase_times", {phase_times.size(), i * kPhaseCount * r}},
      {"loss", {loss.size(), i}},
      {"step_time", {step_time.size(), i}},
      {"tokens_per_second", {tokens_per_second.size(), i}},
  };
  for (const auto& [field, sizes] : checks)
    if (sizes.first != sizes.second)
      return std::string(field) + " has " + std::to_string(sizes.first) + " values, its dims need " +
             std::to_string(sizes.second);
  return {};
}

StrategySummary summarize(const StrategyResults& r, int warmup_iterations, const StrategyResults* ep) {
  StrategySummary s;
  s.peak_memory_bytes = r.peak_memory_bytes;
  for (auto d : r.tokens_dropped) s.tokens_dropped += d;
  if (r.iterations <= 0) return s;
  const int first = warmup_iterations < r.iterations ? std::max(warmup_iterations, 0) : 0;
  s.measured_iterations = r.iterations - first;
  double time = 0, tokens = 0;
  for (int i = first; i < r.iterations; ++i) {
    time += r.step_time[static_cast<std::size_t>(i)];
    tokens += r.tokens_per_second[static_cast<std::size_t>(i)] * r.step_time[static_cast<std::size_t>(i)];
  }
  s.mean_step_time = time / s.measured_iterations;
  // Median: robust to the noise of shared machines (a lower median for an even count).
  std::vector<double> steps(r.step_time.begin() + first, r.step_time.begin() + r.iterations);
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>((steps.size() - 1) / 2), steps.end());
  s.median_step_time = steps[(steps.size() - 1) / 2];
  s.tokens_per_second = time > 0 ? tokens / time : 0.0;
  const std::size_t begin = r.index(first, 0, 0);
  const std::size_t end = r.index(r.iterations, 0, 0);
  double sum = 0, max = 0, sched = 0;
  for (std::size_t c = begin; c < end; ++c) {
    sum += r.imbalance[c];
    max = std::max(max, r.imbalance[c]);
    sched += r.schedule_us[c];
  }
  const double cells = static_cast<double>(end - begin);
  s.mean_imbalance = sum / cells;
  s.max_imbalance = max;
  s.mean_schedule_us = sched / cells;
  for (double* v : {&s.mean_step_time, &s.median_step_time, &s.tokens_per_second, &s.mean_imbalance, &s.max_imbalance,
                    &s.mean_schedule_us})
    if (!std::isfinite(*v)) *v = -1;  // summaries are never NaN: -1 = undefined
  if (ep && ep != &r) {
    const StrategySummary base = summarize(*ep, warmup_iterations, nullptr);
    // Ratio of medians: one slow iteration on a shared machine does not move it.
    if (base.median_step_time > 0 && s.median_step_time > 0)
      s.speedup_over_ep = base.median_step_time / s.median_step_time;
  } else if (ep == &r && s.median_step_time > 0) {
    s.speedup_over_ep = 1.0;
  }
  return s;
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace micromoe::report
