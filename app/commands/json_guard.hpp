// SPDX-License-Identifier: BSD-3-Clause
// Limits checked on JSON text before it is parsed (the schedule command's inputs): its size, NUL
// bytes, and the nesting depth, which the parser and the value's destructor would otherwise
// follow by recursion (a 200 KB "[[[[..." overflows the stack). And short echoes of values.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace micromoe::commands {

/// The largest JSON input the schedule command reads (one document, or one line of a batch).
constexpr std::size_t kMaxJsonBytes = std::size_t{256} << 20;

/// The deepest nesting the schedule inputs need is 3 (object, counts, row); more is refused.
constexpr int kMaxJsonDepth = 8;

/// The problem with `text` as a schedule input before parsing ("" when none): too large, a NUL
/// byte (with its offset), nesting deeper than kMaxJsonDepth (with its offset). Strings are
/// skipped, so brackets inside them do not count.
std::string json_text_problem(std::string_view text);

/// A scalar `value` as JSON text cut to at most `limit` characters ("..." marks a cut), a
/// container as "an array of N values" / "an object of N keys": for messages.
std::string brief_json(const nlohmann::json& value, std::size_t limit = 60);

}  // namespace micromoe::commands
