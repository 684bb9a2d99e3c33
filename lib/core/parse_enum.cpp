// SPDX-License-Identifier: BSD-3-Clause
#include "core/parse_enum.hpp"

#include "core/error.hpp"
#include "core/nearest_name.hpp"

namespace micromoe::detail {

void throw_unknown_name(std::string_view what, std::string_view name, const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  const std::string word(name);
  throw InputError("unknown " + std::string(what) + " \"" + word + "\"; fix: use one of " + list + " (did you mean \"" +
                   nearest_name(word, names) + "\"?)");
}

}  // namespace micromoe::detail
