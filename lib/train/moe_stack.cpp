// SPDX-License-Identifier: BSD-3-Clause
#include "train/moe_stack.hpp"

namespace micromoe::train {

namespace {
/// out = a + b, elementwise over [T, H].
RowMatrix<float> add(const ExecSpace& exec, const RowMatrix<const float>& a, const RowMatrix<const float>& b,
                     const char* label) {
  RowMatrix<float> out(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)), a.extent(0),
                       a.extent(1));
  Kokkos::parallel_for(
      label, Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0}, {a.extent(0), a.extent(1)}),
      KOKKOS_LAMBDA(const int t, const int h) { out(t, h) = a(t, h) + b(t, h); });
  return out;
}
}  // namespace

MoEStack::MoEStack(const std::vector<moe::LayerConfig>& configs, const comm::Communicator& group,
                   const comm::Communicator* data_parallel, comm::SharedNccl shared) {
  if (!configs.empty() && shared.group == nullptr)
    shared = comm::share_nccl(configs.front().backend, group, data_parallel);
  for (const auto& c : configs) layers_.push_back(std::make_unique<moe::MoELayer>(c, group, data_parallel, shared));
  tensors_.resize(layers_.size());
}

RowMatrix<float> MoEStack::forward(const ExecSpace& exec, const RowMatrix<const float>& x) {
  RowMatrix<const float> h = x;
  RowMatrix<float> out;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const auto y = layers_[l]->forward(exec, h);
    tensors_[l].x = h;
    tensors_[l].y = y;
    out = add(exec, h, y, "micromoe::MoEStack::residual");
    h = out;
  }
  return out;
}

RowMatrix<float> MoEStack::backward(const ExecSpace& exec, const RowMatrix<const float>& dh) {
  RowMatrix<const float> grad = dh;
  RowMatrix<float> out;
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const auto dx = layers_[l]->backward(exec, grad);  // through MoE_l; the residual passes grad unchanged
    tensors_[l].dy = grad;
    tensors_[l].dx = dx;
    out = add(exec, grad, dx, "micromoe::MoEStack::residual_grad");
    grad = out;
  }
  return out;
}

void MoEStack::step(const ExecSpace& exec) {
  for (auto& layer : layers_) layer->step(exec);
}

}  // namespace micromoe::train
