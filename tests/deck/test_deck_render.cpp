// SPDX-License-Identifier: BSD-3-Clause
// The effective deck round-trips; the schema, the struct defaults and docs/deck.md agree.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "deck/deck.hpp"
#include "deck/deck_schema.hpp"

namespace micromoe::deck {
namespace {

TEST(DeckRender, DefaultsRoundTrip) {
  for (bool comments : {true, false}) {
    const std::string text = render_deck(RunConfig{}, comments);
    EXPECT_EQ(parse_deck_text(text, "effective.toml"), RunConfig{}) << text;
  }
}

TEST(DeckRender, EveryKeyChangedRoundTrips) {
  RunConfig c;
  c.model = {96,
             200,
             32,
             4,
             3,
             moe::Activation::swiglu,
             false,
             moe::Precision::bf16,
             moe::ExpertGemm::grouped,
             moe::WirePrecision::fp32};
  c.parallel.ep_size = 4;
  c.parallel.microep_group = 2;
  c.parallel.gpus_per_node = 8;
  c.parallel.placement = schedule::PlacementKind::random;
  c.parallel.backend = comm::Backend::nccl;
  c.parallel.capacity_factor = 0.1 + 0.2;  // not exactly representable in short decimal
  c.parallel.eplb_redundant_slots = 3;
  c.parallel.replace_interval = 7;
  c.parallel.adaptive_min_replicas = 2;
  c.workload = {workload::WorkloadKind::trace, 1.0 / 3.0, 5, 1e-7, 0.5, 2.5, "dir with space/\"q\"\\t.h5", 0.5, 9};
  c.training = {11, 1, 3, 17, moe::OptimizerKind::sgd, 3e-4, 0.0, 9007199254740993ull};
  c.run.strategies = {strategy::StrategyKind::balanced, strategy::StrategyKind::ep_capacity};
  c.run.report = "r\n\u00e9.h5";
  c.run.quiet = true;
  c.run.dump_layer = 2;
  c.run.dump_micro_batch = 1;
  c.cluster = {4, 900.5, 2.5, 25.0, 7.25, 4, "cal/h200 \"x\".h5", true};
  c.run.checkpoint_interval = 5;
  c.run.checkpoint = "ck\tpt.h5";
  c.run.memory_check = budget::MemoryCheck::warn;
  for (const auto& key : deck_schema())
    EXPECT_NE(key.get(c), key.get(RunConfig{})) << key.qualified() << " is not changed by this test";
  const std::string text = render_deck(c);
  EXPECT_EQ(parse_deck_text(text, "effective.toml"), c) << text;
}

TEST(DeckRender, EveryKeyIsRenderedWithItsDoc) {
  const std::string text = render_deck(RunConfig{});
  for (const auto& key : deck_schema()) {
    EXPECT_NE(text.find("\n" + key.name + " = "), std::string::npos) << key.qualified();
    EXPECT_NE(text.find(key.doc), std::string::npos) << key.qualified();
  }
}

TEST(DeckSchema, StructDefaultsAreSchemaDefaults) {
  const RunConfig defaults;
  for (const auto& key : deck_schema()) {
    EXPECT_FALSE(key.doc.empty()) << key.qualified();
    if (key.required) continue;
    EXPECT_EQ(key.get(defaults), key.default_value) << key.qualified();
    EXPECT_EQ(range_problem(key, key.default_value), "") << key.qualified();
  }
}

TEST(DeckSchema, EveryChoiceOfEveryEnumKeyRoundTrips) {
  // The choices come from the domain's name tables: each one stored into the typed field and
  // read back gives the same name, and no two choices land on the same value.
  int enum_keys = 0;
  for (const auto& key : deck_schema()) {
    if (key.type != KeyType::enumeration && key.type != KeyType::string_list) continue;
    if (key.choices.empty()) continue;
    ++enum_keys;
    for (const auto& choice : key.choices) {
      RunConfig c;
      const DeckValue value =
          key.type == KeyType::enumeration ? DeckValue(choice) : DeckValue(std::vector<std::string>{choice});
      EXPECT_EQ(range_problem(key, value), "") << key.qualified() << " = " << choice;
      key.set(c, value);
      EXPECT_EQ(key.get(c), value) << key.qualified() << " = " << choice;
    }
  }
  EXPECT_EQ(enum_keys, 10);  // activation, precision, expert_gemm, wire_precision, placement, backend, kind,
                             // optimizer, strategies, memory_check
}

TEST(DeckSchema, KeysAreUniqueAndInKnownSections) {
  const auto& sections = deck_sections();
  for (const auto& key : deck_schema()) {
    EXPECT_NE(std::find(sections.begin(), sections.end(), key.section), sections.end()) << key.qualified();
    EXPECT_EQ(find_key(key.section, key.name), &key) << key.qualified() << " is listed twice";
  }
}

TEST(DeckDocs, DocsDeckMdIsGeneratedFromTheSchema) {
  const std::string path = std::string(MICROMOE_SOURCE_DIR) + "/docs/deck.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& key : deck_schema())
    EXPECT_NE(text.str().find("| `" + key.name + "` |"), std::string::npos) << key.qualified() << " not in " << path;
  EXPECT_EQ(text.str(), deck_reference_markdown())
      << path << " is out of date; regenerate it: <build>/tests/deck/micromoe_deck_docs > docs/deck.md";
}

}  // namespace
}  // namespace micromoe::deck
