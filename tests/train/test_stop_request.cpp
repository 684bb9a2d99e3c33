// SPDX-License-Identifier: BSD-3-Clause
// The stop request: SIGTERM sets the flag (the process lives on to write its report), and one
// rank's request stops every rank at the same iteration.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>

#include "comm/communicator.hpp"
#include "train/stop_request.hpp"

namespace micromoe::train {
namespace {

TEST(StopRequest, SigtermSetsTheFlagInsteadOfEndingTheProcess) {
  install_stop_handler();
  set_stop_requested_for_testing(false);
  EXPECT_FALSE(stop_requested_locally());
  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_TRUE(stop_requested_locally());
  set_stop_requested_for_testing(false);
  ASSERT_EQ(std::raise(SIGINT), 0);
  EXPECT_TRUE(stop_requested_locally());
  set_stop_requested_for_testing(false);
}

TEST(StopRequest, ASecondSignalEndsTheProcess) {
  // Whatever the process is doing when the flag is not read, signalling it again ends it.
  // The default "fast" style: the child is forked and runs only this block (no MPI calls).
  EXPECT_EXIT(
      {
        install_stop_handler();
        set_stop_requested_for_testing(false);
        std::raise(SIGTERM);
        std::raise(SIGTERM);
        std::_Exit(0);  // not reached
      },
      ::testing::KilledBySignal(SIGTERM), "");
  EXPECT_FALSE(stop_requested_locally());  // the parent was not signalled
}

TEST(StopRequest, OneRanksRequestStopsEveryRank) {
  const comm::Communicator world(MPI_COMM_WORLD);
  set_stop_requested_for_testing(false);
  EXPECT_FALSE(stop_requested(world.get()));
  // The last rank alone was signalled (rank 0 on one rank).
  set_stop_requested_for_testing(world.rank() == world.size() - 1);
  EXPECT_TRUE(stop_requested(world.get()));
  EXPECT_EQ(stop_requested_locally(), world.rank() == world.size() - 1);
  set_stop_requested_for_testing(false);
  EXPECT_FALSE(stop_requested(world.get()));
}

}  // namespace
}  // namespace micromoe::train
