// SPDX-License-Identifier: BSD-3-Clause
// Deck parsing: defaults, values, and every class of error (with its suggested fix).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "deck/deck.hpp"
#include "deck_test_util.hpp"

namespace micromoe::deck {
namespace {

using testing::expect_input_error;

RunConfig parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return parse_deck_text(text, "t.toml", overrides);
}

TEST(DeckParse, EmptyDeckGivesEveryDefault) {
  const RunConfig c = parse("");
  EXPECT_EQ(c, RunConfig{});
  EXPECT_EQ(c.model.hidden, 128);
  EXPECT_EQ(c.model.top_k, 2);
  EXPECT_EQ(c.run.report, "micromoe_report.h5");
  EXPECT_EQ(c.run.strategies.size(), 6u);
  EXPECT_FALSE(c.dump_enabled());
  EXPECT_EQ(c.source, "t.toml");
}

TEST(DeckParse, ReadsEveryKind) {
  const RunConfig c = parse(R"(
[model]
hidden = 64
activation = "swiglu"
renormalize = false
[parallel]
ep_size = 2
capacity_factor = 2   # an integer is a fine float
backend = "mpi"
[workload]
zipf_s = 1.5
trace_file = "counts.csv"
[training]
optimizer = "sgd"
seed = 123456789012
[run]
strategies = ["microep", "ep"]
quiet = true
)");
  EXPECT_EQ(c.model.hidden, 64);
  EXPECT_EQ(c.model.activation, moe::Activation::swiglu);
  EXPECT_FALSE(c.model.renormalize);
  EXPECT_EQ(c.parallel.ep_size, 2);
  EXPECT_DOUBLE_EQ(c.parallel.capacity_factor, 2.0);
  EXPECT_DOUBLE_EQ(c.workload.zipf_s, 1.5);
  EXPECT_EQ(c.workload.trace_file, "counts.csv");
  EXPECT_EQ(c.training.optimizer, moe::OptimizerKind::sgd);
  EXPECT_EQ(c.training.seed, 123456789012ull);
  ASSERT_EQ(c.run.strategies.size(), 2u);
  EXPECT_EQ(c.run.strategies[0], strategy::StrategyKind::microep);
  EXPECT_EQ(c.run.strategies[1], strategy::StrategyKind::ep);
  EXPECT_TRUE(c.run.quiet);
}

TEST(DeckParse, UnknownKeyNamesTheNearestKey) {
  expect_input_error([] { parse("[model]\nhiden = 3\n"); },
                     {"deck t.toml:2: [model] unknown key 'hiden'", "did you mean 'hidden'?"});
  expect_input_error([] { parse("[training]\ntop_k = 3\n"); }, {"'top_k' belongs in [model]"});
}

TEST(DeckParse, ReportsTheFirstProblemInFileOrder) {
  expect_input_error([] { parse("[training]\nzz = 1\n[model]\naa = 2\n"); },
                     {"deck t.toml:2: [training] unknown key 'zz'"});
  expect_input_error([] { parse("[run]\nquiet = 3\n[model]\nhidden = 0\n"); }, {"deck t.toml:2: [run] quiet"});
  expect_input_error([] { parse("[model]\nhidden = 8\n[zzz]\n[aaa]\n"); }, {"deck t.toml:3: unknown section [zzz]"});
}

TEST(DeckParse, UnknownSectionNamesTheNearestSection) {
  expect_input_error([] { parse("[modle]\nhidden = 3\n"); }, {"unknown section [modle]", "did you mean [model]?"});
  expect_input_error([] { parse("hidden = 3\n"); }, {"'hidden' is outside any section", "[model]"});
  expect_input_error([] { parse("[model.extra]\nx = 1\n"); }, {"[model] unknown key 'extra'"});
}

TEST(DeckParse, WrongTypeSaysWhatToWrite) {
  expect_input_error([] { parse("[model]\nhidden = \"big\"\n"); },
                     {"[model] hidden: expected integer, got a string", "fix: write a whole number"});
  expect_input_error([] { parse("[model]\nhidden = 1.5\n"); }, {"expected an integer, got the float 1.5"});
  expect_input_error([] { parse("[run]\nquiet = 1\n"); }, {"[run] quiet: expected bool", "true or false"});
  expect_input_error([] { parse("[run]\nstrategies = \"ep\"\n"); }, {"expected list of strings", "[\"ep\""});
  expect_input_error([] { parse("[run]\nstrategies = [\"ep\", 3]\n"); }, {"got an integer in the list"});
  expect_input_error([] { parse("[model]\nactivation = 2\n"); }, {"[model] activation: expected enum"});
}

TEST(DeckParse, OutOfRangeSaysTheRange) {
  expect_input_error([] { parse("[model]\nexperts = 5000\n"); },
                     {"[model] experts: 5000 is above the maximum 4096", "fix: use a value in [1, 4096]"});
  expect_input_error([] { parse("[training]\ntokens_per_micro_batch = 0\n"); },
                     {"tokens_per_micro_batch: 0 is below the minimum 1"});
  expect_input_error([] { parse("[training]\nlearning_rate = 0.0\n"); }, {"below the exclusive minimum 0.0"});
  expect_input_error([] { parse("[training]\nmomentum = 1.0\n"); }, {"above the exclusive maximum 1.0"});
  expect_input_error([] { parse("[workload]\nzipf_s = nan\n"); }, {"not a finite number"});
  expect_input_error([] { parse("[training]\nseed = -1\n"); }, {"[training] seed: -1 is below the minimum 0"});
}

TEST(DeckParse, BadEnumValueSuggestsTheNearest) {
  expect_input_error([] { parse("[model]\nactivation = \"gelo\"\n"); },
                     {"[model] activation: \"gelo\" is not one of gelu, silu, swiglu", "did you mean \"gelu\"?"});
  expect_input_error([] { parse("[run]\nstrategies = [\"ep\", \"micorep\"]\n"); },
                     {"[run] strategies: \"micorep\" is not one of", "did you mean \"microep\"?"});
  expect_input_error([] { parse("[model]\nprecision = \"fp16\"\n"); }, {"fp32, tf32, bf16"});
}

TEST(DeckParse, NonTomlSaysWhere) {
  expect_input_error([] { parse("[model\nhidden = 3\n"); }, {"deck t.toml: not valid TOML", "line 1"});
  expect_input_error([] { parse("[model]\nhidden = 3\nhidden = 4\n"); }, {"not valid TOML", "line 3"});
  expect_input_error([] { parse("this is not a deck"); }, {"not valid TOML"});
}

TEST(DeckParse, MissingFileSaysSo) {
  expect_input_error([] { parse_deck("/nonexistent/deck.toml"); },
                     {"deck /nonexistent/deck.toml: cannot open", "fix: check the path"});
  expect_input_error([] { parse_deck(::testing::TempDir()); }, {"is a directory; fix: name the deck file"});
}

TEST(DeckParse, ReadsAFile) {
  const std::string path = ::testing::TempDir() + "micromoe_test_deck.toml";
  {
    std::ofstream out(path);
    out << "[training]\niterations = 7\n";
  }
  const RunConfig c = parse_deck(path, {"training.iterations=9"});
  EXPECT_EQ(c.training.iterations, 9);
  EXPECT_EQ(c.source, path);
  std::remove(path.c_str());
}

TEST(DeckParse, NonTomlFileSaysSo) {
  const std::string path = ::testing::TempDir() + "micromoe_test_not_a_deck.h5";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string("\x89HDF\r\n\x1a\n\0\0\0\0", 12);
  }
  expect_input_error([&] { parse_deck(path); }, {"deck " + path, "not valid TOML"});
  std::remove(path.c_str());
}

