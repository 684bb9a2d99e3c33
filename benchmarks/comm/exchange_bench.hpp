// SPDX-License-Identifier: BSD-3-Clause
// What the parts of bench_exchange share (bench_exchange.cpp says what it measures): options,
// the ranks' environment, buffers, timing, and the floor, the backend's own all-to-all.
#pragma once

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "../gpu/timing.hpp"
#include "comm/backend.hpp"
#include "comm/communicator.hpp"
#include "comm/token_exchange.hpp"
#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "core/kokkos_types.hpp"

namespace micromoe::bench {

constexpr int kInputErrorExit = 2;
constexpr int kHidden = 2048;  ///< row width of the exchange section (floats)
constexpr std::size_t kRowBytes = kHidden * sizeof(float);
constexpr std::size_t kKiB = 1024, kMiB = 1024 * 1024;

/// NCCL needs a build with it and device data on a CUDA execution space.
#if MICROMOE_ENABLE_NCCL && defined(KOKKOS_ENABLE_CUDA)
inline constexpr bool kNcclUsable = std::is_same_v<ExecSpace, Kokkos::Cuda>;
#else
inline constexpr bool kNcclUsable = false;
#endif
/// The mpi floor runs on host copies when the exchange's buffers are not host memory.
inline constexpr bool kMpiRawOnHostCopies = !host_accessible_v<MemSpace>;

using Words = Kokkos::View<float*, MemSpace>;
using HostWords = Kokkos::View<float*, HostSpace>;
using Rows = Kokkos::View<float**, TokenLayout, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
using Policy = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;

struct Options {
  comm::Backend backend = kNcclUsable ? comm::Backend::nccl : comm::Backend::mpi;
  bool quick = false;
  int repeats = 0;  ///< 0: 11, or 3 with --quick
  std::string csv;
  std::set<std::string> sections = {"raw", "exchange", "layer", "step"};
};

/// What every rank shares: the world, its token exchange, the execution space, the repeats.
struct Env {
  const comm::Communicator& world;
  comm::TokenExchange& exchange;
  comm::Backend backend;
  ExecSpace exec;
  int rank = 0, ranks = 1, repeats = 11;
  bool root() const { return rank == 0; }
};

/// The exchange's buffers (device memory in a CUDA build) and, for the mpi floor of a CUDA build,
/// host copies of them.
struct Buffers {
  Words send, recv;
  HostWords host_send, host_recv;
  Buffers(std::size_t words, comm::Backend backend)
      : send("bench_exchange::send", words), recv("bench_exchange::recv", words) {
    if (backend == comm::Backend::mpi && kMpiRawOnHostCopies) {
      host_send = HostWords("bench_exchange::host_send", words);
      host_recv = HostWords("bench_exchange::host_recv", words);
    }
  }
  std::size_t words() const { return send.extent(0); }
};

struct Measured {
  double seconds = 0.0;
  std::int64_t wrong = 0;  ///< words received wrong, summed over ranks
};

// ---- Timing ---------------------------------------------------------------------------------------

double median(std::vector<double> v);

/// Median over env.repeats of the slowest rank's time of op() to completion (after 2 warm-ups).
template <class Op>
double timed(const Env& env, Op&& op) {
  for (int w = 0; w < 2; ++w) {
    op();
    compat::fence(env.exec, "bench_exchange::warm_up");
  }
  std::vector<double> t;
  for (int r = 0; r < env.repeats; ++r) {
    compat::fence(env.exec, "bench_exchange::before");
    MICROMOE_CHECK_MPI(MPI_Barrier(env.world.get()));
    Kokkos::Timer timer;
    op();
    compat::fence(env.exec, "bench_exchange::after");
    const double mine = timer.seconds();
    double slowest = 0.0;
    MICROMOE_CHECK_MPI(MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, env.world.get()));
    t.push_back(slowest);
  }
  return median(t);
}

std::int64_t sum_over_ranks(const Env& env, std::int64_t mine);
/// "1 MiB", "64 KiB", "0.50 MiB".
std::string size_label(std::size_t bytes);
/// GB/s of (G - 1) blocks of `bytes` in `seconds`: what one rank sends to the others.
double sent_rate(const Env& env, double bytes_per_peer, double seconds);

// ---- The floor and the sections -----------------------------------------------------------------

/// The backend's all-to-all of `bytes` per peer (a multiple of 4), self excluded.
Measured measure_raw(const Env& env, const Buffers& buf, std::size_t bytes);
/// TokenExchange::all_to_all_v of `bytes` per peer (rows of kHidden floats), self included.
Measured measure_exchange(const Env& env, const Buffers& buf, std::size_t bytes);

/// Sections raw and exchange at every size; rows in section order. Return words received wrong.
std::int64_t measure_sizes(const Env& env, const Options& o, Results* out);
/// Section layer: the layer's dispatch + combine against raw at its per-peer size.
std::int64_t measure_layer(const Env& env, const Options& o, Results* out);
/// Section step: the layer's whole training step at G ranks against the same per-rank work on
/// one rank plus four raw all-to-alls of its bytes.
std::int64_t measure_step(const Env& env, const Options& o, Results* out);

}  // namespace micromoe::bench
