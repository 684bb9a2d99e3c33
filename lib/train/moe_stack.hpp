// SPDX-License-Identifier: BSD-3-Clause
// The model every strategy trains: a residual stack of distributed MoE layers,
// h_{l+1} = h_l + MoE_l(h_l).
#pragma once

#include <memory>
#include <vector>

#include "comm/communicator.hpp"
#include "core/kokkos_types.hpp"
#include "moe/layer.hpp"

namespace micromoe::train {

class MoEStack {
 public:
  /// Collective over `group` (and `data_parallel`, see moe::MoELayer): one layer per config,
  /// all on the same NCCL communicators `shared` (nccl backend; built here when empty).
  MoEStack(const std::vector<moe::LayerConfig>& configs, const comm::Communicator& group,
           const comm::Communicator* data_parallel = nullptr, comm::SharedNccl shared = {});

  /// h_L for this rank's tokens x [T, H]. Collective.
  RowMatrix<float> forward(const ExecSpace& exec, const RowMatrix<const float>& x);
  /// dL/dx for dL/dh_L of the last forward; accumulates every layer's gradients. Collective.
  RowMatrix<float> backward(const ExecSpace& exec, const RowMatrix<const float>& dh);
  /// Gradient sync, optimizer, re-placement of every layer. Collective.
  void step(const ExecSpace& exec);

  int layers() const { return static_cast<int>(layers_.size()); }
  moe::MoELayer& layer(int l) { return *layers_[static_cast<std::size_t>(l)]; }

  /// Tensors of layer l in the last micro-batch (for the verification dump): its input x, its
  /// MoE output y, the gradient dy fed to its backward and the input gradient dx it returned.
  struct LayerTensors {
    RowMatrix<const float> x, y, dy, dx;
  };
  const LayerTensors& tensors(int l) const { return tensors_[static_cast<std::size_t>(l)]; }
  const moe::MoELayer& layer(int l) const { return *layers_[static_cast<std::size_t>(l)]; }

 private:
  std::vector<std::unique_ptr<moe::MoELayer>> layers_;
  std::vector<LayerTensors> tensors_;
};

}  // namespace micromoe::train
