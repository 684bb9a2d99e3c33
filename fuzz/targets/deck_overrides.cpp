// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: command-line overrides. Each line of the input is one "section.key=value"
// argument, applied to the default deck, then the cross-field checks. Properties: bad input
// throws InputError with one bounded line; an accepted config renders to a deck that parses
// back to an equal config.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "accepted_deck.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace micromoe;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  for (std::size_t begin = 0; begin <= input.size();) {
    const auto end = input.find('\n', begin);
    overrides.push_back(input.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  deck::RunConfig config;
  try {
    config = deck::parse_deck_text("", "empty.toml", overrides);
  } catch (const InputError& e) {
    fuzz::check_error_message(e.what());
    return 0;
  } catch (const std::exception& e) {
    fuzz::property_failed("apply_override threw something other than InputError", e.what());
  }
  fuzz::check_accepted_deck(config, {1, 2, 4, 7, 1 << 20});
  return 0;
}
