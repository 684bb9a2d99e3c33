// SPDX-License-Identifier: BSD-3-Clause
#include "report/report_data.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/error.hpp"

namespace micromoe::report {

const std::array<const char*, kPhaseCount>& phase_names() { return kPhaseNames; }

void StrategyResults::resize(int iterations_, int layers_, int micro_batches_, int ranks_, int experts_) {
  iterations = iterations_;
  layers = layers_;
  micro_batches = micro_batches_;
  ranks = ranks_;
  experts = experts_;
  const auto& specs = report_datasets();
  datasets.assign(specs.size(), {});
  for (std::size_t d = 0; d < specs.size(); ++d) {
    if (specs[d].type == ElementType::int64)
      datasets[d].int64.assign(size(specs[d]), 0);
    else
      datasets[d].float64.assign(size(specs[d]), 0.0);
  }
}

std::size_t StrategyResults::extent(Dim dim) const {
  const auto count = [](int n) { return static_cast<std::size_t>(std::max(n, 0)); };
  switch (dim) {
    case Dim::iteration:
      return count(iterations);
    case Dim::layer:
      return count(layers);
    case Dim::micro_batch:
      return count(micro_batches);
    case Dim::rank:
      return count(ranks);
    case Dim::expert:
      return count(experts);
    case Dim::phase:
      return kPhaseCount;
  }
  return 0;
}

std::size_t StrategyResults::size(const DatasetSpec& dataset) const {
  std::size_t n = 1;
  for (const Dim d : dataset.dims) n *= extent(d);
  return n;
}

namespace {

template <class Results>
auto& values_of(Results& r, std::string_view name, ElementType type) {
  const std::size_t d = dataset_index(name);
  if (report_datasets()[d].type != type)
    throw Error("report dataset \"" + std::string(name) + "\" is " + type_name(report_datasets()[d].type) + ", not " +
                type_name(type));
  if (d >= r.datasets.size())
    throw Error("report group " + r.name + ": dataset \"" + std::string(name) + "\" not sized (call resize first)");
  return r.datasets[d];
}

}  // namespace

std::vector<std::int64_t>& StrategyResults::int64(std::string_view dataset) {
  return values_of(*this, dataset, ElementType::int64).int64;
}
const std::vector<std::int64_t>& StrategyResults::int64(std::string_view dataset) const {
  return values_of(*this, dataset, ElementType::int64).int64;
}
std::vector<double>& StrategyResults::float64(std::string_view dataset) {
  return values_of(*this, dataset, ElementType::float64).float64;
}
const std::vector<double>& StrategyResults::float64(std::string_view dataset) const {
  return values_of(*this, dataset, ElementType::float64).float64;
}

void StrategyResults::append(const StrategyResults& more) {
  MICROMOE_REQUIRE(more.layers == layers && more.micro_batches == micro_batches && more.ranks == ranks &&
                       more.experts == experts && more.datasets.size() == datasets.size(),
                   "report group " + name + ": appended results of other extents");
  for (std::size_t d = 0; d < datasets.size(); ++d) {
    datasets[d].int64.insert(datasets[d].int64.end(), more.datasets[d].int64.begin(), more.datasets[d].int64.end());
    datasets[d].float64.insert(datasets[d].float64.end(), more.datasets[d].float64.begin(),
                               more.datasets[d].float64.end());
  }
  iterations += more.iterations;
}

void StrategyResults::truncate(int completed) {
  if (completed < 0 || completed >= iterations) return;
  const auto keep = [completed, this](auto& v) {
    v.resize(v.size() / static_cast<std::size_t>(iterations) * static_cast<std::size_t>(completed));
  };
  if (iterations > 0)
    for (auto& values : datasets) {  // every dataset's first dimension is iteration
      keep(values.int64);
      keep(values.float64);
    }
  iterations = completed;
}

double StrategyResults::load_imbalance(int iteration, int layer, int micro_batch) const {
  const auto& loads = int64("loads");
  const auto first = loads.begin() + static_cast<std::ptrdiff_t>(index(iteration, layer, micro_batch, 0));
  const auto last = first + ranks;
  if (ranks <= 0) return 1.0;
  const std::int64_t max = *std::max_element(first, last);
  std::int64_t sum = 0;
  for (auto it = first; it != last; ++it) sum += *it;
  return sum > 0 ? static_cast<double>(max) * ranks / static_cast<double>(sum) : 1.0;
}

void StrategyResults::compute_imbalance() {
  auto& imbalance = float64("imbalance");
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
  const auto& specs = report_datasets();
  if (datasets.size() != specs.size())
    return "has " + std::to_string(datasets.size()) + " datasets, the schema " + std::to_string(specs.size()) +
           " (call resize)";
  for (std::size_t d = 0; d < specs.size(); ++d) {
    const bool int64 = specs[d].type == ElementType::int64;
    const std::size_t have = int64 ? datasets[d].int64.size() : datasets[d].float64.size();
    const std::size_t other = int64 ? datasets[d].float64.size() : datasets[d].int64.size();
    if (have != size(specs[d]))
      return specs[d].name + " has " + std::to_string(have) + " values, its dims need " +
             std::to_string(size(specs[d]));
    if (other != 0) return specs[d].name + " is " + type_name(specs[d].type) + " but holds values of the other type";
  }
  return {};
}

StrategySummary summarize(const StrategyResults& r, int warmup_iterations, const StrategyResults* ep) {
  StrategySummary s;
  s.peak_memory_bytes = r.peak_memory_bytes;
  for (auto d : r.int64("tokens_dropped")) s.tokens_dropped += d;
  for (auto m : r.int64("migrations")) s.migrations += m;
  if (r.iterations <= 0) return s;
  const int first = warmup_iterations < r.iterations ? std::max(warmup_iterations, 0) : 0;
  s.measured_iterations = r.iterations - first;
  const auto& step_time = r.float64("step_time");
  const auto& tokens_per_second = r.float64("tokens_per_second");
  const auto& imbalance = r.float64("imbalance");
  const auto& schedule_us = r.float64("schedule_us");
  const auto& schedule_bound = r.float64("schedule_bound");
  const auto& memory_bound = r.float64("memory_bound");
  double time = 0, tokens = 0;
  for (int i = first; i < r.iterations; ++i) {
    time += step_time[static_cast<std::size_t>(i)];
    tokens += tokens_per_second[static_cast<std::size_t>(i)] * step_time[static_cast<std::size_t>(i)];
  }
  s.mean_step_time = time / s.measured_iterations;
  // Median: robust to the noise of shared machines (a lower median for an even count).
  std::vector<double> steps(step_time.begin() + first, step_time.begin() + r.iterations);
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>((steps.size() - 1) / 2), steps.end());
  s.median_step_time = steps[(steps.size() - 1) / 2];
  s.tokens_per_second = time > 0 ? tokens / time : 0.0;
  const std::size_t begin = r.index(first, 0, 0);
  const std::size_t end = r.index(r.iterations, 0, 0);
  double sum = 0, max = 0, sched = 0, sched_bound = 0, mem_bound = 0;
  for (std::size_t c = begin; c < end; ++c) {
    sum += imbalance[c];
    max = std::max(max, imbalance[c]);
    sched += schedule_us[c];
    sched_bound += schedule_bound[c];
    mem_bound += memory_bound[c];
  }
  const double cells = static_cast<double>(end - begin);
  s.mean_imbalance = sum / cells;
  s.max_imbalance = max;
  s.mean_schedule_us = sched / cells;
  s.mean_schedule_bound = sched_bound / cells;
  s.mean_memory_bound = mem_bound / cells;
  for (double* v : {&s.mean_step_time, &s.median_step_time, &s.tokens_per_second, &s.mean_imbalance, &s.max_imbalance,
                    &s.mean_schedule_us, &s.mean_schedule_bound, &s.mean_memory_bound})
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
