// SPDX-License-Identifier: BSD-3-Clause
#include "moe/bf16.hpp"

namespace micromoe::moe::detail {

namespace {
using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
struct alignas(16) Quad {  // four floats, loaded as one 16-byte access
  float v[4];
};
}  // namespace

void to_bf16(const ExecSpace& exec, const float* src, Bf16* dst, std::int64_t n) {
  // Four values per thread: one 16-byte load, one 8-byte store (the first value in the lowest
  // bits, as memory order on little-endian machines has it) when both are aligned; the rest,
  // or unaligned data, one by one.
  std::int64_t done = 0;
  if (reinterpret_cast<std::uintptr_t>(src) % 16 == 0 && reinterpret_cast<std::uintptr_t>(dst) % 8 == 0) {
    const auto* in = reinterpret_cast<const Quad*>(src);
    auto* out = reinterpret_cast<std::uint64_t*>(dst);
    const std::int64_t quads = n / 4;
    Kokkos::parallel_for(
        "micromoe::moe::to_bf16_quads", Range(exec, 0, quads), KOKKOS_LAMBDA(const std::int64_t i) {
          const Quad q = in[i];
          out[i] = static_cast<std::uint64_t>(bf16_from_float(q.v[0])) |
                   (static_cast<std::uint64_t>(bf16_from_float(q.v[1])) << 16) |
                   (static_cast<std::uint64_t>(bf16_from_float(q.v[2])) << 32) |
                   (static_cast<std::uint64_t>(bf16_from_float(q.v[3])) << 48);
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
