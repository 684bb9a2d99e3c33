// SPDX-License-Identifier: BSD-3-Clause
// The building blocks of expert compute: bf16 rounding (round to nearest even, NaN and
// infinities kept) and GemmBatch, every transpose combination and precision, per problem and
// grouped, against a double-precision host product of the same (bf16-rounded) operands.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/build_config.hpp"
#include "moe/bf16.hpp"
#include "moe/gemm_batch.hpp"

namespace micromoe::moe {
namespace {

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(bf16_from_float(1.0f), 0x3f80);
  EXPECT_EQ(bf16_from_float(-2.0f), 0xc000);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(bf16_from_float(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
  EXPECT_EQ(bf16_from_float(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(bf16_from_float(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3f81);  // above half: up
  EXPECT_EQ(float_from_bf16(bf16_from_float(3.140625f)), 3.140625f);                        // representable
  EXPECT_TRUE(std::isnan(float_from_bf16(bf16_from_float(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(float_from_bf16(bf16_from_float(std::numeric_limits<float>::infinity())),
            std::numeric_limits<float>::infinity());
  // 8 significant bits: the rounding error is at most half an ulp, below 2^-8 relative.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-100.0f, 100.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = u(rng);
    EXPECT_LE(std::fabs(float_from_bf16(bf16_from_float(x)) - x), std::ldexp(std::fabs(x), -8));
  }
}

struct Product {
  std::int64_t m, n, k;
  std::vector<float> a, b, c;  // stored as the stage's transposes say
};

Product random_product(std::int64_t m, std::int64_t n, std::int64_t k, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Product p{m, n, k, std::vector<float>(m * k), std::vector<float>(k * n), std::vector<float>(m * n)};
  for (auto* v : {&p.a, &p.b, &p.c})
    for (float& x : *v) x = u(rng);
  return p;
}

/// C = alpha op(A) op(B) + beta C in double, operands rounded to bf16 first when asked.
std::vector<double> host_product(const Product& p, const detail::GemmStage& s) {
  auto val = [&](float x) { return s.precision == Precision::bf16 ? float_from_bf16(bf16_from_float(x)) : x; };
  std::vector<double> c(p.c.size());
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t j = 0; j < p.n; ++j) {
      double acc = 0.0;
      for (std::int64_t l = 0; l < p.k; ++l) {
        const float a = s.trans_a ? p.a[l * p.m + i] : p.a[i * p.k + l];
        const float b = s.trans_b ? p.b[j * p.k + l] : p.b[l * p.n + j];
        acc += static_cast<double>(val(a)) * val(b);
      }
      c[i * p.n + j] = s.alpha * acc + s.beta * p.c[i * p.n + j];
    }
  return c;
}

template <class T>
Kokkos::View<T*, MemSpace> to_device(const std::vector<T>& v) {
  Kokkos::View<T*, MemSpace> d("test::flat", v.size());
  auto h = Kokkos::create_mirror_view(d);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(d, h);
  return d;
}

class Stages : public ::testing::TestWithParam<std::tuple<bool, bool, float, Precision, bool>> {};

TEST_P(Stages, MatchTheHostProduct) {
  const auto [ta, tb, beta, precision, grouped] = GetParam();
  if (precision == Precision::tf32 && !MICROMOE_ENABLE_CUDA) GTEST_SKIP() << "tf32 needs a CUDA build";
  const detail::GemmStage stage{ta, tb, 1.0f, beta, precision};
  // Three problems of different sizes (one with k = 0, one with m = 0), as the slots of a rank.
  std::vector<Product> ps = {random_product(5, 7, 9, 1), random_product(0, 7, 9, 2), random_product(3, 7, 0, 3),
                             random_product(17, 7, 9, 4)};
  std::vector<Kokkos::View<float*, MemSpace>> a, b, c;
  std::vector<Kokkos::View<Bf16*, MemSpace>> ab, bb;
  std::vector<detail::GemmProblem> problems;
  for (const Product& p : ps) {
    a.push_back(to_device(p.a));
    b.push_back(to_device(p.b));
    c.push_back(to_device(p.c));
    std::vector<Bf16> a16(p.a.size()), b16(p.b.size());
    for (std::size_t i = 0; i < p.a.size(); ++i) a16[i] = bf16_from_float(p.a[i]);
    for (std::size_t i = 0; i < p.b.size(); ++i) b16[i] = bf16_from_float(p.b[i]);
    ab.push_back(to_device(a16));
    bb.push_back(to_device(b16));
    const bool bf = precision == Precision::bf16;
    problems.push_back({p.m, p.n, p.k, bf ? static_cast<const void*>(ab.back().data()) : a.back().data(),
                        bf ? static_cast<const void*>(bb.back().data()) : b.back().data(), c.back().data()});
  }
  detail::GemmBatch gemm;
  gemm.run(ExecSpace(), stage, problems, grouped);
  const double tol = precision == Precision::tf32 ? 5e-3 : 1e-5;  // bf16: operands are rounded in the reference too
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto want = host_product(ps[i], stage);
    auto got = Kokkos::create_mirror_view_and_copy(HostSpace(), c[i]);
    for (std::size_t e = 0; e < want.size(); ++e)
      EXPECT_NEAR(got(e), want[e], tol * (1.0 + std::fabs(want[e]))) << "problem " << i << " element " << e;
  }
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, Stages,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(0.0f, 1.0f),
                                            ::testing::Values(Precision::fp32, Precision::tf32, Precision::bf16),
                                            ::testing::Bool()));

}  // namespace
}  // namespace micromoe::moe
