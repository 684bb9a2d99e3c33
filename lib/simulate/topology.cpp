// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/topology.hpp"

#include <algorithm>

namespace micromoe::simulate {

Topology Topology::from(const deck::ClusterConfig& c) {
  Topology t;
  t.gpus_per_node = c.gpus_per_node;
  t.intra_bandwidth = c.intra_node_bandwidth * 1e9;
  t.intra_latency = c.intra_node_latency * 1e-6;
  t.inter_bandwidth = c.inter_node_bandwidth * 1e9;
  t.inter_latency = c.inter_node_latency * 1e-6;
  return t;
}

double all_to_all_seconds(const Topology& t, const std::vector<PortBytes>& ports) {
  double intra = 0, inter = 0;
  for (const auto& p : ports) {
    intra = std::max({intra, p.send_intra, p.recv_intra});
    inter = std::max({inter, p.send_inter, p.recv_inter});
  }
  return transfer_seconds(t, intra, inter);
}

double transfer_seconds(const Topology& t, double intra, double inter) {
  const double a = intra > 0 ? t.intra_latency + intra / t.intra_bandwidth : 0.0;
  const double b = inter > 0 ? t.inter_latency + inter / t.inter_bandwidth : 0.0;
  return std::max(a, b);
}

double all_reduce_bytes(double bytes, int members) { return members > 1 ? 2.0 * (members - 1) / members * bytes : 0.0; }

}  // namespace micromoe::simulate
