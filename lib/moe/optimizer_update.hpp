// SPDX-License-Identifier: BSD-3-Clause
// The optimizer's pass over one flat parameter array: SGD with momentum or Adam, optionally
// writing the updated weights' bf16 copy in the same pass. A training step's optimizer is pure
// memory traffic (Adam: 28 bytes per parameter), so it is one kernel that moves 16-byte
// vectors, not one pass per job.
#pragma once

#include <cstdint>

#include "moe/kernels.hpp"  // Flat
#include "moe/layer_config.hpp"

namespace micromoe::moe::detail {

/// One optimizer update of n parameters (c1, c2: Adam bias corrections 1 - beta^t; s2 unused
/// by SGD). With `w_bf16`, the updated weights' bf16 copy is written in the same pass (the bf16
/// expert path).
void optimizer_update(const ExecSpace& exec, const OptimizerConfig& cfg, float c1, float c2, const Flat& w,
                      const Flat& g, const Flat& s1, const Flat& s2, std::uint16_t* w_bf16 = nullptr);

}  // namespace micromoe::moe::detail
