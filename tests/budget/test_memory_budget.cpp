// SPDX-License-Identifier: BSD-3-Clause
// check_memory: the estimate against what every rank has, per run.memory_check, the same
// verdict on every rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <string>

#include "budget/memory_budget.hpp"
#include "comm/communicator.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"

namespace micromoe::budget {
namespace {

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

/// The default deck with one micro-batch of 2^24 tokens of width 4096 per rank: terabytes.
deck::RunConfig huge_deck(MemoryCheck mode) {
  deck::RunConfig c;
  c.model.hidden = 4096;
  c.training.tokens_per_micro_batch = 1 << 24;
  c.run.memory_check = mode;
  c.run.strategies = {strategy::StrategyKind::ep};
  return deck::resolve_layout(c, world_size());
}

TEST(MemoryBudget, ADeckThatFitsPassesAndIsDescribed) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto b = check_memory(deck::resolve_layout(deck::RunConfig{}, world.size()), world.size(), world);
  EXPECT_FALSE(b.exceeded);
  EXPECT_NE(b.line.find("memory per rank"), std::string::npos) << b.line;
  if (host_memory_available() >= 0) EXPECT_NE(b.line.find("MemAvailable / "), std::string::npos) << b.line;
}

TEST(MemoryBudget, TooMuchIsRefusedOnEveryRankNamingTheKeys) {
  if (host_memory_available() < 0) GTEST_SKIP() << "no /proc/meminfo";
  const comm::Communicator world(MPI_COMM_WORLD);
  std::string error;
  try {
    check_memory(huge_deck(MemoryCheck::error), world.size(), world);
  } catch (const InputError& e) {
    error = e.what();
  }
  // Every rank threw (an empty message here would be a rank that went on alone), with the
  // lowest rank's numbers and the keys that drive the size.
  EXPECT_NE(error.find("training.tokens_per_micro_batch"), std::string::npos) << error;
  EXPECT_NE(error.find("model.hidden"), std::string::npos) << error;
  EXPECT_NE(error.find("rank 0 has"), std::string::npos) << error;
}

TEST(MemoryBudget, WarnRunsAnywayAndOffDoesNotCompare) {
  if (host_memory_available() < 0) GTEST_SKIP() << "no /proc/meminfo";
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto warned = check_memory(huge_deck(MemoryCheck::warn), world.size(), world);
  EXPECT_TRUE(warned.exceeded);
  EXPECT_NE(warned.line.find("MORE THAN AVAILABLE"), std::string::npos) << warned.line;
  const auto off = check_memory(huge_deck(MemoryCheck::off), world.size(), world);
  EXPECT_FALSE(off.exceeded);
  EXPECT_GT(off.estimate.host.value() + off.estimate.device.value(), static_cast<std::int64_t>(1) << 40);
}

TEST(MemoryBudget, AnotherJobsLayoutIsEstimatedNotCompared) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto b = check_memory(huge_deck(MemoryCheck::error), world.size(), world, false);
  EXPECT_FALSE(b.compared);
  EXPECT_FALSE(b.exceeded);
  EXPECT_NE(b.line.find("not compared"), std::string::npos) << b.line;
}

TEST(MemoryBudget, RanksPerNodeDivideTheHostMemory) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto one = memory_available(world, 1), eight = memory_available(world, 8);
  if (one.host < 0) GTEST_SKIP() << "no /proc/meminfo";
  EXPECT_EQ(eight.node_ranks, 8);
  // MemAvailable moves between the two readings; an eighth of it is far below the whole.
  EXPECT_LT(eight.host, one.host / 4);
}

}  // namespace
}  // namespace micromoe::budget
