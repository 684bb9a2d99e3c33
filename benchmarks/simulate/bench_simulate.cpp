// SPDX-License-Identifier: BSD-3-Clause
// The speed of `micromoe simulate` itself (issue 15, item 7: 1,024 GPUs x 256 experts x 100
// micro-batches, all six strategies, in <= 60 s on one core): the simulation loop
// (simulate::simulate_strategies) on the shipped DeepSeek-V3-like deck and H200 calibration,
// report writing excluded. Phases: the counts alone, each strategy alone (counts included), and
// the whole loop without re-placement; the small cases are the CI-sized runs.
//   build-dir/benchmarks/simulate/bench_simulate --benchmark_filter=1024
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/enum_names.hpp"
#include "deck/deck.hpp"
#include "emulate/plan.hpp"
#include "simulate/calibration.hpp"
#include "simulate/cost_model.hpp"
#include "simulate/fast_counts.hpp"
#include "simulate/simulation.hpp"
#include "simulate/topology.hpp"
#include "strategy/strategy_kind.hpp"

namespace {

namespace ms = micromoe::simulate;
using micromoe::deck::RunConfig;

const std::string kSource = MICROMOE_SOURCE_DIR;

/// The 1,024-GPU scenario deck resolved for `gpus`, with `iterations` of 4 micro-batches.
RunConfig scenario(int gpus, int iterations, std::vector<std::string> overrides = {}) {
  overrides.push_back("cluster.calibration=" + kSource + "/inputs/calibration/h200-deepseek-v3-bf16.h5");
  overrides.push_back("training.iterations=" + std::to_string(iterations));
  const auto parsed = micromoe::deck::parse_deck(kSource + "/inputs/simulate/deepseek-v3-1024.toml", overrides);
  return micromoe::deck::resolve_layout(parsed, gpus);
}

void run_loop(benchmark::State& state, const RunConfig& resolved, int gpus) {
  const auto calibration = ms::read_calibration(resolved.cluster.calibration);
  const auto costs = ms::LayerCosts::from(resolved, calibration);
  const auto topology = ms::Topology::from(resolved.cluster);
  const auto layout = micromoe::emulate::layout_of(resolved, gpus);
  for (auto _ : state) {
    auto results = ms::simulate_strategies(resolved, layout, topology, costs);
    benchmark::DoNotOptimize(results.data());
  }
  const int mbs = resolved.training.iterations * resolved.training.micro_batches;
  state.counters["micro_batches"] = mbs;
  state.counters["strategies"] = static_cast<double>(resolved.run.strategies.size());
  state.SetItemsProcessed(state.iterations() * mbs);
}

/// All six strategies: range(0) GPUs, range(1) iterations (x 4 micro-batches).
void BM_Simulate(benchmark::State& state) {
  const int gpus = static_cast<int>(state.range(0));
  run_loop(state, scenario(gpus, static_cast<int>(state.range(1))), gpus);
}
BENCHMARK(BM_Simulate)->ArgNames({"gpus", "iterations"})->Args({128, 2})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Simulate)
    ->ArgNames({"gpus", "iterations"})
    ->Args({1024, 25})
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kSecond);

/// The same without re-placement (parallel.replace_interval beyond the run): what re-placing
/// every 5 iterations (and its migrations' pricing) adds.
void BM_SimulateNoReplacement(benchmark::State& state) {
  const int gpus = static_cast<int>(state.range(0)), iterations = static_cast<int>(state.range(1));
  run_loop(state, scenario(gpus, iterations, {"parallel.replace_interval=1000000"}), gpus);
}
BENCHMARK(BM_SimulateNoReplacement)
    ->ArgNames({"gpus", "iterations"})
    ->Args({1024, 25})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

/// One strategy alone (range(1): its index in the enum), the counts included.
void BM_SimulateOneStrategy(benchmark::State& state) {
  const int gpus = static_cast<int>(state.range(0));
  const auto kinds = micromoe::enum_values<micromoe::strategy::StrategyKind>();
  const auto kind = kinds.at(static_cast<std::size_t>(state.range(1)));
  const std::string name = micromoe::to_string(kind);
  run_loop(state, scenario(gpus, 25, {"run.strategies=[\"" + name + "\"]"}), gpus);
  state.SetLabel(name);
}
BENCHMARK(BM_SimulateOneStrategy)
    ->ArgNames({"gpus", "strategy"})
    ->ArgsProduct({{1024}, {0, 1, 2, 3, 4, 5}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

/// The binomial counts alone: every group's counts of 100 micro-batches.
void BM_Counts(benchmark::State& state) {
  const int gpus = static_cast<int>(state.range(0));
  const auto resolved = scenario(gpus, 25);
  const auto layout = micromoe::emulate::layout_of(resolved, gpus);
  for (auto _ : state) {
    ms::FastCounts counts(resolved, layout.group_size);
    for (int i = 0; i < resolved.training.iterations; ++i)
      for (int m = 0; m < resolved.training.micro_batches; ++m)
        for (int d = 0; d < layout.groups; ++d) {
          auto c = counts.counts(i, m, d);
          benchmark::DoNotOptimize(c);
        }
  }
}
BENCHMARK(BM_Counts)->ArgNames({"gpus"})->Arg(1024)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
