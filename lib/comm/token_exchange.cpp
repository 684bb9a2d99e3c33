// SPDX-License-Identifier: BSD-3-Clause
#include "comm/token_exchange.hpp"

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "comm/byte_block_type.hpp"
#include "comm/nccl_communicator.hpp"
#include "core/gpu_error.hpp"
#include "core/kokkos_compat.hpp"

namespace micromoe::comm {

namespace {
using ByteView = Kokkos::View<char*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using StagedByteView = Kokkos::View<char*, StagingSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

std::vector<int> to_int_counts(const std::vector<std::int64_t>& rows, const char* what) {
  std::vector<int> out(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r] > INT_MAX)
      throw Error(std::string("token exchange: ") + what + " of " + std::to_string(rows[r]) + " rows for peer " +
                  std::to_string(r) + " exceeds MPI's int count");
    out[r] = static_cast<int>(rows[r]);
  }
  return out;
}

void grow(Kokkos::View<char*, StagingSpace>& stage, std::size_t bytes, const std::string& label) {
  if (stage.extent(0) < bytes)
    stage = Kokkos::View<char*, StagingSpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), bytes);
}
}  // namespace

TokenExchange::TokenExchange(const Communicator& comm, Backend backend,
                             [[maybe_unused]] std::shared_ptr<const NcclCommunicator> nccl)
    : comm_(comm), backend_(backend) {
  MICROMOE_REQUIRE(backend_available(backend),
                   "token exchange backend '" + to_string(backend) + "' is not available in this build");
#if MICROMOE_ENABLE_NCCL
  if (backend == Backend::nccl) {
    if (nccl == nullptr) nccl = std::make_shared<const NcclCommunicator>(comm);
    MICROMOE_REQUIRE(nccl->size() == comm.size() && nccl->rank() == comm.rank(),
                     "token exchange: the shared NCCL communicator spans other ranks than the MPI communicator");
    nccl_ = std::move(nccl);
  }
#endif
}

TokenExchange::~TokenExchange() = default;

void TokenExchange::exchange_bytes(const ExecSpace& exec, const void* send, void* recv, std::size_t row_bytes,
                                   const ExchangeLayout& layout, bool host_accessible) {
  MICROMOE_REQUIRE(layout.peers() == comm_.size(), "exchange layout has " + std::to_string(layout.peers()) +
                                                       " peers but the communicator has " +
                                                       std::to_string(comm_.size()) + " ranks");
  if (row_bytes == 0) return;  // zero-width rows: nothing to move
  if (backend_ == Backend::nccl) {
    exchange_nccl(exec, send, recv, row_bytes, layout);
    return;
  }
  if (host_accessible) {
    compat::fence(exec, "micromoe::comm::mpi_ready");  // producers of `send` must be done
    exchange_mpi(send, recv, row_bytes, layout);
    return;
  }
  // GPU data, MPI backend. The rank's own rows are copied on the device; only rows for other
  // ranks are staged through host memory (none at all on one rank).
  const int me = comm_.rank();
  const std::int64_t self_rows = layout.send_counts[static_cast<std::size_t>(me)];
  if (self_rows > 0)
    Kokkos::deep_copy(exec,
                      ByteView(static_cast<char*>(recv) + layout.recv_offsets[static_cast<std::size_t>(me)] * row_bytes,
                               static_cast<std::size_t>(self_rows) * row_bytes),
                      ByteView(static_cast<char*>(const_cast<void*>(send)) +
                                   layout.send_offsets[static_cast<std::size_t>(me)] * row_bytes,
                               static_cast<std::size_t>(self_rows) * row_bytes));
  if (layout.send_rows() == self_rows && layout.recv_rows() == self_rows) return;
  ExchangeLayout remote = layout;
  remote.send_counts[static_cast<std::size_t>(me)] = 0;
  remote.recv_counts[static_cast<std::size_t>(me)] = 0;
  const std::size_t send_bytes = static_cast<std::size_t>(layout.send_rows()) * row_bytes;
  const std::size_t recv_bytes = static_cast<std::size_t>(layout.recv_rows()) * row_bytes;
  grow(send_stage_, send_bytes, "micromoe::comm::send_stage");
  grow(recv_stage_, recv_bytes, "micromoe::comm::recv_stage");
  if (send_bytes > 0)
    Kokkos::deep_copy(exec, StagedByteView(send_stage_.data(), send_bytes),
                      ByteView(static_cast<char*>(const_cast<void*>(send)), send_bytes));
  compat::fence(exec, "micromoe::comm::staged_to_host");
  exchange_mpi(send_stage_.data(), recv_stage_.data(), row_bytes, remote);
  // Back to the device around the rank's own rows, which are already there.
  const std::size_t self_first =
      static_cast<std::size_t>(layout.recv_offsets[static_cast<std::size_t>(me)]) * row_bytes;
  const std::size_t self_end = self_first + static_cast<std::size_t>(self_rows) * row_bytes;
  if (self_first > 0)
    Kokkos::deep_copy(exec, ByteView(static_cast<char*>(recv), self_first),
                      StagedByteView(recv_stage_.data(), self_first));
  if (recv_bytes > self_end)
    Kokkos::deep_copy(exec, ByteView(static_cast<char*>(recv) + self_end, recv_bytes - self_end),
                      StagedByteView(recv_stage_.data() + self_end, recv_bytes - self_end));
  // From page-locked memory these copies are asynchronous; the staging buffers are reused by
  // the next call, which may come on another execution space instance.
  compat::fence(exec, "micromoe::comm::staged_to_device");
}

