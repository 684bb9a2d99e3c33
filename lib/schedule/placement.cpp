// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/placement.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

#include "schedule/rng.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule {

namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

// Loads-only solver options for the measures and searches here.
SolverOptions plain_options(bool warm) {
  SolverOptions o;
  o.locality = false;
  o.warm_start = warm;
  o.dense_tokens = false;
  return o;
}

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("placement: " + what); }

}  // namespace

// ---- Placement ------------------------------------------------------------------------------

Placement::Placement(int gpus, int slots_per_gpu, int experts, std::vector<int> expert_at)
    : gpus(gpus), slots_per_gpu(slots_per_gpu), experts(experts), expert_at(std::move(expert_at)) {
  reindex();
}

void Placement::validate() const {
  if (gpus < 1) fail("gpus must be >= 1, got " + str(gpus));
  if (slots_per_gpu < 1) fail("slots_per_gpu must be >= 1, got " + str(slots_per_gpu));
  if (experts < 1) fail("experts must be >= 1, got " + str(experts));
  const std::size_t n = static_cast<std::size_t>(gpus) * static_cast<std::size_t>(slots_per_gpu);
  if (expert_at.size() != n)
    fail("expert_at has " + str(static_cast<std::int64_t>(expert_at.size())) +
         " entries, expected gpus*slots_per_gpu = " + str(static_cast<std::int64_t>(n)));
  std::vector<int> last_gpu(static_cast<std::size_t>(experts), -1), last_slot(static_cast<std::size_t>(experts), -1);
  for (int g = 0; g < gpus; ++g) {
    for (int j = 0; j < slots_per_gpu; ++j) {
      const int e = expert_at[static_cast<std::size_t>(g) * slots_per_gpu + j];
      if (e == -1) continue;
      if (e < -1 || e >= experts)
        fail("expert id " + str(e) + " at GPU " + str(g) + " slot " + str(j) + " is out of range [0, " + str(experts) +
             ") (-1 marks an empty slot)");
      const auto ei = static_cast<std::size_t>(e);
      if (last_gpu[ei] == g)
        fail("expert " + str(e) + " is on GPU " + str(g) + " twice (slots " + str(last_slot[ei]) + " and " + str(j) +
             ")");
      last_gpu[ei] = g;
      last_slot[ei] = j;
    }
  }
  for (int e = 0; e < experts; ++e)
    if (last_gpu[static_cast<std::size_t>(e)] == -1) fail("expert " + str(e) + " has no replica");
}

void Placement::reindex() {
  validate();
  replicas_.assign(static_cast<std::size_t>(experts), {});
  replica_slots_.assign(static_cast<std::size_t>(experts), {});
  for (int g = 0; g < gpus; ++g)
    for (int j = 0; j < slots_per_gpu; ++j) {
      const int e = expert(g, j);
      if (e < 0) continue;
      replicas_[static_cast<std::size_t>(e)].push_back(g);
      replica_slots_[static_cast<std::size_t>(e)].push_back(j);
    }
}

int Placement::slot_on(int gpu, int expert) const {
  const auto& reps = replicas(expert);
  const auto it = std::lower_bound(reps.begin(), reps.end(), gpu);
  if (it == reps.end() || *it != gpu) return -1;
  return replica_slots(expert)[static_cast<std::size_t>(it - reps.begin())];
}

bool Placement::same_slot() const {
  for (const auto& slots : replica_slots_)
    for (const int j : slots)
      if (j != slots.front()) return false;
  return true;
}

int Placement::uniform_replicas() const {
  if (replicas_.empty()) return 0;
  const int d = static_cast<int>(replicas_[0].size());
  for (const auto& r : replicas_)
    if (static_cast<int>(r.size()) != d) return 0;
  return d;
}

std::string Placement::to_string() const {
  std::ostringstream os;
  for (int g = 0; g < gpus; ++g) {
    os << "gpu " << g << ":";
    for (int j = 0; j < slots_per_gpu; ++j) os << ' ' << expert(g, j);
    os << '\n';
  }
  return os.str();
}

// ---- Builders -------------------------------------------------------------------------------

Placement make_ep_placement(int gpus, int experts, int ep_size) {
  if (gpus < 1 || experts < 1 || ep_size < 1)
    fail("ep: gpus, experts and ep_size must be >= 1 (got " + str(gpus) + ", " + str(experts) + ", " + str(ep_size) +
         ")");
  if (gpus % ep_size != 0) fail("ep: ep_size " + str(ep_size) + " does not divide gpus " + str(gpus));
  if (experts % ep_size != 0) fail("ep: ep_size " + str(ep_size) + " does not divide experts " + str(experts));
  const int S = experts / ep_size;
  std::vector<int> at(static_cast<std::size_t>(gpus) * S, -1);
  for (int k = 0; k < gpus / ep_size; ++k)
    for (int e = 0; e < experts; ++e) at[static_cast<std::size_t>(k * ep_size + e / S) * S + e % S] = e;
  return Placement(gpus, S, experts, std::move(at));
}

