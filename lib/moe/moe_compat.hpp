// SPDX-License-Identifier: BSD-3-Clause
// Kokkos Kernels version differences used by the MoE layer (lib/core/kokkos_compat.hpp holds
// the Kokkos core ones): the execution-space overload of KokkosBlas::gemm exists from 4.x on;
// 3.4 runs its GEMMs on the default instance of the execution space.
#pragma once

#include <KokkosKernels_config.h>
#include <KokkosBlas3_gemm.hpp>

#include "core/kokkos_types.hpp"

namespace micromoe::moe::kk {

/// C = alpha * op(A) op(B) + beta * C on `exec`. Empty products are handled here (BLAS rejects
/// zero leading dimensions): with an empty inner dimension C becomes beta * C (beta 0 or 1).
template <class AV, class BV, class CV>
void gemm(const ExecSpace& exec, const char* trans_a, const char* trans_b, float alpha, const AV& A, const BV& B,
          float beta, const CV& C) {
  const std::size_t m = C.extent(0), n = C.extent(1);
  const std::size_t k = (trans_a[0] == 'N') ? A.extent(1) : A.extent(0);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f) Kokkos::deep_copy(exec, C, 0.0f);
    return;
  }
#if defined(KOKKOSKERNELS_VERSION_MAJOR) && KOKKOSKERNELS_VERSION_MAJOR >= 4
  KokkosBlas::gemm(exec, trans_a, trans_b, alpha, A, B, beta, C);
#else
  // Kokkos Kernels 3.x runs on the default instance. The layer passes that one; for any other
  // instance the GEMM is ordered after the instance's work and before its later work by fences.
#if defined(KOKKOS_ENABLE_CUDA)
  const bool other_instance = exec.cuda_stream() != ExecSpace().cuda_stream();
#else
  const bool other_instance = false;  // host back ends: kernels of all instances are ordered here
#endif
  if (other_instance) exec.fence();
  KokkosBlas::gemm(trans_a, trans_b, alpha, A, B, beta, C);
  if (other_instance) ExecSpace().fence();
#endif
}

}  // namespace micromoe::moe::kk
