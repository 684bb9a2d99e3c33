// SPDX-License-Identifier: BSD-3-Clause
// The scheduler's whole per-micro-batch path on one rank (ctest label perf): all-gathered counts
// in, this rank's send legs and receive counts out, as the MoE layer runs it, beside its parts
// and beside the old path through the whole G x E route table. One thread, warm (every solver
// warm from the previous micro-batch, buffers reused), medians over the iterations.
//
//   BM_RankPath/G/E/d   counters (medians, microseconds):
//     sum_us     one pass over the counts: the loads and the per-node sums (what the solve's
//                first pass does; reported alone to show its share); sum_warm_us: the same
//                pass again with the counts already in cache
//     solve_us   Solver::solve(counts): counts -> exact plan with locality (8 GPUs per node)
//     rank_us    build_rank_routes for this rank, given the solver's per-node sums
//     path_us    solve + build_rank_routes: the new per-micro-batch path
//     table_us   build_routes, the whole table (what every rank built before)
//     old_us     solve + build_routes: the old path
//     given_us   the path with the per-node sums given (Solver::solve(counts, node_sums): what a
//                reduction beside the all-gather would deliver), so the solve sums nodes x E
//                entries instead of G x E: the path without the count pass
// The rank cycles over the GPUs from iteration to iteration (a rank's cost depends on where
// it sits: the prefix sums run from the nearer end of the node list); p90 columns too.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "instances.hpp"
#include "percentile.hpp"
#include "schedule/placement.hpp"
#include "schedule/rank_routes.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using micromoe::bench::percentile;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTokensPerGpu = 4096;
constexpr int kTopK = 2;
constexpr int kSequence = 48;  // micro-batches, cycled
constexpr int kGpusPerNode = 8;

struct Instance {
  ms::Placement placement;
  std::vector<ms::CountMatrix> batches;
  std::vector<std::vector<std::int64_t>> node_sums;  // per batch: [node * E + e] (one node: the loads)
};

// The instances of bench_schedule's solve table (symmetric placement, drifting Zipf(1.0)).
const Instance& instance(int G, int E, int d) {
  static std::map<std::tuple<int, int, int>, std::unique_ptr<Instance>> cache;
  auto& slot = cache[{G, E, d}];
  if (!slot) {
    slot = std::make_unique<Instance>();
    slot->placement = ms::make_symmetric_placement(G, E * d / G, E, 1);
    ms::testing::DriftingZipf gen(G, E, 1.0, kTokensPerGpu, kTopK, 1000 + G + 100, std::max(1, E / 32));
    for (int t = 0; t < kSequence; ++t)
      slot->batches.push_back(static_cast<std::int64_t>(G) * kTokensPerGpu <= 64 * 4096 ? gen.next()
                                                                                        : gen.next_expected());
    const int per_node = std::min(G, kGpusPerNode);
    for (const auto& c : slot->batches) {
      std::vector<std::int64_t> sums(static_cast<std::size_t>((G + per_node - 1) / per_node) * E, 0);
      for (int g = 0; g < G; ++g)
        for (int e = 0; e < E; ++e)
          sums[static_cast<std::size_t>(g / per_node) * E + e] += c.data[static_cast<std::size_t>(g) * E + e];
      slot->node_sums.push_back(std::move(sums));
    }
  }
  return *slot;
}

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count() * 1e6;
}

void add_rows(std::int64_t* __restrict acc, const std::int64_t* __restrict row, int n) {
  for (int e = 0; e < n; ++e) acc[e] += row[e];
}

/// The solve's own count pass: the per-node sums (one pass over the counts), then the loads.
void sum_counts(const ms::CountMatrix& c, int per_node, std::vector<std::int64_t>& loads,
                std::vector<std::int64_t>& node_sums) {
  const int G = c.sources, E = c.experts;
  std::fill(loads.begin(), loads.end(), 0);
  std::fill(node_sums.begin(), node_sums.end(), 0);
  for (int s = 0; s < G; ++s)
    add_rows(node_sums.data() + static_cast<std::size_t>(s / per_node) * E,
             c.data.data() + static_cast<std::size_t>(s) * E, E);
  for (std::size_t n = 0; n * static_cast<std::size_t>(E) < node_sums.size(); ++n)
    add_rows(loads.data(), node_sums.data() + n * E, E);
}

