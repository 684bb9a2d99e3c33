// SPDX-License-Identifier: BSD-3-Clause
// The optimizer's pass (moe::detail::optimizer_update): Adam and SGD against the same update
// computed serially on the host, the 16-byte vector path against the one-by-one path (same
// bits), the fused bf16 weight copy, and sizes that leave a tail.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "moe/bf16.hpp"
#include "moe/optimizer_update.hpp"

namespace micromoe::moe {
namespace {

using Host = std::vector<float>;

struct State {
  Host w, g, m, v;
};

State random_state(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  State s{Host(n), Host(n), Host(n), Host(n)};
  for (std::int64_t i = 0; i < n; ++i) {
    s.w[i] = u(rng);
    s.g[i] = u(rng);
    s.m[i] = 0.1f * u(rng);
    s.v[i] = 0.01f * std::fabs(u(rng));
  }
  return s;
}

/// The documented update (layer_config.hpp), one parameter at a time, in double.
void host_update(const OptimizerConfig& c, float c1, float c2, State& s) {
  for (std::size_t i = 0; i < s.w.size(); ++i) {
    const double g = s.g[i];
    if (c.kind == OptimizerKind::sgd) {
      const double v = c.momentum * double(s.m[i]) + g;
      s.m[i] = static_cast<float>(v);
      s.w[i] = static_cast<float>(s.w[i] - c.lr * v);
    } else {
      const double m = c.beta1 * double(s.m[i]) + (1.0 - c.beta1) * g;
      const double v = c.beta2 * double(s.v[i]) + (1.0 - c.beta2) * g * g;
      s.m[i] = static_cast<float>(m);
      s.v[i] = static_cast<float>(v);
      s.w[i] = static_cast<float>(s.w[i] - c.lr * (m / c1) / (std::sqrt(v / c2) + c.eps));
    }
  }
}

/// Runs the device pass on a copy of `s` placed `offset` floats into each array (offset 1
/// breaks 16-byte alignment: the one-by-one path). Returns the state and the bf16 copy.
std::pair<State, std::vector<Bf16>> device_update(const OptimizerConfig& c, float c1, float c2, const State& s,
                                                  int offset) {
  const std::int64_t n = static_cast<std::int64_t>(s.w.size());
  std::vector<Kokkos::View<float*, MemSpace>> arrays;
  for (const Host* h : {&s.w, &s.g, &s.m, &s.v}) {
    Kokkos::View<float*, MemSpace> a("test::array", n + offset);
    auto a_h = Kokkos::create_mirror_view(a);
    for (std::int64_t i = 0; i < n; ++i) a_h(i + offset) = (*h)[static_cast<std::size_t>(i)];
    Kokkos::deep_copy(a, a_h);
    arrays.push_back(a);
  }
  Kokkos::View<Bf16*, MemSpace> b("test::bf16", n + offset);
  auto flat = [&](int r) { return detail::Flat(arrays[static_cast<std::size_t>(r)].data() + offset, n); };
  detail::optimizer_update(ExecSpace(), c, c1, c2, flat(0), flat(1), flat(2), flat(3), b.data() + offset);
  State out{Host(n), Host(n), Host(n), Host(n)};
  Host* dst[] = {&out.w, &out.g, &out.m, &out.v};
  for (int r = 0; r < 4; ++r) {
    auto a_h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), arrays[static_cast<std::size_t>(r)]);
    for (std::int64_t i = 0; i < n; ++i) (*dst[r])[static_cast<std::size_t>(i)] = a_h(i + offset);
  }
  auto b_h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
  std::vector<Bf16> bits(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) bits[static_cast<std::size_t>(i)] = b_h(i + offset);
  return {out, bits};
}

class OptimizerUpdate : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(OptimizerUpdate, MatchesTheSerialUpdateAndFusesItsJobs) {
  OptimizerConfig c;
  c.kind = GetParam();
  c.lr = 1e-2f;
  const float c1 = 0.19f, c2 = 0.002f;  // step 2 of Adam's bias corrections (rounded)
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{4}, std::int64_t{4099}, std::int64_t{100003}}) {
    const State start = random_state(n, static_cast<std::uint32_t>(n));
    State want = start;
    host_update(c, c1, c2, want);
    const auto [vec, vec_bits] = device_update(c, c1, c2, start, 0);
    const auto [one, one_bits] = device_update(c, c1, c2, start, 1);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      // float arithmetic against double: a few ulps.
      ASSERT_NEAR(vec.w[k], want.w[k], 1e-6f * (1.0f + std::fabs(want.w[k]))) << "n=" << n << " i=" << i;
      ASSERT_NEAR(vec.m[k], want.m[k], 1e-6f * (1.0f + std::fabs(want.m[k])));
      if (c.kind == OptimizerKind::adam) ASSERT_NEAR(vec.v[k], want.v[k], 1e-6f * (1.0f + std::fabs(want.v[k])));
      // The vector path and the one-by-one path give the same bits.
      ASSERT_EQ(vec.w[k], one.w[k]) << "n=" << n << " i=" << i;
      ASSERT_EQ(vec.m[k], one.m[k]);
      ASSERT_EQ(vec.v[k], one.v[k]);
      // The fused bf16 copy is the rounded new weight; the gradient is only read.
      ASSERT_EQ(vec_bits[k], bf16_from_float(vec.w[k]));
      ASSERT_EQ(one_bits[k], bf16_from_float(one.w[k]));
      ASSERT_EQ(vec.g[k], start.g[k]);
      ASSERT_EQ(one.g[k], start.g[k]);
      if (c.kind == OptimizerKind::sgd) ASSERT_EQ(vec.v[k], start.v[k]);  // SGD never touches s2
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, OptimizerUpdate, ::testing::Values(OptimizerKind::adam, OptimizerKind::sgd),
                         [](const auto& info) { return info.param == OptimizerKind::adam ? "adam" : "sgd"; });

}  // namespace
}  // namespace micromoe::moe
