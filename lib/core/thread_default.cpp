// SPDX-License-Identifier: BSD-3-Clause
#include "core/thread_default.hpp"

#include <sched.h>
#include <unistd.h>

#include <Kokkos_Macros.hpp>
#include <algorithm>
#include <cstdlib>

namespace micromoe {

namespace {
std::string& stored_choice() {
  static std::string choice;
  return choice;
}
}  // namespace

std::string threads_chosen_by_user(const std::vector<std::string>& args) {
  for (const char* var : {"OMP_NUM_THREADS", "KOKKOS_NUM_THREADS"})
    if (const char* value = std::getenv(var); value != nullptr && *value != '\0') return std::string(var) + "=" + value;
  for (const std::string& a : args)
    for (const char* flag : {"--kokkos-threads", "--kokkos-num-threads", "--threads", "--num-threads"})
      if (a.rfind(flag, 0) == 0) return a;
  return {};
}

int default_threads_per_rank(int node_cores, int ranks_on_node, int rank_cores) {
  int threads = node_cores / std::max(ranks_on_node, 1);
  if (rank_cores > 0) threads = std::min(threads, rank_cores);
  return std::max(threads, 1);
}

std::string kokkos_threads_argument(int threads) {
#if KOKKOS_VERSION >= 30700
  return "--kokkos-num-threads=" + std::to_string(threads);
#else
  return "--kokkos-threads=" + std::to_string(threads);
#endif
}

int node_cores() { return static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))); }

int rank_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

const std::string& thread_choice() { return stored_choice(); }
void set_thread_choice(std::string choice) { stored_choice() = std::move(choice); }

}  // namespace micromoe
