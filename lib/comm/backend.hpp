// SPDX-License-Identifier: BSD-3-Clause
// The token-exchange backends, chosen at run time.
#pragma once

#include <string_view>

#include "core/enum_names.hpp"

namespace micromoe::comm {

enum class Backend {
  mpi,   ///< MPI_Alltoallv; host-staged when the data lives on the GPU.
  nccl,  ///< grouped ncclSend/ncclRecv on the Kokkos CUDA stream (CUDA builds with NCCL).
};
constexpr NameTable<2> name_table(Backend) { return {"communication backend", {"mpi", "nccl"}}; }

/// "mpi" or "nccl"; throws micromoe::InputError naming the valid choices otherwise, or when
/// "nccl" is asked of a build without NCCL.
Backend parse_backend(std::string_view name);
/// True when this build can use the backend.
bool backend_available(Backend backend);

}  // namespace micromoe::comm
