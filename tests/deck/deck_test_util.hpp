// SPDX-License-Identifier: BSD-3-Clause
// Helpers of the deck tests: expect an InputError whose message contains given pieces.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "core/error.hpp"

namespace micromoe::deck::testing {

/// Runs `f`, expects micromoe::InputError, and checks the message holds every piece and is one line.
inline void expect_input_error(const std::function<void()>& f, std::initializer_list<std::string> pieces) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError containing \"" << *pieces.begin() << "\"";
  } catch (const InputError& e) {
    const std::string what = e.what();
    for (const auto& piece : pieces)
      EXPECT_NE(what.find(piece), std::string::npos) << "missing \"" << piece << "\" in: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "not one line: " << what;
  }
}

}  // namespace micromoe::deck::testing
