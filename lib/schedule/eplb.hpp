// SPDX-License-Identifier: BSD-3-Clause
// DeepSeek's expert-parallelism load balancer (deepseek-ai/EPLB, eplb.py) ported to C++ for
// one MoE layer, and its fit to MicroMoE's placement model (the eplb strategy's placement).
//
// Deterministic, with torch's tie-breaks made explicit: loads are converted to float32 and
// every quotient and pack sum is computed in float32 as torch does; the descending sort keeps
// equal weights in index order (a stable sort); max() and Python's min() take the first
// (lowest index) of equal values.
#pragma once

#include <cstdint>
#include <vector>

#include "schedule/placement.hpp"

namespace micromoe::schedule {

/// eplb.py's result for one layer: physical expert p sits on GPU p / (num_replicas / num_gpus).
struct EplbMap {
  std::vector<int> phy2log;   ///< [num_replicas] logical expert of each physical expert
  std::vector<int> phy_rank;  ///< [num_replicas] replica rank of each physical expert
  std::vector<int> logcnt;    ///< [E] physical replicas of each logical expert
  bool hierarchical = false;  ///< the hierarchical policy ran (groups divisible by nodes)
};

/// eplb.py's balanced_packing for one row: n items into `packs` packs of n / packs items each
/// (largest weight first, each to the lightest pack with room). Returns pack of each item and
/// its rank in the pack. Throws std::invalid_argument unless packs divides n.
void eplb_balanced_packing(const std::vector<float>& weight, int packs, std::vector<int>& pack_index,
                           std::vector<int>& rank_in_pack);

/// eplb.py's replicate_experts for one row: `num_phy` replicas of weight.size() experts, each
/// extra replica to the expert with the largest weight per replica.
void eplb_replicate_experts(const std::vector<float>& weight, int num_phy, std::vector<int>& phy2log,
                            std::vector<int>& rank, std::vector<int>& logcnt);

/// eplb.py's rebalance_experts for one layer: the hierarchical policy when `num_groups` is a
/// multiple of `num_nodes` (expert groups packed to nodes, replication inside each node,
/// replicas packed to the node's GPUs), else the global policy (one group, one node).
/// Throws std::invalid_argument where eplb.py's asserts fail.
EplbMap eplb_rebalance_experts(const std::vector<std::int64_t>& weight, int num_replicas, int num_groups, int num_nodes,
                               int num_gpus);

/// An EplbMap fitted to a Placement.
struct EplbPlacement {
  Placement placement;
  /// [E] the GPU of every physical replica of the expert, ascending, with repeats where EPLB
  /// put two replicas of one expert on one GPU (that GPU then gets two shares of its tokens).
  std::vector<std::vector<int>> replica_gpus;
};

/// The placement of an EplbMap on `gpus` GPUs, in exactly S0 = num_replicas / G slots per GPU
/// (the memory EPLB states). The GPUs' contents are EPLB's exactly; only the slot index inside
/// a GPU is chosen, and an expert may sit at different indices on different GPUs (Placement
/// addresses a replica by (GPU, slot)). With `previous` (the placement being replaced, same G
/// and E), an expert that `previous` already holds on a GPU keeps its slot index there when
/// that index is < S0 and still free, so a re-placement copies nothing for the experts that
/// stay; the other experts take the lowest free slots in EPLB's physical order. A second
/// replica of an expert on the same GPU leaves an empty slot (its token share is kept in
/// `replica_gpus`). Throws std::invalid_argument on a map that does not fit G and E, or a
/// `previous` of another G or E.
EplbPlacement make_eplb_placement(const EplbMap& map, int gpus, int experts, const Placement* previous = nullptr);

}  // namespace micromoe::schedule
