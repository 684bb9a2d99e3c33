// SPDX-License-Identifier: BSD-3-Clause
// The token-exchange backends, chosen at run time.
#pragma once

#include <string>
#include <string_view>

namespace micromoe::comm {

enum class Backend {
  mpi,   ///< MPI_Alltoallv; host-staged when the data lives on the GPU.
  nccl,  ///< grouped ncclSend/ncclRecv on the Kokkos CUDA stream (CUDA builds with NCCL).
};

/// "mpi" or "nccl"; throws micromoe::InputError naming the valid choices otherwise, or when
/// "nccl" is asked of a build without NCCL.
Backend parse_backend(std::string_view name);
std::string to_string(Backend backend);
/// True when this build can use the backend.
bool backend_available(Backend backend);

}  // namespace micromoe::comm
