// SPDX-License-Identifier: BSD-3-Clause
// The trainer after a stop request (SIGTERM on any one rank): every rank leaves the loop after
// the same completed iteration, the run says it was truncated and its results hold exactly the
// completed iterations; without a request the run is whole.
#include <gtest/gtest.h>

#include <sstream>

#include "comm/communicator.hpp"
#include "train/progress.hpp"
#include "train/stop_request.hpp"
#include "train/trainer.hpp"
#include "train_test_decks.hpp"

namespace micromoe::train {
namespace {

TEST(Trainer, StopRequestTruncatesAfterTheCurrentIteration) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto deck = testing::tiny_deck({"run.strategies=ep,microep"});
  Trainer trainer(deck, world);
  std::ostringstream out;
  ProgressPrinter progress(out, /*quiet=*/true, 2L * deck.training.iterations);

  // The last rank alone was signalled before the first iteration ended.
  set_stop_requested_for_testing(world.rank() == world.size() - 1);
  const auto stopped = trainer.train(deck.run.strategies[0], progress);
  set_stop_requested_for_testing(false);
  EXPECT_TRUE(stopped.truncated) << "on rank " << world.rank();
  if (world.rank() == 0) EXPECT_EQ(stopped.results.iterations, 1);

  const auto whole = trainer.train(deck.run.strategies[1], progress);
  EXPECT_FALSE(whole.truncated);
  if (world.rank() == 0) EXPECT_EQ(whole.results.iterations, deck.training.iterations);
}

TEST(Trainer, StopRequestInTheLastIterationIsNoTruncation) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const auto deck = testing::tiny_deck({"run.strategies=ep", "training.iterations=1"});
  Trainer trainer(deck, world);
  std::ostringstream out;
  ProgressPrinter progress(out, true, 1);
  set_stop_requested_for_testing(true);
  const auto run = trainer.train(deck.run.strategies[0], progress);
  set_stop_requested_for_testing(false);
  EXPECT_FALSE(run.truncated) << "every iteration completed";
  if (world.rank() == 0) EXPECT_EQ(run.results.iterations, 1);
}

}  // namespace
}  // namespace micromoe::train
