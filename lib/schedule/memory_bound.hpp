// SPDX-License-Identifier: BSD-3-Clause
// The best max GPU load any placement of a given memory could reach for one micro-batch's
// expert loads: a lower bound for every placement with that many expert replicas in all.
#pragma once

#include <cstdint>
#include <vector>

namespace micromoe::schedule {

/// max(total / G, min over replica counts d of max over e of L[e] / d_e), the d_e integers with
/// 1 <= d_e <= G and sum d_e <= `replicas` (G * slots per GPU). Any placement with that memory
/// has some such d, and its max load is at least both terms (fractional: a GPU's share of an
/// expert need not be an integer). The inner minimum is exact by the greedy rule (each spare
/// replica to the expert with the largest load per replica), stopped once that is <= the mean.
/// Keeps its heap between calls: no allocation in steady state.
class MemoryBound {
 public:
  /// Throws std::invalid_argument unless gpus >= 1 and loads.size() <= replicas.
  double operator()(const std::vector<std::int64_t>& loads, int gpus, std::int64_t replicas);

 private:
  struct Item {
    std::int64_t load;
    std::int64_t replicas;
  };
  std::vector<Item> heap_;
};

}  // namespace micromoe::schedule
