// SPDX-License-Identifier: BSD-3-Clause
// The deck schema: one entry per key (section, name, type, default or required, range or
// allowed values, one-line doc) bound to its RunConfig field. Reader, renderer and the
// generated docs/deck.md are all driven by this one table.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "deck/run_config.hpp"

namespace micromoe::deck {

/// The types a deck key can have.
enum class KeyType { integer, real, boolean, string, enumeration, string_list };

/// A key's value in schema terms (integer -> int64, real -> double, enumeration -> string).
using DeckValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::string>>;

/// One deck key.
struct KeySpec {
  std::string section;
  std::string name;
  KeyType type = KeyType::integer;
  bool required = false;    ///< no default: the deck must set it
  DeckValue default_value;  ///< used when the deck omits the key (unless required)
  // Range of integer keys (inclusive).
  std::int64_t int_min = std::numeric_limits<std::int64_t>::min();
  std::int64_t int_max = std::numeric_limits<std::int64_t>::max();
  // Range of real keys; *_open = the bound itself is excluded.
  double real_min = -std::numeric_limits<double>::max();
  double real_max = std::numeric_limits<double>::max();
  bool real_min_open = false;
  bool real_max_open = false;
  /// enumeration: the allowed values; string_list: the allowed elements (empty = any string).
  std::vector<std::string> choices;
  std::string doc;  ///< one line
  /// Stores a value of the right type (already range-checked) into the config.
  std::function<void(RunConfig&, const DeckValue&)> set;
  /// Reads the field back as a DeckValue.
  std::function<DeckValue(const RunConfig&)> get;

  /// "section.name"
  std::string qualified() const { return section + "." + name; }
};

/// Every key, grouped by section in deck order.
const std::vector<KeySpec>& deck_schema();
/// Section names in deck order: model, parallel, workload, training, run.
const std::vector<std::string>& deck_sections();
/// The key, or nullptr.
const KeySpec* find_key(const std::string& section, const std::string& name);

/// "integer", "float", "bool", "string", "enum", "list of strings"
std::string type_name(KeyType type);
/// Human range: "[1, 65536]", "(0, 10]", "gelu | silu | swiglu", "any", ...
std::string describe_range(const KeySpec& key);
/// The value as TOML (round-trips exactly through the reader).
std::string to_toml(const DeckValue& value);
/// Empty when `value` is inside the key's range / choices, else the problem and its fix
/// ("4097 is above the maximum 4096; fix: use a value in [1, 4096]").
std::string range_problem(const KeySpec& key, const DeckValue& value);

}  // namespace micromoe::deck
