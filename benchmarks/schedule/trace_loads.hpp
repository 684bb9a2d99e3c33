// SPDX-License-Identifier: BSD-3-Clause
// The study tools' view of a trace CSV of totals (docs/trace.md): (iteration, layer) -> each
// expert's load, summed over micro-batches. `experts` grows to the largest id + 1 seen over all
// files read, and every row is padded to it. For the shared traces under ../shared/traces; the
// product's checked reader is workload::read_trace.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace micromoe::bench {

using Loads = std::vector<std::int64_t>;
using TraceLoads = std::map<std::pair<int, int>, Loads>;

/// Throws std::runtime_error when the file cannot be read.
inline TraceLoads read_trace_loads(const std::string& path, int& experts) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  TraceLoads t;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == 'i') continue;
    std::istringstream row(line);
    std::string f[5];
    for (auto& x : f) std::getline(row, x, ',');
    const int it = std::stoi(f[0]), layer = std::stoi(f[1]), e = std::stoi(f[3]);
    auto& l = t[{it, layer}];
    if (static_cast<int>(l.size()) <= e) l.resize(static_cast<std::size_t>(e) + 1, 0);
    l[static_cast<std::size_t>(e)] += std::stoll(f[4]);
    experts = std::max(experts, e + 1);
  }
  for (auto& kv : t) kv.second.resize(static_cast<std::size_t>(experts), 0);
  return t;
}

}  // namespace micromoe::bench
