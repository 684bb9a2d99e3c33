// SPDX-License-Identifier: BSD-3-Clause
// The CSV trace format: the optional source column, the top_k declaration, and every malformed
// input refused with the line and the problem (before any arithmetic can overflow).
#include <gtest/gtest.h>

#include <numeric>
#include <sstream>

#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::workload {
namespace {

RoutingTrace parse(const std::string& text, int experts = 4) {
  std::istringstream in(text);
  return parse_trace(in, "t.csv", experts);
}

void expect_error(const std::string& text, const std::string& needle, int experts = 4) {
  try {
    parse(text, experts);
    ADD_FAILURE() << "accepted a bad trace; expected an error mentioning '" << needle << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

const std::string kSourceHeader = "iteration,layer,micro_batch,source,expert,tokens\n";

TEST(TraceCsvSource, ReadsPerSourceCountsAndTheirSum) {
  const auto t = parse(kSourceHeader + "0,0,0,0,1,30\n0,0,0,0,3,10\n0,0,0,2,1,5\n0,0,0,1,0,7\n");
  EXPECT_TRUE(t.per_source);
  EXPECT_EQ(t.sources, 3);
  EXPECT_EQ(t.source_counts(0, 0, 0, 0), (std::vector<std::int64_t>{0, 30, 0, 10}));
  EXPECT_EQ(t.source_counts(0, 0, 0, 1), (std::vector<std::int64_t>{7, 0, 0, 0}));
  EXPECT_EQ(t.source_counts(0, 0, 0, 2), (std::vector<std::int64_t>{0, 5, 0, 0}));
  EXPECT_EQ(t.micro_batch_counts(0, 0, 0), (std::vector<std::int64_t>{7, 35, 0, 10}));
}

TEST(TraceCsvSource, RanksMapToSourcesModuloAndMergeWhenFewer) {
  const auto t = parse(kSourceHeader + "0,0,0,0,0,1\n0,0,0,1,1,2\n0,0,0,2,2,4\n");
  // 2 ranks, 3 sources: rank 0 merges sources 0 and 2, rank 1 replays source 1.
  EXPECT_EQ(t.rank_counts(0, 0, 0, 2, 0), (std::vector<std::int64_t>{1, 0, 4, 0}));
  EXPECT_EQ(t.rank_counts(0, 0, 0, 2, 1), (std::vector<std::int64_t>{0, 2, 0, 0}));
  // 5 ranks, 3 sources: rank r replays source r mod 3.
  for (int r = 0; r < 5; ++r) EXPECT_EQ(t.rank_counts(0, 0, 0, 5, r), t.source_counts(0, 0, 0, r % 3)) << r;
  // 3 ranks: each its own source.
  for (int r = 0; r < 3; ++r) EXPECT_EQ(t.rank_counts(0, 0, 0, 3, r), t.source_counts(0, 0, 0, r)) << r;
}

TEST(TraceCsvTopK, ReadsTheDeclarationAndChecksItAgainstTheDeck) {
  const auto t = parse("# top_k = 2\niteration,layer,micro_batch,expert,tokens\n0,0,0,1,3\n");
  EXPECT_EQ(t.top_k, 2);
  EXPECT_NO_THROW(check_trace_top_k(t, 2, "t.csv"));
  try {
    check_trace_top_k(t, 4, "t.csv");
    ADD_FAILURE() << "a top_k mismatch was accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("top_k = 2"), std::string::npos) << what;
    EXPECT_NE(what.find("model.top_k = 4"), std::string::npos) << what;
  }
  EXPECT_EQ(parse("#top_k=3\niteration,layer,micro_batch,expert,tokens\n0,0,0,1,3\n").top_k, 3);
  EXPECT_EQ(parse("# top_kind of note\niteration,layer,micro_batch,expert,tokens\n0,0,0,1,3\n").top_k, 0);
  EXPECT_NO_THROW(check_trace_top_k(parse("iteration,layer,micro_batch,expert,tokens\n0,0,0,1,3\n"), 4, "t"));
}

TEST(TraceCsvErrors, NamesTheLineAndTheProblemForEveryMalformedCase) {
  const std::string h = "iteration,layer,micro_batch,expert,tokens\n";
  expect_error("# top_k = x\n" + h + "0,0,0,0,1\n", ":1: field 'top_k' is not an integer");
  expect_error("# top_k = 0\n" + h + "0,0,0,0,1\n", "top_k must be at least 1");
  expect_error("# top_k 2\n" + h + "0,0,0,0,1\n", "expected '# top_k = K'");
  expect_error("# top_k = 2\n# top_k = 3\n" + h + "0,0,0,0,1\n", ":2: a second top_k (3) differs from 2");
  expect_error(h + "0,0,0,1,5,\n", ":2: expected 5 fields, found 6 (a trailing comma?)");
  expect_error(h + "0,0,0,1,\n", "field 'tokens' is empty");
  expect_error(h + "0,0,0,+1,5\n", "'expert' is not an integer");
  expect_error(h + "0,0,0,1,1e3\n", "'tokens' is not an integer");
  expect_error(h + "0,0,0,1,9223372036854775808\n", "'tokens' is too large (past 2^63 - 1)");
  expect_error(h + "0,0,0,-1,5\n", "'expert' is negative");
  expect_error(h + "0,0,0,1073741824,5\n", "'expert' is too large");  // 2^30: past kTraceMaxIndex
  expect_error(h + "0,0,0,4294967297,5\n", "'expert' is too large");  // would alias 1 in 32 bits
  expect_error(h + "0,0,0,1,5\n" + std::string("0,0,\0,1,5\n", 10), ":3: a NUL byte");
  expect_error(kSourceHeader + "0,0,0,1,5\n", "expected 6 fields, found 5");
  expect_error(kSourceHeader + "0,0,0,0,1,5\n0,0,0,0,1,6\n", ":3: duplicate");
  expect_error("iteration,layer,micro_batch,source,tokens,expert\n", "expected the header");
  // The dense trace would be 2^30 x 4 cells: refused by size, not allocated.
  expect_error(h + "1073741823,0,0,1,5\n", "too large: iterations x layers x micro_batches x sources x experts");
  expect_error(h + "\n\n", "no data rows");
  expect_error("", "empty file");
}

TEST(TraceCsvErrors, RefusesAnOverlongLineWithoutReadingItAll) {
  const std::string h = "iteration,layer,micro_batch,expert,tokens\n";
  expect_error(h + std::string(kTraceMaxLineBytes + 1, '1') + "\n", ":2: line longer than");
}

TEST(TraceCsv, AcceptsCrlfLinesAndInfersExpertsWhenNotGiven) {
  const auto t = parse("# top_k = 1\r\niteration,layer,micro_batch,expert,tokens\r\n0,0,0,5,3\r\n1,0,0,0,2\r\n", 0);
  EXPECT_EQ(t.experts, 6);
  EXPECT_EQ(t.top_k, 1);
  EXPECT_EQ(t.iterations, 2);
  EXPECT_EQ(t.micro_batch_counts(0, 0, 0), (std::vector<std::int64_t>{0, 0, 0, 0, 0, 3}));
}

TEST(TraceShipped, EveryShippedTraceReadsWithItsDeclaredShape) {
  const std::string dir = std::string(MICROMOE_SOURCE_DIR) + "/inputs/traces/";
  const auto qwen = read_trace(dir + "qwen-wikitext-top1.csv", 60);
  EXPECT_EQ(qwen.top_k, 1);
  EXPECT_FALSE(qwen.per_source);
  EXPECT_EQ(qwen.layers, 2);
  for (int l = 0; l < 2; ++l) {
    const auto c = qwen.micro_batch_counts(0, l, 0);
    EXPECT_EQ(std::accumulate(c.begin(), c.end(), std::int64_t{0}), 98304) << "layer " << l;
  }
  const auto csv = read_trace(dir + "switch8-per-source.csv", 8);
  const auto jsonl = read_trace(dir + "switch8-megatron.jsonl", 8);
  EXPECT_TRUE(csv.per_source && jsonl.per_source);
  EXPECT_EQ(csv.sources, 8);
  EXPECT_EQ(jsonl.sources, 8);
  EXPECT_EQ(jsonl.top_k, 1);
  for (int s = 0; s < 8; ++s) {
    const auto c = csv.source_counts(0, 0, 0, s);
    EXPECT_EQ(std::accumulate(c.begin(), c.end(), std::int64_t{0}), 5100) << "source " << s;
    EXPECT_EQ(jsonl.source_counts(0, 0, 0, s), c) << "the JSONL holds the CSV's layer 0, source " << s;
  }
}

}  // namespace
}  // namespace micromoe::workload