namespace {

// Replicas per expert for the symmetric kinds; checks that they pack into slots.
int uniform_d(const char* kind, int gpus, int slots, int experts) {
  if (gpus < 1 || slots < 1 || experts < 1) fail(std::string(kind) + ": gpus, slots_per_gpu and experts must be >= 1");
  const std::int64_t total = static_cast<std::int64_t>(gpus) * slots;
  if (total % experts != 0)
    fail(std::string(kind) + ": gpus*slots_per_gpu = " + str(total) + " is not a multiple of experts " + str(experts));
  const int d = static_cast<int>(total / experts);
  if (d > gpus) fail(std::string(kind) + ": " + str(d) + " replicas per expert exceed gpus " + str(gpus));
  if (static_cast<std::int64_t>(gpus / d) * slots < experts)
    fail(std::string(kind) + ": " + str(experts) + " experts with " + str(d) + " replicas each do not fit " +
         str(slots) + " slot indices of " + str(gpus) + " GPUs (at most " + str(gpus / d) + " experts per slot index)");
  return d;
}

// Experts per slot index: E spread as evenly as possible over S slots.
std::vector<int> per_slot_counts(int slots, int experts) {
  std::vector<int> k(static_cast<std::size_t>(slots), experts / slots);
  for (int j = 0; j < experts % slots; ++j) ++k[static_cast<std::size_t>(j)];
  return k;
}

}  // namespace

Placement make_random_placement(int gpus, int slots_per_gpu, int experts, std::uint64_t seed) {
  const int d = uniform_d("random", gpus, slots_per_gpu, experts);
  Rng rng(seed ^ 0x52414E444F4DULL);
  std::vector<int> order(static_cast<std::size_t>(experts));
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);
  const auto k = per_slot_counts(slots_per_gpu, experts);
  std::vector<int> at(static_cast<std::size_t>(gpus) * slots_per_gpu, -1);
  std::vector<int> perm(static_cast<std::size_t>(gpus));
  std::size_t next = 0;
  for (int j = 0; j < slots_per_gpu; ++j) {
    std::iota(perm.begin(), perm.end(), 0);
    rng.shuffle(perm);
    for (int i = 0; i < k[static_cast<std::size_t>(j)]; ++i) {
      const int e = order[next++];
      for (int r = 0; r < d; ++r)
        at[static_cast<std::size_t>(perm[static_cast<std::size_t>(i * d + r)]) * slots_per_gpu + j] = e;
    }
  }
  return Placement(gpus, slots_per_gpu, experts, std::move(at));
}

namespace {

// groups[j] = list of GPU groups (each of d GPUs) for slot j.
using SlotGroups = std::vector<std::vector<std::vector<int>>>;

struct SymScore {
  int max_co = 0;
  int components = 0;
  std::int64_t exp_num = 0, exp_den = 1;  // edge expansion (G <= 16), larger is better
  std::int64_t sumsq = 0;
};

bool better(const SymScore& a, const SymScore& b) {
  if (a.max_co != b.max_co) return a.max_co < b.max_co;
  if (a.components != b.components) return a.components < b.components;
  const __int128 l = static_cast<__int128>(a.exp_num) * b.exp_den, r = static_cast<__int128>(b.exp_num) * a.exp_den;
  if (l != r) return l > r;
  return a.sumsq < b.sumsq;
}

SymScore score_groups(int G, const SlotGroups& sg) {
  SymScore s;
  std::vector<int> co(static_cast<std::size_t>(G) * G, 0);
  std::vector<int> parent(static_cast<std::size_t>(G));
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int v) {
    while (parent[static_cast<std::size_t>(v)] != v)
      v = parent[static_cast<std::size_t>(v)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(v)])];
    return v;
  };
  std::vector<std::uint32_t> masks;
  for (const auto& slot : sg)
    for (const auto& grp : slot) {
      std::uint32_t m = 0;
      for (std::size_t a = 0; a < grp.size(); ++a) {
        if (G <= 16) m |= 1u << grp[a];
        for (std::size_t b = a + 1; b < grp.size(); ++b) {
          const int c = ++co[static_cast<std::size_t>(grp[a]) * G + grp[b]];
          ++co[static_cast<std::size_t>(grp[b]) * G + grp[a]];
          s.max_co = std::max(s.max_co, c);
          parent[static_cast<std::size_t>(find(grp[a]))] = find(grp[b]);
        }
      }
      masks.push_back(m);
    }
  for (int v = 0; v < G; ++v) s.components += find(v) == v;
  for (int c : co) s.sumsq += static_cast<std::int64_t>(c) * c;
  if (G <= 16 && G >= 2) {
    s.exp_num = 1 << 30;
    s.exp_den = 1;
    const std::uint32_t full = (1u << G) - 1;
    for (std::uint32_t U = 1; U < full; ++U) {
      const int n = __builtin_popcount(U);
      if (2 * n > G) continue;
      std::int64_t cut = 0;
      for (std::uint32_t m : masks) cut += (m & U) && (m & ~U & full);
      if (static_cast<__int128>(cut) * s.exp_den < static_cast<__int128>(s.exp_num) * n) {
        s.exp_num = cut;
        s.exp_den = n;
      }
    }
  }
  return s;
}

}  // namespace

