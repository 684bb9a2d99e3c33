// SPDX-License-Identifier: BSD-3-Clause
// The verification dump: one layer and one micro-batch written to HDF5 with documented dataset
// names (docs/layer.md), so the layer can be checked outside MicroMoE with numpy.
#pragma once

#include <string>

#include "moe/layer.hpp"

namespace micromoe::moe {

/// Labels stored as root attributes.
struct DumpInfo {
  int layer_index = 0;
  long long iteration = 0;
  int micro_batch = 0;
};

/// Collective over the layer's group. Call after backward() and before sync_gradients()/step():
/// the written gradients are the group's gradient sums accumulated since the last step (pick
/// micro-batch 0 of an iteration for exactly this micro-batch's gradients). x, dy: this rank's
/// forward input and backward seed; y, dx: what forward and backward returned. Rows of every
/// rank are concatenated in rank order. Rank 0 writes `path` (truncating it).
void write_layer_dump(const ExecSpace& exec, const MoELayer& layer, const std::string& path,
                      const MoELayer::ConstMatrix& x, const MoELayer::ConstMatrix& y, const MoELayer::ConstMatrix& dy,
                      const MoELayer::ConstMatrix& dx, const DumpInfo& info = {});

/// Format identifier and version written as root attributes `format` and `format_version`.
inline constexpr const char* layer_dump_format = "micromoe-layer-dump";
inline constexpr long long layer_dump_version = 1;

}  // namespace micromoe::moe
