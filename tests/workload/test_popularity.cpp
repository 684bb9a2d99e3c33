// SPDX-License-Identifier: BSD-3-Clause
// Cluster popularity is Zipf(s) over a drifting ranking, with bursts, deterministic in the seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "workload/popularity.hpp"

namespace micromoe::workload {
namespace {

TEST(Popularity, IsAZipfDistributionOverTheClusters) {
  PopularitySchedule schedule({16, 1.5, 0.0, 0.0, 4.0, 7});
  auto p = schedule.at(0);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-12);
  std::sort(p.rbegin(), p.rend());
  for (int r = 1; r < 16; ++r) EXPECT_NEAR(p[0] / p[r], std::pow(r + 1.0, 1.5), 1e-9) << "rank " << r;
}

TEST(Popularity, ZeroSkewIsUniform) {
  PopularitySchedule schedule({10, 0.0, 0.3, 0.0, 4.0, 1});
  for (double v : schedule.at(5)) EXPECT_DOUBLE_EQ(v, 0.1);
}

TEST(Popularity, DriftMovesTheRankingAndIsReproducible) {
  PopularitySchedule a({32, 1.0, 0.1, 0.0, 4.0, 3}), b({32, 1.0, 0.1, 0.0, 4.0, 3});
  const auto first = a.at(0);
  const auto later = a.at(50);
  EXPECT_NE(first, later);
  EXPECT_EQ(later, b.at(50));  // jumping straight there gives the same answer
  EXPECT_EQ(first, a.at(0));   // and so does going back
}

TEST(Popularity, CertainBurstBoostsOneClusterByItsFactor) {
  PopularitySchedule calm({8, 0.0, 0.0, 0.0, 5.0, 2}), burst({8, 0.0, 0.0, 1.0, 5.0, 2});
  const auto p = burst.at(3);
  const double top = *std::max_element(p.begin(), p.end());
  const double low = *std::min_element(p.begin(), p.end());
  EXPECT_NEAR(top / low, 5.0, 1e-12);
  EXPECT_NE(p, calm.at(3));
}

TEST(Popularity, DifferentSeedsRankDifferently) {
  PopularitySchedule a({32, 1.0, 0.0, 0.0, 4.0, 1}), b({32, 1.0, 0.0, 0.0, 4.0, 2});
  EXPECT_NE(a.at(0), b.at(0));
}

}  // namespace
}  // namespace micromoe::workload
