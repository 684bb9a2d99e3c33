// SPDX-License-Identifier: BSD-3-Clause
// The commands of `micromoe`, one front end per file in app/commands: each declares its own
// options and calls the library; main only sets up MPI and Kokkos, parses and dispatches.
// Adding a command: app/commands/<name>.cpp defining make_<name>_command(), and its name in
// MICROMOE_COMMANDS below (docs/commands.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.hpp"

namespace CLI {
class App;
}

namespace micromoe::commands {

/// The exit code of an input problem (deck, command line, JSON input), the same on every rank.
constexpr int kInputErrorExit = 2;

/// The exit code of an internal error (a bug, a failed library call, memory exhausted).
constexpr int kInternalErrorExit = 1;

/// What a command runs with.
struct Invocation {
  const comm::Communicator& world;  ///< every rank of the job
  std::string command_line;         ///< as typed (reports record it)
  bool root() const { return world.rank() == 0; }
};

class Command {
 public:
  virtual ~Command() = default;

  /// Declares the command on `cli` (a subcommand, or a flag) and binds its options to members.
  virtual void declare(CLI::App& cli) = 0;

  /// After parsing: the command line asked for this command.
  virtual bool chosen() const = 0;

  /// Collective over job.world. Returns the process exit code, the same on every rank. An input
  /// problem throws InputError on every rank alike; any other exception may be one rank's own.
  virtual int run(const Invocation& job) = 0;

  /// False for a command of pure host code (schedule): main runs it through run_host() without
  /// starting MPI or Kokkos (their start-up costs far more than the command itself).
  virtual bool needs_runtime() const { return true; }
  /// needs_runtime() false: runs the command in this process alone. Returns the exit code.
  virtual int run_host() { return kInternalErrorExit; }
};

/// Every command, in the order `micromoe --help` lists them and main dispatches them (the
/// --version flag first: it wins over a subcommand given with it).
#define MICROMOE_COMMANDS(X) X(version) X(run) X(check) X(emulate) X(calibrate) X(simulate) X(schedule)

#define MICROMOE_DECLARE_COMMAND(name) std::unique_ptr<Command> make_##name##_command();
MICROMOE_COMMANDS(MICROMOE_DECLARE_COMMAND)
#undef MICROMOE_DECLARE_COMMAND

/// One instance of every command in MICROMOE_COMMANDS, in that order.
std::vector<std::unique_ptr<Command>> all_commands();

/// When the command line names a command that needs no runtime, parses and runs it here
/// (errors: one line, exit 2) and returns its exit code; otherwise returns -1 and main starts
/// MPI and Kokkos as usual (runtime_free.cpp).
int run_if_runtime_free(int argc, char** argv);

}  // namespace micromoe::commands
