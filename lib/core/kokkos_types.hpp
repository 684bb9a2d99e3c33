// SPDX-License-Identifier: BSD-3-Clause
// The one place that names MicroMoE's execution and memory spaces and its token layout.
#pragma once

#include <Kokkos_Core.hpp>

namespace micromoe {

/// Where the data path runs: CUDA in a CUDA build, OpenMP (or Serial) on the CPU.
using ExecSpace = Kokkos::DefaultExecutionSpace;
/// Where the data path's Views live.
using MemSpace = ExecSpace::memory_space;
using HostExecSpace = Kokkos::DefaultHostExecutionSpace;
using HostSpace = Kokkos::HostSpace;
/// Host memory that MPI stages GPU data through: page-locked in a CUDA build, so copies to and
/// from the GPU run at full link speed and asynchronously (pageable memory took 2-3x longer:
/// docs/PERFORMANCE.md); plain host memory otherwise.
#if defined(KOKKOS_ENABLE_CUDA)
using StagingSpace = Kokkos::CudaHostPinnedSpace;
#else
using StagingSpace = Kokkos::HostSpace;
#endif

/// Token rows are row-major on every backend (Kokkos' CUDA default would be LayoutLeft):
/// a token's hidden vector is contiguous, so exchanging rows is exchanging contiguous blocks.
using TokenLayout = Kokkos::LayoutRight;

/// A matrix of rows (tokens x features) in memory space M.
template <class T, class M = MemSpace>
using RowMatrix = Kokkos::View<T**, TokenLayout, M>;

/// True when memory space M can be read directly by host code (MPI without staging).
template <class M>
inline constexpr bool host_accessible_v = Kokkos::SpaceAccessibility<Kokkos::HostSpace, M>::accessible;

}  // namespace micromoe