TEST(DeckOverride, AppliesAfterTheDeck) {
  const RunConfig c = parse("[model]\nhidden = 32\n",
                            {"model.hidden=64", "model.activation=silu", "run.report=out/r.h5", "run.quiet=true",
                             "workload.zipf_s=2", "run.strategies=ep, microep", "training.seed = 7",
                             "parallel.backend=\"mpi\"", "workload.trace_file=", "run.strategies=[\"balanced\"]"});
  EXPECT_EQ(c.model.hidden, 64);
  EXPECT_EQ(c.model.activation, moe::Activation::silu);
  EXPECT_EQ(c.run.report, "out/r.h5");
  EXPECT_TRUE(c.run.quiet);
  EXPECT_DOUBLE_EQ(c.workload.zipf_s, 2.0);
  EXPECT_EQ(c.training.seed, 7u);
  EXPECT_EQ(c.workload.trace_file, "");
  ASSERT_EQ(c.run.strategies.size(), 1u);
  EXPECT_EQ(c.run.strategies[0], strategy::StrategyKind::balanced);
  RunConfig d;
  apply_override(d, "run.strategies=ep,microep-adaptive");
  ASSERT_EQ(d.run.strategies.size(), 2u);
  EXPECT_EQ(d.run.strategies[1], strategy::StrategyKind::microep_adaptive);
}

TEST(DeckOverride, BadSyntaxSaysTheForm) {
  RunConfig c;
  expect_input_error([&] { apply_override(c, "model.hidden"); },
                     {"override 'model.hidden': no '='", "fix: write section.key=value"});
  expect_input_error([&] { apply_override(c, "hidden=3"); }, {"'hidden' is not section.key"});
  expect_input_error([&] { apply_override(c, "a.b.c=1"); }, {"is not section.key"});
  expect_input_error([&] { apply_override(c, "=1"); }, {"is not section.key"});
}

TEST(DeckOverride, FollowsTheDeckRules) {
  RunConfig c;
  expect_input_error([&] { apply_override(c, "model.hiden=3"); }, {"unknown key 'hiden'", "did you mean 'hidden'?"});
  expect_input_error([&] { apply_override(c, "modle.hidden=3"); }, {"did you mean [model]?"});
  expect_input_error([&] { apply_override(c, "model.hidden=abc"); },
                     {"[model] hidden: expected integer, got 'abc'", "model.hidden=128"});
  expect_input_error([&] { apply_override(c, "model.hidden=1.5"); }, {"expected an integer, got the float"});
  expect_input_error([&] { apply_override(c, "model.hidden=0"); }, {"0 is below the minimum 1"});
  expect_input_error([&] { apply_override(c, "model.activation=relu"); }, {"is not one of gelu, silu, swiglu"});
  expect_input_error([&] { apply_override(c, "run.strategies=ep,,microep"); }, {"empty name in the list"});
  expect_input_error([&] { apply_override(c, "run.strategies=ep,eq"); }, {"did you mean \"ep\"?"});
  expect_input_error([&] { apply_override(c, "run.quiet=yes"); }, {"[run] quiet: expected bool"});
  EXPECT_EQ(c, RunConfig{});  // nothing was applied
}

}  // namespace
}  // namespace micromoe::deck
