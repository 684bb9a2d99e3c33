// SPDX-License-Identifier: BSD-3-Clause
// Seeded synthetic routing counts for the scheduler tests and benchmarks: Zipf(s) expert
// popularity over a drifting ranking, top-k without replacement, a fixed number of tokens per
// source GPU. Floating point is used here to *generate* data only, never to schedule it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "schedule/rng.hpp"
#include "schedule/solver.hpp"

namespace micromoe::schedule::testing {

/// Micro-batches of counts whose expert popularity is Zipf(s) over a ranking that drifts: a
/// few adjacent ranks swap between consecutive micro-batches, as gate preferences do in training.
class DriftingZipf {
 public:
  DriftingZipf(int gpus, int experts, double s, int tokens_per_gpu, int top_k, std::uint64_t seed,
               int swaps_per_step = 1)
      : G_(gpus),
        E_(experts),
        tokens_(tokens_per_gpu),
        k_(std::min(top_k, experts)),
        swaps_(swaps_per_step),
        rng_(seed) {
    rank_.resize(static_cast<std::size_t>(E_));
    std::iota(rank_.begin(), rank_.end(), 0);
    rng_.shuffle(rank_);  // rank_[r] = expert at popularity rank r
    weight_.resize(static_cast<std::size_t>(E_));
    for (int r = 0; r < E_; ++r) weight_[static_cast<std::size_t>(r)] = std::pow(r + 1.0, -s);
    // Per-source preference: sources see slightly different popularity (data locality).
    bias_.resize(static_cast<std::size_t>(G_));
    for (int g = 0; g < G_; ++g)
      bias_[static_cast<std::size_t>(g)] = static_cast<int>(rng_.below(static_cast<std::uint64_t>(E_)));
  }

  /// Next micro-batch (exact token sampling; O(G * tokens * k)).
  CountMatrix next() {
    drift();
    CountMatrix c(G_, E_);
    std::vector<double> cdf(static_cast<std::size_t>(E_));
    std::vector<int> picked;
    for (int g = 0; g < G_; ++g) {
      double acc = 0;
      for (int r = 0; r < E_; ++r) {
        // A source favours a band of experts 2x (its data's topics).
        const int e = rank_[static_cast<std::size_t>(r)];
        const double b = ((e - bias_[static_cast<std::size_t>(g)] + E_) % E_) < std::max(1, E_ / 8) ? 2.0 : 1.0;
        acc += weight_[static_cast<std::size_t>(r)] * b;
        cdf[static_cast<std::size_t>(r)] = acc;
      }
      for (int t = 0; t < tokens_; ++t) {
        picked.clear();
        while (static_cast<int>(picked.size()) < k_) {
          const double u = uniform() * acc;
          const auto r = static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
          const int e = rank_[static_cast<std::size_t>(std::min(r, E_ - 1))];
          if (std::find(picked.begin(), picked.end(), e) == picked.end()) picked.push_back(e);
        }
        for (int e : picked) ++c(g, e);
      }
    }
    return c;
  }

  /// Next micro-batch with the statistics of next() at O(G * E) cost, for large sizes: every
  /// count is its expected value plus Poisson-like noise (normal, variance = mean).
  CountMatrix next_expected() {
    drift();
    CountMatrix c(G_, E_);
    double total = 0;
    for (double w : weight_) total += w;
    for (int g = 0; g < G_; ++g)
      for (int r = 0; r < E_; ++r) {
        const int e = rank_[static_cast<std::size_t>(r)];
        const double mean = static_cast<double>(tokens_) * k_ * weight_[static_cast<std::size_t>(r)] / total;
        const double u1 = std::max(uniform(), 1e-300), u2 = uniform();
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        c(g, e) = std::max<std::int64_t>(0, std::llround(mean + std::sqrt(mean) * z));
      }
    return c;
  }

 private:
  void drift() {
    for (int i = 0; i < swaps_ && E_ > 1; ++i) {
      const auto r = static_cast<std::size_t>(rng_.below(static_cast<std::uint64_t>(E_ - 1)));
      std::swap(rank_[r], rank_[r + 1]);
    }
  }
  double uniform() { return static_cast<double>(rng_.next() >> 11) * (1.0 / 9007199254740992.0); }

  int G_, E_, tokens_, k_, swaps_;
  Rng rng_;
  std::vector<int> rank_;
  std::vector<double> weight_;
  std::vector<int> bias_;
};

}  // namespace micromoe::schedule::testing
