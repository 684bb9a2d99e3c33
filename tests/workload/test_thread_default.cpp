// SPDX-License-Identifier: BSD-3-Clause
// Threads per rank: the node's cores shared among its ranks, at least one, at most the rank's
// own cores; the user's choice (environment or Kokkos arguments) is recognised.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/thread_default.hpp"

namespace micromoe {
namespace {

TEST(ThreadDefault, SharesTheNodesCoresAmongItsRanks) {
  EXPECT_EQ(default_threads_per_rank(2, 4, 2), 1);  // 4 ranks on 2 cores: one thread each, not 2
  EXPECT_EQ(default_threads_per_rank(64, 8, 64), 8);
  EXPECT_EQ(default_threads_per_rank(64, 8, 4), 4);  // bound to 4 cores: no more threads than that
  EXPECT_EQ(default_threads_per_rank(64, 8, 0), 8);  // affinity unknown
  EXPECT_EQ(default_threads_per_rank(1, 1, 1), 1);
  EXPECT_EQ(default_threads_per_rank(3, 0, 0), 3);
}

TEST(ThreadDefault, RecognisesTheUsersChoice) {
  const char* omp = std::getenv("OMP_NUM_THREADS");
  const std::string saved = omp ? omp : "";
  unsetenv("OMP_NUM_THREADS");
  unsetenv("KOKKOS_NUM_THREADS");
  EXPECT_EQ(threads_chosen_by_user({"micromoe", "run", "deck.toml"}), "");
  EXPECT_EQ(threads_chosen_by_user({"micromoe", "--kokkos-threads=3"}), "--kokkos-threads=3");
  EXPECT_EQ(threads_chosen_by_user({"micromoe", "--kokkos-num-threads=2"}), "--kokkos-num-threads=2");
  setenv("OMP_NUM_THREADS", "2", 1);
  EXPECT_EQ(threads_chosen_by_user({"micromoe"}), "OMP_NUM_THREADS=2");
  if (omp)
    setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  else
    unsetenv("OMP_NUM_THREADS");
  EXPECT_NE(kokkos_threads_argument(3).find("=3"), std::string::npos);
  EXPECT_GE(node_cores(), 1);
}

}  // namespace
}  // namespace micromoe
