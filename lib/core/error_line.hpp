// SPDX-License-Identifier: BSD-3-Clause
// One error, one line of bounded length: a message may echo input back (a megabyte-long deck
// value, a value with a newline or a NUL in it), and a terminal or a Slurm log should get one
// readable line of it, not the input itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace micromoe {

/// The longest line error_line returns, marker included.
constexpr std::size_t kErrorLineLimit = 400;

/// `message` as one printable line: control characters escaped (\n, \t, \0, \xNN), and when
/// longer than `limit` cut to fit with the marker " ...[N more characters]".
std::string error_line(std::string_view message, std::size_t limit = kErrorLineLimit);

}  // namespace micromoe
