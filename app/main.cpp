// SPDX-License-Identifier: BSD-3-Clause
// micromoe: the batch executable. A thin driver over the commands (app/commands): MPI and Kokkos
// guards, the command line, dispatch, and error handling that ends every rank together with a
// non-zero exit and no hang:
//   * deck and command-line problems are found by every rank alike (or agreed on, comm/verdict.hpp)
//     and reported once, by rank 0, with exit code 2;
//   * a failure during the run (a rank that throws mid-collective) aborts the whole job.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>

#include "comm/communicator.hpp"
#include "commands/command.hpp"
#include "core/device_select.hpp"
#include "core/error.hpp"

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
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line, so every rank exits with the same code.
    if (job.root()) return cli.exit(e);
    return e.get_exit_code() == 0 ? 0 : commands::kInputErrorExit;
  }

  try {
    for (const auto& command : all)
      if (command->chosen()) return command->run(job);
  } catch (const InputError& e) {
    if (job.root()) std::cerr << "micromoe: error: " << e.what() << std::endl;
    return commands::kInputErrorExit;
  } catch (const std::exception& e) {
    std::cerr << "micromoe: error on rank " << world.rank() << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);  // other ranks may be inside a collective: end them all
  }
  if (job.root()) std::cout << cli.help();
  return 0;
}
