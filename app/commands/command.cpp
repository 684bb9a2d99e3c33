// SPDX-License-Identifier: BSD-3-Clause
#include "commands/command.hpp"

namespace micromoe::commands {

std::vector<std::unique_ptr<Command>> all_commands() {
  std::vector<std::unique_ptr<Command>> all;
#define MICROMOE_ADD_COMMAND(name) all.push_back(make_##name##_command());
  MICROMOE_COMMANDS(MICROMOE_ADD_COMMAND)
#undef MICROMOE_ADD_COMMAND
  return all;
}

}  // namespace micromoe::commands
