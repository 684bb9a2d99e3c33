// SPDX-License-Identifier: BSD-3-Clause
#include "deck/run_config.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/nearest_name.hpp"
#include "deck/deck_schema.hpp"

namespace micromoe::deck {

bool operator==(const RunConfig& a, const RunConfig& b) {
  for (const auto& key : deck_schema())
    if (key.get(a) != key.get(b)) return false;
  return true;
}

std::string to_string(ModelConfig::Activation v) {
  switch (v) {
    case ModelConfig::Activation::gelu:
      return "gelu";
    case ModelConfig::Activation::silu:
      return "silu";
    case ModelConfig::Activation::swiglu:
      return "swiglu";
  }
  return "?";
}

std::string to_string(ModelConfig::Precision v) {
  switch (v) {
    case ModelConfig::Precision::fp32:
      return "fp32";
    case ModelConfig::Precision::tf32:
      return "tf32";
    case ModelConfig::Precision::bf16:
      return "bf16";
  }
  return "?";
}

std::string to_string(ModelConfig::ExpertGemm v) {
  return v == ModelConfig::ExpertGemm::per_expert ? "per-expert" : "grouped";
}

std::string to_string(ParallelConfig::Placement v) {
  return v == ParallelConfig::Placement::symmetric ? "symmetric" : "random";
}

std::string to_string(WorkloadConfig::Kind v) { return v == WorkloadConfig::Kind::synthetic ? "synthetic" : "trace"; }

std::string to_string(TrainingConfig::Optimizer v) { return v == TrainingConfig::Optimizer::sgd ? "sgd" : "adam"; }

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"ep",      "ep-capacity",      "eplb",
                                                 "microep", "microep-adaptive", "balanced"};
  return names;
}

std::string to_string(StrategyKind v) { return strategy_names().at(static_cast<std::size_t>(v)); }

StrategyKind parse_strategy(const std::string& name) {
  const auto& names = strategy_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end())
    throw InputError("unknown strategy \"" + name + "\"; fix: use one of ep, ep-capacity, eplb, microep, " +
                     "microep-adaptive, balanced (did you mean \"" + nearest_name(name, names) + "\"?)");
  return static_cast<StrategyKind>(it - names.begin());
}

}  // namespace micromoe::deck