Placement make_symmetric_placement(int gpus, int slots_per_gpu, int experts, std::uint64_t seed, int candidates) {
  const int d = uniform_d("symmetric", gpus, slots_per_gpu, experts);
  const int G = gpus, S = slots_per_gpu;
  const auto k = per_slot_counts(S, experts);
  if (candidates < 1) candidates = 1;
  if (G > 64) candidates = std::min(candidates, 2);
  Rng rng(seed ^ 0x53594D4DULL);
  SlotGroups best;
  SymScore best_score;
  for (int cand = 0; cand < candidates; ++cand) {
    SlotGroups sg(static_cast<std::size_t>(S));
    std::vector<int> relabel(static_cast<std::size_t>(G));
    std::iota(relabel.begin(), relabel.end(), 0);
    rng.shuffle(relabel);
    if (cand == 0 && d == 2 && G % 2 == 0 && S <= G - 1) {
      // Circle-method 1-factorisation of K_G: S distinct rounds, so no GPU pair repeats.
      const int n = G - 1;
      for (int j = 0; j < S; ++j) {
        const int r = static_cast<int>(static_cast<std::int64_t>(j) * n / S);
        std::vector<std::vector<int>> groups;
        groups.push_back({relabel[static_cast<std::size_t>(r)], relabel[static_cast<std::size_t>(n)]});
        for (int t = 1; t <= n / 2; ++t)
          groups.push_back(
              {relabel[static_cast<std::size_t>((r + t) % n)], relabel[static_cast<std::size_t>((r - t + n) % n)]});
        groups.resize(static_cast<std::size_t>(k[static_cast<std::size_t>(j)]));
        sg[static_cast<std::size_t>(j)] = std::move(groups);
      }
    } else {
      // Greedy: each group grows by the free GPU sharing the fewest experts with its members.
      std::vector<int> co(static_cast<std::size_t>(G) * G, 0);
      std::vector<char> used(static_cast<std::size_t>(G));
      std::vector<int> order(static_cast<std::size_t>(G));
      for (int j = 0; j < S; ++j) {
        std::iota(order.begin(), order.end(), 0);
        rng.shuffle(order);
        std::fill(used.begin(), used.end(), 0);
        for (int i = 0; i < k[static_cast<std::size_t>(j)]; ++i) {
          std::vector<int> grp;
          for (int g : order)
            if (!used[static_cast<std::size_t>(g)]) {
              grp.push_back(g);
              used[static_cast<std::size_t>(g)] = 1;
              break;
            }
          while (static_cast<int>(grp.size()) < d) {
            int pick = -1;
            std::int64_t pick_cost = 0;
            for (int h : order) {
              if (used[static_cast<std::size_t>(h)]) continue;
              std::int64_t c = 0;
              for (int m : grp) c += co[static_cast<std::size_t>(m) * G + h];
              if (pick < 0 || c < pick_cost) {
                pick = h;
                pick_cost = c;
              }
            }
            grp.push_back(pick);
            used[static_cast<std::size_t>(pick)] = 1;
          }
          for (int a : grp)
            for (int b : grp)
              if (a != b) ++co[static_cast<std::size_t>(a) * G + b];
          sg[static_cast<std::size_t>(j)].push_back(std::move(grp));
        }
      }
    }
    const SymScore sc = score_groups(G, sg);
    if (best.empty() || better(sc, best_score)) {
      best = std::move(sg);
      best_score = sc;
    }
  }
  std::vector<int> at(static_cast<std::size_t>(G) * S, -1);
  int e = 0;
  for (int j = 0; j < S; ++j)
    for (const auto& grp : best[static_cast<std::size_t>(j)]) {
      for (int g : grp) at[static_cast<std::size_t>(g) * S + j] = e;
      ++e;
    }
  return Placement(G, S, experts, std::move(at));
}

Placement make_shuffled_placement(PlacementKind kind, int gpus, int slots_per_gpu, int experts, std::uint64_t seed) {
  switch (kind) {
    case PlacementKind::symmetric:
      return make_symmetric_placement(gpus, slots_per_gpu, experts, seed);
    case PlacementKind::random:
      return make_random_placement(gpus, slots_per_gpu, experts, seed);
  }
  fail("unknown placement kind " + str(static_cast<int>(kind)));
}

