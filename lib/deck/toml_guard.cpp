// SPDX-License-Identifier: BSD-3-Clause
#include "deck/toml_guard.hpp"

#include <vector>

#include "deck/deck_limits.hpp"

namespace micromoe::deck {
namespace {

bool bare_key_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/// A table header "[key]" or "[[key]]" starting at text[i] = '[': toml++ 3.3 assumes a key
/// follows the brackets and blanks (its debug build asserts it, a clang release build
/// optimises on it), so anything else must not reach it.
bool header_starts_with_key(std::string_view text, std::size_t i) {
  ++i;
  if (i < text.size() && text[i] == '[') ++i;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  if (i == text.size()) return true;  // toml++ reports the end itself
  const char c = text[i];
  return bare_key_character(c) || c == '"' || c == '\'' || c == ']';
}

/// A '[' at text[i] opens a table header when only blanks precede it on its line and it is not
/// inside a value or bracket (`top_level`).
bool line_start_header(std::string_view text, std::size_t i, bool top_level) {
  if (!top_level) return false;
  while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) --i;
  return i == 0 || text[i - 1] == '\n' || (text[i - 1] == '[' && line_start_header(text, i - 1, true));
}

/// In a multi-line basic string, toml++ 3.3 tests the character after a backslash, and after a
/// line-ending backslash every character up to the next non-blank, for whitespace; that test
/// reaches __builtin_unreachable on many non-ASCII code points (U+00A1-U+0499 among them). True
/// when the first character it tests that way (text[i] = '\\') is ASCII.
bool line_ending_backslash_is_ascii(std::string_view text, std::size_t i) {
  std::size_t j = i + 1;
  if (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) ++j;
  return j == text.size() || static_cast<unsigned char>(text[j]) < 0x80;
}

/// What ends a bare value token for toml++ (its is_value_terminator, ASCII part).
bool ends_bare_value(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == ',' || c == ']' || c == '}' || c == '#';
}

}  // namespace

TomlGuardVerdict toml_guard(std::string_view text) {
  enum class State { normal, comment, basic, literal, multi_basic, multi_literal };
  State state = State::normal;
  std::uint32_t line = 1, column = 0;
  std::size_t dots = 0, depth = 0;
  bool line_start = true;  // only blanks so far on this line (outside any value)
  // Where a key or a value may start. toml++ reads a bare value (a number, a bool, a date) as
  // one token up to a terminator and tests each of its characters for whitespace; that test
  // reaches __builtin_unreachable on many non-ASCII code points (toml++ 3.3). So a quote opens a
  // string only where a value or key may start, never inside a bare value token ("9\"...",
  // "0=\"..."), and a non-ASCII byte there is refused below.
  bool value_position = false;  // after '=', or after '[' / ',' inside an array
  bool in_bare_value = false;   // inside a bare value token
  std::vector<char> open;       // '[' arrays, '{' inline tables, 'h' table headers
  const auto at = [&](std::string problem) { return TomlGuardVerdict{std::move(problem), line, column}; };
  const auto starts = [&](std::size_t i, std::string_view what) { return text.substr(i, what.size()) == what; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      line_start = true;
      in_bare_value = false;
      value_position = !open.empty() && open.back() == '[';  // a multi-line array's next element
      // Single-line strings and comments end at the line's end (toml++ rejects an open string there).
      if (state == State::comment || state == State::basic || state == State::literal) state = State::normal;
      continue;
    }
    switch (state) {
      case State::normal:
        if (c == '[' && line_start && depth == 0 && !header_starts_with_key(text, i))
          return at("a table header must start with a key (a letter, digit, '_', '-' or a quote)");
        if (c != ' ' && c != '\t' && c != '\r') line_start = false;
        if (static_cast<unsigned char>(c) >= 0x80)
          return at(
              "a non-ASCII character outside a string or comment (TOML allows them only in quoted strings "
              "and comments)");
        if (in_bare_value) {
          if (!ends_bare_value(c)) break;  // quotes, '=', '.', brackets: part of the bad token
          in_bare_value = false;
        }
        if (c == '=') {
          value_position = true;
        } else if (c == '[') {
          const bool header = line_start_header(text, i, open.empty() && !value_position) ||
                              (!open.empty() && open.back() == 'h' && text[i - 1] == '[');  // [[array of tables]]
          open.push_back(header ? 'h' : '[');
          value_position = open.back() == '[';
        } else if (c == '{') {
          open.push_back('{');
          value_position = false;
        } else if (c == ',') {
          value_position = !open.empty() && open.back() == '[';
        } else if (c == ']' || c == '}') {
          if (!open.empty()) open.pop_back();
          value_position = false;
        } else if (c == '"' || c == '\'') {
          value_position = false;  // a string key or value; what follows it is not a value start
        } else if (c != ' ' && c != '\t' && c != '\r' && c != '#' && c != '.' && value_position) {
          in_bare_value = true;  // a number, bool or date: a token up to the next terminator
          value_position = false;
          break;
        }
        if (c == '#') {
          state = State::comment;
        } else if (starts(i, "\"\"\"")) {
          state = State::multi_basic;
          i += 2;
          column += 2;
        } else if (c == '"') {
          state = State::basic;
        } else if (starts(i, "'''")) {
          state = State::multi_literal;
          i += 2;
          column += 2;
        } else if (c == '\'') {
          state = State::literal;
        } else if (c == '.') {
          if (++dots > kMaxTomlDots)
            return at("more than " + std::to_string(kMaxTomlDots) +
                      " '.' outside strings and comments (each dot of a dotted key nests a table)");
        } else if (c == '[' || c == '{') {
          if (++depth > kMaxTomlNesting)
            return at("brackets nested more than " + std::to_string(kMaxTomlNesting) + " deep");
        } else if ((c == ']' || c == '}') && depth > 0) {
          --depth;
        }
        break;
      case State::comment:
        break;
      case State::basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;  // an escaped character (\" does not end the string)
          ++column;
        } else if (c == '"') {
          state = State::normal;
        }
        break;
      case State::literal:
        if (c == '\'') state = State::normal;
        break;
      case State::multi_basic:
        if (c == '\\' && !line_ending_backslash_is_ascii(text, i))
          return at(
              "a non-ASCII character right after a backslash (or after the blanks and line breaks a "
              "line-ending backslash skips) in a multi-line string; write it as \\uXXXX");
        if (c == '\\' && i + 1 < text.size()) {
          if (text[i + 1] == '\n') continue;  // a line-ending backslash: the newline is counted above
          ++i;
          ++column;
        } else if (starts(i, "\"\"\"")) {
          // Up to two more quotes belong to the string: """a""""" ends at its last three.
          std::size_t end = i + 3;
          while (end < text.size() && end < i + 5 && text[end] == '"') ++end;
          column += static_cast<std::uint32_t>(end - i - 1);
          i = end - 1;
          state = State::normal;
        }
        break;
      case State::multi_literal:
        if (starts(i, "'''")) {
          std::size_t end = i + 3;
          while (end < text.size() && end < i + 5 && text[end] == '\'') ++end;
          column += static_cast<std::uint32_t>(end - i - 1);
          i = end - 1;
          state = State::normal;
        }
        break;
    }
  }
  return {};
}

}  // namespace micromoe::deck
