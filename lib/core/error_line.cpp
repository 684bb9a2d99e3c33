// SPDX-License-Identifier: BSD-3-Clause
#include "core/error_line.hpp"

#include <cstdio>

namespace micromoe {

namespace {

/// A printable rendering of one byte of a message.
std::string escaped(unsigned char c) {
  switch (c) {
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\0':
      return "\\0";
    default:
      break;
  }
  if (c < 0x20 || c == 0x7f) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
    return hex;
  }
  return std::string(1, static_cast<char>(c));
}

}  // namespace

std::string error_line(std::string_view message, std::size_t limit) {
  std::string line;
  std::size_t used = 0;  // bytes of `message` rendered so far
  for (; used < message.size() && line.size() < limit; ++used)
    line += escaped(static_cast<unsigned char>(message[used]));
  if (used == message.size() && line.size() <= limit) return line;
  // Too long: make room for the marker (it counts the bytes of `message` left out).
  std::string marker;
  for (;;) {
    marker = " ...[" + std::to_string(message.size() - used) + " more characters]";
    if (line.size() + marker.size() <= limit || used == 0) break;
    // Drop the last rendered byte (its escape, if any, as a whole).
    --used;
    line.resize(line.size() - escaped(static_cast<unsigned char>(message[used])).size());
  }
  return line + marker;
}

}  // namespace micromoe
