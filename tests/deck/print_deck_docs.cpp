// SPDX-License-Identifier: BSD-3-Clause
// Prints docs/deck.md, generated from the deck schema: micromoe_deck_docs > docs/deck.md
#include <iostream>

#include "deck/deck.hpp"

int main() {
  std::cout << micromoe::deck::deck_reference_markdown();
  return 0;
}
