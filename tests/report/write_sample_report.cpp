// SPDX-License-Identifier: BSD-3-Clause
// Writes a small real report with write_report (for tests/report/test_postprocess.py):
//   micromoe_write_sample_report OUT.h5 [--truncated]
#include <cstring>
#include <exception>
#include <iostream>

#include "report/report_writer.hpp"
#include "sample_results.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: micromoe_write_sample_report OUT.h5 [--truncated]\n";
    return 2;
  }
  using namespace micromoe::report;
  try {
    RunInfo info = testing::sample_run_info();
    std::vector<StrategyResults> results = {
        testing::sample_results("ep", 2.0), testing::sample_results("ep-capacity", 1.6),
        testing::sample_results("microep", 1.05), testing::sample_results("balanced", 1.0)};
    if (argc > 2 && std::strcmp(argv[2], "--truncated") == 0) {
      info.truncated = true;
      info.iterations_completed = 2;
      results[2] = testing::sample_results("microep", 1.05, 2);  // stopped during microep
      results[3] = testing::sample_results("balanced", 1.0, 0);  // never started
    }
    write_report(argv[1], info, results);
  } catch (const std::exception& e) {
    std::cerr << "micromoe_write_sample_report: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
