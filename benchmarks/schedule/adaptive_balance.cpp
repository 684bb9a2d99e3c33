// SPDX-License-Identifier: BSD-3-Clause
// Balance of every placement strategy on routing traces and on synthetic domain switches, with
// the bounds: the table of docs/PERFORMANCE.md "Balance on real routing". Each strategy is the
// real one (strategy::make_strategy, replace_interval 1: eplb and microep-adaptive see the
// previous micro-batch's loads) routing every micro-batch in order; a micro-batch's tokens come
// from the G sources evenly. Also per micro-batch: the oracle (the adaptive placement fitted to
// that micro-batch's own loads, exact optimum) and the memory bound (schedule::memory_bound).
//
//   adaptive_balance [options] TRACE.csv...   each file's layers are streams of micro-batches
//                                             (one per iteration); "switch" also chains the
//                                             files of each layer in the order given
//   adaptive_balance --synthetic E [options]  Zipf(s) popularity over a ranking drawn afresh
//                                             every --switch-every micro-batches
// Options: --d 2|4 (replicas per expert of ep: G = d * P; default both), --gpus 8,16,32,64,
// --oracle-search N (local-search moves of the oracle, default 100), --max-migrations N
// (microep-adaptive, 0: its default G*S/2), --min-replicas N (its floor, default 0: auto),
// --shift-threshold x (its detector, default 1.10), --micro-batches N, --switch-every N, --zipf s,
// --seeds N (synthetic: N streams, seeds 7, 8, ...; --micro-batches 2N --switch-every N: one switch).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "percentile.hpp"
#include "schedule/adaptive.hpp"
#include "schedule/placement.hpp"
#include "schedule/rng.hpp"
#include "strategy/strategy.hpp"
#include "trace_loads.hpp"

namespace ms = micromoe::schedule;
namespace st = micromoe::strategy;
using micromoe::bench::percentile;

