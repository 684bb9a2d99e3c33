// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/summary.hpp"

#include <algorithm>
#include <cstdio>

namespace micromoe::simulate {

StrategySummary summarize(const StrategySimulation& s, int warmup, std::int64_t tokens_per_micro_batch) {
  StrategySummary out;
  out.name = s.name;
  const int first = std::min(warmup, s.iterations - 1);  // at least one iteration counts
  std::vector<double> times;
  double local = 0, exchange = 0, compute = 0, sync = 0, opt = 0, migration = 0, scheduler = 0;
  double imbalance = 0, worst = 0;
  int cells = 0;
  const int G = s.group_size;
  for (int i = std::max(first, 0); i < s.iterations; ++i) {
    const int d = s.critical_group[static_cast<std::size_t>(i)];
    for (int m = 0; m < s.micro_batches; ++m) {
      double most_local = 0, most_compute = 0;
      for (int g = 0; g < G; ++g) {
        const std::size_t cell = s.rank_cell(i, m, d * G + g);
        most_local = std::max(most_local, s.local[cell]);
        most_compute = std::max(most_compute, s.compute[cell]);
      }
      local += most_local;
      compute += most_compute;
      exchange += 4.0 * s.dispatch[s.group_cell(i, m, d)];
      scheduler += s.scheduler[s.group_cell(i, m, d)];
      const double b = s.imbalance[static_cast<std::size_t>(i) * s.micro_batches + m];
      imbalance += b;
      worst = std::max(worst, b);
      ++cells;
    }
    sync += s.gradient_sync[static_cast<std::size_t>(i)];
    opt += s.optimizer[static_cast<std::size_t>(i)];
    migration += s.migration[static_cast<std::size_t>(i)];
    times.push_back(s.iteration_time[static_cast<std::size_t>(i)]);
  }
  out.measured_iterations = static_cast<int>(times.size());
  if (times.empty()) return out;
  const double n = static_cast<double>(times.size());
  out.local = local / n;
  out.exchange = exchange / n;
  out.compute = compute / n;
  out.gradient_sync = sync / n;
  out.optimizer = opt / n;
  out.migration = migration / n;
  out.scheduler = scheduler / n;
  out.mean_imbalance = cells > 0 ? imbalance / cells : -1;
  out.max_imbalance = cells > 0 ? worst : -1;
  double sum = 0;
  for (const double t : times) sum += t;
  out.mean_iteration_time = sum / n;
  std::sort(times.begin(), times.end());
  out.median_iteration_time = times[(times.size() - 1) / 2];  // the lower median, as emulate's
  if (out.median_iteration_time > 0)
    out.tokens_per_second = static_cast<double>(s.ranks) * static_cast<double>(tokens_per_micro_batch) *
                            s.micro_batches / out.median_iteration_time;
  return out;
}

double speedup_over_ep(const std::vector<StrategySummary>& summaries, const std::string& name) {
  const StrategySummary *ep = nullptr, *other = nullptr;
  for (const auto& s : summaries) {
    if (s.name == "ep") ep = &s;
    if (s.name == name) other = &s;
  }
  if (!ep || !other || ep->median_iteration_time <= 0 || other->median_iteration_time <= 0) return -1;
  return ep->median_iteration_time / other->median_iteration_time;
}

std::string summary_table(const std::vector<StrategySummary>& summaries, int gpus) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line),
                "Predicted (micromoe simulate, %d GPUs): ms per iteration, phases on the critical group\n\n", gpus);
  out += line;
  out +=
      "| strategy | iteration (median) | vs ep | local | all-to-all | expert compute | grad sync | optimizer | "
      "migration | of local: scheduler | imbalance (mean) |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& s : summaries) {
    const double up = speedup_over_ep(summaries, s.name);
    char ratio[32] = "-";
    if (up > 0) std::snprintf(ratio, sizeof(ratio), "%.2fx", up);
    std::snprintf(line, sizeof(line), "| %s | %.3f | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n",
                  s.name.c_str(), s.median_iteration_time * 1e3, ratio, s.local * 1e3, s.exchange * 1e3,
                  s.compute * 1e3, s.gradient_sync * 1e3, s.optimizer * 1e3, s.migration * 1e3, s.scheduler * 1e3,
                  s.mean_imbalance);
    out += line;
  }
  const StrategySummary* ep = nullptr;
  for (const auto& s : summaries)
    if (s.name == "ep") ep = &s;
  for (const auto& s : summaries) {
    if (!ep || (s.name != "microep" && s.name != "microep-adaptive")) continue;
    std::snprintf(line, sizeof(line),
                  "\nPrediction: %s over ep at %d GPUs: %.2fx the iteration rate; expert compute %+.3f ms, "
                  "all-to-all %+.3f ms, scheduler %+.3f ms, migration %+.3f ms per iteration",
                  s.name.c_str(), gpus, speedup_over_ep(summaries, s.name), (s.compute - ep->compute) * 1e3,
                  (s.exchange - ep->exchange) * 1e3, (s.scheduler - ep->scheduler) * 1e3,
                  (s.migration - ep->migration) * 1e3);
    out += line;
  }
  if (ep) out += "\n";
  return out;
}

}  // namespace micromoe::simulate
