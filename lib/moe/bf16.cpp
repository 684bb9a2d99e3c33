// SPDX-License-Identifier: BSD-3-Clause
#include "moe/bf16.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
}

void to_bf16(const ExecSpace& exec, const float* src, Bf16* dst, std::int64_t n) {
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
