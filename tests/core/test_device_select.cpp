// SPDX-License-Identifier: BSD-3-Clause
// Device selection for one rank per GPU: the node-local rank modulo the visible GPUs, unless
// the user's arguments or environment already chose a device.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>

#include "core/device_select.hpp"

namespace micromoe {
namespace {

TEST(DeviceSelect, LocalRankModuloVisibleGpus) {
  EXPECT_EQ(device_for_local_rank(0, 8), 0);
  EXPECT_EQ(device_for_local_rank(5, 8), 5);
  EXPECT_EQ(device_for_local_rank(9, 8), 1);  // oversubscribed: ranks share GPUs round-robin
  EXPECT_EQ(device_for_local_rank(3, 1), 0);
  EXPECT_EQ(device_for_local_rank(3, 0), -1);  // no GPU
}

TEST(DeviceSelect, UserChoiceWins) {
  unsetenv("KOKKOS_DEVICE_ID");
  unsetenv("KOKKOS_NUM_DEVICES");
  EXPECT_FALSE(device_chosen_by_user({"micromoe", "run", "deck.toml", "training.iterations=3"}));
  EXPECT_TRUE(device_chosen_by_user({"micromoe", "--kokkos-device-id=3", "run", "deck.toml"}));
  EXPECT_TRUE(device_chosen_by_user({"micromoe", "--kokkos-num-devices=4"}));
  EXPECT_TRUE(device_chosen_by_user({"micromoe", "--kokkos-map-device-id-by=mpi_rank"}));
  setenv("KOKKOS_DEVICE_ID", "1", 1);
  EXPECT_TRUE(device_chosen_by_user({"micromoe", "run"}));
  unsetenv("KOKKOS_DEVICE_ID");
}

TEST(DeviceSelect, NodeLocalRankOfOneProcessIsZero) {
  int size = 1, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const int local = node_local_rank(MPI_COMM_WORLD);
  EXPECT_GE(local, 0);
  EXPECT_LE(local, rank);  // ranks of one node are numbered among themselves
  if (size == 1) EXPECT_EQ(local, 0);
}

}  // namespace
}  // namespace micromoe
