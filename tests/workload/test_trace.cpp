// SPDX-License-Identifier: BSD-3-Clause
// Trace files are read strictly, and replayed routing reproduces the trace's counts exactly.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::workload {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

void expect_input_error(const std::string& text, const std::string& needle) {
  const auto path = write_file("bad_trace.csv", text);
  try {
    read_trace(path, 4);
    FAIL() << "accepted a bad trace; expected an error mentioning '" << needle << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TraceCsv, ReadsCountsAndFillsMissingRowsWithZeros) {
  const auto path = write_file("trace.csv",
                               "# exported tokens per expert\n"
                               "iteration,layer,micro_batch,expert,tokens\n"
                               "0,0,0,1,30\n0,0,0,3,10\n1,0,1,0,7\n");
  const auto t = read_trace(path, 4);
  EXPECT_EQ(t.iterations, 2);
  EXPECT_EQ(t.layers, 1);
  EXPECT_EQ(t.micro_batches, 2);
  EXPECT_EQ(t.micro_batch_counts(0, 0, 0), (std::vector<std::int64_t>{0, 30, 0, 10}));
  EXPECT_EQ(t.micro_batch_counts(1, 0, 1), (std::vector<std::int64_t>{7, 0, 0, 0}));
  EXPECT_EQ(t.micro_batch_counts(2, 0, 0), t.micro_batch_counts(0, 0, 0));  // cycles
}

TEST(TraceCsv, RejectsMalformedFilesWithTheLineAndProblem) {
  expect_input_error("iter,layer,mb,expert,tokens\n0,0,0,0,1\n", "header");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,0,0,-5\n", ":2: field 'tokens' is negative");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,0,9,5\n", "expert 9");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,x,0,5\n", "'micro_batch' is not an integer");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,0,0,5\n0,0,0,0,6\n", ":3: duplicate");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,0\n", "expected 5 fields");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n", "no data rows");
  expect_input_error("", "empty file");
  EXPECT_THROW(read_trace(testing::TempDir() + "does_not_exist.csv", 4), InputError);
}

TEST(TraceCsv, RefusesWhatWouldWrapOrOverflow) {
  // An index past int (2^32 once aliased 0) and counts whose micro-batch sum passes int64.
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n4294967296,0,0,0,5\n", "'iteration' is too large");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,2147483647,0,0,5\n", "'layer' is too large");
  expect_input_error("iteration,layer,micro_batch,expert,tokens\n0,0,0,0,9223372036854775807\n0,0,0,1,1\n",
                     "add up to more than 2^63 - 1");
}

TEST(TraceCsv, ReadsOnlyRegularFiles) {
  // A directory, a FIFO (its open would block forever) and a dangling link: refused up front.
  const std::string directory = testing::TempDir() + "trace_dir";
  const std::string fifo = testing::TempDir() + "trace_fifo";
  const std::string dangling = testing::TempDir() + "trace_dangling";
  std::remove(fifo.c_str());
  std::remove(dangling.c_str());
  ASSERT_EQ(::mkdir(directory.c_str(), 0755) == 0 || errno == EEXIST, true);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_EQ(::symlink((testing::TempDir() + "no/such/file").c_str(), dangling.c_str()), 0);
  for (const auto& [path, needle] :
       {std::pair<std::string, std::string>{directory, "is a directory"}, {fifo, "FIFO"}, {dangling, "No such file"}}) {
    try {
      read_trace(path, 4);
      ADD_FAILURE() << path << " was read";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  std::remove(fifo.c_str());
  std::remove(dangling.c_str());
}

TEST(TraceRouting, RescaleRefusesCountsThatOverflowInsteadOfLooping) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  EXPECT_THROW(rescale_counts({big, big, 1, 1}, 20, 8), InputError);
  EXPECT_THROW(rescale_counts({5, -3, 1, 1}, 20, 8), InputError);
  const auto c = rescale_counts({big, 0, 0, 0}, 20, 8);  // the largest sum that fits
  EXPECT_EQ(std::accumulate(c.begin(), c.end(), std::int64_t{0}), 20);
}

TEST(TraceRouting, RescaleKeepsTheTotalAndTheCap) {
  const auto c = rescale_counts({100, 0, 50, 50}, 20, 8);
  EXPECT_EQ(std::accumulate(c.begin(), c.end(), std::int64_t{0}), 20);
  for (auto v : c) EXPECT_LE(v, 8);
  EXPECT_EQ(c[0], 8);  // 10 wanted, capped at one copy per token
  const auto uniform = rescale_counts({0, 0, 0, 0}, 12, 12);
  EXPECT_EQ(uniform, (std::vector<std::int64_t>{3, 3, 3, 3}));
}

TEST(TraceRouting, RanksTogetherReproduceTheRescaledCountsWithDistinctExpertsPerToken) {
  const std::vector<std::int64_t> trace = {900, 13, 0, 250, 77, 5, 0, 1};
  for (int ranks : {1, 3, 4})
    for (int top_k : {1, 2, 3}) {
      const int tokens = 50;
      const auto expected = rescale_counts(trace, std::int64_t{tokens} * top_k * ranks, std::int64_t{tokens} * ranks);
      std::vector<std::int64_t> seen(trace.size(), 0);
      for (int r = 0; r < ranks; ++r) {
        const auto routing = trace_routing(trace, ranks, r, tokens, top_k);
        ASSERT_EQ(routing.size(), static_cast<std::size_t>(tokens * top_k));
        for (int t = 0; t < tokens; ++t) {
          std::set<int> distinct(routing.begin() + t * top_k, routing.begin() + (t + 1) * top_k);
          EXPECT_EQ(distinct.size(), static_cast<std::size_t>(top_k)) << "token " << t << " repeats an expert";
        }
        for (int e : routing) ++seen[e];
      }
      EXPECT_EQ(seen, expected) << "ranks " << ranks << " top_k " << top_k;
    }
}

}  // namespace
}  // namespace micromoe::workload
