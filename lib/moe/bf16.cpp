// SPDX-License-Identifier: BSD-3-Clause
#include "moe/bf16.hpp"

#include "moe/vector_access.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
}  // namespace

void to_bf16(const ExecSpace& exec, const float* src, Bf16* dst, std::int64_t n) {
  // Four values per thread: one 16-byte load, one 8-byte store when both are aligned; the
  // rest, or unaligned data, one by one.
  std::int64_t done = 0;
  if (aligned_to(src, alignof(Vec4)) && aligned_to(dst, alignof(Bf16x4))) {
    const auto* in = reinterpret_cast<const Vec4*>(src);
    auto* out = reinterpret_cast<Bf16x4*>(dst);
    const std::int64_t quads = n / 4;
    Kokkos::parallel_for(
        "micromoe::moe::to_bf16_quads", Range(exec, 0, quads), KOKKOS_LAMBDA(const std::int64_t i) {
          const Vec4 q = in[i];
          Bf16x4 b;
          for (int c = 0; c < 4; ++c) b.v[c] = bf16_from_float(q.v[c]);
          out[i] = b;
        });
    done = quads * 4;
  }
  if (done < n)
    Kokkos::parallel_for(
        "micromoe::moe::to_bf16", Range(exec, done, n),
        KOKKOS_LAMBDA(const std::int64_t i) { dst[i] = bf16_from_float(src[i]); });
}

void from_bf16(const ExecSpace& exec, const Bf16* src, float* dst, std::int64_t n) {
  Kokkos::parallel_for(
      "micromoe::moe::from_bf16", Range(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t i) { dst[i] = float_from_bf16(src[i]); });
}

}  // namespace micromoe::moe::detail
