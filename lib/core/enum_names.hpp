// SPDX-License-Identifier: BSD-3-Clause
// One name table per choice (strategy, activation, precision, placement, backend, ...), declared
// once beside its enum; decks, progress lines, reports and error messages all take the names
// from it. Header-only and std-only, so the pure scheduler library can use it too.
//
// A domain registers an enum whose values are 0, 1, ..., N-1 by declaring, in the enum's own
// namespace (found by argument-dependent lookup), a constexpr function
//
//   enum class Activation { gelu, silu, swiglu };
//   constexpr NameTable<3> name_table(Activation) { return {"activation", {"gelu", "silu", "swiglu"}}; }
//
// `what` names the choice in messages ("unknown activation ..."); `names` are in enum order.
// The throwing parse (InputError naming the choices and the nearest one) is core/parse_enum.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace micromoe {

/// The names of an enum's N values, in enum order, and what the choice is called.
template <std::size_t N>
struct NameTable {
  std::string_view what;
  std::array<std::string_view, N> names;
};

/// True for an enum with a name_table.
template <class Enum, class = void>
struct has_name_table : std::false_type {};
template <class Enum>
struct has_name_table<Enum, std::void_t<decltype(name_table(Enum{}))>> : std::is_enum<Enum> {};
template <class Enum>
inline constexpr bool has_name_table_v = has_name_table<Enum>::value;

/// The table of Enum.
template <class Enum>
constexpr auto names_of() {
  static_assert(has_name_table_v<Enum>, "declare constexpr NameTable<N> name_table(Enum) beside the enum");
  return name_table(Enum{});
}

/// How many values Enum has.
template <class Enum>
constexpr std::size_t enum_count() {
  return names_of<Enum>().names.size();
}

/// What the choice is called in messages: "strategy", "activation", ...
template <class Enum>
constexpr std::string_view enum_what() {
  return names_of<Enum>().what;
}

/// The name of `value` ("?" for a value outside the table).
template <class Enum>
constexpr std::string_view name_of(Enum value) {
  constexpr auto table = names_of<Enum>();
  const auto i = static_cast<std::size_t>(value);
  return i < table.names.size() ? table.names[i] : std::string_view("?");
}

/// The name of `value` as a std::string.
template <class Enum, std::enable_if_t<has_name_table_v<Enum>, int> = 0>
std::string to_string(Enum value) {
  return std::string(name_of(value));
}

/// Every value, in enum order.
template <class Enum>
std::vector<Enum> enum_values() {
  std::vector<Enum> out;
  for (std::size_t i = 0; i < enum_count<Enum>(); ++i) out.push_back(static_cast<Enum>(i));
  return out;
}

/// Every name, in enum order.
template <class Enum>
std::vector<std::string> enum_names() {
  const auto table = names_of<Enum>();
  return std::vector<std::string>(table.names.begin(), table.names.end());
}

/// The value named `name`, or nothing.
template <class Enum>
constexpr std::optional<Enum> lookup_enum(std::string_view name) {
  constexpr auto table = names_of<Enum>();
  for (std::size_t i = 0; i < table.names.size(); ++i)
    if (table.names[i] == name) return static_cast<Enum>(i);
  return std::nullopt;
}

}  // namespace micromoe
