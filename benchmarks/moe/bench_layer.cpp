// SPDX-License-Identifier: BSD-3-Clause
// Forward + backward of one MoE layer per strategy, with skewed routing, at the rank count it is
// launched with (mpiexec -n G bench_layer). Iteration counts are fixed so every rank runs the same
// collectives. Counters: imbalance (max / mean load), max_load, bytes_sent (this rank), dropped,
// and the layer's peak memory.
#include <benchmark/benchmark.h>
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "moe/layer.hpp"

namespace {

/// Swallows the output of non-root ranks.
class QuietReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

using micromoe::ExecSpace;
using micromoe::moe::MoELayer;

/// Tokens whose gate inputs favour low expert ids (skewed) through the bias feature x[:, 0] = 1.
MoELayer::Matrix make_tokens(std::int64_t T, int H, int rank) {
  MoELayer::Matrix x("bench::x", T, H);
  auto h = Kokkos::create_mirror_view(x);
  std::uint64_t z = 12345 + static_cast<std::uint64_t>(rank);
  for (std::int64_t t = 0; t < T; ++t)
    for (int c = 0; c < H; ++c) {
      z = z * 6364136223846793005ULL + 1442695040888963407ULL;
      h(t, c) = c == 0 ? 1.0f : (static_cast<float>(z >> 40) / 16777216.0f - 0.5f);
    }
  Kokkos::deep_copy(x, h);
  return x;
}

void BM_Layer(benchmark::State& state, micromoe::strategy::StrategyKind strategy) {
  int G = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &G);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  micromoe::moe::LayerConfig cfg;
  cfg.hidden = static_cast<int>(state.range(0));
  cfg.ffn = 2 * cfg.hidden;
  cfg.experts = 16;
  cfg.top_k = 2;
  cfg.strategy.kind = strategy;
  cfg.strategy.ep_size = G >= 2 ? G / 2 : 1;
  while (cfg.experts % cfg.strategy.ep_size != 0) --cfg.strategy.ep_size;
  micromoe::comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(cfg, world);
  // Skew: the gate's bias row decreases with the expert id.
  {
    auto wg = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), layer.gate_weights());
    for (int e = 0; e < cfg.experts; ++e) wg(0, e) = -0.25f * static_cast<float>(e);
    Kokkos::deep_copy(layer.gate_weights(), wg);
  }
  const std::int64_t T = state.range(1);
  const auto x = make_tokens(T, cfg.hidden, rank);
  const auto dy = make_tokens(T, cfg.hidden, rank + 1000);
  const ExecSpace exec;
  double imbalance = 0, max_load = 0, bytes = 0, dropped = 0;
  for (auto _ : state) {
    const auto y = layer.forward(exec, x);
    const auto dx = layer.backward(exec, dy);
    exec.fence();
    const auto& s = layer.last_stats();
    imbalance += s.imbalance;
    max_load += static_cast<double>(s.max_load);
    bytes += static_cast<double>(s.bytes_sent);
    dropped += static_cast<double>(s.tokens_dropped);
  }
  layer.zero_gradients(exec);
  const double n = static_cast<double>(state.iterations());
  state.counters["imbalance"] = imbalance / n;
  state.counters["max_load"] = max_load / n;
  state.counters["bytes_sent"] = bytes / n;
  state.counters["dropped"] = dropped / n;
  for (int p = 0; p < micromoe::moe::phase_count; ++p) {
    const auto phase = static_cast<micromoe::moe::Phase>(p);
    if (layer.timers().seconds(phase) > 0)
      state.counters[std::string("ms_") + micromoe::moe::phase_name(phase)] = 1e3 * layer.timers().seconds(phase) / n;
  }
  state.counters["peak_MiB"] = static_cast<double>(layer.peak_bytes()) / (1 << 20);
  state.SetItemsProcessed(state.iterations() * T);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    for (const auto kind : micromoe::enum_values<micromoe::strategy::StrategyKind>())
      benchmark::RegisterBenchmark(("BM_Layer/" + micromoe::to_string(kind)).c_str(), BM_Layer, kind)
          ->Args({64, 256})
          ->Args({256, 2048})
          ->Iterations(20)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    if (rank == 0) {
      benchmark::RunSpecifiedBenchmarks();
    } else {
      QuietReporter quiet;
      benchmark::RunSpecifiedBenchmarks(&quiet);
    }
    benchmark::Shutdown();
  }
  MPI_Finalize();
  return 0;
}
