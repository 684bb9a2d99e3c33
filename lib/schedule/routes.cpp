// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/routes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

namespace {

struct RawLeg {
  int src;
  int dst;
  std::int64_t tokens;
};

void check_shapes(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node) {
  if (gpus_per_node < 1)
    throw std::invalid_argument("routes: gpus_per_node must be >= 1, got " + std::to_string(gpus_per_node));
  if (c.sources != p.gpus || c.experts != p.experts ||
      c.data.size() != static_cast<std::size_t>(c.sources) * static_cast<std::size_t>(c.experts))
    throw std::invalid_argument("routes: counts shape " + std::to_string(c.sources) + "x" + std::to_string(c.experts) +
                                " does not match the placement (" + std::to_string(p.gpus) + " GPUs x " +
                                std::to_string(p.experts) + " experts)");
  if (plan.gpus != p.gpus || plan.experts != p.experts ||
      plan.tokens.size() != static_cast<std::size_t>(p.gpus) * static_cast<std::size_t>(p.experts))
    throw std::invalid_argument("routes: plan shape does not match the placement");
}

}  // namespace

Routing build_routes(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node) {
  Routing r;
  build_routes(p, c, plan, gpus_per_node, r);
  return r;
}

void build_routes(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node, Routing& r) {
  check_shapes(p, c, plan, gpus_per_node);
  const int G = p.gpus, E = p.experts;
  const auto node = [gpus_per_node](int g) { return g / gpus_per_node; };
  r.sources = G;
  r.experts = E;
  r.gpus = G;
  r.gpus_per_node = gpus_per_node;
  r.kept.assign(c.data.begin(), c.data.end());  // the scheduler drops nothing
  r.dropped = 0;
  r.lower_bound = plan.lower_bound;

  // Nonzero counts per expert, sources ascending (CSR), from one row-major pass: the per-expert
  // work below then touches only the sources that hold tokens for the expert.
  // Scratch reused across calls on this thread (no allocation in steady state).
  thread_local std::vector<int> start, src, fill, leg_expert;
  thread_local std::vector<std::int64_t> rem, quota, cursor;
  thread_local std::vector<RawLeg> raw;
  start.assign(static_cast<std::size_t>(E) + 1, 0);
  for (int s = 0; s < G; ++s) {
    const std::int64_t* row = c.data.data() + static_cast<std::size_t>(s) * E;
    for (int e = 0; e < E; ++e) start[static_cast<std::size_t>(e) + 1] += row[e] > 0;
  }
  for (int e = 0; e < E; ++e) start[static_cast<std::size_t>(e) + 1] += start[static_cast<std::size_t>(e)];
  const auto nnz = static_cast<std::size_t>(start[static_cast<std::size_t>(E)]);
  src.resize(nnz);
  rem.resize(nnz);
  {
    fill.assign(start.begin(), start.end() - 1);
    for (int s = 0; s < G; ++s) {
      const std::int64_t* row = c.data.data() + static_cast<std::size_t>(s) * E;
      for (int e = 0; e < E; ++e)
        if (row[e] > 0) {
          const auto k = static_cast<std::size_t>(fill[static_cast<std::size_t>(e)]++);
          src[k] = s;
          rem[k] = row[e];
        }
    }
  }

  raw.clear();  // all legs, expert by expert, phase order within an expert
  leg_expert.clear();
  raw.reserve(nnz + static_cast<std::size_t>(p.gpus) * p.slots_per_gpu);
  leg_expert.reserve(raw.capacity());
  for (int e = 0; e < E; ++e) {
    const auto& reps = p.replicas(e);
    const int b = start[static_cast<std::size_t>(e)], n = start[static_cast<std::size_t>(e) + 1] - b;
    int* sv = src.data() + b;
    std::int64_t* rv = rem.data() + b;
    quota.assign(reps.size(), 0);
    std::int64_t load = 0, planned = 0;
    for (int k = 0; k < n; ++k) load += rv[k];
    for (std::size_t i = 0; i < reps.size(); ++i) planned += quota[i] = plan.at(e, reps[i]);
    if (planned != load)
      throw std::invalid_argument("routes: the plan gives expert " + std::to_string(e) + " " + std::to_string(planned) +
                                  " tokens but the counts hold " + std::to_string(load));
    // Sends what sources [a, a_end) still hold to what replicas [q, q_end) still need, both in
    // ascending order (two pointers; the same rule for one node and for everything left).
    const auto pour = [&](std::size_t a, std::size_t a_end, std::size_t q, std::size_t q_end) {
      while (a < a_end && q < q_end) {
        if (rv[a] == 0) {
          ++a;
          continue;
        }
        if (quota[q] == 0) {
          ++q;
          continue;
        }
        const std::int64_t t = std::min(rv[a], quota[q]);
        raw.push_back({sv[a], reps[q], t});
        rv[a] -= t;
        quota[q] -= t;
      }
    };
    // 1. Local: each replica keeps what its own GPU holds (sources and replicas both ascending).
    for (std::size_t i = 0, k = 0; i < reps.size(); ++i) {
      while (k < static_cast<std::size_t>(n) && sv[k] < reps[i]) ++k;
      if (k == static_cast<std::size_t>(n)) break;
      if (sv[k] != reps[i]) continue;
      const std::int64_t t = std::min(rv[k], quota[i]);
      if (t > 0) {
        raw.push_back({reps[i], reps[i], t});
        rv[k] -= t;
        quota[i] -= t;
      }
    }
    // 2. Same node: two pointers over the node's sources and the node's replicas.
    if (gpus_per_node > 1) {
      std::size_t si = 0, ri = 0;
      while (si < static_cast<std::size_t>(n) && ri < reps.size()) {
        const int ns = node(sv[si]), nr = node(reps[ri]);
        if (ns < nr) {
          ++si;
          continue;
        }
        if (nr < ns) {
          ++ri;
          continue;
        }
        std::size_t s_end = si, r_end = ri;
        while (s_end < static_cast<std::size_t>(n) && node(sv[s_end]) == ns) ++s_end;
        while (r_end < reps.size() && node(reps[r_end]) == ns) ++r_end;
        pour(si, s_end, ri, r_end);
        si = s_end;
        ri = r_end;
      }
    }
    // 3. Everything left, ascending sources to ascending replicas.
    pour(0, static_cast<std::size_t>(n), 0, reps.size());
    leg_expert.resize(raw.size(), e);
  }
  // Offsets (source-major), then place the legs; within (src, e) the phase order is kept.
  r.leg_begin.assign(static_cast<std::size_t>(G) * E + 1, 0);
  for (std::size_t l = 0; l < raw.size(); ++l)
    ++r.leg_begin[static_cast<std::size_t>(raw[l].src) * E + static_cast<std::size_t>(leg_expert[l]) + 1];
  for (std::size_t k = 0; k < static_cast<std::size_t>(G) * E; ++k) r.leg_begin[k + 1] += r.leg_begin[k];
  r.legs.resize(raw.size());
  r.gpu_load.assign(static_cast<std::size_t>(G), 0);
  cursor.assign(r.leg_begin.begin(), r.leg_begin.end() - 1);
  for (std::size_t l = 0; l < raw.size(); ++l) {
    const std::size_t k = static_cast<std::size_t>(raw[l].src) * E + static_cast<std::size_t>(leg_expert[l]);
    r.legs[static_cast<std::size_t>(cursor[k]++)] = {raw[l].dst, raw[l].tokens};
    r.gpu_load[static_cast<std::size_t>(raw[l].dst)] += raw[l].tokens;
  }
  r.filled_ = static_cast<std::int64_t>(r.leg_begin.size()) - 1;
}

