// SPDX-License-Identifier: BSD-3-Clause
// A small, fully specified pseudo-random generator for seeded placements and searches.
// The standard library's distributions are implementation-defined, so a seed would give
// different placements with different compilers; this one gives the same bits everywhere.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace micromoe::schedule {

/// SplitMix64: 64-bit state, passes BigCrush, identical output on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection: unbiased).
  std::uint64_t below(std::uint64_t n) {
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(next()) * n;
      const auto low = static_cast<std::uint64_t>(m);
      if (low >= n || low >= (0 - n) % n) return static_cast<std::uint64_t>(m >> 64);
    }
  }

  /// Fisher-Yates shuffle with this generator.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t state_;
};

}  // namespace micromoe::schedule
