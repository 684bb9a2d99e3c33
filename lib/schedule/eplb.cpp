// SPDX-License-Identifier: BSD-3-Clause
// A line-by-line port of deepseek-ai/EPLB's eplb.py (one layer: the [layers, ...] tensors of
// the Python code are single rows here), then its GPU contents written into the num_replicas / G
// slot indices of a schedule::Placement.
#include "schedule/eplb.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace micromoe::schedule {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("eplb: " + what); }

std::string str(std::int64_t v) { return std::to_string(v); }

// inverse(perm): inv[perm[i]] = i.
std::vector<int> inverse(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  return inv;
}

// rebalance_experts_hierarchical for one layer; weight already float32.
EplbMap hierarchical(const std::vector<float>& weight, int num_physical, int num_groups, int num_nodes, int num_gpus) {
  const int E = static_cast<int>(weight.size());
  if (num_groups < 1 || num_nodes < 1 || num_gpus < 1) fail("groups, nodes and gpus must be >= 1");
  if (E % num_groups != 0) fail("expert count " + str(E) + " is not a multiple of the group count " + str(num_groups));
  if (num_groups % num_nodes != 0) fail("group count is not a multiple of the node count");
  if (num_gpus % num_nodes != 0)
    fail("GPU count " + str(num_gpus) + " is not a multiple of the node count " + str(num_nodes));
  if (num_physical % num_gpus != 0)
    fail("replica count " + str(num_physical) + " is not a multiple of the GPU count " + str(num_gpus));
  if (num_physical < E) fail("fewer replicas (" + str(num_physical) + ") than experts (" + str(E) + ")");
  const int group_size = E / num_groups, groups_per_node = num_groups / num_nodes;
  const int per_gpu = num_physical / num_gpus;
  const int log_per_node = E / num_nodes, phy_per_node = num_physical / num_nodes;

  // Step 1: pack groups to nodes.
  std::vector<float> tokens_per_group(static_cast<std::size_t>(num_groups), 0.0f);
  for (int g = 0; g < num_groups; ++g)
    for (int k = 0; k < group_size; ++k)
      tokens_per_group[static_cast<std::size_t>(g)] += weight[static_cast<std::size_t>(g * group_size + k)];
  std::vector<int> group_pack, group_rank;
  eplb_balanced_packing(tokens_per_group, num_nodes, group_pack, group_rank);
  std::vector<int> log2mlog(static_cast<std::size_t>(E));
  for (int g = 0; g < num_groups; ++g)
    for (int k = 0; k < group_size; ++k)
      log2mlog[static_cast<std::size_t>(g * group_size + k)] =
          (group_pack[static_cast<std::size_t>(g)] * groups_per_node + group_rank[static_cast<std::size_t>(g)]) *
              group_size +
          k;
  const std::vector<int> mlog2log = inverse(log2mlog);

  EplbMap out;
  out.phy2log.assign(static_cast<std::size_t>(num_physical), -1);
  out.phy_rank.assign(static_cast<std::size_t>(num_physical), 0);
  std::vector<int> mlogcnt_all(static_cast<std::size_t>(E), 0);
  for (int n = 0; n < num_nodes; ++n) {
    // Step 2: redundant experts within the node.
    std::vector<float> tokens_per_mlog(static_cast<std::size_t>(log_per_node));
    for (int j = 0; j < log_per_node; ++j)
      tokens_per_mlog[static_cast<std::size_t>(j)] =
          weight[static_cast<std::size_t>(mlog2log[static_cast<std::size_t>(n * log_per_node + j)])];
    std::vector<int> phy2mlog, phyrank, mlogcnt;
    eplb_replicate_experts(tokens_per_mlog, phy_per_node, phy2mlog, phyrank, mlogcnt);
    // Step 3: pack the node's physical experts to its GPUs.
    std::vector<float> tokens_per_phy(static_cast<std::size_t>(phy_per_node));
    for (int i = 0; i < phy_per_node; ++i) {
      const auto m = static_cast<std::size_t>(phy2mlog[static_cast<std::size_t>(i)]);
      tokens_per_phy[static_cast<std::size_t>(i)] = tokens_per_mlog[m] / static_cast<float>(mlogcnt[m]);
    }
    std::vector<int> pack, rank;
    eplb_balanced_packing(tokens_per_phy, num_gpus / num_nodes, pack, rank);
    std::vector<int> phy2pphy(static_cast<std::size_t>(phy_per_node));
    for (int i = 0; i < phy_per_node; ++i)
      phy2pphy[static_cast<std::size_t>(i)] =
          pack[static_cast<std::size_t>(i)] * per_gpu + rank[static_cast<std::size_t>(i)];
    const std::vector<int> pphy2phy = inverse(phy2pphy);
    for (int q = 0; q < phy_per_node; ++q) {
      const auto i = static_cast<std::size_t>(pphy2phy[static_cast<std::size_t>(q)]);
      const int mlog = phy2mlog[i] + n * log_per_node;
      out.phy2log[static_cast<std::size_t>(n * phy_per_node + q)] = mlog2log[static_cast<std::size_t>(mlog)];
      out.phy_rank[static_cast<std::size_t>(n * phy_per_node + q)] = phyrank[i];
    }
    for (int j = 0; j < log_per_node; ++j)
      mlogcnt_all[static_cast<std::size_t>(n * log_per_node + j)] = mlogcnt[static_cast<std::size_t>(j)];
  }
  out.logcnt.resize(static_cast<std::size_t>(E));
  for (int l = 0; l < E; ++l)
    out.logcnt[static_cast<std::size_t>(l)] =
        mlogcnt_all[static_cast<std::size_t>(log2mlog[static_cast<std::size_t>(l)])];
  return out;
}

}  // namespace

