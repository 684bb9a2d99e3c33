// SPDX-License-Identifier: BSD-3-Clause
// The sections of bench_gpu, each measuring one part of the data path against its floor.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "moe/layer_config.hpp"
#include "timing.hpp"

namespace micromoe::bench {

/// An expert shape of the paper's models: token width H and FFN width F.
struct ModelShape {
  std::string name;
  int hidden, ffn;
  moe::Activation activation;
};

struct Options {
  bool quick = false;              ///< tiny sizes: a smoke run (CPU builds, ctest)
  std::vector<ModelShape> models;  ///< shapes of the floors and of the FFN path
  std::vector<int> tokens;         ///< rows of the expert GEMMs
};

/// Measured ceilings: device copy bandwidth (bytes read + written per second) and the vendor
/// GEMM rate (FLOP/s) per precision and forward shape (T rows, H, F).
struct Floors {
  double copy_bytes_per_s = 0.0;
  std::map<std::tuple<moe::Precision, int, int, int>, double> gemm_rate;
  double rate(moe::Precision p, int t, int h, int f) const;
};

Floors measure_floors(const Options& o, Results& out);
/// ExpertFFN forward + backward (one expert, T rows) per precision against the vendor GEMM.
void measure_ffn(const Options& o, const Floors& floors, Results& out);
/// The six GEMMs of one expert's forward + backward alone, and the kernels between them.
void measure_ffn_stages(const Options& o, const Floors& floors, Results& out);
/// Many experts with few tokens each: per-expert GEMMs against one grouped launch.
void measure_small_experts(const Options& o, const Floors& floors, Results& out);
/// The permutation kernels of dispatch and combine against the copy bandwidth.
void measure_permute(const Options& o, const Floors& floors, Results& out);
/// The optimizer's pass over the parameters against the copy bandwidth.
void measure_optimizer(const Options& o, const Floors& floors, Results& out);
/// One MoE layer training step (balanced routing, this process alone) against its floor.
void measure_layer_step(const Options& o, const Floors& floors, Results& out);

}  // namespace micromoe::bench
