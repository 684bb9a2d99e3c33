// SPDX-License-Identifier: BSD-3-Clause
// What the one-process commands (emulate, calibrate, simulate) share: a launch with several
// ranks is refused, and a failure other than bad input is this process's exit code 1.
#pragma once

#include <functional>
#include <string>

#include "commands/command.hpp"

namespace micromoe::commands {

/// InputError unless the job has one rank: "<command> runs in one process (<why>), not N; fix: ...".
void require_one_process(const Invocation& job, const std::string& command, const std::string& why);

/// Runs `body`. An InputError passes through (main turns it into exit 2); any other exception is
/// printed as one bounded error line and returned as kInternalErrorExit (one process: nothing to
/// abort). Returns 0 when `body` returns.
int run_one_process(const std::function<void()>& body);

}  // namespace micromoe::commands