void eplb_balanced_packing(const std::vector<float>& weight, int packs, std::vector<int>& pack_index,
                           std::vector<int>& rank_in_pack) {
  const int n = static_cast<int>(weight.size());
  if (packs < 1 || n % packs != 0) fail("balanced packing of " + str(n) + " items into " + str(packs) + " packs");
  const int per_pack = n / packs;
  pack_index.assign(static_cast<std::size_t>(n), -1);
  rank_in_pack.assign(static_cast<std::size_t>(n), 0);
  if (per_pack == 1) {  // eplb.py returns the identity here, without sorting
    std::iota(pack_index.begin(), pack_index.end(), 0);
    return;
  }
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return weight[static_cast<std::size_t>(a)] > weight[static_cast<std::size_t>(b)];
  });
  std::vector<float> pack_weight(static_cast<std::size_t>(packs), 0.0f);
  std::vector<int> pack_items(static_cast<std::size_t>(packs), 0);
  for (int item : order) {
    int pick = -1;  // Python's min(): the first of the lightest packs with room
    for (int p = 0; p < packs; ++p)
      if (pack_items[static_cast<std::size_t>(p)] < per_pack &&
          (pick < 0 || pack_weight[static_cast<std::size_t>(p)] < pack_weight[static_cast<std::size_t>(pick)]))
        pick = p;
    const auto pi = static_cast<std::size_t>(pick);
    pack_index[static_cast<std::size_t>(item)] = pick;
    rank_in_pack[static_cast<std::size_t>(item)] = pack_items[pi];
    pack_weight[pi] += weight[static_cast<std::size_t>(item)];
    ++pack_items[pi];
  }
}

