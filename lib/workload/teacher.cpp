// SPDX-License-Identifier: BSD-3-Clause
#include "workload/teacher.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "workload/counter_random.hpp"

namespace micromoe::workload {

namespace {
constexpr std::uint64_t kTeacherV = 0x7ea1;
constexpr std::uint64_t kTeacherU = 0x7ea2;
// Free function: CUDA does not allow extended lambdas inside constructors.
void fill_factors(const Kokkos::View<float***, TokenLayout, MemSpace>& v,
                  const Kokkos::View<float***, TokenLayout, MemSpace>& u, std::uint64_t seed) {
  const float sv = 2.0f;  // x has norm ~1 and V unit-variance rows: tanh stays in its curved range
  const float su = 1.0f / std::sqrt(static_cast<float>(v.extent(1)));
  Kokkos::parallel_for(
      "micromoe::TeacherMoE::init",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<3>>({0, 0, 0}, {v.extent(0), v.extent(1), v.extent(2)}),
      KOKKOS_LAMBDA(const int e, const int r, const int h) {
        v(e, r, h) = sv * normal01(hash_indices(seed, kTeacherV, e, r, h));
        u(e, h, r) = su * normal01(hash_indices(seed, kTeacherU, e, h, r));
      });
}
}  // namespace

TeacherMoE::TeacherMoE(int hidden, int experts, int rank, std::uint64_t seed)
    : hidden_(hidden),
      experts_(experts),
      rank_(rank),
      v_(std::string("micromoe::TeacherMoE::V"), experts, rank, hidden),
      u_(std::string("micromoe::TeacherMoE::U"), experts, hidden, rank) {
  MICROMOE_REQUIRE(hidden > 0 && experts > 0 && rank > 0 && rank <= kMaxRank, "teacher MoE shape out of range");
  fill_factors(v_, u_, seed);
}

void TeacherMoE::targets(const ExecSpace& exec, const RowMatrix<const float>& x,
                         const Kokkos::View<const int*, MemSpace>& cluster, const RowMatrix<float>& y) const {
  MICROMOE_REQUIRE(x.extent(0) == y.extent(0) && x.extent(0) == cluster.extent(0) &&
                       static_cast<int>(x.extent(1)) == hidden_ && static_cast<int>(y.extent(1)) == hidden_,
                   "teacher targets: shapes of x, cluster and y disagree");
  const auto v = v_;
  const auto u = u_;
  const int hidden = hidden_, experts = experts_, rank = rank_;
  Kokkos::parallel_for(
      "micromoe::TeacherMoE::targets", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const int t) {
        const int e = cluster(t) % experts;
        float z[kMaxRank];
        for (int r = 0; r < rank; ++r) {
          float s = 0;
          for (int h = 0; h < hidden; ++h) s += v(e, r, h) * x(t, h);
          z[r] = compat::tanh(s);
        }
        for (int h = 0; h < hidden; ++h) {
          float s = 0;
          for (int r = 0; r < rank; ++r) s += u(e, h, r) * z[r];
          y(t, h) = s;
        }
      });
}

}  // namespace micromoe::workload
