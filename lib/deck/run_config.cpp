// SPDX-License-Identifier: BSD-3-Clause
#include "deck/run_config.hpp"

#include "deck/deck_schema.hpp"

namespace micromoe::deck {

bool operator==(const RunConfig& a, const RunConfig& b) {
  for (const auto& key : deck_schema())
    if (key.get(a) != key.get(b)) return false;
  return true;
}

}  // namespace micromoe::deck
