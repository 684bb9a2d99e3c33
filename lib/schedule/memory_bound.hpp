// SPDX-License-Identifier: BSD-3-Clause
// The best max GPU load any placement of a given memory could reach for one micro-batch's
// expert loads: a lower bound for every placement with that many expert replicas in all. One
// definition for every user: the report's memory_bound, the shift detector of microep-adaptive
// and `micromoe schedule`'s batch output.
#pragma once

#include <cstdint>
#include <vector>

namespace micromoe::schedule {

/// The best max GPU load any placement of E = loads.size() experts on G GPUs with S slots each
/// can reach for `loads` (whatever slot indices its replicas use):
///   B = max( ceil(T / G),  min over r of max_e ceil(L_e / r_e) ),   T = sum_e L_e,
/// r ranging over replica counts with 1 <= r_e <= G and sum_e r_e <= G * S. Loads are whole
/// token copies: an expert with r_e replicas puts at least ceil(L_e / r_e) of its copies on one
/// of its GPUs, and some GPU holds at least ceil(T / G). The inner minimum is exact by the
/// greedy that gives each spare replica to the expert with the largest ceil(L_e / r_e).
/// The object keeps its heap between calls: no allocation in steady state.
class MemoryBound {
 public:
  /// Throws std::invalid_argument unless G, S, E >= 1, G * S >= E and every load >= 0.
  std::int64_t operator()(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu);

 private:
  struct Item {
    std::int64_t key;  // ceil(load / replicas)
    std::int64_t load;
    int replicas;
    int expert;
  };
  std::vector<Item> heap_;
};

/// MemoryBound once (allocates).
std::int64_t memory_bound(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu);
/// memory_bound as an imbalance: B / (T / G); 1 when T = 0.
double memory_bound_imbalance(const std::vector<std::int64_t>& loads, int gpus, int slots_per_gpu);

}  // namespace micromoe::schedule
