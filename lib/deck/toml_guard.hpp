// SPDX-License-Identifier: BSD-3-Clause
// A lexical pass over TOML text before toml++ sees it, for the inputs toml++ 3.3 does not survive:
//   * a non-ASCII character outside a string or comment reaches a __builtin_unreachable in its
//     whitespace table (U+00A1..U+0499 and others: undefined behaviour, a crash or worse);
//   * dotted keys nested thousands deep overflow the stack in its recursive walk;
// Valid TOML 1.0 never has a non-ASCII character outside strings and comments (bare keys are
// ASCII), and a deck needs only a few dots, so no real deck is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace micromoe::deck {

struct TomlGuardVerdict {
  std::string problem;                 ///< empty: toml++ may parse the text
  std::uint32_t line = 0, column = 0;  ///< where the problem is (1-based)
};

/// Checks `text` for what toml++ must not see (see above), and nesting deeper than
/// kMaxTomlNesting or more dots than kMaxTomlDots outside strings and comments.
TomlGuardVerdict toml_guard(std::string_view text);

}  // namespace micromoe::deck
