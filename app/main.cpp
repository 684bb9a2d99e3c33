// SPDX-License-Identifier: BSD-3-Clause
// micromoe: the batch executable. A thin driver over the commands (app/commands): MPI and Kokkos
// guards, the command line, dispatch, and error handling that ends every rank together with a
// non-zero exit and no hang:
//   * command-line, deck, trace and report-path problems are found by every rank alike (or agreed
//     on, comm/verdict.hpp) and reported once, by rank 0, as one bounded line with exit code 2;
//   * a failure during the run (a rank that throws mid-collective) aborts the whole job, exit 1.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>

#include "comm/communicator.hpp"
#include "comm/verdict.hpp"
#include "commands/command.hpp"
#include "core/device_select.hpp"
#include "core/error.hpp"
#include "core/error_line.hpp"

namespace {

/// MPI for the lifetime of main (finalised even when an exception unwinds).
struct MpiGuard {
  MpiGuard(int& argc, char**& argv) { MPI_Init(&argc, &argv); }
  ~MpiGuard() { MPI_Finalize(); }
  MpiGuard(const MpiGuard&) = delete;
  MpiGuard& operator=(const MpiGuard&) = delete;
};

std::string join_arguments(int argc, char** argv) {
  std::ostringstream os;
  for (int i = 0; i < argc; ++i) os << (i ? " " : "") << argv[i];
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace micromoe;
  if (const int code = commands::run_if_runtime_free(argc, argv); code >= 0) return code;  // schedule: no MPI/Kokkos
  MpiGuard mpi(argc, argv);
  // Unset, OpenMP's thread binding is implementation-defined and Kokkos warns on every rank;
  // say "false" (what unset means in practice). Set it (e.g. spread) to bind threads.
  setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
  // One GPU per rank on multi-GPU nodes: the rank's index on its node picks it (unless the user
  // or the launcher already chose; see core/device_select.hpp).
  RankKokkosArgs kokkos_args(argc, argv, MPI_COMM_WORLD);
  Kokkos::ScopeGuard kokkos(kokkos_args.argc(), kokkos_args.argv());
  argc = kokkos_args.argc();
  argv = kokkos_args.argv();
  const comm::Communicator world(MPI_COMM_WORLD);
  const commands::Invocation job{world, join_arguments(argc, argv)};

  CLI::App cli{
      "MicroMoE: fine-grained load balancing for distributed Mixture-of-Experts layers.\n"
      "Run under mpiexec with one rank per GPU (or CPU socket)."};
  cli.require_subcommand(0, 1);
  const auto all = commands::all_commands();
  for (const auto& command : all) command->declare(cli);
  // The command line may pass on one rank and fail on another (a deck file missing on one
  // node), so its verdict is agreed like any other input before a command runs.
  std::string cli_error;        // this rank's command-line error
  std::ostringstream cli_text;  // --help or --version, printed once every rank agrees
  bool cli_done = false;
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      cli.exit(e, cli_text, cli_text);
      cli_done = true;
    } else {
      cli_error = std::string(e.what()) + "; fix: see micromoe --help";
    }
  }

  try {
    comm::agree_on_every_rank(world, [&] {
      if (!cli_error.empty()) throw InputError(cli_error);
    });
    if (cli_done) {
      if (job.root()) std::cout << cli_text.str() << std::flush;
      return 0;
    }
    for (const auto& command : all)
      if (command->chosen()) return command->run(job);
  } catch (const InputError& e) {
    // Raised alike (or agreed) on every rank: one line, from rank 0, exit 2 everywhere.
    if (job.root()) std::cerr << "micromoe: error: " << error_line(e.what()) << std::endl;
    return commands::kInputErrorExit;
  } catch (const std::exception& e) {
    std::cerr << "micromoe: error on rank " << world.rank() << ": " << error_line(e.what()) << std::endl;
    MPI_Abort(MPI_COMM_WORLD, commands::kInternalErrorExit);  // other ranks may be inside a collective: end them all
  } catch (...) {
    std::cerr << "micromoe: error on rank " << world.rank() << ": unknown exception" << std::endl;
    MPI_Abort(MPI_COMM_WORLD, commands::kInternalErrorExit);
  }
  if (job.root()) std::cout << cli.help();
  return 0;
}
