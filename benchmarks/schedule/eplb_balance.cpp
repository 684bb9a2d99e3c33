// SPDX-License-Identifier: BSD-3-Clause
// Balance of ep, the earlier eplb placement, DeepSeek's EPLB and microep on routing traces
// (docs/trace.md format, one load vector per (iteration, layer)): the table of
// docs/PERFORMANCE.md "EPLB on real routing". Usage: eplb_balance TRACE.csv... (a model's files
// share one expert count). Every (iteration >= 1, layer) is one micro-batch; eplb placements
// are fitted to the same layer's loads of the previous iteration (+1 per expert, as the
// strategy's forecast). Layouts: G = 2P GPUs, EP size P, S = E/P slots (d = 2 for ep and
// microep), eplb with one extra slot per GPU.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "schedule/eplb.hpp"
#include "schedule/placement.hpp"
#include "schedule/solver.hpp"
#include "trace_loads.hpp"

namespace ms = micromoe::schedule;

namespace {

using micromoe::bench::Loads;
using Trace = micromoe::bench::TraceLoads;  // (iteration, layer) -> loads of one file

// max GPU load / mean when every expert's load splits evenly over its physical replicas.
double even_split_imbalance(const std::vector<std::vector<int>>& replica_gpus, int gpus, const Loads& l) {
  std::vector<double> load(static_cast<std::size_t>(gpus), 0.0);
  double total = 0;
  for (std::size_t e = 0; e < l.size(); ++e) {
    total += static_cast<double>(l[e]);
    for (int g : replica_gpus[e])
      load[static_cast<std::size_t>(g)] += static_cast<double>(l[e]) / static_cast<double>(replica_gpus[e].size());
  }
  return total > 0 ? *std::max_element(load.begin(), load.end()) * gpus / total : 1.0;
}

std::vector<std::vector<int>> replica_lists(const ms::Placement& p) {
  std::vector<std::vector<int>> r(static_cast<std::size_t>(p.experts));
  for (int e = 0; e < p.experts; ++e) r[static_cast<std::size_t>(e)] = p.replicas(e);
  return r;
}

struct Stats {
  std::vector<double> v;
  double mean() const {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  }
  double quantile(double q) const {
    auto w = v;
    std::sort(w.begin(), w.end());
    return w.empty() ? 0 : w[std::min(w.size() - 1, static_cast<std::size_t>(q * static_cast<double>(w.size())))];
  }
  double max() const { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: eplb_balance TRACE.csv...\n");
    return 2;
  }
  int E = 0;
  std::vector<Trace> traces;
  for (int i = 1; i < argc; ++i) traces.push_back(micromoe::bench::read_trace_loads(argv[i], E));
  std::printf("| G, S | ep | eplb (earlier) | eplb (DeepSeek) | microep | new/old max load | new better |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
  for (int G = 8; G <= 64; ++G) {
    if (G % 2 || E % (G / 2)) continue;
    const int P = G / 2, S = E / P;
    const ms::Placement ep = ms::make_ep_placement(G, E, P);
    const ms::Placement sym = ms::make_symmetric_placement(G, S, E);
    ms::SolverOptions opt;
    opt.locality = false;
    opt.dense_tokens = false;
    ms::Solver solver(sym, opt);
    Stats s_ep, s_old, s_new, s_micro;
    double ratio = 0;
    int better = 0, n = 0;
    for (const Trace& t : traces)
      for (const auto& kv : t) {
        const auto prev = t.find({kv.first.first - 1, kv.first.second});
        if (prev == t.end()) continue;
        Loads forecast = prev->second;
        for (auto& f : forecast) f += 1;
        const Loads& l = kv.second;
        s_ep.v.push_back(even_split_imbalance(replica_lists(ep), G, l));
        const ms::Placement old = ms::make_redundant_placement(G, E, P, 1, forecast);
        const double io = even_split_imbalance(replica_lists(old), G, l);
        const auto fit = ms::make_eplb_placement(ms::eplb_rebalance_experts(forecast, G * (S + 1), 1, 1, G), G, E);
        const double in = even_split_imbalance(fit.replica_gpus, G, l);
        s_old.v.push_back(io);
        s_new.v.push_back(in);
        s_micro.v.push_back(solver.solve_loads(l).imbalance());
        ratio += in / io;
        better += in < io;
        ++n;
      }
    auto cell = [](const Stats& s) {
      char b[64];
      std::snprintf(b, sizeof b, "%.2f / %.2f / %.2f", s.mean(), s.quantile(0.9), s.max());
      return std::string(b);
    };
    std::printf("| %d, %d | %s | %s | %s | %s | %.3f | %d of %d |\n", G, S, cell(s_ep).c_str(), cell(s_old).c_str(),
                cell(s_new).c_str(), cell(s_micro).c_str(), n ? ratio / n : 0.0, better, n);
  }
  return 0;
}
