// SPDX-License-Identifier: BSD-3-Clause
// parse_deck / apply_override: TOML -> RunConfig with per-key checks against the schema.
// toml++ 3.3 (header-only, included only here) comes in the same way in every build: its internal
// assertions are compiled out everywhere: under NDEBUG, TOML_ASSERT_ASSUME becomes __builtin_assume on clang,
// and some of those assumptions are false for malformed input (libFuzzer found "b=[}" and a
// table header without a key), which lets the optimiser drop toml++'s own error handling. With
// TOML_ASSERT empty and NDEBUG unset here, every build runs what a gcc release build runs: the
// assumption is neither asserted nor assumed, and toml++ reports the syntax error.
#pragma push_macro("NDEBUG")
#undef NDEBUG
#define TOML_ASSERT(expr) static_assert(true)
// toml++ 3.4+ ships toml.hpp; 3.3 (Debian 12) only toml.h.
#if __has_include(<toml++/toml.hpp>)
#include <toml++/toml.hpp>
#else
#include <toml++/toml.h>
#endif
#pragma pop_macro("NDEBUG")

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "core/error_line.hpp"
#include "core/file_kind.hpp"
#include "core/nearest_name.hpp"
#include "deck/deck.hpp"
#include "deck/deck_limits.hpp"
#include "deck/deck_schema.hpp"
#include "deck/toml_guard.hpp"

