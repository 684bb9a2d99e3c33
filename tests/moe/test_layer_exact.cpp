// SPDX-License-Identifier: BSD-3-Clause
// The distributed MoE layer equals the single-rank serial reference of the whole layer over the
// whole global batch: outputs, input gradients, gate and expert weight gradients (every replica),
// for ep, eplb, microep and microep-adaptive, with uniform and skewed routing; runs are
// bit-identical; ep-capacity differs exactly in the dropped copies; balanced equals the
// reference run with its forced round-robin experts. Tolerance: moe::testing::kTolerance
// (normwise relative, fp32 rounding level).
#include "core/parse_enum.hpp"
#include "moe_harness.hpp"

namespace micromoe::moe::testing {
namespace {

class Exact : public ::testing::TestWithParam<std::tuple<StrategyKind, bool>> {};

TEST_P(Exact, MatchesSerialReference) {
  Case c;
  c.strategy = std::get<0>(GetParam());
  c.skew = std::get<1>(GetParam());
  check_case(c);
}

TEST_P(Exact, TwoRunsAreBitIdentical) {
  Case c;
  c.strategy = std::get<0>(GetParam());
  c.skew = std::get<1>(GetParam());
  const Data d = make_data(c, ranks());
  comm::Communicator world(MPI_COMM_WORLD);
  Outcome o[2];
  HostSlots g[2];
  std::vector<float> gg[2];
  for (int run = 0; run < 2; ++run) {
    MoELayer layer(config_of(c), world);
    layer.set_parameters(ExecSpace(), d.params);
    o[run] = run_once(layer, c, d);
    g[run] = layer.local_slots(Tensor::gradients);
    gg[run] = layer.local_gate(Tensor::gradients);
  }
  EXPECT_TRUE(same_bits(o[0].y, o[1].y));
  EXPECT_TRUE(same_bits(o[0].dx, o[1].dx));
  EXPECT_TRUE(same_bits(g[0].w1, g[1].w1));
  EXPECT_TRUE(same_bits(g[0].w2, g[1].w2));
  EXPECT_TRUE(same_bits(gg[0], gg[1]));
}

INSTANTIATE_TEST_SUITE_P(Strategies, Exact,
                         ::testing::Combine(::testing::Values(StrategyKind::ep, StrategyKind::eplb,
                                                              StrategyKind::microep, StrategyKind::microep_adaptive),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return test_name(to_string(std::get<0>(info.param)) +
                                            (std::get<1>(info.param) ? "_skewed" : "_uniform"));
                         });

TEST(ExactVariants, SiluWithoutRenormalisation) {
  Case c;
  c.strategy = StrategyKind::microep;
  c.activation = Activation::silu;
  c.renormalize = false;
  c.skew = true;
  check_case(c);
}

TEST(ExactVariants, SwiGLU) {
  Case c;
  c.strategy = StrategyKind::microep;
  c.activation = Activation::swiglu;
  c.top_k = 3;
  check_case(c);
}

TEST(ExactVariants, RandomPlacementMicroEP) {
  Case c;
  c.strategy = StrategyKind::microep;
  c.skew = true;
  // random placement through the config
  const int G = ranks();
  const Data d = make_data(c, G);
  LayerConfig cfg = config_of(c);
  cfg.strategy.placement = schedule::PlacementKind::random;
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(cfg, world);
  layer.set_parameters(ExecSpace(), d.params);
  const Outcome o = run_once(layer, c, d);
  ReferenceMoE ref(cfg);
  ref.params = d.params;
  const auto y = ref.forward(d.x, d.total);
  const auto dx = ref.backward(d.dy);
  const int r = rank();
  EXPECT_LE(rel_error(o.y, slice(y, d.first[r], d.count[r], c.hidden)), kTolerance);
  EXPECT_LE(rel_error(o.dx, slice(dx, d.first[r], d.count[r], c.hidden)), kTolerance);
  expect_tensors_match(layer, Tensor::gradients, ref.gradients(), kTolerance, "random placement");
}

TEST(Balance, MicroEpNeverWorseThanEpAndOptimal) {
  Case c;
  c.skew = true;
  c.tokens = 64;
  c.strategy = StrategyKind::ep;
  const Outcome ep = check_case(c);
  c.strategy = StrategyKind::microep;
  const Outcome micro = check_case(c);
  EXPECT_LE(micro.stats.max_load, ep.stats.max_load);
  EXPECT_EQ(micro.stats.max_load, micro.stats.lower_bound);
  if (ranks() >= 4) EXPECT_LT(micro.stats.max_load, ep.stats.max_load) << "skewed load did not move";
}

TEST(NotExact, CapacityDiffersExactlyInDroppedCopies) {
  Case c;
  c.strategy = StrategyKind::ep_capacity;
  c.skew = true;
  c.capacity_factor = 1.0;
  check_case(c);
  // With a large factor nothing is dropped: the ep result.
  c.capacity_factor = 100.0;
  check_case(c);
}

TEST(NotExact, BalancedEqualsReferenceWithForcedExperts) {
  Case c;
  c.strategy = StrategyKind::balanced;
  c.skew = true;
  check_case(c);
}

}  // namespace
}  // namespace micromoe::moe::testing

namespace micromoe::moe::testing {
namespace {

TEST(Config, BadConfigsAreInputErrorsOnEveryRank) {
  comm::Communicator world(MPI_COMM_WORLD);
  Case c;
  LayerConfig cfg = config_of(c);
  cfg.top_k = cfg.experts + 1;
  EXPECT_THROW(MoELayer(cfg, world), InputError);
  cfg = config_of(c);
  cfg.top_k = 0;
  EXPECT_THROW(MoELayer(cfg, world), InputError);
  cfg = config_of(c);
  cfg.strategy.kind = static_cast<StrategyKind>(99);  // no such strategy
  EXPECT_THROW(MoELayer(cfg, world), InputError);
  EXPECT_THROW(parse_enum<StrategyKind>("magic"), InputError);
  cfg = config_of(c);
  cfg.strategy.ep_size = 3;
  EXPECT_THROW(MoELayer(cfg, world), InputError);
  EXPECT_THROW(parse_enum<Activation>("relu"), InputError);
  EXPECT_EQ(parse_enum<Activation>("swiglu"), Activation::swiglu);
  EXPECT_THROW(parse_enum<OptimizerKind>("lion"), InputError);
  // The layer still works after the failed constructions (no collective was left half-done).
  check_case(c);
}

}  // namespace
}  // namespace micromoe::moe::testing
