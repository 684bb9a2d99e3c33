// SPDX-License-Identifier: BSD-3-Clause
// The deck of `run`, `check` and `emulate`: the file and its section.key=value overrides, read
// the same way by each.
#pragma once

#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "deck/run_config.hpp"

namespace micromoe::commands {

struct DeckInput {
  std::string path;                    ///< the TOML deck
  std::vector<std::string> overrides;  ///< section.key=value, checked like deck keys

  /// Collective over `world`: every rank reads the deck, resolves its layout for `ranks`
  /// ranks and checks its sizes against what Views and int counts can hold (budget/size_limits). Any problem on any
  /// rank throws InputError on every rank, with the message of the lowest rank that failed (reported once, by rank 0).
  deck::RunConfig read(const comm::Communicator& world, int ranks) const;
};

}  // namespace micromoe::commands
