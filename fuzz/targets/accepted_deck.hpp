// SPDX-License-Identifier: BSD-3-Clause
// The properties both deck targets check on a config the reader accepted: render_deck gives a
// deck that parses back to an equal config, and the cross-field checks (resolve_layout) at the
// given rank counts either pass or throw InputError with one bounded line.
#pragma once

#include <exception>
#include <initializer_list>

#include "core/error.hpp"
#include "deck/deck.hpp"
#include "fuzz_check.hpp"

namespace micromoe::fuzz {

inline void check_accepted_deck(const deck::RunConfig& config, std::initializer_list<int> rank_counts) {
  try {
    if (deck::parse_deck_text(deck::render_deck(config), "rendered.toml") != config)
      property_failed("render_deck does not round-trip", deck::render_deck(config, false));
  } catch (const std::exception& e) {
    property_failed("the rendered deck does not parse", e.what());
  }
  for (const int ranks : rank_counts) {
    try {
      (void)deck::resolve_layout(config, ranks);
    } catch (const InputError& e) {
      check_error_message(e.what());
    } catch (const std::exception& e) {
      property_failed("resolve_layout threw something other than InputError", e.what());
    }
  }
}

}  // namespace micromoe::fuzz
