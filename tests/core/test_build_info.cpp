// SPDX-License-Identifier: BSD-3-Clause
// Build information names the versions a report or --version must carry.
#include <gtest/gtest.h>

#include <map>

#include "core/build_info.hpp"
#include "core/kokkos_compat.hpp"

namespace micromoe {
namespace {

TEST(BuildInfo, HasEveryKeyWithAValue) {
  std::map<std::string, std::string> info;
  for (const auto& [k, v] : build_info()) info[k] = v;
  for (const char* key : {"micromoe_version", "git_revision", "compiler", "kokkos_version", "kokkos_execution_space",
                          "mpi_library", "nccl_version"}) {
    ASSERT_TRUE(info.count(key)) << key;
    EXPECT_FALSE(info[key].empty()) << key;
  }
  EXPECT_EQ(info["kokkos_version"], compat::kokkos_version_string());
  EXPECT_EQ(info["kokkos_version"].front(), std::to_string(KOKKOS_VERSION / 10000).front());
}

}  // namespace
}  // namespace micromoe
