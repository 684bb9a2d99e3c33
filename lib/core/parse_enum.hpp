// SPDX-License-Identifier: BSD-3-Clause
// Reading a choice from user input through its name table (core/enum_names.hpp): an unknown
// name is an InputError that lists the valid names and suggests the nearest one.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/enum_names.hpp"

namespace micromoe {

namespace detail {
/// Throws InputError: unknown WHAT "NAME"; fix: use one of A, B, C (did you mean "B"?)
[[noreturn]] void throw_unknown_name(std::string_view what, std::string_view name,
                                     const std::vector<std::string>& names);
}  // namespace detail

/// The value of Enum named `name`; throws micromoe::InputError naming the valid names otherwise.
template <class Enum>
Enum parse_enum(std::string_view name) {
  if (const auto value = lookup_enum<Enum>(name)) return *value;
  detail::throw_unknown_name(enum_what<Enum>(), name, enum_names<Enum>());
}

}  // namespace micromoe
