// SPDX-License-Identifier: BSD-3-Clause
// The residual stack on a tiny deck: h_{l+1} = h_l + MoE_l(h_l) going forward, and going back
// the residual passes each layer's incoming gradient through beside the layer's own input
// gradient; a step then changes the model. Every sum is checked exactly (one fp32 add each).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "core/kokkos_types.hpp"
#include "train/layer_configs.hpp"
#include "train/moe_stack.hpp"
#include "train_test_decks.hpp"

namespace micromoe::train {
namespace {

using Host = RowMatrix<float, HostSpace>;

Host to_host(const RowMatrix<const float>& v) {
  Host h("test::host", v.extent(0), v.extent(1));
  Kokkos::deep_copy(h, v);
  return h;
}

/// Seeded, rank-dependent tokens [T, H] on the device.
RowMatrix<float> tokens(int rows, int hidden, int rank, float scale) {
  RowMatrix<float> x("test::x", rows, hidden);
  auto h = Kokkos::create_mirror_view(x);
  for (int t = 0; t < rows; ++t)
    for (int c = 0; c < hidden; ++c) h(t, c) = scale * std::sin(0.37f * static_cast<float>(t + 100 * rank) + 0.11f * c);
  Kokkos::deep_copy(x, h);
  return x;
}

/// a == b + c elementwise, exactly.
void expect_sum(const Host& a, const Host& b, const Host& c, const std::string& what) {
  ASSERT_EQ(a.extent(0), b.extent(0)) << what;
  ASSERT_EQ(a.extent(1), b.extent(1)) << what;
  int wrong = 0;
  for (std::size_t t = 0; t < a.extent(0); ++t)
    for (std::size_t h = 0; h < a.extent(1); ++h) wrong += a(t, h) != b(t, h) + c(t, h);
  EXPECT_EQ(wrong, 0) << what;
}

void expect_equal(const Host& a, const Host& b, const std::string& what) {
  ASSERT_EQ(a.extent(0), b.extent(0)) << what;
  int wrong = 0;
  for (std::size_t t = 0; t < a.extent(0); ++t)
    for (std::size_t h = 0; h < a.extent(1); ++h) wrong += a(t, h) != b(t, h);
  EXPECT_EQ(wrong, 0) << what;
}

double max_abs(const Host& a) {
  double m = 0;
  for (std::size_t t = 0; t < a.extent(0); ++t)
    for (std::size_t h = 0; h < a.extent(1); ++h) m = std::max(m, std::abs(static_cast<double>(a(t, h))));
  return m;
}

TEST(MoEStack, ResidualForwardAndBackward) {
  const comm::Communicator world(MPI_COMM_WORLD);
  // One MicroEP group of every rank (the deck's automatic layout), microep routing.
  const auto deck = testing::tiny_deck({"run.strategies=microep"});
  ASSERT_EQ(deck.parallel.ep_size * deck.parallel.microep_group, world.size());
  MoEStack stack(layer_configs(deck, deck.run.strategies.front(), 1), world);
  const int L = stack.layers(), T = deck.training.tokens_per_micro_batch, H = deck.model.hidden;
  ASSERT_EQ(L, 3);
  const ExecSpace exec;

  const auto x = tokens(T, H, world.rank(), 1.0f);
  const Host h = to_host(stack.forward(exec, x));
  exec.fence();
  std::vector<Host> xs, ys;
  for (int l = 0; l < L; ++l) {
    xs.push_back(to_host(stack.tensors(l).x));
    ys.push_back(to_host(stack.tensors(l).y));
    EXPECT_GT(max_abs(ys.back()), 0.0) << "layer " << l << " adds nothing";
  }
  expect_equal(xs[0], to_host(x), "the first layer sees the tokens");
  for (int l = 0; l + 1 < L; ++l) expect_sum(xs[l + 1], xs[l], ys[l], "h_" + std::to_string(l + 1));
  expect_sum(h, xs[L - 1], ys[L - 1], "the stack's output");

  const auto dh = tokens(T, H, world.rank() + 7, 0.01f);
  const Host dx = to_host(stack.backward(exec, dh));
  exec.fence();
  std::vector<Host> dys, dxs;
  for (int l = 0; l < L; ++l) {
    dys.push_back(to_host(stack.tensors(l).dy));
    dxs.push_back(to_host(stack.tensors(l).dx));
    EXPECT_GT(max_abs(dxs.back()), 0.0) << "layer " << l << " passes no gradient";
  }
  expect_equal(dys[L - 1], to_host(dh), "the last layer gets dL/dh");
  for (int l = L - 1; l > 0; --l) expect_sum(dys[l - 1], dys[l], dxs[l], "dL/dh_" + std::to_string(l));
  expect_sum(dx, dys[0], dxs[0], "the stack's input gradient");

  // A step moves the weights: the same tokens now give another output.
  stack.step(exec);
  const Host after = to_host(stack.forward(exec, x));
  exec.fence();
  stack.backward(exec, dh);  // every forward is followed by its backward
  int changed = 0;
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < H; ++c) changed += after(t, c) != h(t, c);
  EXPECT_GT(changed, 0) << "the step left the model unchanged";
}

}  // namespace
}  // namespace micromoe::train
