// SPDX-License-Identifier: BSD-3-Clause
#include "train/progress.hpp"

#include <cmath>
#include <cstdio>

namespace micromoe::train {

std::string format_duration(double seconds) {
  char text[64];
  if (seconds < 1e-3)
    std::snprintf(text, sizeof text, "%.1f us", seconds * 1e6);
  else if (seconds < 1)
    std::snprintf(text, sizeof text, "%.1f ms", seconds * 1e3);
  else if (seconds < 120)
    std::snprintf(text, sizeof text, "%.2f s", seconds);
  else
    std::snprintf(text, sizeof text, "%ld min %02ld s", static_cast<long>(seconds) / 60,
                  static_cast<long>(seconds) % 60);
  return text;
}

ProgressPrinter::ProgressPrinter(std::ostream& out, bool quiet, long total_iterations)
    : out_(out), quiet_(quiet), total_(total_iterations) {}

void ProgressPrinter::iteration(const Line& l) {
  ++done_;
  elapsed_ += l.step_seconds;
  if (quiet_) return;
  const double eta = done_ > 0 ? elapsed_ / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0.0;
  char text[256];
  std::snprintf(text, sizeof text, "%-17s iter %4d/%-4d loss %.5e  step %9s  %10.4g tok/s  imbalance %.3f  ETA %s",
                l.strategy.c_str(), l.iteration + 1, l.iterations, l.loss, format_duration(l.step_seconds).c_str(),
                l.tokens_per_second, l.imbalance, format_duration(eta).c_str());
  out_ << text << std::endl;  // flushed: batch logs show progress as it happens
}

}  // namespace micromoe::train
