// SPDX-License-Identifier: BSD-3-Clause
#include "core/device_select.hpp"

#include <cstdlib>

#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/thread_default.hpp"
#if MICROMOE_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

namespace micromoe {

bool device_chosen_by_user(const std::vector<std::string>& args) {
  for (const char* var : {"KOKKOS_DEVICE_ID", "KOKKOS_NUM_DEVICES"})
    if (std::getenv(var) != nullptr) return true;
  for (const std::string& a : args)
    for (const char* flag : {"--kokkos-device-id", "--kokkos-num-devices", "--kokkos-ndevices",
                             "--kokkos-map-device-id-by", "--device-id", "--num-devices"})
      if (a.rfind(flag, 0) == 0) return true;
  return false;
}

int device_for_local_rank(int local_rank, int visible_gpus) {
  if (visible_gpus <= 0 || local_rank < 0) return -1;
  return local_rank % visible_gpus;
}

int node_local_rank(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  MICROMOE_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

int node_rank_count(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  MICROMOE_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int size = 1;
  MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  return size;
}

RankKokkosArgs::RankKokkosArgs(int argc, char** argv, MPI_Comm comm) : args_(argv, argv + argc) {
  const int gpus = visible_gpus();
  const int local = node_local_rank(comm);
  if (gpus > 1 && !device_chosen_by_user(args_))
    args_.push_back("--kokkos-device-id=" + std::to_string(device_for_local_rank(local, gpus)));
  // Host threads: the user's choice, else the node's cores shared among its ranks.
  const int ranks_here = node_rank_count(comm);
  if (const auto chosen = threads_chosen_by_user(args_); !chosen.empty()) {
    set_thread_choice("threads per rank from " + chosen);
  } else {
    const int cores = node_cores(), mine = rank_cores();
    const int threads = default_threads_per_rank(cores, ranks_here, mine);
    args_.push_back(kokkos_threads_argument(threads));
    set_thread_choice(std::to_string(threads) + (threads == 1 ? " thread" : " threads") + " per rank (default: " +
                      std::to_string(cores) + " cores / " + std::to_string(ranks_here) + " ranks on the node" +
                      (mine > 0 && mine < cores / std::max(ranks_here, 1)
                           ? ", " + std::to_string(mine) + " cores bound to the rank"
                           : "") +
                      "; set OMP_NUM_THREADS to choose)");
  }
  for (std::string& a : args_) pointers_.push_back(a.data());
  pointers_.push_back(nullptr);
  argc_ = static_cast<int>(args_.size());
}

int visible_gpus() {
#if MICROMOE_ENABLE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
#else
  return 0;
#endif
}

}  // namespace micromoe
