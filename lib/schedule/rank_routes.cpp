// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/rank_routes.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

namespace {

// build_routes' rule seen as intervals: within one phase, sources (ascending) pour what they
// still hold into the quotas replicas still need (ascending), so source s sends to replica g
// exactly the overlap of [s's supply prefix, + its supply) with [g's quota prefix, + its quota).
// A source's legs thus need only prefix sums: of the counts over the sources before it, and of
// the quotas over the replicas before it.
std::int64_t overlap(std::int64_t a0, std::int64_t a1, std::int64_t b0, std::int64_t b1) {
  return std::max<std::int64_t>(0, std::min(a1, b1) - std::max(a0, b0));
}

// One expert's replicas after phase 1 (local) and phase 2 (same node), and the nodes holding them.
struct ExpertQuotas {
  const std::vector<int>* reps = nullptr;
  std::vector<std::int64_t> loc;  // [i]: tokens replica i keeps from its own GPU
  std::vector<std::int64_t> q1;   // [i]: quota left after phase 1
  std::vector<std::int64_t> qp;   // [i]: q1 of the node's replicas before i (phase-2 quota prefix)
  std::vector<std::int64_t> q2;   // [i]: quota left after phase 2
  std::vector<std::int64_t> qp3;  // [i]: q2 of all replicas before i (phase-3 quota prefix)
  // Per node holding replicas (ascending): its replicas [first[k], first[k + 1]), their kept
  // tokens, their phase-1 quota left, the node's supply left after phase 1 and the phase-2 flow.
  std::vector<int> node, first;
  std::vector<std::int64_t> node_loc, node_q1, node_r1, node_flow;
  std::size_t nodes = 0;  // entries of the per-node arrays in use (first has nodes + 1)

  /// Room for `d` replicas (sizes only grow: no allocation in steady state).
  void fit(std::size_t d) {
    if (loc.size() >= d + 1) return;
    for (auto* v : {&loc, &q1, &qp, &q2, &qp3, &node_loc, &node_q1, &node_r1, &node_flow}) v->resize(d + 1);
    node.resize(d + 1);
    first.resize(d + 1);
  }
};

class RankRouter {
 public:
  RankRouter(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node, const std::int64_t* table,
             ExpertQuotas& scratch)
      : p_(p), c_(c), plan_(plan), gpn_(gpus_per_node), G_(p.gpus), E_(p.experts), S_(p.slots_per_gpu), q_(scratch) {
    nodes_ = (G_ + gpn_ - 1) / gpn_;
    // Node of every GPU, kept across calls (no division in the per-expert loops).
    thread_local std::vector<int> node_of;
    thread_local int node_of_gpn = 0;
    if (node_of.size() != static_cast<std::size_t>(G_) || node_of_gpn != gpn_) {
      node_of.resize(static_cast<std::size_t>(G_));
      for (int g = 0; g < G_; ++g) node_of[static_cast<std::size_t>(g)] = g / gpn_;
      node_of_gpn = gpn_;
    }
    node_of_ = node_of.data();
    // L[e] from the plan (it conserves the counts): the one-node sums, and the far side of prefixes.
    thread_local std::vector<std::int64_t> loads;
    loads.assign(static_cast<std::size_t>(E_), 0);
    for (int g = 0; g < G_; ++g)
      for (int j = 0; j < S_; ++j) {
        const int e = p.expert(g, j);
        if (e >= 0) loads[static_cast<std::size_t>(e)] += plan.slot_tokens[static_cast<std::size_t>(g) * S_ + j];
      }
    loads_ = loads.data();
    if (gpn_ > 1 && nodes_ > 1 && table == nullptr) {
      thread_local std::vector<std::int64_t> sums;
      sums.assign(static_cast<std::size_t>(nodes_) * E_, 0);
      for (int s = 0; s < G_; ++s) add_row(sums.data() + static_cast<std::size_t>(s / gpn_) * E_, count_row(s));
      table = sums.data();
    }
    table_ = table;
  }

  void build(int me, RankRouting& out) {
    out.gpu = me;
    out.gpus = G_;
    out.experts = E_;
    out.slots_per_gpu = S_;
    out.kept.resize(static_cast<std::size_t>(E_));  // set in send_side: the scheduler drops nothing
    out.send_counts.assign(static_cast<std::size_t>(G_), 0);
    out.recv_counts.assign(static_cast<std::size_t>(G_), 0);
    send_side(me, out);
    receive_side(me, out);
    out.gpu_load.assign(plan_.gpu_load.begin(), plan_.gpu_load.end());
    out.dropped = 0;
    out.lower_bound = plan_.lower_bound;
  }

