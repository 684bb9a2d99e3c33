// SPDX-License-Identifier: BSD-3-Clause
#include "deck/toml_guard.hpp"

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

/// Where a quoted key or value may begin: after these, or at a line's start ('\n').
bool opens_string(char last) {
  return last == '\n' || last == '=' || last == '[' || last == '{' || last == ',' || last == '.';
}

}  // namespace

TomlGuardVerdict toml_guard(std::string_view text) {
  enum class State { normal, comment, basic, literal, multi_basic, multi_literal };
  State state = State::normal;
  std::uint32_t line = 1, column = 0;
  std::size_t dots = 0, depth = 0;
  bool line_start = true;  // only blanks so far on this line (outside any value)
  // The last non-blank character outside strings and comments. A quote opens a string only
  // where a key or a value may start (line start, or after = [ { , .): toml++ reads "9\"x" as
  // one bad value token and classifies each of its characters, and its whitespace test reaches
  // __builtin_unreachable on many non-ASCII code points (toml++ 3.3). So after anything else a
  // quote is an ordinary character, and a non-ASCII byte after it is refused below.
  char last = '\n';
  const auto at = [&](std::string problem) { return TomlGuardVerdict{std::move(problem), line, column}; };
  const auto starts = [&](std::size_t i, std::string_view what) { return text.substr(i, what.size()) == what; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    ++column;
    if (c == '\n') {
      ++line;
      column = 0;
      line_start = true;
      last = '\n';
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
        if ((c == '"' || c == '\'') && !opens_string(last)) {
          last = c;  // an ordinary character here (toml++ refuses the value)
          break;
        }
        if (c != ' ' && c != '\t' && c != '\r' && c != '#') last = c;
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