// ---- Adaptive and redundant ------------------------------------------------------------------

namespace {

// a/da > b/db ?
bool more_per_replica(std::int64_t a, int da, std::int64_t b, int db) {
  return static_cast<__int128>(a) * db > static_cast<__int128>(b) * da;
}

// The redundant placement's packing, every expert whole in one slot index: the listed experts
// with counts d into `bins` slot indices of capacity G; returns each one's bin. An expert that
// fits nowhere has its count cut (taking replicas above one from the bin's coldest expert per
// replica); free positions left go to the hottest experts of their bin.
std::vector<int> pack_whole_slots(int G, int bins, const std::vector<int>& list, std::vector<int>& d,
                                  const std::vector<std::int64_t>& loads) {
  std::vector<int> order = list;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
    if (d[ia] != d[ib]) return d[ia] > d[ib];
    if (loads[ia] != loads[ib]) return loads[ia] > loads[ib];
    return a < b;
  });
  std::vector<int> room(static_cast<std::size_t>(bins), G);
  std::vector<int> bin(d.size(), -1);
  for (int e : order) {
    auto& de = d[static_cast<std::size_t>(e)];
    const int need = std::min(de, 1);
    int jb = 0;
    for (int j = 1; j < bins; ++j)
      if (room[static_cast<std::size_t>(j)] > room[static_cast<std::size_t>(jb)]) jb = j;
    if (room[static_cast<std::size_t>(jb)] < need) {
      // Keep one replica: the bin that can free most room by taking replicas above one.
      std::vector<int> spare(room);
      for (int x : list)
        if (bin[static_cast<std::size_t>(x)] >= 0)
          spare[static_cast<std::size_t>(bin[static_cast<std::size_t>(x)])] +=
              std::max(0, d[static_cast<std::size_t>(x)] - 1);
      for (int j = 0; j < bins; ++j)
        if (spare[static_cast<std::size_t>(j)] > spare[static_cast<std::size_t>(jb)]) jb = j;
    }
    // Take replicas above one from the bin's expert that loses least per replica.
    while (room[static_cast<std::size_t>(jb)] < need) {
      int give = -1;
      for (int x : list) {
        const auto xi = static_cast<std::size_t>(x);
        if (bin[xi] != jb || d[xi] <= 1) continue;
        if (give < 0 || more_per_replica(loads[static_cast<std::size_t>(give)], d[static_cast<std::size_t>(give)] - 1,
                                         loads[xi], d[xi] - 1))
          give = x;
      }
      if (give < 0) break;
      --d[static_cast<std::size_t>(give)];
      ++room[static_cast<std::size_t>(jb)];
    }
    de = std::min(de, room[static_cast<std::size_t>(jb)]);
    if (de < 1) fail("redundant: no room left for expert " + str(e) + " (more experts than slots)");
    room[static_cast<std::size_t>(jb)] -= de;
    bin[static_cast<std::size_t>(e)] = jb;
  }
  for (int j = 0; j < bins; ++j) {
    while (room[static_cast<std::size_t>(j)] > 0) {
      int pick = -1;
      for (int e : list) {
        const auto ei = static_cast<std::size_t>(e);
        if (bin[ei] != j || d[ei] >= G) continue;
        if (pick < 0 || more_per_replica(loads[ei], d[ei], loads[static_cast<std::size_t>(pick)],
                                         d[static_cast<std::size_t>(pick)]))
          pick = e;
      }
      if (pick < 0) break;
      ++d[static_cast<std::size_t>(pick)];
      --room[static_cast<std::size_t>(j)];
    }
  }
  return bin;
}

// One expert's share of a slot index: `count` of its replicas sit in slot index `slot`.
struct SlotPart {
  int slot;
  int count;
};

// Packs experts with counts d into `bins` slot indices of capacity G, largest counts first, each
// into the slot index with the most room; an expert larger than that room continues in the next
// one (its replicas then use two or more slot indices, on distinct GPUs). Every count fits
// exactly (sum d <= G * bins), so no count is cut and every floor holds.
std::vector<std::vector<SlotPart>> pack_slots(int G, int bins, const std::vector<int>& d,
                                              const std::vector<std::int64_t>& loads) {
  std::vector<int> order(d.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
    if (d[ia] != d[ib]) return d[ia] > d[ib];
    if (loads[ia] != loads[ib]) return loads[ia] > loads[ib];
    return a < b;
  });
  std::vector<int> room(static_cast<std::size_t>(bins), G);
  std::vector<std::vector<SlotPart>> parts(d.size());
  for (int e : order) {
    for (int left = d[static_cast<std::size_t>(e)]; left > 0;) {
      int jb = 0;
      for (int j = 1; j < bins; ++j)
        if (room[static_cast<std::size_t>(j)] > room[static_cast<std::size_t>(jb)]) jb = j;
      const int c = std::min(left, room[static_cast<std::size_t>(jb)]);
      if (c < 1) fail("adaptive: no room left for expert " + str(e) + " (more replicas than slots)");
      parts[static_cast<std::size_t>(e)].push_back({jb, c});
      room[static_cast<std::size_t>(jb)] -= c;
      left -= c;
    }
  }
  return parts;
}

