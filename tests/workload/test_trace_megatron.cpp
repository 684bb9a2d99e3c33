// SPDX-License-Identifier: BSD-3-Clause
// Megatron-LM's router trace records (router_trace_rank*.jsonl) read as per-source counts:
// rank = source, step = iteration, decoder layers renumbered in order, repeated records of one
// (rank, step, layer) = micro-batches; malformed records refused with the line and the problem.
#include <gtest/gtest.h>

#include <sstream>

#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::workload {
namespace {

RoutingTrace parse(const std::string& text, int experts = 4) {
  std::istringstream in(text);
  return parse_trace(in, "router_trace.jsonl", experts);
}

void expect_error(const std::string& text, const std::string& needle) {
  try {
    parse(text);
    ADD_FAILURE() << "accepted a bad trace; expected an error mentioning '" << needle << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::string record(int step, int layer, int rank, const std::string& indices, const std::string& extra = "") {
  return "{\"step\": " + std::to_string(step) +
         ", \"stage\": \"pre_dispatch\", \"block\": \"decoder\", \"layer\": " + std::to_string(layer) +
         ", \"rank\": " + std::to_string(rank) + ", \"topk\": 2, \"top_indices\": " + indices + extra + "}\n";
}

TEST(TraceMegatron, ReadsRecordsAsPerSourceCounts) {
  const std::string text =
      record(0, 3, 0, "[[0, 1], [1, 2]]", ", \"num_tokens\": 2, \"hs_shape\": [2, 8], \"hs_offset\": 0") +
      record(0, 3, 1, "[[3, 1]]") + record(0, 5, 0, "[[2, 3]]") +
      record(0, 3, 0, "[[0, 3]]") +  // rank 0's second forward of layer 3: micro-batch 1
      "{\"step\": 0, \"block\": \"mtp\", \"mtp_idx\": 0, \"layer\": 1, \"rank\": 0, \"topk\": 2, \"top_indices\": [[0, "
      "0]]}\n" +
      record(1, 5, 1, "[]");
  const auto t = parse(text);
  EXPECT_TRUE(t.per_source);
  EXPECT_EQ(t.top_k, 2);
  EXPECT_EQ(t.sources, 2);
  EXPECT_EQ(t.layers, 2);  // decoder layers 3 and 5 -> 0 and 1; the MTP record is skipped
  EXPECT_EQ(t.micro_batches, 2);
  EXPECT_EQ(t.iterations, 1);  // step 1's only record routes no token
  EXPECT_EQ(t.source_counts(0, 0, 0, 0), (std::vector<std::int64_t>{1, 2, 1, 0}));
  EXPECT_EQ(t.source_counts(0, 0, 0, 1), (std::vector<std::int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(t.source_counts(0, 1, 0, 0), (std::vector<std::int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(t.source_counts(0, 0, 1, 0), (std::vector<std::int64_t>{1, 0, 0, 1}));
  EXPECT_EQ(t.source_counts(0, 0, 1, 1), (std::vector<std::int64_t>{0, 0, 0, 0}));
}

TEST(TraceMegatron, RefusesMalformedRecordsWithTheLine) {
  const std::string ok = record(0, 0, 0, "[[0, 1]]");
  expect_error(ok + record(0, 0, 1, "[[0, 1, 2]]"), ":2: token 0 has 3 experts but topk is 2");
  expect_error(ok + "{\"step\": 0, \"layer\": 0, \"rank\": 1, \"topk\": 3, \"top_indices\": [[0, 1, 2]]}\n",
               ":2: topk 3 differs from topk 2 on line 1");
  expect_error("{\"top_indices\": [[0, 1, 2]], \"topk\": 2, \"step\": 0, \"layer\": 0, \"rank\": 0}\n",
               "1 tokens with 3 expert choices but topk is 2");  // topk after the indices: checked at the end
  expect_error(record(0, 0, 0, "[[0, 1]]", ", \"layer\": 1"), "the field 'layer' appears twice");
  expect_error(record(0, 0, 0, "[[0, 9]]"), ":1: expert 9 but the model has 4 experts");
  expect_error(record(0, 0, 0, "[[0, -1]]"), "'top_indices' is negative");
  expect_error(record(0, 0, 0, "[[0, 1]]", ", \"num_tokens\": 3"), "num_tokens is 3 but top_indices has 1 tokens");
  expect_error("{\"step\": 0, \"rank\": 0, \"top_indices\": [[0]]}\n", "record without 'layer'");
  expect_error("{\"step\": 0, \"layer\": 0, \"rank\": 0}\n", "record without 'top_indices'");
  expect_error("{\"step\": 0.5, \"layer\": 0, \"rank\": 0, \"top_indices\": [[0]]}\n", "'step' is not an integer");
  expect_error("{\"step\": 4294967296, \"layer\": 0, \"rank\": 0, \"top_indices\": [[0]]}\n", "'step' is too large");
  expect_error(ok + "{\"step\": 0, \"layer\": 0\n", ":2: expected '}'");
  expect_error(ok.substr(0, ok.size() - 1) + " x\n", "text after the record");
  expect_error("{\"step\": 0, \"x\": " + std::string(40, '[') + std::string(40, ']') + "}\n", "nested deeper");
  expect_error("{\"block\": \"mtp\", \"layer\": 0, \"rank\": 0, \"step\": 0, \"top_indices\": [[0]]}\n",
               "no routing records");
}

}  // namespace
}  // namespace micromoe::workload