namespace micromoe::deck {
namespace {

std::string node_kind(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a bool";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

std::string example_of(const KeySpec& key) {
  switch (key.type) {
    case KeyType::integer:
      return "a whole number in " + describe_range(key) + ", e.g. " + key.name + " = " + to_toml(key.default_value);
    case KeyType::real:
      return "a number in " + describe_range(key) + ", e.g. " + key.name + " = " + to_toml(key.default_value);
    case KeyType::boolean:
      return "true or false, e.g. " + key.name + " = " + to_toml(key.default_value);
    case KeyType::string:
      return "a quoted string, e.g. " + key.name + " = \"...\"";
    case KeyType::enumeration:
      return "one of the quoted names " + describe_range(key) + ", e.g. " + key.name + " = " +
             to_toml(key.default_value);
    case KeyType::string_list:
      return "a list of quoted names, e.g. " + key.name + " = " + to_toml(key.default_value);
  }
  return "?";
}

/// The value of `node` as the key's type; an empty `problem` on success.
DeckValue convert(const KeySpec& key, const toml::node& node, std::string& problem) {
  const std::string got = "expected " + type_name(key.type) + ", got " + node_kind(node);
  const std::string fix = "; fix: write " + example_of(key);
  switch (key.type) {
    case KeyType::integer:
      if (auto v = node.value_exact<std::int64_t>()) return *v;
      if (node.is_floating_point())
        problem = "expected an integer, got the float " + to_toml(*node.value_exact<double>()) + fix;
      else
        problem = got + fix;
      return {};
    case KeyType::real:
      if (auto v = node.value_exact<double>()) return *v;
      if (auto v = node.value_exact<std::int64_t>()) return static_cast<double>(*v);
      problem = got + fix;
      return {};
    case KeyType::boolean:
      if (auto v = node.value_exact<bool>()) return *v;
      problem = got + fix;
      return {};
    case KeyType::string:
    case KeyType::enumeration:
      if (auto v = node.value_exact<std::string>()) return *v;
      problem = got + fix;
      return {};
    case KeyType::string_list: {
      const auto* array = node.as_array();
      if (!array) {
        problem = got + fix;
        return {};
      }
      std::vector<std::string> items;
      for (const auto& item : *array) {
        auto v = item.value_exact<std::string>();
        if (!v) {
          problem = "expected a list of strings, got " + node_kind(item) + " in the list" + fix;
          return {};
        }
        items.push_back(*v);
      }
      return items;
    }
  }
  return {};
}

std::vector<std::string> keys_of(const std::string& section) {
  std::vector<std::string> names;
  for (const auto& key : deck_schema())
    if (key.section == section) names.push_back(key.name);
  return names;
}

std::string find_key_section(const std::string& name) {
  for (const auto& key : deck_schema())
    if (key.name == name) return key.section;
  return "?";
}

/// "did you mean ..." for a key `name` not found in `section` (or outside any section).
std::string suggest_key(const std::string& section, const std::string& name) {
  for (const auto& key : deck_schema())
    if (key.name == name && key.section != section)
      return "fix: '" + name + "' belongs in [" + key.section + "]; move it there";  // a schema name: short
  if (!section.empty()) return "fix: did you mean '" + nearest_name(name, keys_of(section)) + "'?";
  std::vector<std::string> all;
  for (const auto& key : deck_schema()) all.push_back(key.name);
  const std::string best = nearest_name(name, all);
  return "fix: did you mean '" + best + "' in [" + find_key_section(best) + "]?";
}

/// At most the first 64 bytes of a name echoed in a message (then "..."), so the problem and its
/// fix stay on the bounded line.
std::string excerpt(const std::string& text) { return text.size() <= 64 ? text : text.substr(0, 64) + "..."; }

/// Every reader error: one printable line of bounded length, whatever input it echoes.
[[noreturn]] void fail(const std::string& where, const std::string& message) {
  throw InputError(error_line(where + message));
}

/// TOML text -> table, refusing first what toml++ must not see (deck/toml_guard.hpp).
toml::table parse_toml(const std::string& text, const std::string& name, const std::string& where) {
  if (text.size() > kMaxDeckBytes)
    fail(where, "is " + std::to_string(text.size()) + " bytes, more than a deck may have (" +
                    std::to_string(kMaxDeckBytes) + "); fix: name the deck file (TOML), not a data file");
  if (const auto guard = toml_guard(text); !guard.problem.empty())
    fail(where, "not valid TOML: " + guard.problem + " (line " + std::to_string(guard.line) + ", column " +
                    std::to_string(guard.column) + "); fix: correct the TOML syntax there");
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    fail(where, "not valid TOML: " + std::string(e.description()) + " (line " + std::to_string(begin.line) +
                    ", column " + std::to_string(begin.column) + "); fix: correct the TOML syntax there");
  }
}

/// Stores a converted value after its range check.
void store(RunConfig& config, const KeySpec& key, const DeckValue& value, const std::string& where) {
  const std::string problem = range_problem(key, value);
  if (!problem.empty()) fail(where, "[" + key.section + "] " + key.name + ": " + problem);
  key.set(config, value);
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

RunConfig defaults() {
  RunConfig config;
  for (const auto& key : deck_schema())
    if (!key.required) key.set(config, key.default_value);
  return config;
}

}  // namespace

RunConfig parse_deck(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail("deck " + path + ": ",
         "is a directory; fix: name the deck file, e.g. " + (std::filesystem::path(path) / "default.toml").string());
  // Only a regular file: a FIFO would block the open forever, a device (/dev/zero) never ends.
  if (const auto problem = non_regular_file_problem(path); !problem.empty())
    fail("deck " + path + ": ", "cannot read: " + problem + "; fix: name a deck file (TOML)");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("deck " + path + ": ", std::string("cannot open: ") + std::strerror(errno) +
                                    "; fix: check the path (relative paths start at the current directory)");
  // At most one byte more than a deck may have: parse_deck_text names the size problem, and a
  // huge file is never read whole.
  std::string text(kMaxDeckBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_deck_text(text, path, overrides);
}

RunConfig parse_deck_text(const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
  const std::string where = "deck " + name + ": ";
  const toml::table table = parse_toml(text, name, where);

  // Every entry with its position, checked in file order so the first problem in the file is reported.
  struct Entry {
    std::uint32_t line, column;
    std::string section, key;  // key empty: the section (or a key outside any section) itself
    const toml::node* node;
  };
  std::vector<Entry> entries;
  const auto& sections = deck_sections();
  for (const auto& [section_key, section_node] : table) {
    const std::string section(section_key.str());
    const auto& at = section_node.source().begin;
    entries.push_back({at.line, at.column, section, "", &section_node});
    const bool known = std::find(sections.begin(), sections.end(), section) != sections.end();
    if (!known || !section_node.is_table()) continue;
    for (const auto& [key_name, node] : *section_node.as_table()) {
      const auto& key_at = node.source().begin;
      entries.push_back({key_at.line, key_at.column, section, std::string(key_name.str()), &node});
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });

  RunConfig config = defaults();
  std::vector<std::string> seen;
  for (const auto& e : entries) {
    const std::string at = e.line > 0 ? "deck " + name + ":" + std::to_string(e.line) + ": " : where;
    if (e.key.empty()) {
      if (!e.node->is_table())
        fail(at, "key '" + excerpt(e.section) + "' is outside any section; " + suggest_key("", e.section));
      if (std::find(sections.begin(), sections.end(), e.section) == sections.end())
        fail(at, "unknown section [" + excerpt(e.section) + "]; fix: did you mean [" +
                     nearest_name(e.section, sections) + "]?");
      continue;
    }
    const KeySpec* key = find_key(e.section, e.key);
    if (!key) fail(at, "[" + e.section + "] unknown key '" + excerpt(e.key) + "'; " + suggest_key(e.section, e.key));
    std::string problem;
    const DeckValue value = convert(*key, *e.node, problem);
    if (!problem.empty()) fail(at, "[" + e.section + "] " + e.key + ": " + problem);
    store(config, *key, value, at);
    seen.push_back(key->qualified());
  }
  for (const auto& key : deck_schema())
    if (key.required && std::find(seen.begin(), seen.end(), key.qualified()) == seen.end())
      fail(where, "[" + key.section + "] " + key.name + ": required key is missing; fix: add " + key.name +
                      " = ... to [" + key.section + "] (" + key.doc + ")");
  for (const auto& o : overrides) apply_override(config, o);
  config.source = name;
  return config;
}

void apply_override(RunConfig& config, const std::string& override_text) {
  const std::string where =
      "override '" + override_text.substr(0, 80) + (override_text.size() > 80 ? "...'" : "'") + ": ";
  const std::string syntax = "; fix: write section.key=value, e.g. training.iterations=10";
  if (override_text.size() > kMaxOverrideBytes)
    fail(where, "is " + std::to_string(override_text.size()) + " bytes long, more than an override may have (" +
                    std::to_string(kMaxOverrideBytes) + ")" + syntax);
  const auto eq = override_text.find('=');
  if (eq == std::string::npos) fail(where, "no '='" + syntax);
  const std::string lhs = trim(override_text.substr(0, eq));
  const std::string raw = trim(override_text.substr(eq + 1));
  const auto dot = lhs.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == lhs.size() || lhs.find('.', dot + 1) != std::string::npos)
    fail(where, "'" + excerpt(lhs) + "' is not section.key" + syntax);
  if (raw.find_first_of("\r\n") != std::string::npos) fail(where, "the value spans lines" + syntax);
  const std::string section = lhs.substr(0, dot);
  const std::string name = lhs.substr(dot + 1);
  const auto& sections = deck_sections();
  if (std::find(sections.begin(), sections.end(), section) == sections.end())
    fail(where,
         "unknown section [" + excerpt(section) + "]; fix: did you mean [" + nearest_name(section, sections) + "]?");
  const KeySpec* key = find_key(section, name);
  if (!key) fail(where, "[" + section + "] unknown key '" + excerpt(name) + "'; " + suggest_key(section, name));

  // The value as TOML; strings, enum values and lists may also be written bare.
  std::optional<toml::table> parsed;
  if (!raw.empty()) {
    try {
      parsed = parse_toml("value = " + raw, "override", where);
    } catch (const InputError&) {
    }
  }
  const toml::node* node = parsed ? parsed->get("value") : nullptr;
  DeckValue value;
  std::string problem;
  const bool textual = key->type == KeyType::string || key->type == KeyType::enumeration;
  if (textual && !(node && node->is_string())) {
    value = raw;  // bare text
  } else if (key->type == KeyType::string_list && !(node && node->is_array())) {
    std::vector<std::string> items;
    std::stringstream list(raw);
    for (std::string item; std::getline(list, item, ',');) {
      item = trim(item);
      if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
      if (item.empty())
        fail(where, "[" + section + "] " + name +
                        ": empty name in the list; fix: write names "
                        "separated by commas, e.g. " +
                        lhs + "=ep,microep");
      items.push_back(item);
    }
    value = items;
  } else if (!node) {
    fail(where, "[" + section + "] " + name + ": expected " + type_name(key->type) + ", got '" + excerpt(raw) +
                    "'; fix: write " + lhs + "=" + to_toml(key->default_value) + " (a value in " +
                    describe_range(*key) + ")");
  } else {
    value = convert(*key, *node, problem);
    if (!problem.empty()) fail(where, "[" + section + "] " + name + ": " + problem);
  }
  store(config, *key, value, where);
}

}  // namespace micromoe::deck
