// SPDX-License-Identifier: BSD-3-Clause
#include "commands/one_process.hpp"

#include <exception>
#include <iostream>

#include "core/error.hpp"
#include "core/error_line.hpp"

namespace micromoe::commands {

void require_one_process(const Invocation& job, const std::string& command, const std::string& why) {
  if (job.world.size() > 1)
    throw InputError(command + " runs in one process (" + why + "), not " + std::to_string(job.world.size()) +
                     "; fix: run it without mpiexec, or with -n 1");
}

int run_one_process(const std::function<void()>& body) {
  try {
    body();
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::cerr << "micromoe: error: " << error_line(e.what()) << std::endl;
    return kInternalErrorExit;
  }
  return 0;
}

}  // namespace micromoe::commands
