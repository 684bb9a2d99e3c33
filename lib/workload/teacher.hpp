// SPDX-License-Identifier: BSD-3-Clause
// A fixed teacher MoE that supplies learnable targets: token t of cluster k is mapped by
// teacher expert e = k mod experts, y = U_e tanh(V_e x) with rank-r experts. Cheap at any
// hidden size (2 r H flops per token), deterministic from the seed.
#pragma once

#include <cstdint>

#include "core/kokkos_types.hpp"

namespace micromoe::workload {

class TeacherMoE {
 public:
  static constexpr int kMaxRank = 16;

  TeacherMoE(int hidden, int experts, int rank, std::uint64_t seed);

  /// y[t, :] = U_e tanh(V_e x[t, :]) with e = cluster[t] mod experts.
  void targets(const ExecSpace& exec, const RowMatrix<const float>& x,
               const Kokkos::View<const int*, MemSpace>& cluster, const RowMatrix<float>& y) const;

  /// The experts' factors (for verification): V [experts, rank, hidden], U [experts, hidden, rank].
  Kokkos::View<const float***, TokenLayout, MemSpace> v() const { return v_; }
  Kokkos::View<const float***, TokenLayout, MemSpace> u() const { return u_; }

 private:
  int hidden_, experts_, rank_;
  Kokkos::View<float***, TokenLayout, MemSpace> v_;  ///< [experts, rank, hidden]
  Kokkos::View<float***, TokenLayout, MemSpace> u_;  ///< [experts, hidden, rank]
};

}  // namespace micromoe::workload