void TokenExchange::exchange_mpi(const void* send, void* recv, std::size_t row_bytes, const ExchangeLayout& layout) {
  const ByteBlockType row(row_bytes, "token row");
  const auto send_counts = to_int_counts(layout.send_counts, "send");
  const auto send_offsets = to_int_counts(layout.send_offsets, "send offset");
  const auto recv_counts = to_int_counts(layout.recv_counts, "receive");
  const auto recv_offsets = to_int_counts(layout.recv_offsets, "receive offset");
  MICROMOE_CHECK_MPI(MPI_Alltoallv(send, send_counts.data(), send_offsets.data(), row.get(), recv, recv_counts.data(),
                                   recv_offsets.data(), row.get(), comm_.get()));
}

void TokenExchange::exchange_nccl([[maybe_unused]] const ExecSpace& exec, [[maybe_unused]] const void* send,
                                  [[maybe_unused]] void* recv, [[maybe_unused]] std::size_t row_bytes,
                                  [[maybe_unused]] const ExchangeLayout& layout) {
#if MICROMOE_ENABLE_NCCL
  const cudaStream_t stream = exec.cuda_stream();
  const auto* send_bytes = static_cast<const char*>(send);
  auto* recv_bytes = static_cast<char*>(recv);
  MICROMOE_CHECK_NCCL(ncclGroupStart());
  for (int peer = 0; peer < layout.peers(); ++peer) {
    if (layout.send_counts[peer] > 0)
      MICROMOE_CHECK_NCCL(ncclSend(send_bytes + layout.send_offsets[peer] * row_bytes,
                                   static_cast<std::size_t>(layout.send_counts[peer]) * row_bytes, ncclChar, peer,
                                   nccl_->get(), stream));
    if (layout.recv_counts[peer] > 0)
      MICROMOE_CHECK_NCCL(ncclRecv(recv_bytes + layout.recv_offsets[peer] * row_bytes,
                                   static_cast<std::size_t>(layout.recv_counts[peer]) * row_bytes, ncclChar, peer,
                                   nccl_->get(), stream));
  }
  MICROMOE_CHECK_NCCL(ncclGroupEnd());
#else
  throw Error("NCCL backend requested in a build without NCCL");
#endif
}

}  // namespace micromoe::comm
