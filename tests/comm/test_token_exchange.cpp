// SPDX-License-Identifier: BSD-3-Clause
// The token exchange moves exactly the right rows to the right ranks, with both sides of the
// layout known locally, for random counts (zeros included), wide rows, and round trips.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include <Kokkos_Random.hpp>

#include "comm/shared_nccl.hpp"
#include "comm/token_exchange.hpp"
#include "core/build_config.hpp"

#if MICROMOE_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

namespace micromoe::comm {
namespace {

/// counts[src][dst]: rows rank src sends to rank dst; the same on every rank (same seed).
using CountTable = std::vector<std::vector<std::int64_t>>;

CountTable random_counts(int ranks, std::uint64_t seed, int max_rows) {
  std::mt19937_64 rng(seed);
  CountTable t(ranks, std::vector<std::int64_t>(ranks));
  for (auto& row : t)
    for (auto& c : row) c = (rng() % 3 == 0) ? 0 : static_cast<std::int64_t>(rng() % (max_rows + 1));
  return t;
}

ExchangeLayout layout_of(const CountTable& t, int rank) {
  const int ranks = static_cast<int>(t.size());
  std::vector<std::int64_t> send(ranks), recv(ranks);
  for (int r = 0; r < ranks; ++r) {
    send[r] = t[rank][r];
    recv[r] = t[r][rank];
  }
  return ExchangeLayout::from_counts(send, recv);
}

/// The value at (row i of the block src->dst, column c): unique, exactly representable.
KOKKOS_INLINE_FUNCTION float tag(int src, int dst, std::int64_t i, std::int64_t c) {
  return static_cast<float>(((src * 16 + dst) * 1024 + i % 1024) * 64 + c % 64);
}

RowMatrix<float> make_send(const ExchangeLayout& layout, int rank, std::int64_t width) {
  RowMatrix<float> send("send", layout.send_rows(), width);
  auto host = Kokkos::create_mirror_view(send);
  for (int dst = 0; dst < layout.peers(); ++dst)
    for (std::int64_t i = 0; i < layout.send_counts[dst]; ++i)
      for (std::int64_t c = 0; c < width; ++c) host(layout.send_offsets[dst] + i, c) = tag(rank, dst, i, c);
  Kokkos::deep_copy(send, host);
  return send;
}

void expect_received(const RowMatrix<float>& recv, const ExchangeLayout& layout, int rank) {
  auto host = Kokkos::create_mirror_view_and_copy(HostSpace(), recv);
  std::int64_t wrong = 0;
  for (int src = 0; src < layout.peers(); ++src)
    for (std::int64_t i = 0; i < layout.recv_counts[src]; ++i)
      for (std::size_t c = 0; c < host.extent(1); ++c)
        wrong += host(layout.recv_offsets[src] + i, c) != tag(src, rank, i, static_cast<std::int64_t>(c));
  EXPECT_EQ(wrong, 0) << "rank " << rank << " received wrong values";
}

/// NCCL needs one GPU per rank; the MPI backend runs anywhere (host-staged on GPUs).
int visible_gpus() {
#if MICROMOE_ENABLE_CUDA
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
#else
  return 0;
#endif
}

class TokenExchangeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!backend_available(GetParam())) GTEST_SKIP() << "backend not in this build";
    if (GetParam() == Backend::nccl && comm.size() > visible_gpus())
      GTEST_SKIP() << "NCCL needs one GPU per rank (" << comm.size() << " ranks, " << visible_gpus() << " GPUs)";
  }
  Communicator comm{MPI_COMM_WORLD};
};

TEST_P(TokenExchangeTest, RandomCountsWithZerosArriveAtTheRightRows) {
  TokenExchange exchange(comm, GetParam());
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    auto counts = random_counts(comm.size(), seed, 7);
    // Make one rank send nothing and another receive nothing in alternate trials.
    const int silent = static_cast<int>(seed % comm.size());
    for (int r = 0; r < comm.size(); ++r) (seed % 2 ? counts[silent][r] : counts[r][silent]) = 0;
    const auto layout = layout_of(counts, comm.rank());
    const std::int64_t width = 1 + static_cast<std::int64_t>(seed % 5);
    auto send = make_send(layout, comm.rank(), width);
    RowMatrix<float> recv("recv", layout.recv_rows(), width);
    exchange.all_to_all_v(ExecSpace(), send, layout, recv);
    expect_received(recv, layout, comm.rank());
  }
}

TEST_P(TokenExchangeTest, AllZeroCountsAreANoOp) {
  TokenExchange exchange(comm, GetParam());
  const auto layout = layout_of(CountTable(comm.size(), std::vector<std::int64_t>(comm.size(), 0)), comm.rank());
  RowMatrix<float> send("send", 0, 8), recv("recv", 0, 8);
  exchange.all_to_all_v(ExecSpace(), send, layout, recv);
  EXPECT_EQ(layout.recv_rows(), 0);
}

TEST_P(TokenExchangeTest, WideRowsOfHalfAMegabyte) {
  TokenExchange exchange(comm, GetParam());
  const auto layout = layout_of(random_counts(comm.size(), 99, 3), comm.rank());
  const std::int64_t width = 131072;  // 512 KiB per row
  auto send = make_send(layout, comm.rank(), width);
  RowMatrix<float> recv("recv", layout.recv_rows(), width);
  exchange.all_to_all_v(ExecSpace(), send, layout, recv);
  expect_received(recv, layout, comm.rank());
}

