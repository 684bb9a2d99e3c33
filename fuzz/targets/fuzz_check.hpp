// SPDX-License-Identifier: BSD-3-Clause
// What every fuzz target asserts besides "no crash": bad input ends in the parser's own error
// type with one bounded, printable line. A violated property aborts, so libFuzzer (and the
// replay test) report it like a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/error_line.hpp"

namespace micromoe::fuzz {

[[noreturn]] inline void property_failed(const char* property, std::string_view detail) {
  std::fprintf(stderr, "fuzz property violated: %s: %s\n", property, error_line(detail).c_str());
  std::abort();
}

/// An error message a user sees: not empty, one line, at most `limit` bytes.
inline void check_error_message(std::string_view message, std::size_t limit = kErrorLineLimit) {
  if (message.empty()) property_failed("error message is empty", "");
  if (message.size() > limit) property_failed("error message is longer than its bound", message);
  if (message.find('\n') != std::string_view::npos) property_failed("error message spans lines", message);
}

}  // namespace micromoe::fuzz