void eplb_replicate_experts(const std::vector<float>& weight, int num_phy, std::vector<int>& phy2log,
                            std::vector<int>& rank, std::vector<int>& logcnt) {
  const int num_log = static_cast<int>(weight.size());
  if (num_phy < num_log) fail("fewer replicas than experts");
  phy2log.resize(static_cast<std::size_t>(num_phy));
  std::iota(phy2log.begin(), phy2log.end(), 0);
  rank.assign(static_cast<std::size_t>(num_phy), 0);
  logcnt.assign(static_cast<std::size_t>(num_log), 1);
  for (int i = num_log; i < num_phy; ++i) {
    int best = 0;  // torch max(): the first of the largest loads per replica
    float best_value = weight[0] / static_cast<float>(logcnt[0]);
    for (int e = 1; e < num_log; ++e) {
      const float v = weight[static_cast<std::size_t>(e)] / static_cast<float>(logcnt[static_cast<std::size_t>(e)]);
      if (v > best_value) {
        best = e;
        best_value = v;
      }
    }
    phy2log[static_cast<std::size_t>(i)] = best;
    rank[static_cast<std::size_t>(i)] = logcnt[static_cast<std::size_t>(best)]++;
  }
}

EplbMap eplb_rebalance_experts(const std::vector<std::int64_t>& weight, int num_replicas, int num_groups, int num_nodes,
                               int num_gpus) {
  if (weight.empty()) fail("no experts");
  std::vector<float> w(weight.size());
  for (std::size_t e = 0; e < weight.size(); ++e) w[e] = static_cast<float>(weight[e]);  // weight.float()
  if (num_nodes >= 1 && num_groups % num_nodes == 0) {
    EplbMap m = hierarchical(w, num_replicas, num_groups, num_nodes, num_gpus);
    m.hierarchical = true;
    return m;
  }
  return hierarchical(w, num_replicas, 1, 1, num_gpus);
}

EplbPlacement make_eplb_placement(const EplbMap& map, int gpus, int experts, const Placement* previous) {
  const int R = static_cast<int>(map.phy2log.size());
  if (gpus < 1 || R % gpus != 0) fail("replica count " + str(R) + " is not a multiple of the GPU count " + str(gpus));
  if (previous && (previous->gpus != gpus || previous->experts != experts))
    fail("the previous placement has " + str(previous->gpus) + " GPUs and " + str(previous->experts) +
         " experts, not " + str(gpus) + " and " + str(experts));
  const int S0 = R / gpus;
  EplbPlacement out;
  out.replica_gpus.assign(static_cast<std::size_t>(experts), {});
  for (int p = 0; p < R; ++p) {
    const int e = map.phy2log[static_cast<std::size_t>(p)];
    if (e < 0 || e >= experts) fail("physical expert " + str(p) + " holds expert " + str(e) + " out of range");
    out.replica_gpus[static_cast<std::size_t>(e)].push_back(p / S0);  // p ascends, so GPUs do
  }
  for (int e = 0; e < experts; ++e)
    if (out.replica_gpus[static_cast<std::size_t>(e)].empty()) fail("expert " + str(e) + " has no replica");
  // A GPU holds at most S0 distinct experts, so they always fit S0 slot indices. placed_on[e]
  // is the last GPU given expert e: a repeated replica on that GPU takes no second slot.
  std::vector<int> at(static_cast<std::size_t>(R), -1), placed_on(static_cast<std::size_t>(experts), -1);
  for (int g = 0; g < gpus; ++g) {
    int* row = at.data() + static_cast<std::size_t>(g) * S0;
    const int* phys = map.phy2log.data() + static_cast<std::size_t>(g) * S0;
    if (previous)  // experts staying on g keep their slot index: a re-placement copies nothing for them
      for (int k = 0; k < S0; ++k) {
        const int e = phys[k], j = previous->slot_on(g, e);
        if (placed_on[static_cast<std::size_t>(e)] == g || j < 0 || j >= S0 || row[j] >= 0) continue;
        row[j] = e;
        placed_on[static_cast<std::size_t>(e)] = g;
      }
    int free = 0;
    for (int k = 0; k < S0; ++k) {  // the others: the lowest free slots, in EPLB's order
      const int e = phys[k];
      if (placed_on[static_cast<std::size_t>(e)] == g) continue;
      while (row[free] >= 0) ++free;
      row[free] = e;
      placed_on[static_cast<std::size_t>(e)] = g;
    }
  }
  out.placement = Placement(gpus, S0, experts, std::move(at));
  return out;
}

}  // namespace micromoe::schedule
