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

Routes build_routes(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node) {
  check_shapes(p, c, plan, gpus_per_node);
  const int G = p.gpus, E = p.experts;
  const auto node = [gpus_per_node](int g) { return g / gpus_per_node; };
  Routes r;
  r.sources_ = G;
  r.experts_ = E;
  r.gpus_ = G;
  r.gpus_per_node_ = gpus_per_node;
  std::vector<std::int64_t> rem(static_cast<std::size_t>(G)), quota;
  std::vector<RawLeg> raw;  // legs of one expert, in phase order
  std::vector<std::size_t> count(static_cast<std::size_t>(G) * E + 1, 0);
  std::vector<std::vector<RawLeg>> per_expert(static_cast<std::size_t>(E));
  std::vector<int> srcs;
  for (int e = 0; e < E; ++e) {
    const auto& reps = p.replicas(e);
    quota.assign(reps.size(), 0);
    std::int64_t load = 0, planned = 0;
    for (int s = 0; s < G; ++s) load += rem[static_cast<std::size_t>(s)] = c(s, e);
    for (std::size_t i = 0; i < reps.size(); ++i) planned += quota[i] = plan.at(e, reps[i]);
    if (planned != load)
      throw std::invalid_argument("routes: the plan gives expert " + std::to_string(e) + " " + std::to_string(planned) +
                                  " tokens but the counts hold " + std::to_string(load));
    raw.clear();
    // 1. Local.
    for (std::size_t i = 0; i < reps.size(); ++i) {
      const int g = reps[i];
      const std::int64_t t = std::min(rem[static_cast<std::size_t>(g)], quota[i]);
      if (t > 0) {
        raw.push_back({g, g, t});
        rem[static_cast<std::size_t>(g)] -= t;
        quota[i] -= t;
      }
    }
    // Sources with tokens left, ascending.
    srcs.clear();
    for (int s = 0; s < G; ++s)
      if (rem[static_cast<std::size_t>(s)] > 0) srcs.push_back(s);
    // 2. Same node: two pointers over the node's sources and the node's replicas.
    if (!srcs.empty() && gpus_per_node > 1) {
      std::size_t si = 0, ri = 0;
      while (si < srcs.size() && ri < reps.size()) {
        const int ns = node(srcs[si]), nr = node(reps[ri]);
        if (ns < nr) {
          ++si;
          continue;
        }
        if (nr < ns) {
          ++ri;
          continue;
        }
        // Same node: run the two-pointer inside it.
        std::size_t s_end = si, r_end = ri;
        while (s_end < srcs.size() && node(srcs[s_end]) == ns) ++s_end;
        while (r_end < reps.size() && node(reps[r_end]) == ns) ++r_end;
        std::size_t a = si, b = ri;
        while (a < s_end && b < r_end) {
          auto& rs = rem[static_cast<std::size_t>(srcs[a])];
          auto& q = quota[b];
          if (rs == 0) {
            ++a;
            continue;
          }
          if (q == 0) {
            ++b;
            continue;
          }
          const std::int64_t t = std::min(rs, q);
          raw.push_back({srcs[a], reps[b], t});
          rs -= t;
          q -= t;
        }
        si = s_end;
        ri = r_end;
      }
    }
    // 3. Everything left, ascending sources to ascending replicas.
    {
      std::size_t a = 0, b = 0;
      while (a < srcs.size() && b < reps.size()) {
        auto& rs = rem[static_cast<std::size_t>(srcs[a])];
        auto& q = quota[b];
        if (rs == 0) {
          ++a;
          continue;
        }
        if (q == 0) {
          ++b;
          continue;
        }
        const std::int64_t t = std::min(rs, q);
        raw.push_back({srcs[a], reps[b], t});
        rs -= t;
        q -= t;
      }
    }
    for (const auto& l : raw) {
      ++count[static_cast<std::size_t>(l.src) * E + e];
      if (l.src != l.dst) r.cross_gpu_ += l.tokens;
      if (node(l.src) != node(l.dst)) r.cross_node_ += l.tokens;
    }
    per_expert[static_cast<std::size_t>(e)] = raw;
  }
  // Offsets (source-major), then place the legs; within (src, e) phase order is kept.
  r.offset_.assign(static_cast<std::size_t>(G) * E + 1, 0);
  for (std::size_t k = 0; k < static_cast<std::size_t>(G) * E; ++k)
    r.offset_[k + 1] = r.offset_[k] + static_cast<std::int64_t>(count[k]);
  r.legs_.resize(static_cast<std::size_t>(r.offset_.back()));
  std::vector<std::int64_t> fill(r.offset_.begin(), r.offset_.end() - 1);
  for (int e = 0; e < E; ++e)
    for (const auto& l : per_expert[static_cast<std::size_t>(e)]) {
      const std::size_t k = static_cast<std::size_t>(l.src) * E + e;
      r.legs_[static_cast<std::size_t>(fill[k]++)] = {l.dst, l.tokens};
    }
  return r;
}

std::vector<std::int64_t> Routes::send_counts(int src) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(gpus_), 0);
  for (int e = 0; e < experts_; ++e)
    for (const auto& l : legs(src, e)) out[static_cast<std::size_t>(l.gpu)] += l.tokens;
  return out;
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
