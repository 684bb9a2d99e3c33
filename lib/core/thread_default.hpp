// SPDX-License-Identifier: BSD-3-Clause
// Host threads per rank. Unset, OpenMP starts as many threads as the node has cores on every
// rank, so `mpiexec -n 4` on a 2-core machine runs 8 threads on 2 cores and is 10-25x slower.
// The app therefore gives each rank (cores of the node / ranks on the node, at least 1, at most
// the cores the rank may run on) unless the user chose: OMP_NUM_THREADS, KOKKOS_NUM_THREADS or
// Kokkos' own thread arguments.
#pragma once

#include <string>
#include <vector>

namespace micromoe {

/// The user's own thread choice in the environment or the arguments ("OMP_NUM_THREADS=4",
/// "--kokkos-threads=2"), or empty when there is none.
std::string threads_chosen_by_user(const std::vector<std::string>& args);

/// max(1, min(node_cores / ranks_on_node, rank_cores)); rank_cores <= 0 means no limit.
int default_threads_per_rank(int node_cores, int ranks_on_node, int rank_cores);

/// The Kokkos argument that sets `threads` host threads in this Kokkos version.
std::string kokkos_threads_argument(int threads);

/// Online CPUs of the node, and the CPUs this process may run on (its affinity mask).
int node_cores();
int rank_cores();

/// What the run header says about the threads: set by RankKokkosArgs, e.g. "1 thread per rank
/// (default: 2 cores / 4 ranks on the node)" or "threads per rank from OMP_NUM_THREADS=2".
const std::string& thread_choice();
void set_thread_choice(std::string choice);

}  // namespace micromoe