// GPUs for the experts of slot index j (`members`: expert and count in this slot index; split
// experts first, then descending count): first the GPUs in `preferred` (the current placement:
// fewer migrations), then the free ones with the least accumulated share (ties: lower id);
// never a GPU that already holds the expert in another slot index (`holds[g * E + e]`). A
// replica with no such GPU left would stay out (its position empty): possible in principle when
// two experts spanning slot indices meet in one, never seen in 200,000 seeded small instances
// nor in test_adaptive's shapes (which assert every position used).
void assign_slot(int G, int S, int E, int j, std::vector<std::pair<int, int>> members,
                 const std::vector<std::int64_t>& loads, const std::vector<int>& d,
                 const std::vector<std::vector<int>>& preferred, std::vector<std::int64_t>& share,
                 std::vector<char>& holds, std::vector<int>& at) {
  // Experts split over slot indices first (fewest GPUs to choose from), then larger counts.
  std::sort(members.begin(), members.end(), [&](const auto& a, const auto& b) {
    const auto ia = static_cast<std::size_t>(a.first), ib = static_cast<std::size_t>(b.first);
    const bool sa = a.second < d[ia], sb = b.second < d[ib];
    if (sa != sb) return sa;
    if (d[ia] != d[ib]) return d[ia] > d[ib];
    if (loads[ia] != loads[ib]) return loads[ia] > loads[ib];
    return a.first < b.first;
  });
  std::vector<char> used(static_cast<std::size_t>(G), 0);
  auto free_for = [&](int g, int e) {
    return !used[static_cast<std::size_t>(g)] && !holds[static_cast<std::size_t>(g) * E + e];
  };
  auto put = [&](int g, int e, std::int64_t per) {
    used[static_cast<std::size_t>(g)] = 1;
    holds[static_cast<std::size_t>(g) * E + e] = 1;
    at[static_cast<std::size_t>(g) * S + j] = e;
    share[static_cast<std::size_t>(g)] += per;
  };
  for (const auto& [e, count] : members) {
    const auto ei = static_cast<std::size_t>(e);
    const std::int64_t per = loads[ei] / std::max(1, d[ei]);
    int placed = 0;
    if (!preferred.empty())
      for (int g : preferred[ei]) {
        if (placed == count) break;
        if (!free_for(g, e)) continue;
        put(g, e, per);
        ++placed;
      }
    for (; placed < count; ++placed) {
      int pick = -1;
      for (int g = 0; g < G; ++g)
        if (free_for(g, e) && (pick < 0 || share[static_cast<std::size_t>(g)] < share[static_cast<std::size_t>(pick)]))
          pick = g;
      if (pick < 0) break;
      put(pick, e, per);
    }
  }
}

}  // namespace

int replica_floor(int gpus, int slots_per_gpu, int experts, int min_replicas) {
  int f = std::max(1, std::min(min_replicas, gpus));
  // E experts of f replicas each pack into S slot indices of G positions only if floor(G/f)*S >= E.
  while (f > 1 && static_cast<std::int64_t>(gpus / f) * slots_per_gpu < experts) --f;
  return f;
}

