// SPDX-License-Identifier: BSD-3-Clause
// The cluster's links as `micromoe simulate` models them (docs/simulate.md, "Topology"): nodes
// of `gpus_per_node` consecutive ranks; inside a node every GPU sends and receives at the NVLink
// all-to-all bandwidth, across nodes at its NIC's. An all-to-all takes, for each link class, its
// latency plus the busiest port's bytes over the bandwidth; the classes run at the same time.
#pragma once

#include <vector>

#include "deck/run_config.hpp"

namespace micromoe::simulate {

struct Topology {
  int gpus_per_node = 8;
  double intra_bandwidth = 360e9;  ///< bytes/s per GPU inside a node
  double intra_latency = 15e-6;    ///< seconds per all-to-all inside a node
  double inter_bandwidth = 47e9;   ///< bytes/s per GPU across nodes
  double inter_latency = 30e-6;    ///< seconds per all-to-all across nodes

  /// From the deck's [cluster] section (GB/s and microseconds).
  static Topology from(const deck::ClusterConfig& cluster);
  int node(int rank) const { return rank / gpus_per_node; }
  bool same_node(int a, int b) const { return node(a) == node(b); }
};

/// Bytes one rank sends and receives in one all-to-all, by link class.
struct PortBytes {
  double send_intra = 0, recv_intra = 0, send_inter = 0, recv_inter = 0;
};

/// Seconds of one all-to-all over `ports` (one per rank taking part): for each link class that
/// carries bytes, latency + max over ranks of max(send, receive) / bandwidth; the larger class wins.
double all_to_all_seconds(const Topology& topology, const std::vector<PortBytes>& ports);

/// Seconds for one rank to move `intra` bytes inside its node and `inter` bytes across nodes
/// (each class: latency + bytes / bandwidth when it carries bytes; the classes overlap).
double transfer_seconds(const Topology& topology, double intra, double inter);

/// Bytes each member sends (and receives) in a ring all-reduce of `bytes` over `members` ranks.
double all_reduce_bytes(double bytes, int members);

}  // namespace micromoe::simulate
