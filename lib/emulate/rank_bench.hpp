// SPDX-License-Identifier: BSD-3-Clause
// The device half of the emulation: each emulated rank's expert work (its slot rows of one
// micro-batch) timed as forward + backward of moe::ExpertFFN on the real device, one rank
// after another. Every rank uses the same weights and buffers: the time of a GEMM depends on
// its shape, not on whose weights it multiplies (at the paper's sizes one expert's weights are
// far larger than the L2 cache, so sharing them does not make later ranks faster).
#pragma once

#include <cstdint>
#include <vector>

#include "deck/run_config.hpp"
#include "emulate/plan.hpp"
#include "moe/expert_ffn.hpp"

namespace micromoe::emulate {

/// The emulated layer's expert FFN (the deck's model section; layer 0's LayerConfig).
struct FfnSetup {
  int hidden = 0, ffn = 0;
  moe::Activation activation = moe::Activation::gelu;
  moe::Precision precision = moe::Precision::fp32;
  bool grouped = false;
  std::uint64_t seed = 1;
};
FfnSetup ffn_setup(const deck::RunConfig& resolved);

/// One set of slot weights (and gradients) and activation buffers, sized for the most slots
/// and the largest rank of all plans, filled with seeded non-zero values once.
class RankBench {
 public:
  RankBench(const FfnSetup& setup, int max_slots, std::int64_t max_rows);

  /// Seconds of forward + backward of every cell of `plan` (flat as plan.rows), each timed
  /// alone: fence, timer, forward, backward, fence. One untimed warm-up (the largest cell)
  /// first. `flops` (optional) receives the floating-point operations of every cell.
  std::vector<double> time_plan(const StrategyPlan& plan, std::vector<double>* flops = nullptr);

  /// Device bytes held (weights, gradients, buffers).
  std::size_t bytes() const;

 private:
  FfnSetup setup_;
  int max_slots_;
  moe::ExpertFFN::Slots w1_, w2_, dw1_, dw2_;
  moe::ExpertFFN::Matrix x0_, xin_, hpre_, act_, out_;
};

}  // namespace micromoe::emulate
