// SPDX-License-Identifier: BSD-3-Clause
// The every-rank verdict: when any rank fails, every rank throws the lowest failed rank's error
// with its message and kind (InputError stays InputError, anything else becomes Error); when
// none fails, every rank returns; a root-only attempt runs on rank 0 alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

#include "comm/communicator.hpp"
#include "comm/verdict.hpp"
#include "core/error.hpp"
#include "core/file_kind.hpp"

namespace micromoe::comm {
namespace {

/// What a call threw on this rank: its kind and message.
struct Thrown {
  bool threw = false;
  bool input_error = false;
  std::string message;
};

template <class F>
Thrown outcome_of(F&& call) {
  Thrown t;
  try {
    call();
  } catch (const InputError& e) {
    t = {true, true, e.what()};
  } catch (const Error& e) {
    t = {true, false, e.what()};
  }
  return t;
}

TEST(Verdict, AllSucceedOnEveryRank) {
  const Communicator comm(MPI_COMM_WORLD);
  int runs = 0;
  const Thrown t = outcome_of([&] { agree_on_every_rank(comm, [&] { ++runs; }); });
  EXPECT_FALSE(t.threw) << t.message;
  EXPECT_EQ(runs, 1);
}

TEST(Verdict, RootOnlyRunsOnRootAlone) {
  const Communicator comm(MPI_COMM_WORLD);
  int runs = 0;
  const Thrown t = outcome_of([&] { agree_on_root(comm, [&] { ++runs; }); });
  EXPECT_FALSE(t.threw) << t.message;
  EXPECT_EQ(runs, comm.rank() == 0 ? 1 : 0);
}

TEST(Verdict, RootInputErrorReachesEveryRank) {
  const Communicator comm(MPI_COMM_WORLD);
  const Thrown t =
      outcome_of([&] { agree_on_root(comm, [] { throw InputError("[run] report: cannot create r.h5"); }); });
  EXPECT_TRUE(t.threw);
  EXPECT_TRUE(t.input_error);
  EXPECT_EQ(t.message, "[run] report: cannot create r.h5");
}

TEST(Verdict, NonRootFailureReachesEveryRankAsError) {
  const Communicator comm(MPI_COMM_WORLD);
  const int last = comm.size() - 1;
  const Thrown t = outcome_of([&] {
    agree_on_every_rank(comm, [&] {
      if (comm.rank() == last) throw std::runtime_error("rank " + std::to_string(last) + " ran out of memory");
    });
  });
  EXPECT_TRUE(t.threw);
  EXPECT_FALSE(t.input_error) << "a std::runtime_error is not an input problem";
  EXPECT_EQ(t.message, "rank " + std::to_string(last) + " ran out of memory");
}

TEST(Verdict, LowestFailedRankSpeaksForAll) {
  const Communicator comm(MPI_COMM_WORLD);
  // Every rank but rank 0 fails (rank 0 alone when it is the only one), each with its own kind.
  const int first = comm.size() > 1 ? 1 : 0;
  const Thrown t = outcome_of([&] {
    agree_on_every_rank(comm, [&] {
      if (comm.rank() < first) return;
      if (comm.rank() % 2 == 1) throw InputError("deck on rank " + std::to_string(comm.rank()));
      throw Error("internal on rank " + std::to_string(comm.rank()));
    });
  });
  EXPECT_TRUE(t.threw);
  EXPECT_EQ(t.input_error, first % 2 == 1);
  EXPECT_EQ(t.message, (first % 2 == 1 ? "deck on rank " : "internal on rank ") + std::to_string(first));
}

TEST(Verdict, EmptyMessageAndUnknownExceptionsAgree) {
  const Communicator comm(MPI_COMM_WORLD);
  const Thrown empty = outcome_of([&] { agree_on_root(comm, [] { throw InputError(""); }); });
  EXPECT_TRUE(empty.threw);
  EXPECT_TRUE(empty.input_error);
  EXPECT_EQ(empty.message, "");
  const Thrown unknown = outcome_of([&] { agree_on_root(comm, [] { throw 42; }); });
  EXPECT_TRUE(unknown.threw);
  EXPECT_FALSE(unknown.input_error);
  EXPECT_EQ(unknown.message, "unknown exception");
}

TEST(Verdict, RootExitCodeReachesEveryRank) {
  const Communicator comm(MPI_COMM_WORLD);
  int runs = 0;
  const int code = agree_on_root_exit_code(comm, [&] {
    ++runs;
    return 3;
  });
  EXPECT_EQ(code, 3);
  EXPECT_EQ(runs, comm.rank() == 0 ? 1 : 0);
  const Thrown t = outcome_of([&] { agree_on_root_exit_code(comm, []() -> int { throw Error("no input"); }); });
  EXPECT_TRUE(t.threw);
  EXPECT_FALSE(t.input_error);
  EXPECT_EQ(t.message, "no input");
}

TEST(Verdict, AFileMissingOnSomeRanksFailsEveryRankWithOneMessage) {
  // Node-local paths: the file exists for rank 0 only (each rank names its own), so every
  // other rank fails to read it; every rank must learn rank 1's message, none may go on.
  const Communicator comm(MPI_COMM_WORLD);
  const std::string path = ::testing::TempDir() + "verdict_rank" + std::to_string(comm.rank()) + ".txt";
  std::remove(path.c_str());
  if (comm.rank() == 0) std::ofstream(path) << "data";
  const Thrown t = outcome_of([&] {
    agree_on_every_rank(comm, [&] {
      if (const auto problem = regular_file_problem(path); !problem.empty())
        throw InputError("trace " + path + ": cannot read: " + problem);
    });
  });
  EXPECT_EQ(t.threw, comm.size() > 1);
  if (comm.size() > 1) {
    EXPECT_TRUE(t.input_error);
    EXPECT_NE(t.message.find("verdict_rank1.txt: cannot read"), std::string::npos) << t.message;
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace micromoe::comm
