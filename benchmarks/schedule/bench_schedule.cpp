// SPDX-License-Identifier: BSD-3-Clause
// Scheduler benchmarks (ctest label perf):
//   BM_Solve/G/E/d/s100   the full solve: counts -> exact plan with locality (8 GPUs per node),
//                         warm-started along a drifting Zipf(s) micro-batch sequence
//   BM_LpGlpk/G/E/d/s100  the same instances by a warm-started GLPK dual simplex (the paper's
//                         class of method), loads -> plan; then the solver's loads -> plan on the
//                         same sequence: counter `speedup` = LP median / solver median
//   BM_Balance/kind/s100  achieved imbalance per placement kind in the paper's balance setting
// Counters: median_us, p90_us (per solve), rounds (flow rounds per solve), imbalance.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

#include "glpk_oracle.hpp"
#include "instances.hpp"
#include "percentile.hpp"
#include "schedule/placement.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"

namespace ms = micromoe::schedule;
using micromoe::bench::percentile;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kTokensPerGpu = 4096;
constexpr int kTopK = 2;
constexpr int kSequence = 48;  // micro-batches per instance sequence (cycled)

struct Instance {
  ms::Placement placement;
  std::vector<ms::CountMatrix> batches;
};

// Cached: the sequences are built once per (G, E, d, s) and shared by the solver and LP runs.
const Instance& instance(int G, int E, int d, int s100) {
  static std::map<std::tuple<int, int, int, int>, std::unique_ptr<Instance>> cache;
  auto& slot = cache[{G, E, d, s100}];
  if (!slot) {
    slot = std::make_unique<Instance>();
    const int S = E * d / G;
    slot->placement = ms::make_symmetric_placement(G, S, E, 1);
    ms::testing::DriftingZipf gen(G, E, s100 / 100.0, kTokensPerGpu, kTopK, 1000 + G + s100, std::max(1, E / 32));
    for (int t = 0; t < kSequence; ++t)
      slot->batches.push_back(static_cast<std::int64_t>(G) * kTokensPerGpu <= 64 * 4096 ? gen.next()
                                                                                        : gen.next_expected());
  }
  return *slot;
}

void set_shape_counters(benchmark::State& state, int G, int E, int d, int s100) {
  state.counters["G"] = G;
  state.counters["E"] = E;
  state.counters["d"] = d;
  state.counters["s"] = s100 / 100.0;
}

void BM_Solve(benchmark::State& state) {
  const int G = static_cast<int>(state.range(0)), E = static_cast<int>(state.range(1)),
            d = static_cast<int>(state.range(2)), s100 = static_cast<int>(state.range(3));
  const Instance& inst = instance(G, E, d, s100);
  ms::SolverOptions options;
  options.gpus_per_node = std::min(G, 8);  // nodes of 8 GPUs: node-aware locality, as a cluster runs it
  ms::Solver solver(inst.placement, options);
  ms::Plan plan;
  for (const auto& c : inst.batches) solver.solve(c, plan);  // warm up caches and the warm-start state
  std::vector<double> us;
  double rounds = 0, imbalance = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& c = inst.batches[i++ % inst.batches.size()];
    const auto t0 = Clock::now();
    solver.solve(c, plan);
    const auto t1 = Clock::now();
    const double sec = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(sec);
    us.push_back(sec * 1e6);
    rounds += plan.flow_rounds;
    imbalance += plan.imbalance();
    benchmark::DoNotOptimize(plan.max_load);
  }
  set_shape_counters(state, G, E, d, s100);
  state.counters["median_us"] = percentile(us, 0.5);
  state.counters["p90_us"] = percentile(us, 0.9);
  state.counters["rounds"] = rounds / static_cast<double>(std::max<std::size_t>(1, us.size()));
  state.counters["imbalance"] = imbalance / static_cast<double>(std::max<std::size_t>(1, us.size()));
}

