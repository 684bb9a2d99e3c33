// SPDX-License-Identifier: BSD-3-Clause
// What this binary is: versions of MicroMoE, Kokkos, MPI and NCCL, compiler and backends.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace micromoe {

/// Key/value facts about the build and the runtime libraries (for --version and reports).
/// Needs Kokkos to be initialised for the backend list; safe to call on any rank.
std::vector<std::pair<std::string, std::string>> build_info();

/// build_info() as "key: value" lines.
std::string build_info_text();

}  // namespace micromoe
