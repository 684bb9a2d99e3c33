// SPDX-License-Identifier: BSD-3-Clause
#include "comm/nccl_communicator.hpp"

#if MICROMOE_ENABLE_NCCL
#include <array>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/gpu_error.hpp"

namespace micromoe::comm {

namespace {
/// NCCL refuses two ranks of one communicator on the same GPU, but only deep inside its
/// initialisation ("Duplicate GPU detected", ncclInvalidUsage). Say so first, naming the ranks
/// and the GPU: an InputError, the same on every rank (all see the same gathered table).
void require_one_gpu_per_rank(const Communicator& comm) {
  constexpr int kWidth = MPI_MAX_PROCESSOR_NAME + 32;  // "host|PCI bus id"
  std::array<char, kWidth> mine{};
  int host_length = 0;
  MICROMOE_CHECK_MPI(MPI_Get_processor_name(mine.data(), &host_length));
  int device = -1;
  MICROMOE_CHECK_CUDA(cudaGetDevice(&device));
  mine[static_cast<std::size_t>(host_length)] = '|';
  MICROMOE_CHECK_CUDA(cudaDeviceGetPCIBusId(mine.data() + host_length + 1, kWidth - host_length - 2, device));
  std::vector<char> all(static_cast<std::size_t>(kWidth) * static_cast<std::size_t>(comm.size()));
  MICROMOE_CHECK_MPI(MPI_Allgather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, comm.get()));
  const auto key = [&](int r) { return std::string(all.data() + static_cast<std::size_t>(r) * kWidth); };
  for (int a = 0; a < comm.size(); ++a)
    for (int b = a + 1; b < comm.size(); ++b)
      if (key(a) == key(b)) {
        const std::string k = key(a);
        const std::size_t bar = k.find('|');
        throw InputError("the nccl backend needs one GPU per rank, but ranks " + std::to_string(a) + " and " +
                         std::to_string(b) + " both use GPU " + k.substr(bar + 1) + " on " + k.substr(0, bar) +
                         "; fix: start as many ranks per node as it has GPUs, or use parallel.backend = \"mpi\"");
      }
}
}  // namespace

NcclCommunicator::NcclCommunicator(const Communicator& comm) : rank_(comm.rank()), size_(comm.size()) {
  require_one_gpu_per_rank(comm);
  ncclUniqueId id;
  if (comm.rank() == 0) MICROMOE_CHECK_NCCL(ncclGetUniqueId(&id));
  MICROMOE_CHECK_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm.get()));
  MICROMOE_CHECK_NCCL(ncclCommInitRank(&comm_, comm.size(), id, comm.rank()));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);
}

}  // namespace micromoe::comm
#endif
