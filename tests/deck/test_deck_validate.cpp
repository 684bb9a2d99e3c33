// SPDX-License-Identifier: BSD-3-Clause
// Cross-field checks: impossible layouts and inconsistent keys, each with its fix.
#include <gtest/gtest.h>

#include "core/build_config.hpp"
#include "deck/deck.hpp"
#include "deck_test_util.hpp"

namespace micromoe::deck {
namespace {

using testing::expect_input_error;

RunConfig deck(const std::string& text) { return parse_deck_text(text, "v.toml"); }

TEST(DeckValidate, DefaultsRunOnCommonRankCounts) {
  for (int ranks : {1, 2, 4, 8, 16}) EXPECT_NO_THROW(validate(RunConfig{}, ranks)) << ranks << " ranks";
}

TEST(DeckValidate, ResolvesAutomaticLayout) {
  RunConfig r = resolve_layout(RunConfig{}, 4);
  EXPECT_EQ(r.parallel.microep_group, 2);
  EXPECT_EQ(r.parallel.ep_size, 2);
  r = resolve_layout(RunConfig{}, 1);
  EXPECT_EQ(r.parallel.microep_group, 1);
  EXPECT_EQ(r.parallel.ep_size, 1);
  r = resolve_layout(deck("[parallel]\nep_size = 2\n"), 8);
  EXPECT_EQ(r.parallel.microep_group, 4);
  r = resolve_layout(deck("[parallel]\nmicroep_group = 4\n"), 8);
  EXPECT_EQ(r.parallel.ep_size, 2);
  // The resolved deck renders and validates again unchanged.
  EXPECT_EQ(resolve_layout(parse_deck_text(render_deck(r), "r.toml"), 8), r);
}

TEST(DeckValidate, EpSizeMustDivideRanks) {
  expect_input_error(
      [] { validate(deck("[parallel]\nep_size = 3\n"), 4); },
      {"deck v.toml: [parallel] ep_size: 3 does not divide the 4 ranks", "fix: set ep_size to one of 1, 2, 4"});
  expect_input_error([] { validate(RunConfig{}, 0); }, {"at least one rank"});
}

TEST(DeckValidate, ExpertsMustSplitOverEpGroup) {
  expect_input_error([] { validate(deck("[model]\nexperts = 6\n[parallel]\nep_size = 4\n"), 4); },
                     {"[model] experts: 6 experts cannot be split evenly over ep_size = 4", "multiple of 4"});
  // Automatic ep_size = 6 / 2 = 3 does not divide 16 experts.
  expect_input_error([] { validate(RunConfig{}, 6); }, {"[model] experts"});
}

TEST(DeckValidate, MicroEpGroupMustDivideEpGroups) {
  expect_input_error(
      [] { validate(deck("[parallel]\nep_size = 2\nmicroep_group = 3\n"), 8); },
      {"[parallel] microep_group: d = 3 does not divide ranks / ep_size = 4", "a divisor of 4 (1, 2, 4)"});
  expect_input_error([] { validate(deck("[parallel]\nmicroep_group = 3\n"), 4); },
                     {"[parallel] microep_group: 3 does not divide the 4 ranks"});
}

TEST(DeckValidate, TopKAtMostExperts) {
  expect_input_error([] { validate(deck("[model]\nexperts = 2\ntop_k = 3\n"), 1); },
                     {"[model] top_k: 3 is more than the 2 experts", "at most 2"});
  EXPECT_NO_THROW(validate(deck("[model]\nexperts = 2\ntop_k = 2\n"), 1));
}

TEST(DeckValidate, EplbSlotsMustFit) {
  // ep_size = 1: one GPU holds every expert, the redundant slots are ignored.
  EXPECT_NO_THROW(validate(deck("[parallel]\nep_size = 1\n[run]\nstrategies = [\"eplb\"]\n"), 2));
  expect_input_error(
      [] {
        validate(deck("[model]\nexperts = 2\n[parallel]\nep_size = 2\neplb_redundant_slots = 2\n"
                      "[run]\nstrategies = [\"eplb\"]\n"),
                 2);
      },
      {"[parallel] eplb_redundant_slots: 2 extra slots per GPU make 4 replicas, more than the 2", "at most 1"});
  // Not checked when eplb does not run.
  EXPECT_NO_THROW(validate(deck("[model]\nexperts = 2\n[parallel]\nep_size = 2\neplb_redundant_slots = 2\n"
                                "[run]\nstrategies = [\"ep\"]\n"),
                           2));
}

TEST(DeckValidate, StrategiesListedOnceAndNotEmpty) {
  expect_input_error([] { validate(deck("[run]\nstrategies = []\n"), 1); }, {"[run] strategies: the list is empty"});
  expect_input_error([] { validate(deck("[run]\nstrategies = [\"ep\", \"ep\"]\n"), 1); },
                     {"\"ep\" is listed more than once"});
}

TEST(DeckValidate, WorkloadTrainingAndDump) {
  expect_input_error([] { validate(deck("[workload]\nkind = \"trace\"\n"), 1); },
                     {"[workload] trace_file: kind = \"trace\" needs a trace file"});
  EXPECT_NO_THROW(validate(deck("[workload]\nkind = \"trace\"\ntrace_file = \"t.csv\"\n"), 1));
  expect_input_error([] { validate(deck("[training]\niterations = 3\nwarmup_iterations = 3\n"), 1); },
                     {"[training] warmup_iterations", "at most 2"});
  expect_input_error([] { validate(deck("[run]\ndump_layer = 0\n"), 1); }, {"[run] dump_micro_batch", "both"});
  expect_input_error([] { validate(deck("[run]\ndump_layer = 2\ndump_micro_batch = 0\n"), 1); },
                     {"[run] dump_layer: 2 is not a layer of the 2-layer model"});
  expect_input_error([] { validate(deck("[run]\ndump_layer = 0\ndump_micro_batch = 4\n"), 1); },
                     {"[run] dump_micro_batch: 4 is not one of the 4 micro-batches"});
  EXPECT_TRUE(deck("[run]\ndump_layer = 1\ndump_micro_batch = 3\n").dump_enabled());
  EXPECT_NO_THROW(validate(deck("[run]\ndump_layer = 1\ndump_micro_batch = 3\n"), 1));
  expect_input_error([] { validate(deck("[parallel]\ngpus_per_node = 3\n"), 4); }, {"[parallel] gpus_per_node"});
  expect_input_error([] { validate(deck("[run]\nreport = \"\"\n"), 1); }, {"[run] report: the report path is empty"});
  expect_input_error([] { validate(deck("[model]\ntop_k = 16\n[training]\ntokens_per_micro_batch = 16777216\n"), 16); },
                     {"[training] tokens_per_micro_batch", "more than 32-bit counts hold"});
}

TEST(DeckValidate, GpuOnlyChoicesNeedAGpuBuild) {
  if (MICROMOE_ENABLE_CUDA) GTEST_SKIP() << "CUDA build: GPU-only choices are allowed";
  expect_input_error([] { validate(deck("[model]\nprecision = \"tf32\"\n"), 1); },
                     {"[model] precision: \"tf32\" is GPU-only", "fp32"});
  EXPECT_NO_THROW(validate(deck("[model]\nprecision = \"bf16\"\n"), 1));  // emulated on CPUs
  if (!MICROMOE_ENABLE_NCCL)
    expect_input_error([] { validate(deck("[parallel]\nbackend = \"nccl\"\n"), 1); }, {"[parallel] backend"});
}

}  // namespace
}  // namespace micromoe::deck