void BM_LpGlpk(benchmark::State& state) {
  const int G = static_cast<int>(state.range(0)), E = static_cast<int>(state.range(1)),
            d = static_cast<int>(state.range(2)), s100 = static_cast<int>(state.range(3));
  const Instance& inst = instance(G, E, d, s100);
  ms::testing::LpMinMax lp(inst.placement);
  // Same product as the LP: the plan per (expert, replica) from the loads (Plan::slot_tokens).
  ms::SolverOptions compact;
  compact.dense_tokens = false;
  ms::Solver solver(inst.placement, compact);
  ms::Plan plan;
  std::vector<std::vector<std::int64_t>> loads;
  for (const auto& c : inst.batches) loads.push_back(c.expert_loads());
  for (const auto& l : loads) (void)lp.solve(l);  // warm up: the cold first solve is not what we compare
  for (const auto& l : loads) solver.solve_loads(l, plan);
  std::vector<double> us, solver_us;
  std::vector<double> xs(lp.columns());
  std::vector<double> mstar;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::size_t k = ++i % inst.batches.size();
    const auto t0 = Clock::now();
    mstar.push_back(lp.solve(loads[k]));
    for (std::size_t col = 0; col < lp.columns(); ++col) xs[col] = lp.x(col);  // the plan (fractional)
    const auto t1 = Clock::now();
    const double sec = std::chrono::duration<double>(t1 - t0).count();
    state.SetIterationTime(sec);
    us.push_back(sec * 1e6);
  }
  // The solver on the very same sequence of loads, in its own loop (each method warm from its
  // previous micro-batch, neither evicting the other's data from the caches): the same product
  // as the LP, an optimal plan per (expert, replica) from the loads.
  bool exact = true;
  for (std::size_t n = 0; n < mstar.size(); ++n) {
    const std::size_t k = (n + 1) % inst.batches.size();
    const auto t2 = Clock::now();
    solver.solve_loads(loads[k], plan);
    const auto t3 = Clock::now();
    solver_us.push_back(std::chrono::duration<double>(t3 - t2).count() * 1e6);
    exact = exact && plan.max_load == static_cast<std::int64_t>(std::ceil(mstar[n] - 1e-6));
  }
  set_shape_counters(state, G, E, d, s100);
  state.counters["median_us"] = percentile(us, 0.5);
  state.counters["p90_us"] = percentile(us, 0.9);
  state.counters["solver_median_us"] = percentile(solver_us, 0.5);
  state.counters["speedup"] = percentile(us, 0.5) / std::max(1e-9, percentile(solver_us, 0.5));
  state.counters["exact"] = exact ? 1 : 0;
  if (!exact) state.SkipWithError("solver max load differs from ceil(LP optimum)");
}

void solve_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"G", "E", "d", "s100"});
  const int shapes[][3] = {{8, 32, 2}, {16, 32, 2}, {32, 64, 2}, {64, 256, 2}, {256, 256, 4}, {1024, 1024, 2}};
  for (const auto& sh : shapes)
    for (int s100 : {50, 100, 150, 200}) b->Args({sh[0], sh[1], sh[2], s100});
  b->UseManualTime();
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Solve)->Apply(solve_args);
BENCHMARK(BM_LpGlpk)->Apply(solve_args);

// ---- Balance: the paper's setting --------------------------------------------------------------
// One 8-GPU MicroEP group, 32 experts, 8 slots per GPU (d = 2), top-2, 4,096 tokens per GPU,
// Zipf(s) popularity drifting between micro-batches. Kinds: 0 ep (two EP groups of 4: identical
// replica pairs), 1 random, 2 symmetric, 3 adaptive (re-placed every 50 micro-batches from an
// exponential moving average of the loads, starting from symmetric), 4 redundant (EPLB-style,
// one extra slot per GPU = 9 slots, more memory, re-placed every 50 from the same forecast).
// Imbalance = exact optimal max load / mean, averaged over micro-batches 50..249 and 4 seeds.
constexpr int kBalanceIterations = 250;
constexpr int kReplaceEvery = 50;
constexpr int kBalanceSeeds = 4;

