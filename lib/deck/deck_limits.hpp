// SPDX-License-Identifier: BSD-3-Clause
// The size limits of deck input, checked before anything is parsed or stored: a real deck is a
// few kilobytes with one level of tables, so each limit is far above any real deck and far below
// what could exhaust memory, the stack, or make an error message megabytes long.
#pragma once

#include <cstddef>

namespace micromoe::deck {

/// Bytes of deck text (file or string).
constexpr std::size_t kMaxDeckBytes = 1 << 20;
/// Bytes of one command-line override "section.key=value".
constexpr std::size_t kMaxOverrideBytes = 8192;
/// Bytes of one string value (a path: PATH_MAX is 4096).
constexpr std::size_t kMaxStringBytes = 4096;
/// Items of one list value.
constexpr std::size_t kMaxListItems = 64;
/// '.' outside strings and comments: each dot of a dotted key or table header nests a table
/// one level deeper, and toml++ 3.3 walks the nesting recursively (a 200,000-deep key
/// overflows the stack).
constexpr std::size_t kMaxTomlDots = 1024;
/// Open '[' and '{' outside strings and comments (toml++ itself stops at 256).
constexpr std::size_t kMaxTomlNesting = 64;

}  // namespace micromoe::deck
