// SPDX-License-Identifier: BSD-3-Clause
// bfloat16 storage for the bf16 expert path: the upper 16 bits of an IEEE float, rounded to
// nearest even. Stored as std::uint16_t so the same Views exist on every Kokkos version and
// backend (Kokkos 3.4 has no bhalf_t); cuBLAS reads them as CUDA_R_16BF.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/kokkos_types.hpp"

namespace micromoe::moe {

using Bf16 = std::uint16_t;
using Bf16Flat = Kokkos::View<Bf16*, MemSpace>;

/// The bits of a float and back. Device code uses the CUDA intrinsics: memcpy there can become
/// a byte-wise copy through local memory, several times slower than the conversion itself.
KOKKOS_INLINE_FUNCTION std::uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  std::uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
KOKKOS_INLINE_FUNCTION float float_from_bits(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x = 0.0f;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

/// Round-to-nearest-even float -> bf16 bits; NaN stays NaN (quiet), infinities stay.
KOKKOS_INLINE_FUNCTION Bf16 bf16_from_float(float x) {
  std::uint32_t u = float_bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0) return static_cast<Bf16>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<Bf16>(u >> 16);
}

KOKKOS_INLINE_FUNCTION float float_from_bf16(Bf16 b) { return float_from_bits(static_cast<std::uint32_t>(b) << 16); }

namespace detail {
/// dst[i] = bf16(src[i]) for i < n, on `exec`.
void to_bf16(const ExecSpace& exec, const float* src, Bf16* dst, std::int64_t n);
/// dst[i] = float(src[i]) for i < n, on `exec`.
void from_bf16(const ExecSpace& exec, const Bf16* src, float* dst, std::int64_t n);
}  // namespace detail

}  // namespace micromoe::moe
