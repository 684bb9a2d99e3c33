// SPDX-License-Identifier: BSD-3-Clause
// The owned communicator is a real duplicate (isolated context) and splits correctly.
#include <gtest/gtest.h>

#include "comm/backend.hpp"
#include "comm/communicator.hpp"
#include "core/error.hpp"

namespace micromoe::comm {
namespace {

TEST(Communicator, DuplicatesTheUserCommunicator) {
  Communicator comm(MPI_COMM_WORLD);
  int world_rank = 0, world_size = 0, result = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(comm.rank(), world_rank);
  EXPECT_EQ(comm.size(), world_size);
  MPI_Comm_compare(comm.get(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // same group, different context: library traffic is isolated
}

TEST(Communicator, SplitGroupsRanksAndMovesOwnership) {
  Communicator comm(MPI_COMM_WORLD);
  Communicator half = comm.split(comm.rank() % 2, comm.rank());
  ASSERT_TRUE(half.valid());
  EXPECT_EQ(half.size(), (comm.size() + 1 - comm.rank() % 2) / 2);
  EXPECT_EQ(half.rank(), comm.rank() / 2);
  Communicator moved = std::move(half);
  EXPECT_FALSE(half.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_TRUE(moved.valid());
  Communicator none = comm.split(comm.rank() == 0 ? 0 : MPI_UNDEFINED, 0);
  EXPECT_EQ(none.valid(), comm.rank() == 0);
}

TEST(Backend, ParsesKnownNamesAndRejectsOthers) {
  EXPECT_EQ(parse_backend("mpi"), Backend::mpi);
  EXPECT_THROW(parse_backend("gloo"), InputError);
  if (!backend_available(Backend::nccl)) EXPECT_THROW(parse_backend("nccl"), InputError);
}

}  // namespace
}  // namespace micromoe::comm