void BM_RankPath(benchmark::State& state) {
  const int G = static_cast<int>(state.range(0)), E = static_cast<int>(state.range(1)),
            d = static_cast<int>(state.range(2));
  const Instance& inst = instance(G, E, d);
  const int per_node = std::min(G, kGpusPerNode);
  ms::SolverOptions options;
  options.gpus_per_node = per_node;
  ms::Solver solver(inst.placement, options);  // the path's solver (warm along the sequence)
  ms::Solver table_solver(inst.placement, options);
  ms::Solver given_solver(inst.placement, options);  // the path with the node sums given
  ms::Plan plan, table_plan, given_plan;
  ms::RankRouting given_mine;
  ms::RankRouting mine;
  ms::Routing table;
  std::vector<std::int64_t> loads(static_cast<std::size_t>(E)),
      node_sums(static_cast<std::size_t>((G + per_node - 1) / per_node) * E);
  const auto node_counts = [&solver]() { return solver.node_counts().empty() ? nullptr : solver.node_counts().data(); };
  for (const auto& c : inst.batches) {  // warm up: caches, warm starts, buffers
    solver.solve(c, plan);
    ms::build_rank_routes(inst.placement, c, plan, per_node, G - 1, mine, node_counts());
    table_solver.solve(c, table_plan);
    ms::build_routes(inst.placement, c, table_plan, per_node, table);
  }
  const auto given_node_counts = [&given_solver]() {
    return given_solver.node_counts().empty() ? nullptr : given_solver.node_counts().data();
  };
  for (std::size_t n = 0; n < inst.batches.size(); ++n) {
    given_solver.solve(inst.batches[n], inst.node_sums[n], given_plan);
    ms::build_rank_routes(inst.placement, inst.batches[n], given_plan, per_node, G - 1, given_mine,
                          given_node_counts());
  }
  std::vector<double> sum_us, sum_warm_us, solve_us, rank_us, path_us, table_us, old_us, given_us;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = inst.batches[i % inst.batches.size()];
    const int me = static_cast<int>((i * 7919) % static_cast<std::size_t>(G));
    ++i;
    const auto t0 = Clock::now();
    solver.solve(c, plan);
    const auto t1 = Clock::now();
    ms::build_rank_routes(inst.placement, c, plan, per_node, me, mine, node_counts());
    const auto t2 = Clock::now();
    benchmark::DoNotOptimize(mine.legs.data());
    solve_us.push_back(us_between(t0, t1));
    rank_us.push_back(us_between(t1, t2));
    path_us.push_back(us_between(t0, t2));
    state.SetIterationTime(us_between(t0, t2) * 1e-6);
  }
  // The old path and the bare sum on the same sequence, each in its own loop (neither evicts
  // the other's data from the caches).
  for (std::size_t n = 0; n < i; ++n) {
    const auto& c = inst.batches[n % inst.batches.size()];
    const auto t0 = Clock::now();
    table_solver.solve(c, table_plan);
    const auto t1 = Clock::now();
    ms::build_routes(inst.placement, c, table_plan, per_node, table);
    const auto t2 = Clock::now();
    benchmark::DoNotOptimize(table.legs.data());
    table_us.push_back(us_between(t1, t2));
    old_us.push_back(us_between(t0, t2));
  }
  for (std::size_t n = 0; n < i; ++n) {  // the same ranks as the path's loop
    const std::size_t b = n % inst.batches.size();
    const int me = static_cast<int>((n * 7919) % static_cast<std::size_t>(G));
    const auto t0 = Clock::now();
    given_solver.solve(inst.batches[b], inst.node_sums[b], given_plan);
    ms::build_rank_routes(inst.placement, inst.batches[b], given_plan, per_node, me, given_mine, given_node_counts());
    const auto t1 = Clock::now();
    benchmark::DoNotOptimize(given_mine.legs.data());
    given_us.push_back(us_between(t0, t1));
  }
  for (std::size_t n = 0; n < i; ++n) {
    const auto& c = inst.batches[n % inst.batches.size()];
    const auto t0 = Clock::now();
    sum_counts(c, per_node, loads, node_sums);
    const auto t1 = Clock::now();
    benchmark::DoNotOptimize(node_sums.data());
    sum_counts(c, per_node, loads, node_sums);  // again, the counts now in cache
    const auto t2 = Clock::now();
    benchmark::DoNotOptimize(node_sums.data());
    sum_us.push_back(us_between(t0, t1));
    sum_warm_us.push_back(us_between(t1, t2));
  }
  state.counters["G"] = G;
  state.counters["E"] = E;
  state.counters["d"] = d;
  state.counters["sum_us"] = percentile(sum_us, 0.5);
  state.counters["sum_warm_us"] = percentile(sum_warm_us, 0.5);
  state.counters["solve_us"] = percentile(solve_us, 0.5);
  state.counters["rank_us"] = percentile(rank_us, 0.5);
  state.counters["rank_p90_us"] = percentile(rank_us, 0.9);
  state.counters["path_us"] = percentile(path_us, 0.5);
  state.counters["path_p90_us"] = percentile(path_us, 0.9);
  state.counters["table_us"] = percentile(table_us, 0.5);
  state.counters["old_us"] = percentile(old_us, 0.5);
  state.counters["given_us"] = percentile(given_us, 0.5);
  state.counters["given_p90_us"] = percentile(given_us, 0.9);
}

BENCHMARK(BM_RankPath)
    ->ArgNames({"G", "E", "d"})
    ->Args({8, 32, 2})
    ->Args({32, 64, 2})
    ->Args({64, 256, 2})
    ->Args({256, 256, 4})
    ->Args({1024, 1024, 2})
    ->Args({1024, 1024, 4})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
