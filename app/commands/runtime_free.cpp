// SPDX-License-Identifier: BSD-3-Clause
// Commands that need neither MPI nor Kokkos (Command::needs_runtime() false) run here, before
// main starts either: the same command line and the same one-line errors, without the runtime's
// start-up (tens to hundreds of milliseconds, most of a `micromoe schedule` call).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "commands/command.hpp"
#include "core/error_line.hpp"

namespace micromoe::commands {

namespace {

/// The subcommand the command line names: its first argument that is not an option.
std::string named_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.empty() || a[0] != '-') return a;
    if (a == "--version" || a == "--help" || a == "-h") return std::string();  // main's own flags
  }
  return std::string();
}

/// Started by an MPI launcher with several ranks (OpenMPI, MPICH/Hydra and Slurm's PMI say so in
/// the environment): then the runtime path runs, where rank 0 alone prints and all agree on the
/// exit code, instead of every rank printing its own copy.
bool several_ranks_launched() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* v = std::getenv(var); v && std::atoi(v) > 1) return true;
  return false;
}

}  // namespace

int run_if_runtime_free(int argc, char** argv) {
  const std::string name = named_command(argc, argv);
  if (name.empty() || several_ranks_launched()) return -1;
  // Which command declares the subcommand `name`: each probed on its own parser.
  bool runtime_free = false;
  for (const auto& probe : all_commands()) {
    CLI::App alone;
    probe->declare(alone);
    try {
      alone.get_subcommand(name);
      runtime_free = !probe->needs_runtime();
    } catch (const CLI::OptionNotFound&) {
      // another command's name
    }
  }
  if (!runtime_free) return -1;
  CLI::App cli{"MicroMoE: fine-grained load balancing for distributed Mixture-of-Experts layers."};
  cli.require_subcommand(0, 1);
  const auto all = all_commands();
  for (const auto& command : all) command->declare(cli);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return cli.exit(e);  // --help
    std::cerr << "micromoe: error: " << error_line(std::string(e.what()) + "; fix: see micromoe --help") << std::endl;
    return kInputErrorExit;
  }
  for (const auto& command : all)
    if (command->chosen()) {
      if (command->needs_runtime()) return -1;  // not reached: the named command is runtime-free
      try {
        return command->run_host();
      } catch (const std::exception& e) {
        std::cerr << "micromoe: error: " << error_line(e.what()) << std::endl;
        return kInternalErrorExit;
      }
    }
  return -1;
}

}  // namespace micromoe::commands