LocalityVolume plan_locality(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node) {
  check_shapes(p, c, plan, gpus_per_node);
  const int G = p.gpus, E = p.experts;
  const int nodes = (G + gpus_per_node - 1) / gpus_per_node;
  std::vector<std::int64_t> cn(static_cast<std::size_t>(nodes)), xn(static_cast<std::size_t>(nodes));
  LocalityVolume v;
  for (int e = 0; e < E; ++e) {
    std::fill(cn.begin(), cn.end(), 0);
    std::fill(xn.begin(), xn.end(), 0);
    std::int64_t load = 0, local = 0, node_local = 0;
    for (int s = 0; s < G; ++s) {
      load += c(s, e);
      cn[static_cast<std::size_t>(s / gpus_per_node)] += c(s, e);
    }
    for (int g : p.replicas(e)) {
      local += std::min(c(g, e), plan.at(e, g));
      xn[static_cast<std::size_t>(g / gpus_per_node)] += plan.at(e, g);
    }
    for (int n = 0; n < nodes; ++n)
      node_local += std::min(cn[static_cast<std::size_t>(n)], xn[static_cast<std::size_t>(n)]);
    v.cross_gpu += load - local;
    v.cross_node += load - node_local;
  }
  return v;
}

}  // namespace micromoe::schedule