AdaptivePlacement make_adaptive_placement(int gpus, int slots_per_gpu, const std::vector<std::int64_t>& forecast_loads,
                                          const Placement* current, const AdaptiveOptions& options) {
  const int G = gpus, S = slots_per_gpu, E = static_cast<int>(forecast_loads.size());
  if (G < 1 || S < 1 || E < 1) fail("adaptive: gpus, slots_per_gpu and the number of forecast loads must be >= 1");
  if (static_cast<std::int64_t>(G) * S < E)
    fail("adaptive: " + str(E) + " experts do not fit " + str(G) + " GPUs x " + str(S) + " slots");
  for (int e = 0; e < E; ++e)
    if (forecast_loads[static_cast<std::size_t>(e)] < 0) fail("adaptive: negative forecast load for expert " + str(e));
  if (current && (current->gpus != G || current->slots_per_gpu != S || current->experts != E))
    fail("adaptive: the current placement has a different shape");
  const auto& L = forecast_loads;

  // 1. Replica counts: the floor, then greedy on load per replica.
  std::vector<int> floor(static_cast<std::size_t>(E), replica_floor(G, S, E, options.min_replicas));
  if (!options.floors.empty()) {
    if (options.floors.size() != static_cast<std::size_t>(E)) fail("adaptive: floors size differs from the experts");
    for (int e = 0; e < E; ++e)
      floor[static_cast<std::size_t>(e)] = std::max(1, std::min(G, options.floors[static_cast<std::size_t>(e)]));
  }
  std::int64_t floor_sum = 0;
  for (int f : floor) floor_sum += f;
  if (floor_sum > static_cast<std::int64_t>(G) * S) fail("adaptive: the replica floors exceed the G*S slots");
  std::vector<int> d = floor;
  {
    auto worse = [&](int a, int b) {  // priority-queue order: true when a ranks below b
      const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
      if (more_per_replica(L[ia], d[ia], L[ib], d[ib])) return false;
      if (more_per_replica(L[ib], d[ib], L[ia], d[ia])) return true;
      if (d[ia] != d[ib]) return d[ia] > d[ib];
      return a > b;
    };
    std::priority_queue<int, std::vector<int>, decltype(worse)> pq(worse);
    for (int e = 0; e < E; ++e)
      if (floor[static_cast<std::size_t>(e)] < G) pq.push(e);
    std::int64_t left = static_cast<std::int64_t>(G) * S - floor_sum;
    while (left > 0 && !pq.empty()) {
      const int e = pq.top();
      pq.pop();
      ++d[static_cast<std::size_t>(e)];
      --left;
      if (d[static_cast<std::size_t>(e)] < G) pq.push(e);
    }
  }
  // 2. Slot indices (an expert may span several).
  const std::vector<std::vector<SlotPart>> parts = pack_slots(G, S, d, L);
  // 3. GPUs: start from the current placement, then a seeded local search.
  std::vector<std::vector<int>> preferred;
  if (current) {
    preferred.resize(static_cast<std::size_t>(E));
    for (int e = 0; e < E; ++e) preferred[static_cast<std::size_t>(e)] = current->replicas(e);
  }
  std::vector<int> at(static_cast<std::size_t>(G) * S, -1);
  std::vector<std::int64_t> share(static_cast<std::size_t>(G), 0);
  std::vector<char> holds(static_cast<std::size_t>(G) * E, 0);  // holds[g * E + e]
  for (int j = 0; j < S; ++j) {
    std::vector<std::pair<int, int>> members;
    for (int e = 0; e < E; ++e)
      for (const SlotPart& part : parts[static_cast<std::size_t>(e)])
        if (part.slot == j) members.emplace_back(e, part.count);
    assign_slot(G, S, E, j, members, L, d, preferred, share, holds, at);
  }
  std::vector<char> had;
  if (current) {
    had.assign(static_cast<std::size_t>(G) * E, 0);
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < S; ++j) {
        const int e = current->expert(g, j);
        if (e >= 0) had[static_cast<std::size_t>(g) * E + e] = 1;
      }
  }
  auto evaluate = [&](const std::vector<int>& a) {
    Solver solver(Placement(G, S, E, a), plain_options(false));
    const Plan p = solver.solve_loads(L);
    std::int64_t mig = 0, sumsq = 0;
    for (int g = 0; g < G; ++g) {
      std::int64_t sh = 0;
      for (int j = 0; j < S; ++j) {
        const int e = a[static_cast<std::size_t>(g) * S + j];
        if (e < 0) continue;
        sh += L[static_cast<std::size_t>(e)] / d[static_cast<std::size_t>(e)];
        if (current && !had[static_cast<std::size_t>(g) * E + e]) ++mig;
      }
      const std::int64_t scaled = sh >> 8;  // keep the square in range
      sumsq += scaled * scaled;
    }
    return std::make_tuple(p.max_load, mig, sumsq);
  };
  auto best = evaluate(at);
  Rng rng(options.seed ^ 0x414441505449ULL);
  if (G > 1)
    for (int it = 0; it < options.search_iterations; ++it) {
      const int j = static_cast<int>(rng.below(static_cast<std::uint64_t>(S)));
      const int g1 = static_cast<int>(rng.below(static_cast<std::uint64_t>(G)));
      const int g2 = static_cast<int>(rng.below(static_cast<std::uint64_t>(G)));
      auto& a = at[static_cast<std::size_t>(g1) * S + j];
      auto& b = at[static_cast<std::size_t>(g2) * S + j];
      if (a == b) continue;
      // An expert spanning slot indices may already sit on the other GPU.
      if ((a >= 0 && holds[static_cast<std::size_t>(g2) * E + a]) ||
          (b >= 0 && holds[static_cast<std::size_t>(g1) * E + b]))
        continue;
      auto move = [&](int e, int from, int to) {
        if (e < 0) return;
        holds[static_cast<std::size_t>(from) * E + e] = 0;
        holds[static_cast<std::size_t>(to) * E + e] = 1;
      };
      const int ea = a, eb = b;
      move(ea, g1, g2);
      move(eb, g2, g1);
      std::swap(a, b);
      const auto cand = evaluate(at);
      if (cand <= best) {
        best = cand;
      } else {
        std::swap(a, b);
        move(ea, g2, g1);
        move(eb, g1, g2);
      }
    }
  AdaptivePlacement out;
  out.placement = Placement(G, S, E, at);
  out.replica_counts.resize(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) out.replica_counts[static_cast<std::size_t>(e)] = out.placement.replica_count(e);
  out.forecast_max_load = std::get<0>(best);
  out.migrations = current ? std::get<1>(best) : 0;
  std::int64_t total = 0;
  for (auto l : L) total += l;
  out.forecast_lower_bound = (total + G - 1) / G;
  return out;
}

