// SPDX-License-Identifier: BSD-3-Clause
// Which GPU a rank uses. Kokkos 3.4 takes device 0 unless told otherwise, so on a node with
// several GPUs and one rank per GPU every rank would share the first one. The app therefore
// gives each rank the GPU of its index among the ranks of its node (modulo the GPUs it sees),
// unless the user already chose (Kokkos' own device arguments or environment), and unless the
// launcher already narrowed the ranks' view to one GPU each (CUDA_VISIBLE_DEVICES).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

namespace micromoe {

/// True when the arguments or the environment already select a Kokkos device
/// (--kokkos-device-id, --kokkos-num-devices, --kokkos-map-device-id-by, --device-id,
/// --num-devices, KOKKOS_DEVICE_ID, KOKKOS_NUM_DEVICES).
bool device_chosen_by_user(const std::vector<std::string>& args);

/// local_rank mod visible_gpus, or -1 when there is no GPU (visible_gpus <= 0).
int device_for_local_rank(int local_rank, int visible_gpus);

/// This rank's index among the ranks of its node (MPI_COMM_TYPE_SHARED). Collective over `comm`.
int node_local_rank(MPI_Comm comm);

/// The ranks of this rank's node (MPI_COMM_TYPE_SHARED). Collective over `comm`.
int node_rank_count(MPI_Comm comm);

/// The GPUs this process sees (0 in builds without CUDA).
int visible_gpus();

/// The command line to initialise Kokkos with on this rank: argv, plus
/// --kokkos-device-id=<device_for_local_rank> when the node has several visible GPUs and
/// neither the user nor the launcher chose one, plus the default host threads per rank
/// (core/thread_default.hpp) unless the user chose them. Collective over `comm` (node_local_rank).
/// Kokkos::initialize may remove its own arguments: argc() is then the count left.
class RankKokkosArgs {
 public:
  RankKokkosArgs(int argc, char** argv, MPI_Comm comm);
  RankKokkosArgs(const RankKokkosArgs&) = delete;  // argv() points into args_
  RankKokkosArgs& operator=(const RankKokkosArgs&) = delete;
  int& argc() { return argc_; }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
  int argc_ = 0;
};

}  // namespace micromoe
