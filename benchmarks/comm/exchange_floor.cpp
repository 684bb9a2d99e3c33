// SPDX-License-Identifier: BSD-3-Clause
// bench_exchange's timing, patterns and floor (the backend's own all-to-all, self excluded).
#include <algorithm>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "comm/byte_block_type.hpp"
#include "comm/exchange_layout.hpp"
#include "comm/nccl_communicator.hpp"
#include "core/gpu_error.hpp"
#include "exchange_bench.hpp"

namespace micromoe::bench {

namespace {

// ---- Patterns: every received block is checked --------------------------------------------------

/// Word w of the block rank src sends to rank dst: unique per (src, dst), exact in fp32.
KOKKOS_INLINE_FUNCTION float pattern(std::int64_t src, std::int64_t dst, std::int64_t ranks, std::int64_t w) {
  return static_cast<float>((src * ranks + dst) * 1024 + w % 1024);
}

/// send[0, ranks * words): the block for rank dst is words [dst * words, +words).
void fill_pattern(const ExecSpace& exec, const Words& send, int me, int ranks, std::int64_t words) {
  const std::int64_t n = static_cast<std::int64_t>(ranks) * words;
  const std::int64_t src = me, g = ranks;
  Kokkos::parallel_for(
      "bench_exchange::fill", Policy(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t k) { send(k) = pattern(src, k / words, g, k % words); });
}

/// Words of recv[0, ranks * words) that do not hold their sender's pattern (the block from this
/// rank itself skipped when `skip_self`).
std::int64_t count_wrong(const ExecSpace& exec, const Words& recv, int me, int ranks, std::int64_t words,
                         bool skip_self) {
  const std::int64_t n = static_cast<std::int64_t>(ranks) * words;
  const std::int64_t dst = me, g = ranks;
  std::int64_t wrong = 0;
  Kokkos::parallel_reduce(
      "bench_exchange::check", Policy(exec, 0, n),
      KOKKOS_LAMBDA(const std::int64_t k, std::int64_t& bad) {
        const std::int64_t src = k / words;
        if (skip_self && src == dst) return;
        if (recv(k) != pattern(src, dst, g, k % words)) ++bad;
      },
      wrong);
  return wrong;
}

}  // namespace

// ---- Timing ---------------------------------------------------------------------------------------

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::int64_t sum_over_ranks(const Env& env, std::int64_t mine) {
  std::int64_t all = 0;
  MICROMOE_CHECK_MPI(MPI_Allreduce(&mine, &all, 1, MPI_INT64_T, MPI_SUM, env.world.get()));
  return all;
}

std::string size_label(std::size_t bytes) {
  std::ostringstream s;
  if (bytes % kMiB == 0)
    s << bytes / kMiB << " MiB";
  else if (bytes % kKiB == 0)
    s << bytes / kKiB << " KiB";
  else
    s << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / kMiB << " MiB";
  return s.str();
}

// ---- The floor: the backend's own all-to-all, self excluded -----------------------------------

#if MICROMOE_ENABLE_NCCL
namespace {
/// One grouped NCCL all-to-all of `bytes` per peer, self excluded, on the execution space's stream.
void nccl_all_to_all(const ExecSpace& exec, ncclComm_t comm, const char* send, char* recv, std::size_t bytes, int me,
                     int ranks) {
  const cudaStream_t stream = exec.cuda_stream();
  MICROMOE_CHECK_NCCL(ncclGroupStart());
  for (int peer = 0; peer < ranks; ++peer) {
    if (peer == me) continue;
    const std::size_t at = static_cast<std::size_t>(peer) * bytes;
    MICROMOE_CHECK_NCCL(ncclSend(send + at, bytes, ncclChar, peer, comm, stream));
    MICROMOE_CHECK_NCCL(ncclRecv(recv + at, bytes, ncclChar, peer, comm, stream));
  }
  MICROMOE_CHECK_NCCL(ncclGroupEnd());
}
}  // namespace
#endif

/// The backend's all-to-all of `bytes` per peer (a multiple of 4), self excluded.
Measured measure_raw(const Env& env, const Buffers& buf, std::size_t bytes) {
  const std::int64_t words = static_cast<std::int64_t>(bytes / sizeof(float));
  const std::size_t n = static_cast<std::size_t>(env.ranks) * static_cast<std::size_t>(words);
  MICROMOE_REQUIRE(bytes % sizeof(float) == 0 && n <= buf.words(), "bench_exchange: raw buffers too small");
  const auto used = std::make_pair(std::size_t{0}, n);
  fill_pattern(env.exec, buf.send, env.rank, env.ranks, words);
  Kokkos::deep_copy(Kokkos::subview(buf.recv, used), -1.0f);
  const bool host_copies = env.backend == comm::Backend::mpi && kMpiRawOnHostCopies;
  if (host_copies) {
    Kokkos::deep_copy(Kokkos::subview(buf.host_send, used), Kokkos::subview(buf.send, used));
    Kokkos::deep_copy(Kokkos::subview(buf.host_recv, used), -1.0f);
  }
  compat::fence(env.exec, "bench_exchange::raw_ready");
  Measured m;
  if (env.backend == comm::Backend::nccl) {
#if MICROMOE_ENABLE_NCCL
    const ncclComm_t comm = env.exchange.nccl()->get();
    const auto* send = reinterpret_cast<const char*>(buf.send.data());
    auto* recv = reinterpret_cast<char*>(buf.recv.data());
    m.seconds = timed(env, [&] { nccl_all_to_all(env.exec, comm, send, recv, bytes, env.rank, env.ranks); });
#else
    throw Error("bench_exchange: nccl backend in a build without NCCL");
#endif
  } else {
    const comm::ByteBlockType block(bytes, "bench_exchange: block");
    std::vector<int> counts(static_cast<std::size_t>(env.ranks), 1), displs(static_cast<std::size_t>(env.ranks));
    counts[static_cast<std::size_t>(env.rank)] = 0;  // self excluded
    std::iota(displs.begin(), displs.end(), 0);      // in blocks of `bytes`
    const void* send = host_copies ? static_cast<const void*>(buf.host_send.data()) : buf.send.data();
    void* recv = host_copies ? static_cast<void*>(buf.host_recv.data()) : buf.recv.data();
    m.seconds = timed(env, [&] {
      MICROMOE_CHECK_MPI(MPI_Alltoallv(send, counts.data(), displs.data(), block.get(), recv, counts.data(),
                                       displs.data(), block.get(), env.world.get()));
    });
    if (host_copies) Kokkos::deep_copy(Kokkos::subview(buf.recv, used), Kokkos::subview(buf.host_recv, used));
  }
  m.wrong = sum_over_ranks(env, count_wrong(env.exec, buf.recv, env.rank, env.ranks, words, /*skip_self=*/true));
  return m;
}

/// TokenExchange::all_to_all_v of `bytes` per peer (rows of kHidden floats), self included.
Measured measure_exchange(const Env& env, const Buffers& buf, std::size_t bytes) {
  const std::int64_t rows = static_cast<std::int64_t>(bytes / kRowBytes);
  const std::int64_t words = rows * kHidden;
  const std::size_t n = static_cast<std::size_t>(env.ranks) * static_cast<std::size_t>(words);
  MICROMOE_REQUIRE(bytes % kRowBytes == 0 && n <= buf.words(), "bench_exchange: exchange buffers too small");
  fill_pattern(env.exec, buf.send, env.rank, env.ranks, words);
  Kokkos::deep_copy(Kokkos::subview(buf.recv, std::make_pair(std::size_t{0}, n)), -1.0f);
  compat::fence(env.exec, "bench_exchange::exchange_ready");
  const std::vector<std::int64_t> counts(static_cast<std::size_t>(env.ranks), rows);
  const comm::ExchangeLayout layout = comm::ExchangeLayout::from_counts(counts, counts);
  const Rows send(buf.send.data(), static_cast<std::size_t>(env.ranks * rows), kHidden);
  const Rows recv(buf.recv.data(), static_cast<std::size_t>(env.ranks * rows), kHidden);
  Measured m;
  m.seconds = timed(env, [&] { env.exchange.all_to_all_v(env.exec, send, layout, recv); });
  m.wrong = sum_over_ranks(env, count_wrong(env.exec, buf.recv, env.rank, env.ranks, words, /*skip_self=*/false));
  return m;
}

/// GB/s of (G - 1) blocks of `bytes` in `seconds`: what one rank sends to the others.
double sent_rate(const Env& env, double bytes_per_peer, double seconds) {
  return (env.ranks - 1) * bytes_per_peer / seconds / 1e9;
}

}  // namespace micromoe::bench
