// SPDX-License-Identifier: BSD-3-Clause
// The vector types of the memory-bound kernels (row kernels, activations, bf16 conversion, the
// optimizer): four floats as one 16-byte access, four bf16 values as one 8-byte access.
#pragma once

#include <cstdint>

namespace micromoe::moe::detail {

struct alignas(16) Vec4 {
  float v[4];
};
struct alignas(8) Bf16x4 {
  std::uint16_t v[4];
};

/// True when `p` is a multiple of `bytes` (the accesses above need their own alignment).
inline bool aligned_to(const void* p, std::uintptr_t bytes) { return reinterpret_cast<std::uintptr_t>(p) % bytes == 0; }

}  // namespace micromoe::moe::detail
