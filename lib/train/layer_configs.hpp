// SPDX-License-Identifier: BSD-3-Clause
// From a deck to what the layers and the workload need.
#pragma once

#include <vector>

#include "deck/run_config.hpp"
#include "moe/layer_config.hpp"
#include "workload/synthetic.hpp"

namespace micromoe::train {

/// The layer configs of `strategy` for a resolved deck (deck::resolve_layout) on `gpus_per_node`
/// ranks per node. Every strategy gets the same sizes and weight seeds, so all start from the
/// same model.
std::vector<moe::LayerConfig> layer_configs(const deck::RunConfig& config, strategy::StrategyKind strategy,
                                            int gpus_per_node);

/// The synthetic token source of a deck (same for every strategy of a run).
workload::SyntheticConfig synthetic_config(const deck::RunConfig& config);

}  // namespace micromoe::train
