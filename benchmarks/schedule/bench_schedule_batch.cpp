// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule --batch`'s loop: one micro-batch of 64 GPUs x 256 experts (EP size 8: 32
// slots per GPU) through one placement, as BatchRunner routes it (input reading and output
// excluded). Seeded Zipf(1.2)-like counts that drift between micro-batches; adaptive and eplb
// re-place every 50 micro-batches (one micro-batch per iteration). The target: 10,000
// micro-batches in under 10 s on one core, i.e. under 1 ms per micro-batch.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "commands/schedule_batch.hpp"
#include "schedule/rng.hpp"

namespace {

namespace mc = micromoe::commands;
namespace sc = micromoe::schedule;

std::vector<sc::CountMatrix> drifting_counts(int G, int E, int n) {
  sc::Rng rng(7);
  std::vector<int> rank(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) rank[static_cast<std::size_t>(e)] = e;
  rng.shuffle(rank);
  std::vector<sc::CountMatrix> out;
  for (int i = 0; i < n; ++i) {
    if (i % 10 == 0) std::swap(rank[rng.below(E)], rank[rng.below(E)]);
    sc::CountMatrix c(G, E);
    for (int s = 0; s < G; ++s)
      for (int e = 0; e < E; ++e) {
        const double share = 1.0 / std::pow(rank[static_cast<std::size_t>(e)] + 1.0, 1.2);
        c(s, e) = static_cast<std::int64_t>(4096.0 * 8 * share / 4.5) + static_cast<std::int64_t>(rng.below(8));
      }
    out.push_back(std::move(c));
  }
  return out;
}

void BM_BatchMicroBatch(benchmark::State& state) {
  const auto placement = static_cast<mc::BatchPlacement>(state.range(0));
  mc::BatchLayout layout;
  layout.gpus = 64;
  layout.experts = 256;
  layout.ep_size = 8;
  layout.replace_interval = 50;
  const auto counts = drifting_counts(layout.gpus, layout.experts, 200);
  mc::BatchRunner runner(layout, {placement});
  std::vector<mc::BatchResult> results;
  mc::MicroBatch mb;
  std::size_t i = 0;
  for (auto _ : state) {
    mb.counts = counts[i % counts.size()];
    mb.iteration = static_cast<int>(i++);
    runner.route(mb, results);
    benchmark::DoNotOptimize(results.data());
  }
  state.SetLabel(mc::batch_placement_name(placement));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_BatchMicroBatch)->DenseRange(0, 4)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
