// SPDX-License-Identifier: BSD-3-Clause
// The q-quantile of per-call times (lower nearest rank): the medians and p90s the scheduler
// benchmarks report as counters.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace micromoe::bench {

inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace micromoe::bench
