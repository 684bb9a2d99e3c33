// SPDX-License-Identifier: BSD-3-Clause
// The strategies MicroMoE compares (strategy.hpp describes each). Their names are those of
// decks, progress lines and report groups; a new strategy adds its value and name here and
// its case in make_strategy (strategy.cpp).
#pragma once

#include "core/enum_names.hpp"

namespace micromoe::strategy {

enum class StrategyKind { ep, ep_capacity, eplb, microep, microep_adaptive, balanced };

constexpr NameTable<6> name_table(StrategyKind) {
  return {"strategy", {"ep", "ep-capacity", "eplb", "microep", "microep-adaptive", "balanced"}};
}

}  // namespace micromoe::strategy
