// SPDX-License-Identifier: BSD-3-Clause
#include "comm/backend.hpp"

#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/parse_enum.hpp"

namespace micromoe::comm {

Backend parse_backend(std::string_view name) {
  const auto backend = parse_enum<Backend>(name);
  if (!backend_available(backend))
    throw InputError("communication backend '" + to_string(backend) +
                     "' is not available in this build "
                     "(configure with -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON, or use 'mpi')");
  return backend;
}

bool backend_available(Backend backend) { return backend == Backend::mpi || MICROMOE_ENABLE_NCCL; }

}  // namespace micromoe::comm