TEST_P(TokenExchangeTest, DispatchThenReverseRestoresTheInputExactly) {
  TokenExchange exchange(comm, GetParam());
  for (std::uint64_t seed = 100; seed < 105; ++seed) {
    const auto layout = layout_of(random_counts(comm.size(), seed, 9), comm.rank());
    RowMatrix<double> input("input", layout.send_rows(), 33);
    Kokkos::Random_XorShift64_Pool<ExecSpace> pool(seed * 7 + comm.rank());
    Kokkos::fill_random(input, pool, -1.0, 1.0);
    RowMatrix<double> moved("moved", layout.recv_rows(), 33), back("back", layout.send_rows(), 33);
    exchange.all_to_all_v(ExecSpace(), input, layout, moved);
    exchange.all_to_all_v(ExecSpace(), moved, layout.reversed(), back);
    auto a = Kokkos::create_mirror_view_and_copy(HostSpace(), input);
    auto b = Kokkos::create_mirror_view_and_copy(HostSpace(), back);
    std::int64_t differ = 0;
    for (std::size_t i = 0; i < a.extent(0); ++i)
      for (std::size_t c = 0; c < a.extent(1); ++c) differ += a(i, c) != b(i, c);
    EXPECT_EQ(differ, 0);
  }
}

TEST_P(TokenExchangeTest, ConstSendViewIsAccepted) {
  TokenExchange exchange(comm, GetParam());
  const auto layout = layout_of(random_counts(comm.size(), 5, 4), comm.rank());
  auto send = make_send(layout, comm.rank(), 3);
  RowMatrix<const float> const_send = send;
  RowMatrix<float> recv("recv", layout.recv_rows(), 3);
  exchange.all_to_all_v(ExecSpace(), const_send, layout, recv);
  expect_received(recv, layout, comm.rank());
}

TEST_P(TokenExchangeTest, TooSmallReceiveViewIsRejectedBeforeAnyCommunication) {
  TokenExchange exchange(comm, GetParam());
  auto counts = CountTable(comm.size(), std::vector<std::int64_t>(comm.size(), 1));
  const auto layout = layout_of(counts, comm.rank());
  RowMatrix<float> send("send", layout.send_rows(), 2), recv("recv", layout.recv_rows() - 1, 2);
  EXPECT_THROW(exchange.all_to_all_v(ExecSpace(), send, layout, recv), Error);
}

TEST_P(TokenExchangeTest, ExchangesSharingOneNcclCommunicatorInterleaveCorrectly) {
  // Two layers' exchanges on the communicator a driver shares (comm::share_nccl): one NCCL
  // communicator for both, and their interleaved calls still deliver every row.
  const SharedNccl shared = share_nccl(GetParam(), comm, nullptr);
  TokenExchange first(comm, GetParam(), shared.group), second(comm, GetParam(), shared.group);
  EXPECT_EQ(first.nccl(), shared.group.get());
  EXPECT_EQ(second.nccl(), first.nccl());
  if (GetParam() == Backend::nccl) EXPECT_NE(first.nccl(), nullptr);
  for (std::uint64_t seed = 30; seed < 36; ++seed) {
    TokenExchange& exchange = seed % 2 ? first : second;
    const auto layout = layout_of(random_counts(comm.size(), seed, 6), comm.rank());
    auto send = make_send(layout, comm.rank(), 5);
    RowMatrix<float> recv("recv", layout.recv_rows(), 5);
    exchange.all_to_all_v(ExecSpace(), send, layout, recv);
    expect_received(recv, layout, comm.rank());
  }
}

TEST_P(TokenExchangeTest, SharedNcclCommunicatorOverOtherRanksIsRejected) {
  if (GetParam() != Backend::nccl || comm.size() < 2) GTEST_SKIP() << "needs NCCL at >= 2 ranks";
  // Each half of the ranks builds its own NCCL communicator; offering it for the whole
  // communicator must fail on every rank (before any exchange), not hang.
  const Communicator half = comm.split(comm.rank() < comm.size() / 2 ? 0 : 1, comm.rank());
  const SharedNccl wrong = share_nccl(Backend::nccl, half, nullptr);
  EXPECT_THROW(TokenExchange(comm, Backend::nccl, wrong.group), Error);
}

INSTANTIATE_TEST_SUITE_P(Backends, TokenExchangeTest, ::testing::Values(Backend::mpi, Backend::nccl),
                         [](const auto& info) { return to_string(info.param); });

TEST(ExchangeLayout, OffsetsArePrefixSumsAndReverseSwapsSides) {
  const auto layout = ExchangeLayout::from_counts({3, 0, 2}, {1, 4, 0});
  EXPECT_EQ(layout.send_offsets, (std::vector<std::int64_t>{0, 3, 3}));
  EXPECT_EQ(layout.recv_offsets, (std::vector<std::int64_t>{0, 1, 5}));
  EXPECT_EQ(layout.send_rows(), 5);
  EXPECT_EQ(layout.recv_rows(), 5);
  const auto back = layout.reversed();
  EXPECT_EQ(back.send_counts, layout.recv_counts);
  EXPECT_EQ(back.recv_offsets, layout.send_offsets);
}

TEST(ExchangeLayout, NegativeOrMismatchedCountsAreErrors) {
  EXPECT_THROW(ExchangeLayout::from_counts({1, -1}, {0, 0}), Error);
  EXPECT_THROW(ExchangeLayout::from_counts({1, 1}, {0}), Error);
}

}  // namespace
}  // namespace micromoe::comm