namespace {

using micromoe::bench::Loads;
using Stream = std::vector<Loads>;  // micro-batches in order

// (iteration, layer) -> loads of one file; an unreadable file ends the tool with exit 2.
micromoe::bench::TraceLoads read_trace(const std::string& path, int& experts) {
  try {
    return micromoe::bench::read_trace_loads(path, experts);
  } catch (const std::runtime_error&) {
    std::fprintf(stderr, "adaptive_balance: cannot read %s\n", path.c_str());
    std::exit(2);
  }
}

// One stream per layer, iterations in order.
std::map<int, Stream> layer_streams(const micromoe::bench::TraceLoads& t) {
  std::map<int, Stream> s;
  for (const auto& kv : t) s[kv.first.second].push_back(kv.second);
  return s;
}

Stream synthetic_stream(int E, int n, int switch_every, double zipf, std::uint64_t seed) {
  ms::Rng rng(seed);
  std::vector<int> rank(static_cast<std::size_t>(E));
  Stream out;
  const double tokens = 1 << 20;
  double h = 0;
  for (int r = 0; r < E; ++r) h += std::pow(r + 1.0, -zipf);
  for (int m = 0; m < n; ++m) {
    if (m % switch_every == 0) {
      std::iota(rank.begin(), rank.end(), 0);
      rng.shuffle(rank);
    }
    Loads l(static_cast<std::size_t>(E));
    for (int e = 0; e < E; ++e) {
      const double noise = 0.9 + 0.2 * static_cast<double>(rng.below(1000)) / 1000.0;  // +-10% per micro-batch
      l[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(
          std::llround(tokens * std::pow(rank[static_cast<std::size_t>(e)] + 1.0, -zipf) / h * noise));
    }
    out.push_back(std::move(l));
  }
  return out;
}

// Every source holds an even part of each expert's copies (remainders to the lowest sources).
ms::CountMatrix even_counts(const Loads& l, int G) {
  const int E = static_cast<int>(l.size());
  ms::CountMatrix c(G, E);
  for (int e = 0; e < E; ++e)
    for (int s = 0; s < G; ++s)
      c(s, e) = l[static_cast<std::size_t>(e)] / G + (s < l[static_cast<std::size_t>(e)] % G ? 1 : 0);
  return c;
}

struct Stats {
  std::vector<double> v;
  double mean() const {
    return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  }
  double max() const { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
  std::string cell() const {
    char b[64];
    std::snprintf(b, sizeof b, "%.2f / %.2f / %.2f", mean(), percentile(v, 0.9), max());
    return b;
  }
};

enum Column { c_ep, c_eplb, c_sym, c_rnd, c_adaptive, c_oracle, c_bound, c_count };

struct Options {
  std::vector<int> ds = {2, 4};
  std::vector<int> gpus = {8, 16, 32, 64};
  int oracle_search = 100;
  int max_migrations = 0;
  int min_replicas = 0;
  double shift_threshold = 1.10;
};

// The layout nearest to G GPUs with d replicas per expert under ep: G' = d * P, P | E.
std::pair<int, int> layout(int G, int d, int E) {
  int best = 0;
  for (int P = 1; P <= E; ++P)
    if (E % P == 0 && (best == 0 || std::abs(d * P - G) < std::abs(best - G))) best = d * P;
  return {best, E / (best / d)};
}

void run(const std::string& name, const std::vector<Stream>& streams, int E, const Options& o) {
  for (int d : o.ds)
    for (int want : o.gpus) {
      const auto [G, S] = layout(want, d, E);
      if (G < 2) continue;
      Stats col[c_count];
      double worst_ratio = 0;
      std::int64_t worse = 0, n = 0, moved = 0, replacements = 0, max_moved = 0, shifts = 0;
      for (const Stream& stream : streams) {
        st::StrategyConfig cfg;
        cfg.ep_size = G / d;
        cfg.replace_interval = 1;
        cfg.adaptive_max_migrations = o.max_migrations;
        cfg.adaptive_min_replicas = o.min_replicas;
        cfg.adaptive_shift_threshold = o.shift_threshold;
        auto make = [&](st::StrategyKind k, ms::PlacementKind p) {
          auto c = cfg;
          c.kind = k;
          c.placement = p;
          return st::make_strategy(c, G, E);
        };
        std::unique_ptr<st::Strategy> s[5] = {make(st::StrategyKind::ep, ms::PlacementKind::symmetric),
                                              make(st::StrategyKind::eplb, ms::PlacementKind::symmetric),
                                              make(st::StrategyKind::microep, ms::PlacementKind::symmetric),
                                              make(st::StrategyKind::microep, ms::PlacementKind::random),
                                              make(st::StrategyKind::microep_adaptive, ms::PlacementKind::symmetric)};
        ms::Routing r;
        for (const Loads& l : stream) {
          const ms::CountMatrix c = even_counts(l, G);
          const bool warmup = &l == &stream.front();  // nothing seen yet: left out of the statistics
          double imb[5];
          for (int k = 0; k < 5; ++k) {
            s[k]->route(c, r);
            imb[k] = r.imbalance();
            if (!warmup) col[k].v.push_back(imb[k]);
          }
          if (warmup) {
            for (int k = 0; k < 5; ++k)
              if (s[k]->end_iteration(l) && k == c_adaptive) {
                ++replacements;
                moved += s[k]->last_migrations();
                max_moved = std::max(max_moved, s[k]->last_migrations());
              }
            continue;
          }
          Loads f = l;
          for (auto& x : f) x += 1;
          ms::AdaptiveOptions ao;
          ao.search_iterations = o.oracle_search;
          const auto oracle = ms::make_adaptive_placement(G, S, f, nullptr, ao);
          std::int64_t total = 0;
          for (auto x : f) total += x;
          col[c_oracle].v.push_back(static_cast<double>(oracle.forecast_max_load) * G / static_cast<double>(total));
          col[c_bound].v.push_back(ms::memory_bound_imbalance(l, G, S));
          worse += imb[c_adaptive] > imb[c_ep] * (1 + 1e-9);
          worst_ratio = std::max(worst_ratio, imb[c_adaptive] / imb[c_ep]);
          ++n;
          for (int k = 0; k < 5; ++k)
            if (s[k]->end_iteration(l) && k == c_adaptive) {
              ++replacements;
              moved += s[k]->last_migrations();
              max_moved = std::max(max_moved, s[k]->last_migrations());
            }
        }
        shifts += s[c_adaptive]->shifts_detected();
      }
      const Stats& a = col[c_adaptive];
      std::printf(
          "| %s | %d, %d (d=%d) | %s | %s | %s | %s | %s (p99 %.2f) | %s | %s | %.1f%%, %.3f | %.3f | %lld / %lld, max "
          "%lld, "
          "%lld shifts |\n",
          name.c_str(), G, S, d, col[c_ep].cell().c_str(), col[c_eplb].cell().c_str(), col[c_sym].cell().c_str(),
          col[c_rnd].cell().c_str(), a.cell().c_str(), percentile(a.v, 0.99), col[c_oracle].cell().c_str(),
          col[c_bound].cell().c_str(),
          100.0 * static_cast<double>(worse) / static_cast<double>(std::max<std::int64_t>(n, 1)), worst_ratio,
          a.mean() / std::max(col[c_oracle].mean(), 1e-12), static_cast<long long>(moved),
          static_cast<long long>(replacements), static_cast<long long>(max_moved), static_cast<long long>(shifts));
      std::fflush(stdout);
    }
}

std::vector<int> int_list(const char* s) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string x;
  while (std::getline(in, x, ',')) v.push_back(std::stoi(x));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int synthetic = 0, micro_batches = 150, switch_every = 10, seeds = 1;
  double zipf = 1.0;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "adaptive_balance: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--synthetic")
      synthetic = std::atoi(value());
    else if (a == "--d")
      o.ds = int_list(value());
    else if (a == "--gpus")
      o.gpus = int_list(value());
    else if (a == "--oracle-search")
      o.oracle_search = std::atoi(value());
    else if (a == "--max-migrations")
      o.max_migrations = std::atoi(value());
    else if (a == "--min-replicas")
      o.min_replicas = std::atoi(value());
    else if (a == "--shift-threshold")
      o.shift_threshold = std::atof(value());
    else if (a == "--seeds")
      seeds = std::max(1, std::atoi(value()));
    else if (a == "--micro-batches")
      micro_batches = std::atoi(value());
    else if (a == "--switch-every")
      switch_every = std::max(1, std::atoi(value()));
    else if (a == "--zipf")
      zipf = std::atof(value());
    else
      files.push_back(a);
  }
  if (synthetic <= 0 && files.empty()) {
    std::fprintf(stderr, "usage: adaptive_balance [options] TRACE.csv... | --synthetic E [options]\n");
    return 2;
  }
  std::printf(
      "| trace | G, S | ep | eplb (+1 slot) | microep symmetric | microep random | microep-adaptive | oracle | "
      "memory bound | adaptive worse than ep: share, max ratio | adaptive / oracle (means) | migrations / "
      "re-placements |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  if (synthetic > 0) {
    char name[96];
    std::snprintf(name, sizeof name, "synthetic E=%d, Zipf %.1f, new ranking every %d, %d seeds", synthetic, zipf,
                  switch_every, seeds);
    std::vector<Stream> streams;
    for (int k = 0; k < seeds; ++k)
      streams.push_back(
          synthetic_stream(synthetic, micro_batches, switch_every, zipf, 7 + static_cast<std::uint64_t>(k)));
    run(name, streams, synthetic, o);
    return 0;
  }
  int E = 0;
  std::vector<std::map<int, Stream>> per_file;
  for (const auto& f : files) per_file.push_back(layer_streams(read_trace(f, E)));
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::vector<Stream> streams;
    for (const auto& kv : per_file[i]) streams.push_back(kv.second);
    const auto slash = files[i].find_last_of('/');
    run(files[i].substr(slash == std::string::npos ? 0 : slash + 1), streams, E, o);
  }
  if (files.size() > 1) {  // domain switches: each layer's files chained
    std::vector<Stream> chained;
    for (const auto& kv : per_file[0]) {
      Stream s;
      for (const auto& pf : per_file) {
        const auto it = pf.find(kv.first);
        if (it != pf.end()) s.insert(s.end(), it->second.begin(), it->second.end());
      }
      chained.push_back(std::move(s));
    }
    run("switch (files chained per layer)", chained, E, o);
  }
  return 0;
}
