// SPDX-License-Identifier: BSD-3-Clause
#include "workload/popularity.hpp"

#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "workload/counter_random.hpp"

namespace micromoe::workload {

namespace {
constexpr std::uint64_t kDriftStream = 0xd1f7;
constexpr std::uint64_t kBurstStream = 0xb0b5;

std::vector<int> initial_ranking(const PopularityConfig& c) {
  std::vector<int> ranking(static_cast<std::size_t>(c.clusters));
  std::iota(ranking.begin(), ranking.end(), 0);
  // Fisher-Yates with counter-based draws: which cluster starts hot is seeded, not fixed.
  for (int i = c.clusters - 1; i > 0; --i) {
    const auto j = static_cast<int>(hash_indices(c.seed, kDriftStream, 0, static_cast<std::uint64_t>(i)) %
                                    static_cast<std::uint64_t>(i + 1));
    std::swap(ranking[static_cast<std::size_t>(i)], ranking[static_cast<std::size_t>(j)]);
  }
  return ranking;
}
}  // namespace

PopularitySchedule::PopularitySchedule(const PopularityConfig& config) : config_(config) {
  MICROMOE_REQUIRE(config.clusters > 0, "popularity needs at least one cluster");
  MICROMOE_REQUIRE(config.zipf_s >= 0 && config.drift >= 0 && config.burst_probability >= 0 &&
                       config.burst_probability <= 1 && config.burst_factor >= 1,
                   "popularity parameters out of range");
  ranking_ = initial_ranking(config_);
}

void PopularitySchedule::advance_to(int iteration) {
  if (iteration < ranking_iteration_) {
    ranking_ = initial_ranking(config_);
    ranking_iteration_ = 0;
  }
  const int n = config_.clusters;
  const int swaps = n > 1 ? static_cast<int>(std::lround(config_.drift * n)) : 0;
  for (; ranking_iteration_ < iteration; ++ranking_iteration_) {
    for (int s = 0; s < swaps; ++s) {
      const auto r = static_cast<std::size_t>(hash_indices(config_.seed, kDriftStream,
                                                           static_cast<std::uint64_t>(ranking_iteration_) + 1,
                                                           static_cast<std::uint64_t>(s)) %
                                              static_cast<std::uint64_t>(n - 1));
      std::swap(ranking_[r], ranking_[r + 1]);
    }
  }
}

std::vector<double> PopularitySchedule::at(int iteration) {
  MICROMOE_REQUIRE(iteration >= 0, "negative iteration");
  advance_to(iteration);
  const int n = config_.clusters;
  std::vector<double> p(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r)
    p[static_cast<std::size_t>(ranking_[static_cast<std::size_t>(r)])] = std::pow(r + 1.0, -config_.zipf_s);
  const std::uint64_t burst = hash_indices(config_.seed, kBurstStream, static_cast<std::uint64_t>(iteration));
  if (uniform01(burst) < config_.burst_probability)
    p[static_cast<std::size_t>(mix64(burst) % static_cast<std::uint64_t>(n))] *= config_.burst_factor;
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (auto& v : p) v /= total;
  return p;
}

}  // namespace micromoe::workload