Placement make_redundant_placement(int gpus, int experts, int ep_size, int extra_slots_per_gpu,
                                   const std::vector<std::int64_t>& forecast_loads) {
  const Placement base = make_ep_placement(gpus, experts, ep_size);
  if (extra_slots_per_gpu < 0) fail("redundant: extra_slots_per_gpu must be >= 0");
  if (forecast_loads.size() != static_cast<std::size_t>(experts))
    fail("redundant: " + str(static_cast<std::int64_t>(forecast_loads.size())) + " forecast loads for " + str(experts) +
         " experts");
  const int G = gpus, S0 = base.slots_per_gpu, X = extra_slots_per_gpu, S = S0 + X;
  const auto& L = forecast_loads;
  std::vector<int> d(static_cast<std::size_t>(experts), G / ep_size);
  std::vector<char> promoted(static_cast<std::size_t>(experts), 0);
  std::int64_t room = static_cast<std::int64_t>(X) * G;
  // Greedy on load per replica: promotion moves the d_e EP replicas and adds one.
  for (;;) {
    int pick = -1;
    for (int e = 0; e < experts; ++e) {
      const auto ei = static_cast<std::size_t>(e);
      if (d[ei] >= G || L[ei] == 0) continue;
      const std::int64_t cost = promoted[ei] ? 1 : d[ei] + 1;
      if (cost > room) continue;
      if (pick < 0 ||
          more_per_replica(L[ei], d[ei], L[static_cast<std::size_t>(pick)], d[static_cast<std::size_t>(pick)]))
        pick = e;
    }
    if (pick < 0) break;
    const auto pi = static_cast<std::size_t>(pick);
    room -= promoted[pi] ? 1 : d[pi] + 1;
    promoted[pi] = 1;
    ++d[pi];
  }
  std::vector<int> list;
  for (int e = 0; e < experts; ++e)
    if (promoted[static_cast<std::size_t>(e)]) list.push_back(e);
  std::vector<int> at(static_cast<std::size_t>(G) * S, -1);
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < S0; ++j) {
      const int e = base.expert(g, j);
      if (!promoted[static_cast<std::size_t>(e)]) at[static_cast<std::size_t>(g) * S + j] = e;
    }
  if (!list.empty()) {
    const std::vector<int> bin = pack_whole_slots(G, X, list, d, L);
    std::vector<std::vector<int>> preferred(static_cast<std::size_t>(experts));
    for (int e : list) preferred[static_cast<std::size_t>(e)] = base.replicas(e);
    std::vector<std::int64_t> share(static_cast<std::size_t>(G), 0);
    std::vector<char> holds(static_cast<std::size_t>(G) * experts, 0);
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < S; ++j)
        if (const int e = at[static_cast<std::size_t>(g) * S + j]; e >= 0)
          holds[static_cast<std::size_t>(g) * experts + e] = 1;
    for (int j = 0; j < X; ++j) {
      std::vector<std::pair<int, int>> members;
      for (int e : list)
        if (bin[static_cast<std::size_t>(e)] == j) members.emplace_back(e, d[static_cast<std::size_t>(e)]);
      assign_slot(G, S, experts, S0 + j, members, L, d, preferred, share, holds, at);
    }
  }
  return Placement(G, S, experts, std::move(at));
}

// ---- Quality measures -------------------------------------------------------------------------

