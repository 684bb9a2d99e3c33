// SPDX-License-Identifier: BSD-3-Clause
// The serial reference of the MoE layer: the whole layer for a whole (global) batch on one
// rank, in plain host loops with double accumulation. The distributed layer's outputs and
// gradients must equal it to fp32 rounding for every exact strategy.
#pragma once

#include <cstdint>
#include <vector>

#include "moe/layer.hpp"
#include "moe/layer_config.hpp"

namespace micromoe::moe {

class ReferenceMoE {
 public:
  /// Uses hidden, ffn, experts, top_k, activation, renormalize and optimizer of `config`.
  explicit ReferenceMoE(const LayerConfig& config);

  HostTensors params;  ///< gate [H][E], w1 [E][H][F1], w2 [E][F][H]
  HostTensors state1, state2;

  /// y [N][H] for x [N][H]. `keep` [N*k] (optional): 0 drops copy (t, i) (as ep-capacity does).
  /// `forced` (optional) [N*k]: the experts to use instead of top-k (balanced).
  std::vector<float> forward(const std::vector<float>& x, std::int64_t tokens, const std::vector<char>* keep = nullptr,
                             const std::vector<int>* forced = nullptr);
  /// dx [N][H] for dy [N][H]; accumulates gradients.
  std::vector<float> backward(const std::vector<float>& dy);
  /// Accumulated gradients, rounded to float.
  HostTensors gradients() const;
  void zero_gradients();
  /// The layer's optimizer update on the gradients, then zeroes them.
  void step();
  /// Chosen experts of the last forward, [N][k].
  const std::vector<int>& choices() const { return idx_; }

 private:
  LayerConfig cfg_;
  int H_, F_, F1_, E_, K_;
  std::int64_t N_ = 0, steps_ = 0;
  std::vector<float> x_;
  std::vector<double> probs_, gw_, hpre_, act_, out_;
  std::vector<int> idx_;
  std::vector<char> keep_;
  std::vector<double> g_gate_, g_w1_, g_w2_;
};

}  // namespace micromoe::moe
