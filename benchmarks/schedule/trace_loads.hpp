// SPDX-License-Identifier: BSD-3-Clause
// The study tools' view of a trace (docs/trace.md): (iteration, layer) -> each expert's load,
// summed over micro-batches and sources. `experts` grows to the largest id + 1 seen over all
// files read, and every row is padded to it. Read with the product's checked reader
// (workload::read_trace: either format, its limits and error messages).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "workload/trace.hpp"

namespace micromoe::bench {

using Loads = std::vector<std::int64_t>;
using TraceLoads = std::map<std::pair<int, int>, Loads>;

/// Throws micromoe::InputError (a std::runtime_error) naming the file and the problem.
inline TraceLoads read_trace_loads(const std::string& path, int& experts) {
  const workload::RoutingTrace trace = workload::read_trace(path, 0);
  experts = std::max(experts, trace.experts);
  TraceLoads t;
  for (int it = 0; it < trace.iterations; ++it)
    for (int layer = 0; layer < trace.layers; ++layer) {
      Loads& l = t[{it, layer}];
      l.assign(static_cast<std::size_t>(experts), 0);
      for (int m = 0; m < trace.micro_batches; ++m)
        for (int s = 0; s < trace.sources; ++s) {
          const std::int64_t* row = trace.data.data() + trace.offset(it, layer, m, s);
          for (int e = 0; e < trace.experts; ++e) l[static_cast<std::size_t>(e)] += row[e];
        }
    }
  return t;
}

}  // namespace micromoe::bench
