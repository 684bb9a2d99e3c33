// SPDX-License-Identifier: BSD-3-Clause
// Synthetic tokens follow the cluster popularity, are bit-reproducible, and the teacher's
// targets equal a host computation of U tanh(V x).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "workload/synthetic.hpp"
#include "workload/teacher.hpp"

namespace micromoe::workload {
namespace {

SyntheticConfig small_config() {
  SyntheticConfig c;
  c.hidden = 16;
  c.tokens = 4000;
  c.popularity = {8, 1.0, 0.05, 0.0, 4.0, 11};
  return c;
}

struct Batch {
  RowMatrix<float> x;
  Kokkos::View<int*, MemSpace> cluster;
};

Batch generate(SyntheticWorkload& w, int iteration, int micro_batch, int rank) {
  Batch b{RowMatrix<float>("x", w.config().tokens, w.config().hidden),
          Kokkos::View<int*, MemSpace>("cluster", w.config().tokens)};
  w.generate(ExecSpace(), iteration, micro_batch, rank, b.x, b.cluster);
  return b;
}

TEST(SyntheticWorkload, ClusterFrequenciesFollowThePopularity) {
  SyntheticWorkload w(small_config());
  const auto b = generate(w, 4, 0, 0);
  auto cluster = Kokkos::create_mirror_view_and_copy(HostSpace(), b.cluster);
  std::vector<double> freq(8, 0.0);
  for (std::size_t t = 0; t < cluster.extent(0); ++t) freq[cluster(t)] += 1.0 / cluster.extent(0);
  const auto p = w.popularity(4);
  for (int k = 0; k < 8; ++k) EXPECT_NEAR(freq[k], p[k], 4 * std::sqrt(p[k] / 4000) + 1e-3) << "cluster " << k;
}

TEST(SyntheticWorkload, IsBitReproducibleAndDiffersByRankAndMicroBatch) {
  SyntheticWorkload w1(small_config()), w2(small_config());
  auto a = Kokkos::create_mirror_view_and_copy(HostSpace(), generate(w1, 2, 1, 3).x);
  auto b = Kokkos::create_mirror_view_and_copy(HostSpace(), generate(w2, 2, 1, 3).x);
  auto c = Kokkos::create_mirror_view_and_copy(HostSpace(), generate(w2, 2, 1, 0).x);
  auto d = Kokkos::create_mirror_view_and_copy(HostSpace(), generate(w2, 2, 0, 3).x);
  int same = 0, same_other_rank = 0, same_other_mb = 0;
  for (std::size_t i = 0; i < a.extent(0); ++i)
    for (std::size_t h = 0; h < a.extent(1); ++h) {
      same += a(i, h) == b(i, h);
      same_other_rank += a(i, h) == c(i, h);
      same_other_mb += a(i, h) == d(i, h);
    }
  EXPECT_EQ(same, static_cast<int>(a.size()));
  EXPECT_LT(same_other_rank, static_cast<int>(a.size() / 10));
  EXPECT_LT(same_other_mb, static_cast<int>(a.size() / 10));
}

TEST(TeacherMoE, TargetsEqualAHostComputationOfUTanhVx) {
  SyntheticWorkload w(small_config());
  const auto b = generate(w, 0, 0, 0);
  const int hidden = 16, experts = 3, rank = 4;
  TeacherMoE teacher(hidden, experts, rank, 5);
  RowMatrix<float> y("y", b.x.extent(0), hidden);
  teacher.targets(ExecSpace(), b.x, b.cluster, y);
  auto x = Kokkos::create_mirror_view_and_copy(HostSpace(), b.x);
  auto cluster = Kokkos::create_mirror_view_and_copy(HostSpace(), b.cluster);
  auto yh = Kokkos::create_mirror_view_and_copy(HostSpace(), y);
  auto v = Kokkos::create_mirror_view_and_copy(HostSpace(), teacher.v());
  auto u = Kokkos::create_mirror_view_and_copy(HostSpace(), teacher.u());
  double max_error = 0, norm = 0;
  for (int t = 0; t < 200; ++t) {
    const int e = cluster(t) % experts;
    double z[4];
    for (int r = 0; r < rank; ++r) {
      double s = 0;
      for (int h = 0; h < hidden; ++h) s += double(v(e, r, h)) * x(t, h);
      z[r] = std::tanh(s);
    }
    for (int h = 0; h < hidden; ++h) {
      double s = 0;
      for (int r = 0; r < rank; ++r) s += double(u(e, h, r)) * z[r];
      max_error = std::max(max_error, std::abs(s - yh(t, h)));
      norm += s * s;
    }
  }
  EXPECT_LT(max_error, 1e-5);  // fp32 accumulation over 16 terms
  EXPECT_GT(norm, 1.0);        // targets are not trivially zero
}

}  // namespace
}  // namespace micromoe::workload