Density max_induced_density(const Placement& placement, const std::vector<std::int64_t>& loads) {
  const int G = placement.gpus, E = placement.experts;
  if (loads.size() != static_cast<std::size_t>(E)) fail("density: loads size differs from experts");
  Density best{0, 1};
  if (G <= 16) {
    std::vector<std::int64_t> f(std::size_t{1} << G, 0);
    for (int e = 0; e < E; ++e) {
      std::uint32_t m = 0;
      for (int g : placement.replicas(e)) m |= 1u << g;
      f[m] += loads[static_cast<std::size_t>(e)];
    }
    for (int b = 0; b < G; ++b)
      for (std::size_t U = 0; U < f.size(); ++U)
        if (U >> b & 1) f[U] += f[U ^ (std::size_t{1} << b)];
    for (std::size_t U = 1; U < f.size(); ++U) {
      const int n = __builtin_popcount(static_cast<unsigned>(U));
      if (static_cast<__int128>(f[U]) * best.den > static_cast<__int128>(best.num) * n) best = {f[U], n};
    }
    return best;
  }
  // Scale by K = G^2: two different densities (denominators <= G) differ by >= 1/G^2, so the set
  // that proves ceil(K m*) has density exactly m*.
  const std::int64_t K = static_cast<std::int64_t>(G) * G;
  std::vector<std::int64_t> scaled(loads.size());
  std::int64_t total = 0;
  for (std::size_t e = 0; e < loads.size(); ++e) {
    scaled[e] = loads[e] * K;
    total += loads[e];
  }
  Solver solver(placement, plain_options(true));
  solver.solve_loads(scaled);
  const auto& crit = solver.critical_set();
  if (crit.empty()) return {total, G};
  std::vector<char> in(static_cast<std::size_t>(G), 0);
  for (int g : crit) in[static_cast<std::size_t>(g)] = 1;
  std::int64_t l = 0;
  for (int e = 0; e < E; ++e) {
    bool inside = true;
    for (int g : placement.replicas(e)) inside = inside && in[static_cast<std::size_t>(g)];
    if (inside) l += loads[static_cast<std::size_t>(e)];
  }
  best = {l, static_cast<std::int64_t>(crit.size())};
  if (static_cast<__int128>(total) * best.den > static_cast<__int128>(best.num) * G) best = {total, G};
  return best;
}

double expected_zipf_imbalance(const Placement& placement, double s, int samples, std::uint64_t seed,
                               std::int64_t tokens) {
  const int E = placement.experts;
  std::vector<double> p(static_cast<std::size_t>(E));
  double h = 0;
  for (int r = 0; r < E; ++r) h += p[static_cast<std::size_t>(r)] = std::pow(r + 1.0, -s);
  Solver solver(placement, plain_options(false));
  Rng rng(seed);
  std::vector<int> rank(static_cast<std::size_t>(E));
  std::vector<std::int64_t> loads(static_cast<std::size_t>(E));
  double sum = 0;
  for (int t = 0; t < samples; ++t) {
    std::iota(rank.begin(), rank.end(), 0);
    rng.shuffle(rank);
    for (int e = 0; e < E; ++e)
      loads[static_cast<std::size_t>(e)] = static_cast<std::int64_t>(std::llround(
          static_cast<double>(tokens) * p[static_cast<std::size_t>(rank[static_cast<std::size_t>(e)])] / h));
    sum += solver.solve_loads(loads).imbalance();
  }
  return samples > 0 ? sum / samples : 1.0;
}

double adversarial_zipf_imbalance(const Placement& placement, double s, int restarts, int iterations,
                                  std::uint64_t seed, std::int64_t tokens) {
  const int E = placement.experts;
  std::vector<std::int64_t> by_rank(static_cast<std::size_t>(E));
  double h = 0;
  for (int r = 0; r < E; ++r) h += std::pow(r + 1.0, -s);
  for (int r = 0; r < E; ++r)
    by_rank[static_cast<std::size_t>(r)] =
        static_cast<std::int64_t>(std::llround(static_cast<double>(tokens) * std::pow(r + 1.0, -s) / h));
  Solver solver(placement, plain_options(false));
  Rng rng(seed ^ 0x4144564552ULL);
  std::vector<int> rank(static_cast<std::size_t>(E));
  std::vector<std::int64_t> loads(static_cast<std::size_t>(E));
  Plan plan;
  auto evaluate = [&]() {
    for (int e = 0; e < E; ++e)
      loads[static_cast<std::size_t>(e)] = by_rank[static_cast<std::size_t>(rank[static_cast<std::size_t>(e)])];
    solver.solve_loads(loads, plan);
    return plan.max_load;  // the total is fixed, so max load orders imbalance exactly
  };
  std::int64_t worst = 0, total = 0;
  for (auto l : by_rank) total += l;
  for (int t = 0; t < restarts; ++t) {
    std::iota(rank.begin(), rank.end(), 0);
    rng.shuffle(rank);
    std::int64_t cur = evaluate();
    for (int it = 0; it < iterations && E > 1; ++it) {
      const auto a = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(E)));
      const auto b = static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(E)));
      if (a == b) continue;
      std::swap(rank[a], rank[b]);
      const std::int64_t v = evaluate();
      if (v >= cur)
        cur = v;
      else
        std::swap(rank[a], rank[b]);
    }
    worst = std::max(worst, cur);
  }
  return total > 0 ? static_cast<double>(worst) * placement.gpus / static_cast<double>(total) : 1.0;
}

}  // namespace micromoe::schedule
