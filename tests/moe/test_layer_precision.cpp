// SPDX-License-Identifier: BSD-3-Clause
// The expert-compute variants of the layer (lib/moe/expert_ffn.hpp) against the fp32 serial
// reference of the whole layer: grouped GEMMs are exact (fp32 rounding); bf16 operands land
// within bf16 rounding (~4e-3 per operand, normwise 1e-3 .. 2e-2 here) and really are bf16
// (they differ from the fp32 layer by far more than fp32 rounding); tf32 (CUDA builds) lands
// within tf32 rounding. Routing is exact in every variant: the gate stays fp32.
#include "core/build_config.hpp"
#include "moe_harness.hpp"

namespace micromoe::moe::testing {
namespace {

class Variants : public ::testing::TestWithParam<StrategyKind> {};

TEST_P(Variants, GroupedGemmsMatchTheReference) {
  Case c;
  c.strategy = GetParam();
  c.skew = true;
  c.grouped = true;
  check_case(c);
}

TEST_P(Variants, Bf16IsWithinBf16RoundingAndIsNotFp32) {
  // gelu and swiglu; F = 24 takes the activation kernels' 4-column path, F = 22 the scalar one.
  for (const Activation act : {Activation::gelu, Activation::swiglu})
    for (const int ffn : {24, 22}) {
      SCOPED_TRACE("activation " + std::to_string(static_cast<int>(act)) + ", ffn " + std::to_string(ffn));
      Case c;
      c.strategy = GetParam();
      c.skew = true;
      c.activation = act;
      c.ffn = ffn;
      c.precision = Precision::bf16;
      c.tolerance = 2e-2;
      const Outcome bf16 = check_case(c);
      c.precision = Precision::fp32;
      c.tolerance = kTolerance;
      const Outcome fp32 = check_case(c);
      // On this rank (every rank computes some tokens here): bf16 rounding moves the output by
      // about 1e-3 of its size; fp32 by nothing (the same deterministic path would give the same bits).
      double max_diff = 0.0, max_y = 0.0;
      for (std::size_t i = 0; i < fp32.y.size(); ++i) {
        max_diff = std::max(max_diff, std::fabs(static_cast<double>(bf16.y[i]) - fp32.y[i]));
        max_y = std::max(max_y, std::fabs(static_cast<double>(fp32.y[i])));
      }
      if (!fp32.y.empty())
        EXPECT_GT(max_diff, 1e-4 * max_y) << "bf16 output as close as fp32's: the bf16 path did not run";
    }
}

TEST_P(Variants, Bf16GroupedMatchesBf16PerExpert) {
  Case c;
  c.strategy = GetParam();
  c.precision = Precision::bf16;
  c.tolerance = 2e-2;
  const Outcome a = check_case(c);
  c.grouped = true;
  const Outcome b = check_case(c);
  if (b.grouped_fell_back) {
    // No grouped bf16 GEMM here (CPUs; cuBLAS of CUDA 13): the grouped run must then be the
    // per-expert one, bit for bit.
    EXPECT_EQ(b.y, a.y);
    EXPECT_EQ(b.dx, a.dx);
    return;
  }
  EXPECT_LE(rel_error(b.y, a.y), kTolerance);
  EXPECT_LE(rel_error(b.dx, a.dx), kTolerance);
}

TEST_P(Variants, Tf32OnGpusIsWithinTf32Rounding) {
  Case c;
  c.strategy = GetParam();
  c.precision = Precision::tf32;
  if (!MICROMOE_ENABLE_CUDA) {
    EXPECT_THROW(check_case(c), InputError);  // tensor-core math only exists on GPUs
    return;
  }
  c.tolerance = 5e-3;
  check_case(c);
}

INSTANTIATE_TEST_SUITE_P(Strategies, Variants,
                         ::testing::Values(StrategyKind::ep, StrategyKind::microep, StrategyKind::microep_adaptive),
                         [](const auto& info) { return test_name(info.param); });

// bf16 GEMMs put bf16 rows on the wire by default: the forward's exchanged bytes halve against
// the same run with fp32 rows (model.wire_precision = "fp32"), both stay within bf16 rounding of
// the fp32 reference (check_case), and the rows really are rounded (the expert outputs the
// combine returns carry bf16 rounding the fp32-rows run does not have).
TEST(Bf16Wire, Bf16RowsHalveTheBytesAndStayWithinBf16Rounding) {
  for (const StrategyKind s : {StrategyKind::ep, StrategyKind::microep}) {
    SCOPED_TRACE(to_string(s));
    Case c;
    c.strategy = s;
    c.skew = true;
    c.precision = Precision::bf16;
    c.tolerance = 2e-2;
    c.ep_size = ranks();  // experts split over the ranks: ep's copies must cross
    const Outcome bf16_rows = check_case(c);
    c.wire_precision = WirePrecision::fp32;
    const Outcome fp32_rows = check_case(c);
    EXPECT_EQ(2 * bf16_rows.stats.bytes_sent, fp32_rows.stats.bytes_sent);
    if (ranks() > 1 && s == StrategyKind::ep)
      EXPECT_GT(fp32_rows.stats.bytes_sent, 0) << "nothing crossed ranks: the test proves nothing";
    if (!bf16_rows.y.empty()) EXPECT_FALSE(same_bits(bf16_rows.y, fp32_rows.y)) << "the rows were not rounded";
  }
  Case c;
  c.precision = Precision::fp32;
  comm::Communicator world(MPI_COMM_WORLD);
  EXPECT_FALSE(MoELayer(config_of(c), world).wire_bf16()) << "fp32 GEMMs keep fp32 rows";
  c.precision = Precision::bf16;
  EXPECT_TRUE(MoELayer(config_of(c), world).wire_bf16());
  c.wire_precision = WirePrecision::fp32;
  EXPECT_FALSE(MoELayer(config_of(c), world).wire_bf16());
}

TEST(Wire, BytesSentCountsTheBackwardExchangesToo) {
  // The backward's two exchanges carry the forward's rows back: after the backward, bytes_sent
  // (what the report records per micro-batch) is twice the forward's, in fp32 and bf16 rows.
  for (const WirePrecision w : {WirePrecision::fp32, WirePrecision::automatic}) {
    Case c;
    c.strategy = StrategyKind::ep;
    c.skew = true;
    c.precision = Precision::bf16;
    c.wire_precision = w;
    c.ep_size = ranks();  // experts split over the ranks: copies cross
    const int G = ranks(), r = rank(), H = c.hidden;
    const Data d = make_data(c, G);
    comm::Communicator world(MPI_COMM_WORLD);
    MoELayer layer(config_of(c), world);
    const ExecSpace exec;
    layer.set_parameters(exec, d.params);
    layer.forward(exec, to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H));
    const std::int64_t forward = layer.last_stats().bytes_sent;
    layer.backward(exec, to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H));
    EXPECT_EQ(layer.last_stats().bytes_sent, 2 * forward);
    if (G > 1) EXPECT_GT(forward, 0) << "nothing crossed ranks: the test proves nothing";
  }
}

TEST(Bf16Training, AdamStepsKeepTheBf16WeightCopiesCurrent) {
  // Three optimizer steps: every forward must use the weights of the last step (stale bf16
  // copies would leave the outputs of steps 2 and 3 equal to step 1's).
  Case c;
  c.strategy = StrategyKind::microep;
  c.precision = Precision::bf16;
  c.optimizer.lr = 0.05f;
  const Data d = make_data(c, ranks());
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(config_of(c), world);
  layer.set_parameters(ExecSpace(), d.params);
  std::vector<std::vector<float>> ys;
  for (int step = 0; step < 3; ++step) {
    ys.push_back(run_once(layer, c, d).y);
    layer.optimizer_step(ExecSpace());
    layer.zero_gradients(ExecSpace());
  }
  if (!ys[0].empty()) {
    EXPECT_FALSE(same_bits(ys[0], ys[1]));
    EXPECT_FALSE(same_bits(ys[1], ys[2]));
  }
}

}  // namespace
}  // namespace micromoe::moe::testing
