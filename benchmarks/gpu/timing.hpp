// SPDX-License-Identifier: BSD-3-Clause
// Timing and result collection of bench_gpu. Device work is timed with a device-wide fence on
// both sides of a sample (Kokkos::fence: cudaDeviceSynchronize on CUDA), each sample repeating
// the work until it lasts >= 1 ms so launch latency does not dominate small cases; the median
// of the samples is reported (METHOD.md: warm up, repeat, take the median).
#pragma once

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace micromoe::bench {

/// Median seconds of one call of `work` over `samples` samples (after two warm-up calls).
template <class Work>
double median_seconds(Work&& work, int samples = 9) {
  work();
  work();
  Kokkos::fence();
  Kokkos::Timer probe;
  work();
  Kokkos::fence();
  const double once = std::max(probe.seconds(), 1e-7);
  const int repeat = std::max(1, static_cast<int>(1e-3 / once));
  std::vector<double> t;
  for (int s = 0; s < samples; ++s) {
    Kokkos::fence();
    Kokkos::Timer timer;
    for (int r = 0; r < repeat; ++r) work();
    Kokkos::fence();
    t.push_back(timer.seconds() / repeat);
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

/// One measured figure: section, case, value, unit, and an optional reference (floor) it is
/// compared with as value / reference (rates) or reference / value (times).
struct Row {
  std::string section, name;
  double value = 0.0;
  std::string unit;
  double ratio = -1.0;  ///< fraction of the floor reached; < 0: none
};

class Results {
 public:
  void add(Row r) {
    std::cout << std::left << std::setw(14) << r.section << std::setw(58) << r.name << std::right << std::setw(12)
              << std::fixed << std::setprecision(r.value < 10 ? 3 : 1) << r.value << " " << std::left << std::setw(8)
              << r.unit;
    if (r.ratio >= 0) std::cout << std::right << std::setw(7) << std::setprecision(1) << 100.0 * r.ratio << " %";
    std::cout << std::endl;
    rows_.push_back(std::move(r));
  }
  /// CSV (section,name,value,unit,ratio) for docs/PERFORMANCE.md and the regression guard.
  void write_csv(const std::string& path) const {
    std::ofstream f(path);
    f << "section,name,value,unit,ratio\n";
    for (const Row& r : rows_)
      f << r.section << ",\"" << r.name << "\"," << std::setprecision(6) << r.value << "," << r.unit << "," << r.ratio
        << "\n";
  }

 private:
  std::vector<Row> rows_;
};

inline std::string shape(std::int64_t m, std::int64_t n, std::int64_t k) {
  std::ostringstream s;
  s << m << "x" << n << "x" << k;
  return s.str();
}

}  // namespace micromoe::bench
