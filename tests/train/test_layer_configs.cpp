// SPDX-License-Identifier: BSD-3-Clause
// From a deck to the layers: every strategy gets identical sizes, settings and seeds (so all
// start from the same model), layers differ only in their seeds, and the synthetic workload
// is the deck's.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "train/layer_configs.hpp"
#include "train_test_decks.hpp"

namespace micromoe::train {
namespace {

using testing::tiny_deck;

/// Everything of a layer config but which strategy it runs.
void expect_same_model(const moe::LayerConfig& a, const moe::LayerConfig& b, const std::string& where) {
  EXPECT_EQ(a.hidden, b.hidden) << where;
  EXPECT_EQ(a.ffn, b.ffn) << where;
  EXPECT_EQ(a.experts, b.experts) << where;
  EXPECT_EQ(a.top_k, b.top_k) << where;
  EXPECT_EQ(a.activation, b.activation) << where;
  EXPECT_EQ(a.renormalize, b.renormalize) << where;
  EXPECT_EQ(a.precision, b.precision) << where;
  EXPECT_EQ(a.expert_gemm, b.expert_gemm) << where;
  EXPECT_EQ(a.seed, b.seed) << where << ": the weights' seed";
  EXPECT_EQ(a.strategy.seed, b.strategy.seed) << where << ": the placements' seed";
  EXPECT_EQ(a.strategy.ep_size, b.strategy.ep_size) << where;
  EXPECT_EQ(a.strategy.capacity_factor, b.strategy.capacity_factor) << where;
  EXPECT_EQ(a.strategy.eplb_extra_slots, b.strategy.eplb_extra_slots) << where;
  EXPECT_EQ(a.strategy.replace_interval, b.strategy.replace_interval) << where;
  EXPECT_EQ(a.strategy.placement, b.strategy.placement) << where;
  EXPECT_EQ(a.strategy.gpus_per_node, b.strategy.gpus_per_node) << where;
  EXPECT_EQ(a.backend, b.backend) << where;
  EXPECT_EQ(a.optimizer.kind, b.optimizer.kind) << where;
  EXPECT_EQ(a.optimizer.lr, b.optimizer.lr) << where;
  EXPECT_EQ(a.optimizer.momentum, b.optimizer.momentum) << where;
  EXPECT_EQ(a.optimizer.beta1, b.optimizer.beta1) << where;
}

TEST(LayerConfigs, EveryStrategyGetsTheSameModelAndSeeds) {
  const auto deck = tiny_deck({}, 4);
  ASSERT_EQ(deck.run.strategies.size(), 6u) << "the default deck runs every strategy";
  const int gpus_per_node = 2;
  const auto first = layer_configs(deck, deck.run.strategies.front(), gpus_per_node);
  ASSERT_EQ(static_cast<int>(first.size()), deck.model.layers);
  std::set<std::string> strategies;
  for (const auto kind : deck.run.strategies) {
    const auto configs = layer_configs(deck, kind, gpus_per_node);
    ASSERT_EQ(configs.size(), first.size());
    strategies.insert(to_string(configs.front().strategy.kind));
    for (std::size_t l = 0; l < configs.size(); ++l) {
      const auto& c = configs[l];
      const std::string where = to_string(c.strategy.kind) + ", layer " + std::to_string(l);
      expect_same_model(c, first[l], where);
      EXPECT_EQ(c.strategy.kind, configs.front().strategy.kind) << where << ": one strategy for the whole stack";
      EXPECT_EQ(c.hidden, deck.model.hidden) << where;
      EXPECT_EQ(c.ffn, deck.model.ffn) << where;
      EXPECT_EQ(c.experts, deck.model.experts) << where;
      EXPECT_EQ(c.top_k, deck.model.top_k) << where;
      EXPECT_EQ(c.strategy.ep_size, deck.parallel.ep_size) << where;
      EXPECT_EQ(c.strategy.gpus_per_node, gpus_per_node) << where;
      EXPECT_EQ(c.optimizer.lr, static_cast<float>(deck.training.learning_rate)) << where;
    }
  }
  EXPECT_EQ(strategies.size(), deck.run.strategies.size()) << "each strategy's layers name it";
}

TEST(LayerConfigs, LayersDifferOnlyInTheirSeeds) {
  const auto deck = tiny_deck({}, 4);
  const auto configs = layer_configs(deck, deck.run.strategies.front(), 1);
  std::set<std::uint64_t> weight_seeds, placement_seeds;
  for (const auto& c : configs) {
    weight_seeds.insert(c.seed);
    placement_seeds.insert(c.strategy.seed);
    EXPECT_EQ(c.hidden, configs.front().hidden);
    EXPECT_EQ(c.experts, configs.front().experts);
  }
  EXPECT_EQ(weight_seeds.size(), configs.size()) << "every layer starts from its own weights";
  EXPECT_EQ(placement_seeds.size(), configs.size());
}

TEST(LayerConfigs, AnotherTrainingSeedGivesAnotherModel) {
  const auto a = tiny_deck({}, 4);
  const auto b = tiny_deck({"training.seed=12345"}, 4);
  const auto ca = layer_configs(a, a.run.strategies.front(), 1);
  const auto cb = layer_configs(b, b.run.strategies.front(), 1);
  for (std::size_t l = 0; l < ca.size(); ++l) EXPECT_NE(ca[l].seed, cb[l].seed) << "layer " << l;
}

TEST(LayerConfigs, SyntheticWorkloadIsTheDecks) {
  const auto deck = tiny_deck({"workload.zipf_s=1.7", "workload.clusters=5"}, 4);
  const auto s = synthetic_config(deck);
  EXPECT_EQ(s.hidden, deck.model.hidden);
  EXPECT_EQ(s.tokens, deck.training.tokens_per_micro_batch);
  EXPECT_EQ(s.popularity.zipf_s, 1.7);
  EXPECT_EQ(s.popularity.clusters, 5);
  EXPECT_EQ(s.popularity.seed, deck.training.seed);
}

}  // namespace
}  // namespace micromoe::train
