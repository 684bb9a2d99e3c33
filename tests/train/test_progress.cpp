// SPDX-License-Identifier: BSD-3-Clause
// The progress line: its exact format, the time left estimated from the mean step so far, and
// silence when quiet; durations in the unit that reads best.
#include <gtest/gtest.h>

#include <sstream>

#include "train/progress.hpp"

namespace micromoe::train {
namespace {

TEST(Progress, DurationsPickTheirUnit) {
  EXPECT_EQ(format_duration(5e-5), "50.0 us");
  EXPECT_EQ(format_duration(1e-3), "1.0 ms");
  EXPECT_EQ(format_duration(0.0456), "45.6 ms");
  EXPECT_EQ(format_duration(1.234), "1.23 s");
  EXPECT_EQ(format_duration(119.5), "119.50 s");
  EXPECT_EQ(format_duration(120), "2 min 00 s");
  EXPECT_EQ(format_duration(125.7), "2 min 05 s");
}

TEST(Progress, OneLinePerIterationWithTimeLeft) {
  std::ostringstream out;
  ProgressPrinter progress(out, /*quiet=*/false, /*total_iterations=*/4);
  progress.iteration({"microep", 0, 2, 0.5, 1.0, 1000, 1.25});
  // Mean step 1 s, 3 iterations left.
  EXPECT_EQ(out.str(),
            "microep           iter    1/2    loss 5.00000e-01  step    1.00 s        1000 tok/s  imbalance 1.250  "
            "ETA 3.00 s\n");
  out.str("");
  progress.iteration({"microep", 1, 2, 0.25, 3.0, 2.5e6, 1.0});
  // Mean step (1 + 3) / 2 = 2 s, 2 iterations left.
  EXPECT_EQ(out.str(),
            "microep           iter    2/2    loss 2.50000e-01  step    3.00 s     2.5e+06 tok/s  imbalance 1.000  "
            "ETA 4.00 s\n");
}

TEST(Progress, QuietPrintsNothingButStillCounts) {
  std::ostringstream out;
  ProgressPrinter quiet(out, /*quiet=*/true, 2);
  quiet.iteration({"ep", 0, 2, 1.0, 0.1, 10, 2.0});
  quiet.iteration({"ep", 1, 2, 1.0, 0.1, 10, 2.0});
  EXPECT_TRUE(out.str().empty()) << out.str();
}

}  // namespace
}  // namespace micromoe::train