void BM_Balance(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0)), s100 = static_cast<int>(state.range(1));
  const int G = 8, E = 32, S = 8;
  double sum = 0, worst = 0, migrations = 0;
  int n = 0, replacements = 0;
  for (auto _ : state) {
    sum = worst = migrations = 0;
    n = replacements = 0;
    for (int seed = 0; seed < kBalanceSeeds; ++seed) {
      ms::Placement p = kind == 0   ? ms::make_ep_placement(G, E, 4)
                        : kind == 1 ? ms::make_random_placement(G, S, E, 17 + seed)
                        : kind == 4 ? ms::make_ep_placement(G, E, 4)
                                    : ms::make_symmetric_placement(G, S, E, 1);
      auto solver = std::make_unique<ms::Solver>(p);
      ms::testing::DriftingZipf gen(G, E, s100 / 100.0, kTokensPerGpu, kTopK, 500 + 31 * seed + s100);
      std::vector<std::int64_t> ema(static_cast<std::size_t>(E), 0);
      for (int it = 0; it < kBalanceIterations; ++it) {
        if ((kind == 3 || kind == 4) && it > 0 && it % kReplaceEvery == 0) {
          if (kind == 3) {
            const auto a = ms::make_adaptive_placement(G, S, ema, &p);
            migrations += static_cast<double>(a.migrations);
            p = a.placement;
          } else {
            p = ms::make_redundant_placement(G, E, 4, 1, ema);
          }
          ++replacements;
          solver = std::make_unique<ms::Solver>(p);
        }
        const ms::CountMatrix c = gen.next();
        const auto loads = c.expert_loads();
        for (int e = 0; e < E; ++e)  // EMA with weight 1/8 (integer)
          ema[static_cast<std::size_t>(e)] +=
              (loads[static_cast<std::size_t>(e)] - ema[static_cast<std::size_t>(e)]) / 8;
        if (it == 0) ema = loads;
        const ms::Plan plan = solver->solve(c);
        if (it >= kReplaceEvery) {
          sum += plan.imbalance();
          worst = std::max(worst, plan.imbalance());
          ++n;
        }
      }
    }
  }
  state.counters["s"] = s100 / 100.0;
  state.counters["imbalance"] = sum / std::max(1, n);
  state.counters["worst"] = worst;
  if (kind == 3) state.counters["migrations_per_replacement"] = migrations / std::max(1, replacements);
  static const char* names[] = {"ep", "random", "symmetric", "adaptive", "redundant(eplb,+1 slot)"};
  state.SetLabel(names[kind]);
}
BENCHMARK(BM_Balance)
    ->ArgNames({"kind", "s100"})
    ->ArgsProduct({{0, 1, 2, 3, 4}, {50, 100, 150, 200}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Why a load-agnostic placement cannot reach 1.01 at s = 1: over many random popularity
// rankings (one micro-batch each, the balance setting), the distribution of the optimal
// imbalance, and the "cold GPU" bound: a GPU v can compute at most the load of the experts it
// holds, so the other G-1 GPUs carry at least total - sum_{e on v} L[e]; when v's experts are all
// cold this exceeds (G-1) * mean. kind: 0 ep, 1 random, 2 symmetric.
void BM_Rankings(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0)), s100 = static_cast<int>(state.range(1));
  const int G = 8, E = 32, S = 8, rankings = 400;
  const ms::Placement p = kind == 0   ? ms::make_ep_placement(G, E, 4)
                          : kind == 1 ? ms::make_random_placement(G, S, E, 17)
                                      : ms::make_symmetric_placement(G, S, E, 1);
  std::vector<double> imb;
  double cold_sum = 0;
  for (auto _ : state) {
    imb.clear();
    cold_sum = 0;
    for (int r = 0; r < rankings; ++r) {
      ms::testing::DriftingZipf gen(G, E, s100 / 100.0, kTokensPerGpu, kTopK, 7919 * r + 11);
      const ms::CountMatrix c = gen.next();
      const auto loads = c.expert_loads();
      ms::Solver solver(p);
      const ms::Plan plan = solver.solve(c);
      imb.push_back(plan.imbalance());
      const double mean = static_cast<double>(plan.total_tokens) / G;
      double cold = 1.0;
      for (int v = 0; v < G; ++v) {
        std::int64_t own = 0;
        for (int j = 0; j < S; ++j)
          if (p.expert(v, j) >= 0) own += loads[static_cast<std::size_t>(p.expert(v, j))];
        cold = std::max(cold, static_cast<double>(plan.total_tokens - own) / (G - 1) / mean);
      }
      cold_sum += cold;
    }
  }
  std::sort(imb.begin(), imb.end());
  double sum = 0;
  int over = 0;
  for (double v : imb) {
    sum += v;
    over += v > 1.01;
  }
  state.counters["mean"] = sum / static_cast<double>(imb.size());
  state.counters["median"] = imb[imb.size() / 2];
  state.counters["p90"] = imb[imb.size() * 9 / 10];
  state.counters["frac_over_1.01"] = over / static_cast<double>(imb.size());
  state.counters["cold_gpu_bound_mean"] = cold_sum / rankings;
  static const char* names[] = {"ep", "random", "symmetric"};
  state.SetLabel(names[kind]);
}
BENCHMARK(BM_Rankings)
    ->ArgNames({"kind", "s100"})
    ->ArgsProduct({{0, 1, 2}, {50, 80, 100}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Routes at scale (not a target; for the record).
void BM_Routes(benchmark::State& state) {
  const int G = static_cast<int>(state.range(0)), E = static_cast<int>(state.range(1)),
            d = static_cast<int>(state.range(2));
  const Instance& inst = instance(G, E, d, 100);
  ms::Solver solver(inst.placement);
  const ms::Plan plan = solver.solve(inst.batches[0]);
  ms::Routing routes;
  for (auto _ : state) {
    ms::build_routes(inst.placement, inst.batches[0], plan, 8, routes);
    benchmark::DoNotOptimize(routes.legs.data());
  }
}
BENCHMARK(BM_Routes)->Args({32, 64, 2})->Args({64, 256, 2})->Args({1024, 1024, 2})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
