// SPDX-License-Identifier: BSD-3-Clause
// micromoe: the batch executable. A thin driver: MPI and Kokkos guards, the command line,
// and one catch that turns any error into a clean non-zero exit on every rank.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <iostream>

#include "core/build_info.hpp"
#include "core/error.hpp"

namespace {

/// MPI for the lifetime of main (finalised even when an exception unwinds).
struct MpiGuard {
  MpiGuard(int& argc, char**& argv) { MPI_Init(&argc, &argv); }
  ~MpiGuard() { MPI_Finalize(); }
  MpiGuard(const MpiGuard&) = delete;
  MpiGuard& operator=(const MpiGuard&) = delete;
};

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

int main(int argc, char** argv) {
  MpiGuard mpi(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  const bool root = world_rank() == 0;

  CLI::App app{"MicroMoE: fine-grained load balancing for distributed Mixture-of-Experts layers"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the build: MicroMoE, git revision, Kokkos, MPI, NCCL");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line, so every rank exits with the same code.
    return root ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 2);
  }

  try {
    if (version || app.get_subcommands().empty()) {
      if (root) std::cout << (version ? micromoe::build_info_text() : app.help());
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "micromoe: error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, 1);  // an unexpected failure on one rank must not hang the others
  }
  return 0;
}
