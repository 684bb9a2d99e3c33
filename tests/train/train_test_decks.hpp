// SPDX-License-Identifier: BSD-3-Clause
// The tiny deck of the lib/train tests, resolved for this job's ranks.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "deck/deck.hpp"

namespace micromoe::train::testing {

/// Three layers of 4 experts, 16 tokens per rank: milliseconds per iteration on a CPU.
inline const char* kTinyDeck = R"([model]
hidden = 8
ffn = 16
experts = 4
top_k = 2
layers = 3
[training]
iterations = 4
warmup_iterations = 0
micro_batches = 2
tokens_per_micro_batch = 16
[run]
quiet = true
)";

inline int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/// The tiny deck with `overrides`, resolved for `ranks` ranks (default: this job's).
inline deck::RunConfig tiny_deck(const std::vector<std::string>& overrides = {}, int ranks = 0) {
  return deck::resolve_layout(deck::parse_deck_text(kTinyDeck, "tiny.toml", overrides),
                              ranks > 0 ? ranks : world_size());
}

}  // namespace micromoe::train::testing
