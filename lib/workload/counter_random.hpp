// SPDX-License-Identifier: BSD-3-Clause
// Counter-based random numbers: a value is a pure function of (seed, indices), so a kernel
// produces the same data whatever thread computes which element, on every backend and run.
#pragma once

#include <Kokkos_Core.hpp>
#include <cstdint>

namespace micromoe::workload {

/// SplitMix64 finaliser: a bijective 64-bit mixer with good avalanche.
KOKKOS_INLINE_FUNCTION std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Hash of a seed and up to four indices.
KOKKOS_INLINE_FUNCTION std::uint64_t hash_indices(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0,
                                                  std::uint64_t c = 0, std::uint64_t d = 0) {
  std::uint64_t h = mix64(seed);
  h = mix64(h ^ a);
  h = mix64(h ^ b);
  h = mix64(h ^ c);
  return mix64(h ^ d);
}

/// Uniform in [0, 1) from the top 24 bits (exact in float).
KOKKOS_INLINE_FUNCTION float uniform01(std::uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }

/// Approximately standard normal: Irwin-Hall sum of four uniforms, rescaled to unit variance.
/// No transcendental functions, so every backend computes the same bits.
KOKKOS_INLINE_FUNCTION float normal01(std::uint64_t h) {
  const float s = uniform01(mix64(h)) + uniform01(mix64(h + 1)) + uniform01(mix64(h + 2)) + uniform01(mix64(h + 3));
  return (s - 2.0f) * 1.7320508f;  // variance of the sum is 4/12
}

}  // namespace micromoe::workload
