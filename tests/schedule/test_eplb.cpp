// SPDX-License-Identifier: BSD-3-Clause
// DeepSeek's EPLB port: the worked example of deepseek-ai/EPLB's README, equivalence with an
// independent re-implementation on seeded loads, and the fit to S0 = replicas / G slots per GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "schedule/eplb.hpp"
#include "schedule/rng.hpp"

namespace ms = micromoe::schedule;

namespace {

// README of deepseek-ai/EPLB: two layers of 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs.
TEST(Eplb, ReadmeExampleGivesThePrintedMap) {
  const std::vector<std::vector<std::int64_t>> weight = {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
                                                         {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
  const std::vector<std::vector<int>> printed = {{5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
                                                 {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  for (std::size_t layer = 0; layer < 2; ++layer) {
    const auto m = ms::eplb_rebalance_experts(weight[layer], 16, 4, 2, 8);
    EXPECT_TRUE(m.hierarchical);
    EXPECT_EQ(m.phy2log, printed[layer]) << "layer " << layer;
    std::vector<int> count(12, 0);
    for (int e : m.phy2log) ++count[static_cast<std::size_t>(e)];
    EXPECT_EQ(m.logcnt, count);
  }
}

// An independent re-implementation: the same published steps written over (load, id) records
// and explicit per-GPU lists instead of index permutations.
struct Item {
  float load;
  int id;
};

// Greedy packing: heaviest first (equal loads: lower position first), to the lightest pack
// with room (equal: lower pack). Returns the items of each pack in arrival order.
std::vector<std::vector<Item>> pack(const std::vector<Item>& items, int packs) {
  const std::size_t per = items.size() / static_cast<std::size_t>(packs);
  std::vector<std::vector<Item>> out(static_cast<std::size_t>(packs));
  if (per == 1) {
    for (std::size_t i = 0; i < items.size(); ++i) out[i].push_back(items[i]);
    return out;
  }
  std::vector<std::size_t> pos(items.size());
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = i;
  std::sort(pos.begin(), pos.end(), [&](std::size_t a, std::size_t b) {
    return items[a].load != items[b].load ? items[a].load > items[b].load : a < b;
  });
  std::vector<float> sum(static_cast<std::size_t>(packs), 0.0f);
  for (std::size_t i : pos) {
    std::size_t best = out.size();
    for (std::size_t p = 0; p < out.size(); ++p)
      if (out[p].size() < per && (best == out.size() || sum[p] < sum[best])) best = p;
    out[best].push_back(items[i]);
    sum[best] += items[i].load;
  }
  return out;
}

std::vector<int> reference_eplb(const std::vector<std::int64_t>& w, int replicas, int groups, int nodes, int gpus) {
  if (groups % nodes != 0) groups = nodes = 1;
  const int E = static_cast<int>(w.size()), gs = E / groups;
  std::vector<Item> group_items;
  for (int g = 0; g < groups; ++g) {
    float s = 0;
    for (int k = 0; k < gs; ++k) s += static_cast<float>(w[static_cast<std::size_t>(g * gs + k)]);
    group_items.push_back({s, g});
  }
  std::vector<int> result;
  for (const auto& node_groups : pack(group_items, nodes)) {
    std::vector<int> experts;  // the node's experts, group by group in arrival order
    for (const Item& g : node_groups)
      for (int k = 0; k < gs; ++k) experts.push_back(g.id * gs + k);
    std::vector<int> cnt(experts.size(), 1), phys;
    for (std::size_t i = 0; i < experts.size(); ++i) phys.push_back(static_cast<int>(i));
    for (int r = static_cast<int>(experts.size()); r < replicas / nodes; ++r) {
      std::size_t best = 0;
      for (std::size_t i = 1; i < experts.size(); ++i)
        if (static_cast<float>(w[static_cast<std::size_t>(experts[i])]) / static_cast<float>(cnt[i]) >
            static_cast<float>(w[static_cast<std::size_t>(experts[best])]) / static_cast<float>(cnt[best]))
          best = i;
      ++cnt[best];
      phys.push_back(static_cast<int>(best));
    }
    std::vector<Item> phy_items;
    for (int i : phys)
      phy_items.push_back({static_cast<float>(w[static_cast<std::size_t>(experts[static_cast<std::size_t>(i)])]) /
                               static_cast<float>(cnt[static_cast<std::size_t>(i)]),
                           experts[static_cast<std::size_t>(i)]});
    for (const auto& gpu : pack(phy_items, gpus / nodes))
      for (const Item& it : gpu) result.push_back(it.id);
  }
  return result;
}

TEST(Eplb, MatchesAnIndependentReimplementationOnSeededLoads) {
  ms::Rng rng(16);
  int hierarchical = 0, global = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const int nodes = 1 + static_cast<int>(rng.below(4));
    const int gpus = nodes * (1 + static_cast<int>(rng.below(4)));
    const int groups = 1 + static_cast<int>(rng.below(8));
    const int E = groups * (1 + static_cast<int>(rng.below(6)));
    int per_gpu = 1;
    while (per_gpu * gpus < E) ++per_gpu;
    per_gpu += static_cast<int>(rng.below(3));
    const int replicas = per_gpu * gpus;
    std::vector<std::int64_t> w(static_cast<std::size_t>(E));
    const bool ties = trial % 4 == 0;  // small loads: many equal weights and equal quotients
    for (auto& v : w) v = static_cast<std::int64_t>(rng.below(ties ? 4 : 100000));
    const bool hier = groups % nodes == 0;
    if (hier && (E / nodes) > replicas / nodes) continue;
    if (hier) {
      if (E % nodes != 0 || replicas % nodes != 0) continue;
    }
    const auto m = ms::eplb_rebalance_experts(w, replicas, groups, nodes, gpus);
    EXPECT_EQ(m.hierarchical, hier);
    EXPECT_EQ(m.phy2log, reference_eplb(w, replicas, groups, nodes, gpus))
        << "trial " << trial << ": E " << E << ", groups " << groups << ", nodes " << nodes << ", gpus " << gpus
        << ", replicas " << replicas;
    (hier ? hierarchical : global) += 1;
  }
  EXPECT_GT(hierarchical, 50);
  EXPECT_GT(global, 50);
}

// Hand-derived tiny cases of the two building blocks.
TEST(Eplb, ReplicationAndPackingTieBreaks) {
  std::vector<int> phy2log, rank, cnt;
  ms::eplb_replicate_experts({4, 4, 1}, 5, phy2log, rank, cnt);
  // 4/1 = 4/1: expert 0 first; then 4/1 > 4/2: expert 1.
  EXPECT_EQ(phy2log, (std::vector<int>{0, 1, 2, 0, 1}));
  EXPECT_EQ(rank, (std::vector<int>{0, 0, 0, 1, 1}));
  EXPECT_EQ(cnt, (std::vector<int>{2, 2, 1}));
  std::vector<int> pack, in_pack;
  ms::eplb_balanced_packing({1, 3, 3, 2}, 2, pack, in_pack);
  // Order 1, 2 (equal: lower index first), 3, 0: 3 -> pack 0, 3 -> pack 1, 2 -> pack 0, 1 -> pack 1.
  EXPECT_EQ(pack, (std::vector<int>{1, 0, 1, 0}));
  EXPECT_EQ(in_pack, (std::vector<int>{1, 0, 0, 1}));
  ms::eplb_balanced_packing({1, 3}, 2, pack, in_pack);  // one item per pack: the identity
  EXPECT_EQ(pack, (std::vector<int>{0, 1}));
}

TEST(Eplb, AssertsOfEplbPyAreErrors) {
  EXPECT_THROW(ms::eplb_rebalance_experts({1, 2, 3}, 4, 3, 1, 3), std::invalid_argument);     // 4 % 3
  EXPECT_THROW(ms::eplb_rebalance_experts({1, 2, 3, 4}, 2, 1, 1, 2), std::invalid_argument);  // fewer replicas
  EXPECT_THROW(ms::eplb_rebalance_experts({1, 2, 3}, 4, 2, 1, 2), std::invalid_argument);     // 3 % 2 groups
}

// EPLB's GPU contents: the distinct experts of each GPU's S0 physical replicas, sorted.
std::vector<std::vector<int>> eplb_gpu_contents(const ms::EplbMap& m, int gpus) {
  const int S0 = static_cast<int>(m.phy2log.size()) / gpus;
  std::vector<std::vector<int>> out(static_cast<std::size_t>(gpus));
  for (int g = 0; g < gpus; ++g) {
    auto& want = out[static_cast<std::size_t>(g)];
    want.assign(m.phy2log.begin() + g * S0, m.phy2log.begin() + (g + 1) * S0);
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
  }
  return out;
}

// The fit holds EPLB's GPU contents in exactly S0 = replicas / G slots and keeps every physical
// replica's GPU (repeats included) in replica_gpus.
void expect_fits_the_map(const ms::EplbPlacement& fit, const ms::EplbMap& m, int gpus, int E) {
  const auto& p = fit.placement;
  const int S0 = static_cast<int>(m.phy2log.size()) / gpus;
  ASSERT_EQ(p.slots_per_gpu, S0);
  const auto want = eplb_gpu_contents(m, gpus);
  for (int g = 0; g < gpus; ++g) {
    std::vector<int> got;
    for (int j = 0; j < S0; ++j)
      if (p.expert(g, j) >= 0) got.push_back(p.expert(g, j));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want[static_cast<std::size_t>(g)]) << "GPU " << g;
  }
  std::vector<std::vector<int>> phys(static_cast<std::size_t>(E));
  for (std::size_t q = 0; q < m.phy2log.size(); ++q)
    phys[static_cast<std::size_t>(m.phy2log[q])].push_back(static_cast<int>(q) / S0);
  EXPECT_EQ(fit.replica_gpus, phys);
  for (int e = 0; e < E; ++e)
    EXPECT_EQ(static_cast<int>(fit.replica_gpus[static_cast<std::size_t>(e)].size()),
              m.logcnt[static_cast<std::size_t>(e)]);
}

struct Layout {
  int gpus, E, replicas, groups, nodes;
};

// Seeded layouts: 2-16 GPUs, 1-4 experts per GPU, 1-3 extra replicas per GPU, global and
// hierarchical policies. Loads with many ties (trial % 3 == 0) or spread.
Layout seeded_layout(ms::Rng& rng) {
  const int nodes = 1 + static_cast<int>(rng.below(2));
  const int gpus = std::max(2, nodes * (1 + static_cast<int>(rng.below(8))));
  const int E = gpus * (1 + static_cast<int>(rng.below(4)));
  const int replicas = E + gpus * (1 + static_cast<int>(rng.below(3)));
  const int groups = rng.below(2) ? nodes : 1;
  return {gpus, E, replicas, groups, nodes};
}

std::vector<std::int64_t> seeded_loads(ms::Rng& rng, int E, bool ties) {
  std::vector<std::int64_t> w(static_cast<std::size_t>(E));
  for (auto& v : w) v = static_cast<std::int64_t>(rng.below(ties ? 3 : 5000));
  return w;
}

// Exactly S0 slots per GPU, whatever the GPUs share: 6 of the 200 seed-7 draws (those of the
// same-slot test this replaces, e.g. trial 8: G 4, E 8, 16 replicas) needed one slot index more
// under the same-slot rule.
TEST(Eplb, PlacementKeepsTheGpuContentsInExactlyS0Slots) {
  ms::Rng rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int gpus = 2 + static_cast<int>(rng.below(15));
    const int E = gpus * (1 + static_cast<int>(rng.below(4)));
    const int replicas = E + gpus * (1 + static_cast<int>(rng.below(2)));
    const auto w = seeded_loads(rng, E, trial % 3 == 0);
    const auto m = ms::eplb_rebalance_experts(w, replicas, 1, 1, gpus);
    SCOPED_TRACE("trial " + std::to_string(trial));
    expect_fits_the_map(ms::make_eplb_placement(m, gpus, E), m, gpus, E);
  }
  ms::Rng more(11);
  int hierarchical = 0, split = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Layout l = seeded_layout(more);
    if (l.gpus % l.nodes || l.E % l.nodes) continue;
    const auto m =
        ms::eplb_rebalance_experts(seeded_loads(more, l.E, trial % 3 == 0), l.replicas, l.groups, l.nodes, l.gpus);
    SCOPED_TRACE("layout trial " + std::to_string(trial));
    const auto fit = ms::make_eplb_placement(m, l.gpus, l.E);
    expect_fits_the_map(fit, m, l.gpus, l.E);
    hierarchical += m.hierarchical && l.nodes > 1;
    split += !fit.placement.same_slot();
  }
  EXPECT_GT(hierarchical, 30);
  EXPECT_GT(split, 30) << "too few fits used different slot indices for one expert";
}

TEST(Eplb, ReadmeExamplePlacementUsesTwoSlotsPerGpu) {
  const auto m = ms::eplb_rebalance_experts({90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86}, 16, 4, 2, 8);
  const auto fit = ms::make_eplb_placement(m, 8, 12);
  EXPECT_EQ(fit.placement.slots_per_gpu, 2);
  EXPECT_EQ(fit.placement.replicas(5), (std::vector<int>{0, 1}));   // 5 on GPUs 0 and 1
  EXPECT_EQ(fit.placement.replicas(10), (std::vector<int>{4, 5}));  // 10 on GPUs 4 and 5
  EXPECT_EQ(fit.placement.replicas(1), (std::vector<int>{6, 7}));   // 1 on GPUs 6 and 7
  // Each GPU in EPLB's physical order (the printed map, two replicas per GPU).
  EXPECT_EQ(fit.placement.expert_at, (std::vector<int>{5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1}));
  expect_fits_the_map(fit, m, 8, 12);
}

// GPU 0 {0, 1}, GPU 1 {0, 2}, GPU 2 {1, 2}: three experts pairwise on a common GPU, which the
// same-slot rule could only place in three slot indices; the fit uses the two slots per GPU.
// A repeated replica leaves its slot empty.
TEST(Eplb, OddCycleFitsTwoSlotsAndRepeatsLeaveEmptySlots) {
  ms::EplbMap m;
  m.phy2log = {0, 1, 0, 2, 1, 2};
  m.logcnt = {2, 2, 2};
  auto fit = ms::make_eplb_placement(m, 3, 3);
  EXPECT_EQ(fit.placement.slots_per_gpu, 2);
  EXPECT_EQ(fit.placement.expert_at, (std::vector<int>{0, 1, 0, 2, 1, 2}));
  EXPECT_FALSE(fit.placement.same_slot());
  m.phy2log = {0, 0, 1, 2};
  m.logcnt = {2, 1, 1};
  fit = ms::make_eplb_placement(m, 2, 3);
  EXPECT_EQ(fit.placement.slots_per_gpu, 2);
  EXPECT_EQ(fit.placement.expert_at, (std::vector<int>{0, -1, 1, 2}));
  EXPECT_EQ(fit.replica_gpus[0], (std::vector<int>{0, 0}));
}

// Re-placements from seeded, drifting loads: every expert that stays on a GPU keeps its slot
// index there; the others fill the free slots lowest first in EPLB's order; the contents are
// EPLB's map whatever `previous` is.
TEST(Eplb, ExpertsStayingOnAGpuKeepTheirSlot) {
  ms::Rng rng(23);
  long stayed = 0, moved = 0;
  for (int trial = 0; trial < 120; ++trial) {
    const Layout l = seeded_layout(rng);
    if (l.gpus % l.nodes || l.E % l.nodes) continue;
    auto w = seeded_loads(rng, l.E, trial % 3 == 0);
    auto prev =
        ms::make_eplb_placement(ms::eplb_rebalance_experts(w, l.replicas, l.groups, l.nodes, l.gpus), l.gpus, l.E);
    for (int step = 0; step < 6; ++step) {
      for (auto& v : w) v = std::max<std::int64_t>(0, v + static_cast<std::int64_t>(rng.below(2001)) - 1000);
      const auto m = ms::eplb_rebalance_experts(w, l.replicas, l.groups, l.nodes, l.gpus);
      const auto next = ms::make_eplb_placement(m, l.gpus, l.E, &prev.placement);
      SCOPED_TRACE("trial " + std::to_string(trial) + " step " + std::to_string(step));
      expect_fits_the_map(next, m, l.gpus, l.E);
      const int S0 = next.placement.slots_per_gpu;
      for (int g = 0; g < l.gpus; ++g) {
        int lowest_new = 0;  // new experts take the lowest free slots in EPLB's order
        std::vector<int> order;
        for (int k = 0; k < S0; ++k) {
          const int e = m.phy2log[static_cast<std::size_t>(g * S0 + k)];
          if (std::find(order.begin(), order.end(), e) == order.end()) order.push_back(e);
        }
        for (int e : order) {
          const int was = prev.placement.slot_on(g, e), now = next.placement.slot_on(g, e);
          if (was >= 0) {
            EXPECT_EQ(now, was) << "expert " << e << " stayed on GPU " << g;
            ++stayed;
            continue;
          }
          ++moved;
          while (lowest_new < S0 && (next.placement.expert(g, lowest_new) < 0 ||
                                     prev.placement.slot_on(g, next.placement.expert(g, lowest_new)) >= 0))
            ++lowest_new;
          EXPECT_EQ(now, lowest_new) << "new expert " << e << " on GPU " << g;
          ++lowest_new;
        }
      }
      prev = next;
    }
  }
  EXPECT_GT(stayed, 1000);
  EXPECT_GT(moved, 100);
}

// A previous placement with more slot indices (one written before the fit used exactly S0):
// experts beyond S0 take a free slot; those below keep theirs. Another G or E is an error.
TEST(Eplb, PreviousSlotsBeyondS0AreReassigned) {
  ms::EplbMap m;
  m.phy2log = {0, 1, 0, 2, 1, 2};
  m.logcnt = {2, 2, 2};
  // 3 slots per GPU: GPU 0 {-, 1, 0}, GPU 1 {2, -, 0}, GPU 2 {1, 2, -}.
  const ms::Placement previous(3, 3, 3, {-1, 1, 0, 2, -1, 0, 1, 2, -1});
  const auto fit = ms::make_eplb_placement(m, 3, 3, &previous);
  EXPECT_EQ(fit.placement.expert_at, (std::vector<int>{0, 1, 2, 0, 1, 2}));
  const ms::Placement other(2, 3, 3, {0, 1, 2, 0, 1, 2});
  EXPECT_THROW(ms::make_eplb_placement(m, 3, 3, &other), std::invalid_argument);
}

}  // namespace
