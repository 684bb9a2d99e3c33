// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: deck text (TOML) through parse_deck_text, then the cross-field checks at a few
// rank counts. Properties: bad input throws InputError with one bounded line; a deck that
// parses renders (render_deck) to a deck that parses back to an equal config.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "accepted_deck.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace micromoe;
  const std::string text(reinterpret_cast<const char*>(data), size);
  deck::RunConfig config;
  try {
    config = deck::parse_deck_text(text, "fuzz.toml");
  } catch (const InputError& e) {
    fuzz::check_error_message(e.what());
    return 0;
  } catch (const std::exception& e) {
    fuzz::property_failed("parse_deck_text threw something other than InputError", e.what());
  }
  fuzz::check_accepted_deck(config, {1, 2, 3, 4, 6, 64, 1 << 20});
  return 0;
}
