// SPDX-License-Identifier: BSD-3-Clause
// The token exchange of the MoE layer: an all-to-all-v of rows of a Kokkos View.
#pragma once

#include <cstddef>
#include <memory>

#include "comm/backend.hpp"
#include "comm/communicator.hpp"
#include "comm/exchange_layout.hpp"
#include "core/error.hpp"
#include "core/kokkos_types.hpp"

namespace micromoe::comm {

class NcclCommunicator;

/// Exchanges blocks of rows between all ranks of a communicator, with the MPI or the NCCL
/// backend. Row r of a View is contiguous (TokenLayout), so a block of rows is a block of bytes.
///
/// * MPI: MPI_Alltoallv over a contiguous row datatype (counts stay in rows, so payloads past
///   2^31 elements work). Data in GPU memory is staged through reusable host buffers.
/// * NCCL: grouped ncclSend/ncclRecv on the execution space's CUDA stream; the call returns
///   once the operations are enqueued, ordered with the rest of the work on that stream.
class TokenExchange {
 public:
  /// Collective over `comm`. The object refers to `comm`, which must outlive it. The nccl
  /// backend uses `nccl` (over the same ranks, shared with other users of them) or, when it
  /// is null, builds its own communicator here.
  TokenExchange(const Communicator& comm, Backend backend, std::shared_ptr<const NcclCommunicator> nccl = nullptr);
  ~TokenExchange();
  TokenExchange(const TokenExchange&) = delete;
  TokenExchange& operator=(const TokenExchange&) = delete;

  Backend backend() const { return backend_; }
  /// The NCCL communicator of the nccl backend (over the same ranks), else nullptr.
  const NcclCommunicator* nccl() const { return nccl_.get(); }
  const Communicator& communicator() const { return comm_; }
  /// Bytes of page-locked host staging held (MPI backend, GPU data; it grows to the largest
  /// exchange so far and is kept): what a bounded exchange keeps bounded.
  std::size_t staging_bytes() const { return send_stage_.extent(0) + recv_stage_.extent(0); }

  /// Collective over the communicator. Rank q's rows [send_offsets[r], +send_counts[r]) of
  /// `send` arrive at rank r in rows [recv_offsets[q], +recv_counts[q]) of `recv`. Both Views
  /// are row-major with the same number of columns and cover their layout's rows.
  template <class SendView, class RecvView>
  void all_to_all_v(const ExecSpace& exec, const SendView& send, const ExchangeLayout& layout, const RecvView& recv) {
    static_assert(SendView::rank == 2 && RecvView::rank == 2, "token exchange moves rows of matrices");
    static_assert(std::is_same_v<typename SendView::array_layout, TokenLayout> &&
                      std::is_same_v<typename RecvView::array_layout, TokenLayout>,
                  "token rows must be contiguous (TokenLayout)");
    static_assert(std::is_same_v<typename SendView::non_const_value_type, typename RecvView::value_type>,
                  "send and receive Views must hold the same type");
    static_assert(std::is_same_v<typename SendView::memory_space, typename RecvView::memory_space>,
                  "send and receive Views must live in the same memory space");
    MICROMOE_REQUIRE(send.extent(1) == recv.extent(1) || layout.send_rows() == 0 || layout.recv_rows() == 0,
                     "send and receive Views differ in row width");
    MICROMOE_REQUIRE(static_cast<std::int64_t>(send.extent(0)) >= layout.send_rows(),
                     "send View has fewer rows than the layout sends");
    MICROMOE_REQUIRE(static_cast<std::int64_t>(recv.extent(0)) >= layout.recv_rows(),
                     "receive View has fewer rows than the layout receives");
    const std::size_t width = send.extent(1) > 0 ? send.extent(1) : recv.extent(1);
    exchange_bytes(exec, send.data(), recv.data(), width * sizeof(typename RecvView::value_type), layout,
                   host_accessible_v<typename RecvView::memory_space>);
  }

 private:
  void exchange_bytes(const ExecSpace& exec, const void* send, void* recv, std::size_t row_bytes,
                      const ExchangeLayout& layout, bool host_accessible);
  void exchange_mpi(const void* send, void* recv, std::size_t row_bytes, const ExchangeLayout& layout);
  void exchange_nccl(const ExecSpace& exec, const void* send, void* recv, std::size_t row_bytes,
                     const ExchangeLayout& layout);

  const Communicator& comm_;
  Backend backend_;
  std::shared_ptr<const NcclCommunicator> nccl_;
  // Host staging for GPU data with the MPI backend (page-locked): grown on demand, reused.
  Kokkos::View<char*, StagingSpace> send_stage_;
  Kokkos::View<char*, StagingSpace> recv_stage_;
};

}  // namespace micromoe::comm
