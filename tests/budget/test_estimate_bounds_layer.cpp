// SPDX-License-Identifier: BSD-3-Clause
// The estimate is an upper bound of what real layers hold: for every strategy, a layer built
// from a deck (train::layer_configs) runs the worst routing there is (every copy of the group on
// the experts of one rank) and re-places its experts; its peak bytes (every View it held at
// once, migration buffers included) stay within the estimate's layer buffers. On the rank that
// receives every copy the estimate is tight: 168288 of 168840 bytes (ep, 2 ranks, 2026-12-03),
// so a buffer the estimate forgot makes this fail.
#include <gtest/gtest.h>
#include <mpi.h>

#include "budget/rank_buffers.hpp"
#include "comm/communicator.hpp"
#include "core/enum_names.hpp"
#include "core/kokkos_types.hpp"
#include "deck/deck.hpp"
#include "moe/layer.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::budget {
namespace {

using strategy::StrategyKind;

class EstimateBoundsLayer : public ::testing::TestWithParam<StrategyKind> {};

std::int64_t estimated_layer_bytes(const deck::RunConfig& c, int ranks, StrategyKind kind) {
  std::int64_t sum = 0;
  for (const Buffer& b : rank_buffers(c, ranks, kind))
    if (b.in_layer) sum += b.bytes().value();
  return sum;
}

TEST_P(EstimateBoundsLayer, PeakBytesOfARealLayerStayWithinTheEstimate) {
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  for (const auto precision : {moe::Precision::fp32, moe::Precision::bf16}) {
    deck::RunConfig c;
    c.model.hidden = 16;
    c.model.ffn = 24;
    c.model.experts = 8;
    c.model.top_k = 2;
    c.model.layers = 1;
    c.model.activation = moe::Activation::swiglu;
    c.model.precision = precision;
    c.training.tokens_per_micro_batch = 40;
    c.parallel.replace_interval = 1;  // re-place (and migrate) after every step
    c.parallel.ep_size = ranks;       // EP over all ranks: experts 0 and 1 live on rank 0
    c.parallel.microep_group = 1;
    c.run.strategies = {GetParam()};
    c = deck::resolve_layout(c, ranks);
    const int T = c.training.tokens_per_micro_batch, H = c.model.hidden, K = c.model.top_k;

    const comm::Communicator world(MPI_COMM_WORLD);
    moe::MoELayer layer(train::layer_configs(c, GetParam(), ranks).front(), world);
    const ExecSpace exec;
    RowMatrix<float> x("x", T, H), dy("dy", T, H);
    Kokkos::deep_copy(x, 0.25f);
    Kokkos::deep_copy(dy, 1.0f);
    Kokkos::View<int**, TokenLayout, MemSpace> hot("hot", T, K);  // every token: experts 0 and 1
    auto hot_host = Kokkos::create_mirror_view(hot);
    for (int t = 0; t < T; ++t) {
      hot_host(t, 0) = 0;
      hot_host(t, 1) = 1;
    }
    Kokkos::deep_copy(hot, hot_host);
    for (int iteration = 0; iteration < 3; ++iteration) {
      for (int m = 0; m < 2; ++m) {
        if (m == 0) layer.set_next_choices(hot);
        (void)layer.forward(exec, x);
        (void)layer.backward(exec, dy);
      }
      layer.step(exec);
    }
    const auto peak = static_cast<std::int64_t>(layer.peak_bytes());
    const std::int64_t estimate = estimated_layer_bytes(c, ranks, GetParam());
    EXPECT_GT(peak, 0);
    EXPECT_LE(peak, estimate) << to_string(GetParam()) << " " << to_string(precision) << " on " << ranks << " ranks";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, EstimateBoundsLayer, ::testing::ValuesIn(enum_values<StrategyKind>()),
                         [](const auto& info) {
                           std::string name = to_string(info.param);
                           for (char& ch : name)
                             if (ch == '-') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace micromoe::budget
