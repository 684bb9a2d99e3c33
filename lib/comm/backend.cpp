// SPDX-License-Identifier: BSD-3-Clause
#include "comm/backend.hpp"

#include "core/build_config.hpp"
#include "core/error.hpp"

namespace micromoe::comm {

Backend parse_backend(std::string_view name) {
  if (name == "mpi") return Backend::mpi;
  if (name == "nccl") {
    if (!backend_available(Backend::nccl))
      throw InputError(
          "communication backend 'nccl' is not available in this build "
          "(configure with -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON, or use 'mpi')");
    return Backend::nccl;
  }
  throw InputError("unknown communication backend '" + std::string(name) + "' (expected 'mpi' or 'nccl')");
}

std::string to_string(Backend backend) { return backend == Backend::mpi ? "mpi" : "nccl"; }

bool backend_available(Backend backend) { return backend == Backend::mpi || MICROMOE_ENABLE_NCCL; }

}  // namespace micromoe::comm
