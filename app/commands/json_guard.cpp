// SPDX-License-Identifier: BSD-3-Clause
#include "commands/json_guard.hpp"

#include <nlohmann/json.hpp>

namespace micromoe::commands {

std::string json_text_problem(std::string_view text) {
  if (text.size() > kMaxJsonBytes)
    return "it has " + std::to_string(text.size()) + " bytes, more than the limit of " + std::to_string(kMaxJsonBytes) +
           " (256 MiB)";
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0') return "it holds a NUL byte at offset " + std::to_string(i);
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return "it nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels (at offset " +
               std::to_string(i) + ")";
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to report
    }
  }
  return std::string();
}

std::string brief_json(const nlohmann::json& value, std::size_t limit) {
  // Containers are summarised, never dumped (a value may be megabytes).
  if (value.is_array()) return "an array of " + std::to_string(value.size()) + " values";
  if (value.is_object()) return "an object of " + std::to_string(value.size()) + " keys";
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > limit) text = text.substr(0, limit > 3 ? limit - 3 : 0) + "...";
  return text;
}

}  // namespace micromoe::commands
