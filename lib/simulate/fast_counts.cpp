// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/fast_counts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "emulate/routing_counts.hpp"
#include "workload/counter_random.hpp"

namespace micromoe::simulate {

namespace {

constexpr std::uint64_t kFastStream = 0xfa57c0;  // apart from emulate's token stream

/// SplitMix64 as a uniform random bit generator for std::binomial_distribution.
struct SplitMix {
  using result_type = std::uint64_t;
  std::uint64_t state;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

}  // namespace

std::vector<double> inclusion_probabilities(const std::vector<double>& p, int top_k) {
  const int E = static_cast<int>(p.size());
  std::vector<double> pi(p.size(), 0.0);
  const int positive = static_cast<int>(std::count_if(p.begin(), p.end(), [](double v) { return v > 0; }));
  double target = std::min(top_k, positive);  // the pi of the uncapped experts must add up to this
  std::vector<bool> capped(p.size(), false);
  // Water filling: cap the experts whose scaled share reaches 1, rescale the rest, repeat.
  for (int round = 0; round <= E; ++round) {
    double free_mass = 0;
    for (int e = 0; e < E; ++e)
      if (!capped[e]) free_mass += p[e];
    if (free_mass <= 0) break;
    const double scale = target / free_mass;
    bool changed = false;
    for (int e = 0; e < E; ++e)
      if (!capped[e] && p[e] * scale >= 1.0) {
        capped[e] = true;
        target -= 1.0;
        changed = true;
      }
    if (!changed) {
      for (int e = 0; e < E; ++e) pi[e] = capped[e] ? 1.0 : p[e] * scale;
      return pi;
    }
  }
  for (int e = 0; e < E; ++e) pi[e] = capped[e] ? 1.0 : 0.0;
  return pi;
}

FastCounts::FastCounts(const deck::RunConfig& resolved, int group_size)
    : group_size_(group_size),
      experts_(resolved.model.experts),
      tokens_(resolved.training.tokens_per_micro_batch),
      top_k_(resolved.model.top_k),
      micro_batches_(resolved.training.micro_batches),
      seed_(resolved.training.seed),
      popularity_(emulate::popularity_config(resolved)) {}

schedule::CountMatrix FastCounts::counts(int iteration, int micro_batch, int group) {
  if (iteration != pi_iteration_) {
    pi_ = inclusion_probabilities(popularity_.at(iteration), top_k_);
    binomial_.clear();
    for (const double p : pi_) binomial_.emplace_back(tokens_, std::clamp(p, 0.0, 1.0));
    pi_iteration_ = iteration;
  }
  schedule::CountMatrix c(group_size_, experts_);
  const auto step = static_cast<std::uint64_t>(iteration) * static_cast<std::uint64_t>(micro_batches_) +
                    static_cast<std::uint64_t>(micro_batch);
  for (int s = 0; s < group_size_; ++s) {
    SplitMix rng{workload::hash_indices(seed_, kFastStream, static_cast<std::uint64_t>(group), step,
                                        static_cast<std::uint64_t>(s))};
    for (int e = 0; e < experts_; ++e) {
      const double p = pi_[static_cast<std::size_t>(e)];
      std::int64_t n = 0;
      if (p >= 1.0)
        n = tokens_;
      else if (p > 0.0)
        n = std::binomial_distribution<std::int64_t>(binomial_[static_cast<std::size_t>(e)])(
            rng);  // a fresh one, as before
      c(s, e) = n;
    }
  }
  return c;
}

}  // namespace micromoe::simulate
