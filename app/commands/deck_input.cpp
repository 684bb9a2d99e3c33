// SPDX-License-Identifier: BSD-3-Clause
#include "commands/deck_input.hpp"

#include <exception>

#include "budget/size_limits.hpp"
#include "comm/verdict.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"

namespace micromoe::commands {

deck::RunConfig DeckInput::read(const comm::Communicator& world, int ranks) const {
  deck::RunConfig resolved;
  comm::agree_on_every_rank(world, [&] {
    try {
      resolved = deck::resolve_layout(deck::parse_deck(path, overrides), ranks);
      budget::check_size_limits(resolved, ranks);  // before anything is sized from the deck
    } catch (const std::exception& e) {
      throw InputError(e.what());  // whatever the reader raised, the deck is at fault
    }
  });
  return resolved;
}

}  // namespace micromoe::commands