 private:
  const std::int64_t* count_row(int s) const { return c_.data.data() + static_cast<std::size_t>(s) * E_; }
  std::int64_t count(int s, int e) const { return count_row(s)[e]; }
  /// Per-node column sums: the counts themselves for nodes of one GPU, the loads for one node.
  const std::int64_t* node_row(int n) const {
    if (gpn_ == 1) return count_row(n);
    if (nodes_ == 1) return loads_;
    return table_ + static_cast<std::size_t>(n) * E_;
  }
  void add_row(std::int64_t* acc, const std::int64_t* row) const {
    for (int e = 0; e < E_; ++e) acc[e] += row[e];
  }
  /// acc[e] = sum of rows [0, k) of n rows, summed from the shorter side (rows [k, n) from `total`).
  template <class Row>
  void prefix(std::vector<std::int64_t>& acc, int k, int n, const std::int64_t* total, Row row) const {
    acc.assign(static_cast<std::size_t>(E_), 0);
    if (2 * k <= n) {
      for (int r = 0; r < k; ++r) add_row(acc.data(), row(r));
      return;
    }
    for (int r = k; r < n; ++r) add_row(acc.data(), row(r));
    for (int e = 0; e < E_; ++e) acc[static_cast<std::size_t>(e)] = total[e] - acc[static_cast<std::size_t>(e)];
  }

  void prepare(int e) {
    ExpertQuotas& q = q_;
    const auto& reps = p_.replicas(e);
    const std::size_t d = reps.size();
    const auto& slots = p_.replica_slots(e);
    q.reps = &reps;
    q.fit(d);
    for (std::size_t i = 0; i < d; ++i) {
      const int g = reps[i];
      const std::int64_t x = plan_.slot_tokens[static_cast<std::size_t>(g) * S_ + slots[i]];
      const std::int64_t loc = std::min(count(g, e), x);
      q.loc[i] = loc;
      q.q1[i] = x - loc;
    }
    std::int64_t run3 = 0;
    std::size_t k = 0;
    for (std::size_t i = 0; i < d; ++k) {
      const int n = node_of_[reps[i]];
      std::size_t end = i;
      std::int64_t loc = 0, q1 = 0;
      for (; end < d && node_of_[reps[end]] == n; ++end) {
        loc += q.loc[end];
        q1 += q.q1[end];
      }
      const std::int64_t r1 = node_row(n)[e] - loc;  // the node's tokens left after phase 1
      q.node[k] = n;
      q.first[k] = static_cast<int>(i);
      q.node_loc[k] = loc;
      q.node_q1[k] = q1;
      q.node_r1[k] = r1;
      q.node_flow[k] = std::min(r1, q1);
      std::int64_t run = 0;
      for (; i < end; ++i) {
        q.qp[i] = run;
        q.q2[i] = q.q1[i] - std::min(q.q1[i], std::max<std::int64_t>(0, r1 - run));
        run += q.q1[i];
        q.qp3[i] = run3;
        run3 += q.q2[i];
      }
    }
    q.nodes = k;
    q.first[k] = static_cast<int>(d);
  }

