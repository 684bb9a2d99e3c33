// SPDX-License-Identifier: BSD-3-Clause
// The one-copy-per-token cap: its excess is spread over the other experts in proportion to
// their trace shares (exact integers, sums kept, caps respected), and per-source replay gives
// each rank exactly its source's counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "workload/trace.hpp"

namespace micromoe::workload {
namespace {

std::int64_t sum(const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); }

TEST(TraceCap, RedistributesTheExcessProportionallyHandComputed) {
  // {100, 0, 50, 50} -> 20 copies: {10, 0, 5, 5}; expert 0 capped at 8, its 2 extra copies go to
  // experts 2 and 3 (shares 50:50), none to expert 1 (share 0), not to the lowest ids.
  CapEffect effect;
  EXPECT_EQ(rescale_counts({100, 0, 50, 50}, 20, 8, &effect), (std::vector<std::int64_t>{8, 0, 6, 6}));
  EXPECT_EQ(effect.moved, 2);
  EXPECT_DOUBLE_EQ(effect.tv_distance, 0.1);
  // {60, 30, 10, 0} -> 10 copies, cap 4: {6, 3, 1, 0}; 2 excess by 30:10 -> 1.5 : 0.5, the tie of
  // remainders goes to the lower id -> {4, 5, 1, 0}; expert 1 is now over the cap by 1, which
  // goes to expert 2 (the only free one with a share) -> {4, 4, 2, 0}.
  EXPECT_EQ(rescale_counts({60, 30, 10, 0}, 10, 4, &effect), (std::vector<std::int64_t>{4, 4, 2, 0}));
  EXPECT_EQ(effect.moved, 2);
  // When the free experts have no share, the excess is spread uniformly over them.
  EXPECT_EQ(rescale_counts({10, 0, 0, 0}, 8, 2), (std::vector<std::int64_t>{2, 2, 2, 2}));
  // No cap binding: nothing moves.
  EXPECT_EQ(rescale_counts({3, 1}, 4, 4, &effect), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(effect.moved, 0);
  EXPECT_EQ(effect.tv_distance, 0.0);
}

TEST(TraceCap, PropertySumsKeptCapsRespectedProportionalToShares) {
  std::uint64_t state = 12345;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int trial = 0; trial < 400; ++trial) {
    const int n = 2 + static_cast<int>(next() % 30);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(n));
    for (auto& c : counts)
      c = next() % 4 == 0 ? 0 : static_cast<std::int64_t>(next() % 1000) * (next() % 8 == 0 ? 50 : 1);
    const std::int64_t cap = 1 + static_cast<std::int64_t>(next() % 50);
    const std::int64_t total = static_cast<std::int64_t>(next() % (n * cap + 1));
    const auto out = rescale_counts(counts, total, cap);
    ASSERT_EQ(sum(out), total) << "trial " << trial;
    for (auto v : out) ASSERT_TRUE(v >= 0 && v <= cap) << "trial " << trial;
    // Proportional: the continuous water-filling min(cap, lambda * share) (uniform when no
    // share), found by bisection; every expert within 2 copies of it.
    const double weight_sum = static_cast<double>(sum(counts));
    const auto ideal = [&](double lambda, int e) {
      const double w = weight_sum > 0 ? static_cast<double>(counts[e]) : 1.0;
      return std::min(static_cast<double>(cap), lambda * w);
    };
    double lo = 0, hi = 1e18;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      double s = 0;
      for (int e = 0; e < n; ++e) s += ideal(mid, e);
      (s < static_cast<double>(total) ? lo : hi) = mid;
    }
    double free_total = 0;  // when the shared experts saturate, the rest is uniform over the zero-share ones
    for (int e = 0; e < n; ++e) free_total += ideal(hi, e);
    if (free_total + 0.5 < static_cast<double>(total)) continue;  // zero-share overflow: checked by the hand case
    for (int e = 0; e < n; ++e)
      ASSERT_LE(std::abs(static_cast<double>(out[e]) - ideal(hi, e)), 2.0)
          << "trial " << trial << " expert " << e << " share " << counts[e];
  }
}

TEST(TraceCap, SummaryCountsTheRowsTheCapReshaped) {
  // Top-1 rows replayed with top_k 2 over 2 ranks x 10 tokens: the cap is 20 copies per expert.
  std::istringstream in(
      "iteration,layer,micro_batch,expert,tokens\n0,0,0,0,90\n0,0,0,1,10\n0,1,0,0,25\n0,1,0,1,25\n0,1,0,2,25\n"
      "0,1,0,3,25\n");
  const auto t = parse_trace(in, "t.csv", 4);
  const auto s = cap_summary(t, 2, 10, 2);
  EXPECT_EQ(s.rows, 2);
  EXPECT_EQ(s.rows_capped, 1);  // layer 0: expert 0 wants 36 of 40 copies, at most 20
  EXPECT_DOUBLE_EQ(s.max_tv_distance, 16.0 / 40.0);
  EXPECT_EQ(cap_summary(t, 2, 10, 1).rows_capped, 0);
}

TEST(TraceReplay, PerSourceRanksRouteExactlyTheirSourcesCounts) {
  std::istringstream in(
      "iteration,layer,micro_batch,source,expert,tokens\n"
      "0,0,0,0,0,4\n0,0,0,0,3,4\n0,0,0,1,1,4\n0,0,0,1,2,4\n0,0,0,2,0,4\n0,0,0,2,2,4\n0,0,0,3,0,1\n"
      "0,0,0,3,1,4\n0,0,0,3,3,3\n");
  const auto t = parse_trace(in, "t.csv", 4);
  for (const int ranks : {1, 2, 4}) {
    const int top_k = 2, tokens = 8 * (4 / ranks) / top_k;  // each source sent 8 copies, at most 4 per expert
    for (int r = 0; r < ranks; ++r) {
      const auto routing = replay_routing(t, 0, 0, 0, ranks, r, tokens, top_k);
      std::vector<std::int64_t> seen(4, 0);
      for (const int e : routing) ++seen[static_cast<std::size_t>(e)];
      EXPECT_EQ(seen, t.rank_counts(0, 0, 0, ranks, r)) << ranks << " ranks, rank " << r;
      for (int tok = 0; tok < tokens; ++tok) {
        const std::set<int> distinct(routing.begin() + tok * top_k, routing.begin() + (tok + 1) * top_k);
        EXPECT_EQ(distinct.size(), static_cast<std::size_t>(top_k)) << "token " << tok;
      }
    }
  }
}

}  // namespace
}  // namespace micromoe::workload
