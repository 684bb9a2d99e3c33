// SPDX-License-Identifier: BSD-3-Clause
#include "train/layer_configs.hpp"

namespace micromoe::train {

std::vector<moe::LayerConfig> layer_configs(const deck::RunConfig& config, strategy::StrategyKind strategy,
                                            int gpus_per_node) {
  std::vector<moe::LayerConfig> out;
  for (int l = 0; l < config.model.layers; ++l) {
    moe::LayerConfig c;
    c.hidden = config.model.hidden;
    c.ffn = config.model.ffn;
    c.experts = config.model.experts;
    c.top_k = config.model.top_k;
    c.activation = config.model.activation;
    c.renormalize = config.model.renormalize;
    c.precision = config.model.precision;
    c.expert_gemm = config.model.expert_gemm;
    c.wire_precision = config.model.wire_precision;
    c.strategy.kind = strategy;
    c.strategy.ep_size = config.parallel.ep_size;
    c.strategy.capacity_factor = config.parallel.capacity_factor;
    c.strategy.eplb_extra_slots = config.parallel.eplb_redundant_slots;
    c.strategy.replace_interval = config.parallel.replace_interval;
    c.strategy.adaptive_min_replicas = config.parallel.adaptive_min_replicas;
    c.strategy.placement = config.parallel.placement;
    c.strategy.seed = config.training.seed + static_cast<std::uint64_t>(l);
    c.strategy.gpus_per_node = gpus_per_node;
    c.backend = config.parallel.backend;
    c.optimizer.kind = config.training.optimizer;
    c.optimizer.lr = static_cast<float>(config.training.learning_rate);
    c.optimizer.momentum = static_cast<float>(config.training.momentum);
    c.optimizer.beta1 = static_cast<float>(config.training.momentum);  // the deck's momentum is Adam's beta1
    c.seed = config.training.seed * 1000003ULL + static_cast<std::uint64_t>(l);
    out.push_back(c);
  }
  return out;
}

workload::SyntheticConfig synthetic_config(const deck::RunConfig& config) {
  workload::SyntheticConfig s;
  s.hidden = config.model.hidden;
  s.tokens = config.training.tokens_per_micro_batch;
  s.noise = static_cast<float>(config.workload.noise);
  s.popularity.clusters = config.workload.clusters;
  s.popularity.zipf_s = config.workload.zipf_s;
  s.popularity.drift = config.workload.drift;
  s.popularity.burst_probability = config.workload.burst_probability;
  s.popularity.burst_factor = config.workload.burst_factor;
  s.popularity.seed = config.training.seed;
  return s;
}

}  // namespace micromoe::train