  void send_side(int me, RankRouting& out) {
    const int my_node = me / gpn_, node_first = my_node * gpn_, node_end = std::min(G_, node_first + gpn_);
    // Tokens of e on the nodes before mine, and on my node's GPUs before me.
    thread_local std::vector<std::int64_t> before_node, before_me;
    prefix(before_node, my_node, nodes_, loads_, [this](int n) { return node_row(n); });
    prefix(before_me, me - node_first, node_end - node_first, node_row(my_node),
           [this, node_first](int r) { return count_row(node_first + r); });
    out.leg_begin.assign(static_cast<std::size_t>(E_) + 1, 0);
    out.legs.clear();
    const auto push = [&out](int gpu, std::int64_t tokens) {
      if (tokens <= 0) return;
      out.legs.push_back({gpu, tokens});
      out.send_counts[static_cast<std::size_t>(gpu)] += tokens;
    };
    const std::int64_t* mine = count_row(me);
    for (int e = 0; e < E_; ++e) {
      out.leg_begin[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(out.legs.size());
      const std::int64_t c = mine[e];
      out.kept[static_cast<std::size_t>(e)] = c;
      if (c == 0) continue;
      prepare(e);
      const ExpertQuotas& q = q_;
      const auto& reps = *q.reps;
      // My node's replicas, my own replica, and the phase-2 flow of the nodes before mine.
      int k_mine = -1;
      std::int64_t loc_me = 0, loc_before = 0, flow_before = 0;
      for (std::size_t k = 0; k < q.nodes; ++k) {
        if (q.node[k] < my_node) {
          flow_before += q.node_loc[k] + q.node_flow[k];
        } else if (q.node[k] == my_node) {
          k_mine = static_cast<int>(k);
          for (int i = q.first[k]; i < q.first[k + 1]; ++i) {
            if (reps[static_cast<std::size_t>(i)] < me) loc_before += q.loc[static_cast<std::size_t>(i)];
            if (reps[static_cast<std::size_t>(i)] == me) loc_me = q.loc[static_cast<std::size_t>(i)];
          }
        }
      }
      // 1. Local.
      push(me, loc_me);
      // 2. Same node: my supply [p, p + r1) among my node's sources against its replicas' quotas.
      const std::int64_t r1 = c - loc_me;
      const std::int64_t p = before_me[static_cast<std::size_t>(e)] - loc_before;
      const std::int64_t node_q1 = k_mine >= 0 ? q.node_q1[static_cast<std::size_t>(k_mine)] : 0;
      if (k_mine >= 0 && r1 > 0)
        for (int i = q.first[static_cast<std::size_t>(k_mine)]; i < q.first[static_cast<std::size_t>(k_mine) + 1];
             ++i) {
          const auto u = static_cast<std::size_t>(i);
          push(reps[u], overlap(p, p + r1, q.qp[u], q.qp[u] + q.q1[u]));
        }
      // 3. The rest: my supply after phase 2 among all sources' against all replicas' quotas.
      const std::int64_t r2 = r1 - std::min(r1, std::max<std::int64_t>(0, node_q1 - p));
      if (r2 > 0) {
        const std::int64_t a =
            before_node[static_cast<std::size_t>(e)] - flow_before + std::max<std::int64_t>(0, p - node_q1);
        for (std::size_t i = 0; i < reps.size(); ++i) push(reps[i], overlap(a, a + r2, q.qp3[i], q.qp3[i] + q.q2[i]));
      }
      std::int64_t sent = 0;
      for (auto l = out.leg_begin[static_cast<std::size_t>(e)]; l < static_cast<std::int64_t>(out.legs.size()); ++l)
        sent += out.legs[static_cast<std::size_t>(l)].tokens;
      if (sent != c)
        throw std::invalid_argument("rank routes: the plan leaves " + std::to_string(c - sent) + " of GPU " +
                                    std::to_string(me) + "'s tokens of expert " + std::to_string(e) +
                                    " without a replica (it does not conserve the counts)");
    }
    out.leg_begin[static_cast<std::size_t>(E_)] = static_cast<std::int64_t>(out.legs.size());
  }

  /// Phase-1 tokens replica-source s keeps, walking s ascending with a cursor over e's replicas.
  struct LocalCursor {
    const ExpertQuotas& q;
    std::size_t i = 0;
    std::int64_t at(int s) {
      const auto& reps = *q.reps;
      while (i < reps.size() && reps[i] < s) ++i;
      return i < reps.size() && reps[i] == s ? q.loc[i] : 0;
    }
  };

  void receive_side(int me, RankRouting& out) {
    const int my_node = me / gpn_, node_first = my_node * gpn_, node_end = std::min(G_, node_first + gpn_);
    out.received.assign(static_cast<std::size_t>(G_) * S_, 0);
    for (int j = 0; j < S_; ++j) {
      const int e = p_.expert(me, j);
      if (e < 0) continue;
      prepare(e);
      const ExpertQuotas& q = q_;
      const auto& reps = *q.reps;
      const auto i_me = static_cast<std::size_t>(std::lower_bound(reps.begin(), reps.end(), me) - reps.begin());
      std::int64_t got = 0;
      const auto take = [&](int s, std::int64_t tokens) {
        if (tokens <= 0) return;
        out.received[static_cast<std::size_t>(s) * S_ + j] += tokens;
        out.recv_counts[static_cast<std::size_t>(s)] += tokens;
        got += tokens;
      };
      // 1. Local.
      take(me, q.loc[i_me]);
      // 2. My node's sources' supply after phase 1 against my quota [qp, qp + q1).
      if (q.q1[i_me] > 0) {
        const std::int64_t b0 = q.qp[i_me], b1 = b0 + q.q1[i_me];
        LocalCursor local{q};
        std::int64_t a = 0;
        for (int s = node_first; s < node_end && a < b1; ++s) {
          const std::int64_t r1 = count(s, e) - local.at(s);
          take(s, overlap(a, a + r1, b0, b1));
          a += r1;
        }
      }
      // 3. All sources' supply after phase 2 against my quota [qp3, qp3 + q2); whole nodes
      // outside the interval are skipped by their sums.
      if (q.q2[i_me] > 0) {
        const std::int64_t b0 = q.qp3[i_me], b1 = b0 + q.q2[i_me];
        std::size_t k = 0;
        std::int64_t a = 0;
        for (int n = 0; n < nodes_ && a < b1; ++n) {
          while (k < q.nodes && q.node[k] < n) ++k;
          const bool holds = k < q.nodes && q.node[k] == n;
          const std::int64_t left = node_row(n)[e] - (holds ? q.node_loc[k] + q.node_flow[k] : 0);
          if (a + left <= b0) {
            a += left;
            continue;
          }
          const std::int64_t node_q1 = holds ? q.node_q1[k] : 0;
          LocalCursor local{q};
          std::int64_t filled = 0;  // the node's supply after phase 1 before s (phase 2 takes the first node_q1)
          for (int s = n * gpn_; s < std::min(G_, (n + 1) * gpn_) && a < b1; ++s) {
            const std::int64_t r1 = count(s, e) - local.at(s);
            const std::int64_t r2 = r1 - std::min(r1, std::max<std::int64_t>(0, node_q1 - filled));
            filled += r1;
            take(s, overlap(a, a + r2, b0, b1));
            a += r2;
          }
        }
      }
      const std::int64_t planned = q.loc[i_me] + q.q1[i_me];
      if (got != planned)
        throw std::invalid_argument("rank routes: GPU " + std::to_string(me) + " is planned " +
                                    std::to_string(planned) + " tokens of expert " + std::to_string(e) +
                                    " but the counts bring " + std::to_string(got) +
                                    " (the plan does not conserve the counts)");
    }
  }

  const Placement& p_;
  const CountMatrix& c_;
  const Plan& plan_;
  int gpn_, G_, E_, S_, nodes_ = 1;
  const std::int64_t* loads_ = nullptr;
  const std::int64_t* table_ = nullptr;
  const int* node_of_ = nullptr;
  ExpertQuotas& q_;
};

void check_shapes(const Placement& p, const CountMatrix& c, const Plan& plan, int gpus_per_node, int gpu) {
  if (gpus_per_node < 1)
    throw std::invalid_argument("rank routes: gpus_per_node must be >= 1, got " + std::to_string(gpus_per_node));
  if (gpu < 0 || gpu >= p.gpus)
    throw std::invalid_argument("rank routes: GPU " + std::to_string(gpu) + " out of range [0, " +
                                std::to_string(p.gpus) + ")");
  if (c.sources != p.gpus || c.experts != p.experts ||
      c.data.size() != static_cast<std::size_t>(c.sources) * static_cast<std::size_t>(c.experts))
    throw std::invalid_argument("rank routes: counts shape " + std::to_string(c.sources) + "x" +
                                std::to_string(c.experts) + " does not match the placement (" + std::to_string(p.gpus) +
                                " GPUs x " + std::to_string(p.experts) + " experts)");
  if (plan.gpus != p.gpus || plan.experts != p.experts ||
      plan.slot_tokens.size() != static_cast<std::size_t>(p.gpus) * static_cast<std::size_t>(p.slots_per_gpu))
    throw std::invalid_argument("rank routes: plan shape does not match the placement");
}

}  // namespace

void build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan, int gpus_per_node,
                       int gpu, RankRouting& out, const std::int64_t* node_counts) {
  check_shapes(placement, counts, plan, gpus_per_node, gpu);
  thread_local ExpertQuotas scratch;  // keeps its capacity across calls
  RankRouter router(placement, counts, plan, gpus_per_node, node_counts, scratch);
  router.build(gpu, out);
}

RankRouting build_rank_routes(const Placement& placement, const CountMatrix& counts, const Plan& plan,
                              int gpus_per_node, int gpu) {
  RankRouting out;
  build_rank_routes(placement, counts, plan, gpus_per_node, gpu, out);
  return out;
}

}  // namespace micromoe::schedule
