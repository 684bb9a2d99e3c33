// SPDX-License-Identifier: BSD-3-Clause
// One progress line per iteration on rank 0: strategy, iteration/total, loss, step time,
// tokens/s, imbalance and the estimated time left for the whole run.
#pragma once

#include <ostream>
#include <string>

namespace micromoe::train {

class ProgressPrinter {
 public:
  /// `total_iterations`: iterations of the whole run (all strategies). quiet: print nothing.
  ProgressPrinter(std::ostream& out, bool quiet, long total_iterations);

  struct Line {
    std::string strategy;
    int iteration = 0;  ///< 0-based
    int iterations = 0;
    double loss = 0, step_seconds = 0, tokens_per_second = 0, imbalance = 1;
  };
  void iteration(const Line& line);

 private:
  std::ostream& out_;
  bool quiet_;
  long total_, done_ = 0;
  double elapsed_ = 0;
};

/// "1.23 s", "45.6 ms", "2 min 05 s", ...
std::string format_duration(double seconds);

}  // namespace micromoe::train
