// SPDX-License-Identifier: BSD-3-Clause
// Links the installed library: solves a schedule and prints the build facts.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <iostream>

#include "core/build_info.hpp"
#include "schedule/placement.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    const auto placement = micromoe::schedule::make_ep_placement(4, 8, 2);
    std::cout << "ep placement: " << placement.replicas(0).size() << " replicas of expert 0\n"
              << micromoe::build_info_text();
  }
  MPI_Finalize();
  return 0;
}
