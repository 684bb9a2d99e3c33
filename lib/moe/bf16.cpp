// SPDX-License-Identifier: BSD-3-Clause
#include "moe/bf16.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
}

void to_bf16(const ExecSpace& exec, const float* src, Bf16* dst, std::int64_t n) {
  // Two values per thread and one 32-bit store (the first value in the low half, as memory
  // order on little-endian machines has it) when dst is 4-byte aligned; else one by one.
  if (reinterpret_cast<std::uintptr_t>(dst) % 4 == 0) {
    auto* packed = reinterpret_cast<std::uint32_t*>(dst);
    const std::int64_t pairs = n / 2;
    Kokkos::parallel_for(
        "micromoe::moe::to_bf16_pairs", Range(exec, 0, pairs), KOKKOS_LAMBDA(const std::int64_t i) {
          packed[i] = static_cast<std::uint32_t>(bf16_from_float(src[2 * i])) |
                      (static_cast<std::uint32_t>(bf16_from_float(src[2 * i + 1])) << 16);
        });
    if (n % 2 == 1)
      Kokkos::parallel_for(
          "micromoe::moe::to_bf16_tail", Range(exec, n - 1, n),
          KOKKOS_LAMBDA(const std::int64_t i) { dst[i] = bf16_from_float(src[i]); });
    return;
  }
  Kokkos::parallel_for(
      "micromoe::moe::to_bf16", Range(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t i) { dst[i] = bf16_from_float(src[i]); });
}

void from_bf16(const ExecSpace& exec, const Bf16* src, float* dst, std::int64_t n) {
  Kokkos::parallel_for(
      "micromoe::moe::from_bf16", Range(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t i) { dst[i] = float_from_bf16(src[i]); });
}

}  // namespace micromoe::moe::detail
