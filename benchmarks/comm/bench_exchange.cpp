// SPDX-License-Identifier: BSD-3-Clause
// bench_exchange: the token exchange against the backend's own all-to-all, in one job of G ranks
// with one GPU per rank (mpiexec -n G bench_exchange; run/multi-gpu.sh runs it):
//   raw       the backend's all-to-all of B bytes per pair of ranks, the rank's own block
//             EXCLUDED: the floor.
//               nccl: ncclGroupStart; ncclSend + ncclRecv of B bytes to / from every other rank;
//                     ncclGroupEnd; on the Kokkos execution space's CUDA stream, with the NCCL
//                     communicator of the TokenExchange measured next (TokenExchange::nccl()).
//               mpi:  MPI_Alltoallv of one B-byte block to every other rank (count 0 to itself)
//                     on host memory: the same buffers in a CPU build; host copies of them in a
//                     CUDA build (the MPI floor then needs no CUDA-aware MPI, and the exchange's
//                     host staging is part of what is measured against it).
//   exchange  comm::TokenExchange::all_to_all_v of the same B bytes per peer: rows of H = 2048
//             floats, a uniform ExchangeLayout (B / 8 KiB rows to every rank), the rank's own
//             block included as the layer's is (it is moved but not counted), against raw at B.
//   layer     moe::MoELayer's dispatch + combine phases (its own PhaseTimers; each phase ends with
//             a fence) at balanced routing: EP over G ranks, E = 8 G experts, top-2, T = 4096
//             tokens per rank, H = 2048, F = 1024, fp32. Bytes: last_stats().bytes_sent (dispatch
//             + combine bytes to other ranks). Against raw at the layer's own per-peer size
//             B = bytes_sent / (2 (G - 1)): each of the two exchanges sends B to every other rank,
//             so a layer whose phases cost exactly two raw all-to-alls reaches 100 %. Needs G >= 2.
// Rates count only bytes to other ranks: "(G-1)B/t sent per rank" = (G - 1) B / t in GB/s
// (1 GB = 1e9 bytes). That is nccl-tests' alltoall busbw (its algbw counts all G blocks, G B / t,
// and busbw = algbw (G - 1) / G); nccl-tests' time includes the self block, raw's here does not.
// Timing: two warm-up calls, then per repeat: fence, MPI_Barrier, time the operation and a fence
// of the execution space, take the maximum over ranks (MPI_Allreduce MAX); report the median over
// the repeats (11; --quick: 3). Every measured exchange is also checked: each received block must
// hold the sender's pattern (a wrong byte fails the run with exit code 1).
// Usage: bench_exchange [--backend mpi|nccl] [--quick] [--repeats N] [--csv FILE]
//                       [--sections raw,exchange,layer]
//   --backend  default: nccl in builds with NCCL whose execution space is CUDA, else mpi
//   --quick    64 KiB and 1 MiB per peer, a small layer (T = 256, H = F = 256), 3 repeats (ctest)
//   --csv      rank 0 writes section,name,value,unit,ratio (the format of bench_gpu)
// Sizes per peer: 1, 4, 16, 64, 256 MiB. Bad arguments: a message from rank 0 and exit code 2 on
// every rank.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../gpu/timing.hpp"
#include "comm/backend.hpp"
#include "comm/byte_block_type.hpp"
#include "comm/communicator.hpp"
#include "comm/exchange_layout.hpp"
#include "comm/nccl_communicator.hpp"
#include "comm/token_exchange.hpp"
#include "core/build_config.hpp"
#include "core/build_info.hpp"
#include "core/device_select.hpp"
#include "core/error.hpp"
#include "core/gpu_error.hpp"
#include "core/kokkos_compat.hpp"
#include "core/kokkos_types.hpp"
#include "moe/kernels.hpp"
#include "moe/layer.hpp"

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
  std::set<std::string> sections = {"raw", "exchange", "layer"};
};

const char* const kUsage =
    "usage: bench_exchange [--backend mpi|nccl] [--quick] [--repeats N] [--csv FILE] "
    "[--sections raw,exchange,layer]";

/// What every rank shares: the world, its token exchange, the execution space, the repeats.
struct Env {
  const comm::Communicator& world;
  comm::TokenExchange& exchange;
  comm::Backend backend;
  ExecSpace exec;
  int rank = 0, ranks = 1, repeats = 11;
  bool root() const { return rank == 0; }
};

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

// ---- Timing ---------------------------------------------------------------------------------------

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

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

#if MICROMOE_ENABLE_NCCL
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
#endif

struct Measured {
  double seconds = 0.0;
  std::int64_t wrong = 0;  ///< words received wrong, summed over ranks
};

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

// ---- The sections --------------------------------------------------------------------------------

/// raw and exchange at every size; rows in section order. Returns words received wrong.
std::int64_t measure_sizes(const Env& env, const Options& o, Results* out) {
  const std::vector<std::size_t> sizes =
      o.quick ? std::vector<std::size_t>{64 * kKiB, 1 * kMiB}
              : std::vector<std::size_t>{1 * kMiB, 4 * kMiB, 16 * kMiB, 64 * kMiB, 256 * kMiB};
  const bool exchange = o.sections.count("exchange") > 0;
  const std::string be = comm::to_string(env.backend);
  const Buffers buf(
      static_cast<std::size_t>(env.ranks) * (*std::max_element(sizes.begin(), sizes.end())) / sizeof(float),
      env.backend);
  std::vector<Row> raw_rows, exchange_rows;
  std::int64_t wrong = 0;
  for (const std::size_t b : sizes) {
    const std::string size = size_label(b) + "/peer";
    const Measured raw = measure_raw(env, buf, b);
    wrong += raw.wrong;
    if (raw.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: raw " << be << " all-to-all at " << size << ": " << raw.wrong
                << " words received wrong" << std::endl;
    const double raw_rate = env.ranks > 1 ? sent_rate(env, static_cast<double>(b), raw.seconds) : 0.0;
    raw_rows.push_back({"raw", be + " alltoall " + size + ", self excluded: time", raw.seconds * 1e3, "ms"});
    if (env.ranks > 1)
      raw_rows.push_back({"raw", be + " alltoall " + size + ": (G-1)B/t sent per rank", raw_rate, "GB/s"});
    if (!exchange) continue;
    const Measured ex = measure_exchange(env, buf, b);
    wrong += ex.wrong;
    if (ex.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: TokenExchange at " << size << ": " << ex.wrong << " words received wrong"
                << std::endl;
    const std::string rows = std::to_string(b / kRowBytes) + " rows";
    exchange_rows.push_back(
        {"exchange", "TokenExchange " + size + ", " + rows + ", self included: time", ex.seconds * 1e3, "ms"});
    if (env.ranks > 1) {
      const double rate = sent_rate(env, static_cast<double>(b), ex.seconds);
      exchange_rows.push_back(
          {"exchange", "TokenExchange " + size + ": (G-1)B/t sent per rank", rate, "GB/s", rate / raw_rate});
    }
  }
  if (out != nullptr) {
    if (o.sections.count("raw"))
      for (Row& r : raw_rows) out->add(std::move(r));
    for (Row& r : exchange_rows) out->add(std::move(r));
  }
  return wrong;
}

/// The layer's dispatch + combine against raw at its per-peer size. Returns words received wrong.
std::int64_t measure_layer(const Env& env, const Options& o, Results* out) {
  if (env.ranks < 2) {
    if (env.root()) std::cout << "layer: skipped (one rank: no bytes to other ranks)" << std::endl;
    return 0;
  }
  moe::LayerConfig cfg;
  cfg.hidden = o.quick ? 256 : 2048;
  cfg.ffn = o.quick ? 256 : 1024;  // only the exchange phases are timed
  cfg.experts = 8 * env.ranks;
  cfg.top_k = 2;
  cfg.precision = moe::Precision::fp32;
  cfg.strategy.name = "balanced";  // EP placement, round-robin routing: every rank sends alike
  cfg.strategy.ep_size = env.ranks;
  cfg.backend = env.backend;
  const std::int64_t T = o.quick ? 256 : 4096;
  moe::MoELayer layer(cfg, env.world);
  moe::MoELayer::Matrix x("bench_exchange::x", T, cfg.hidden), dy("bench_exchange::dy", T, cfg.hidden);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(x.data(), x.span()), 11, 1, 1.0f);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(dy.data(), dy.span()), 11, 2, 1e-3f);
  compat::fence(env.exec, "bench_exchange::layer_inputs");

  // Per repeat, the slowest rank's dispatch, combine and dispatch + combine (forward; the
  // backward follows so that the next forward is allowed, untimed).
  std::vector<double> dispatch, combine, both;
  std::int64_t bytes = 0;
  for (int r = 0; r < 2 + env.repeats; ++r) {
    compat::fence(env.exec, "bench_exchange::layer_before");
    MICROMOE_CHECK_MPI(MPI_Barrier(env.world.get()));
    layer.reset_timers();
    { const auto y = layer.forward(env.exec, x); }
    const double mine[3] = {layer.timers().seconds(moe::Phase::dispatch), layer.timers().seconds(moe::Phase::combine),
                            layer.timers().seconds(moe::Phase::dispatch) + layer.timers().seconds(moe::Phase::combine)};
    bytes = layer.last_stats().bytes_sent;
    { const auto dx = layer.backward(env.exec, dy); }
    compat::fence(env.exec, "bench_exchange::layer_after");
    double slowest[3] = {0, 0, 0};
    MICROMOE_CHECK_MPI(MPI_Allreduce(mine, slowest, 3, MPI_DOUBLE, MPI_MAX, env.world.get()));
    if (r < 2) continue;  // warm-up
    dispatch.push_back(slowest[0]);
    combine.push_back(slowest[1]);
    both.push_back(slowest[2]);
  }
  std::int64_t min_bytes = 0, max_bytes = 0;
  MICROMOE_CHECK_MPI(MPI_Allreduce(&bytes, &min_bytes, 1, MPI_INT64_T, MPI_MIN, env.world.get()));
  MICROMOE_CHECK_MPI(MPI_Allreduce(&bytes, &max_bytes, 1, MPI_INT64_T, MPI_MAX, env.world.get()));
  const double mean_bytes = static_cast<double>(sum_over_ranks(env, bytes)) / env.ranks;
  const double t_dispatch = median(dispatch), t_combine = median(combine), t_both = median(both);

  // The floor: raw at the layer's per-peer size (two all-to-alls of B per peer), a multiple of 4.
  const std::size_t per_peer =
      static_cast<std::size_t>(mean_bytes / (2.0 * (env.ranks - 1))) / sizeof(float) * sizeof(float);
  std::int64_t wrong = 0;
  Measured raw;
  if (per_peer > 0) {
    const Buffers buf(static_cast<std::size_t>(env.ranks) * per_peer / sizeof(float), env.backend);
    raw = measure_raw(env, buf, per_peer);
    wrong = raw.wrong;
    if (raw.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: raw all-to-all at the layer's size: " << raw.wrong << " words received wrong"
                << std::endl;
  }
  if (out == nullptr) return wrong;
  // Row names: the layer's sizes (G is the run's: E = 8 G; F only sets the untimed expert work).
  std::ostringstream name;
  name << "T=" << T << " H=" << cfg.hidden << " E=" << cfg.experts << " k=2";
  const std::string n = name.str();
  std::cout << "layer: EP over " << env.ranks << " ranks, balanced routing, " << n << " F=" << cfg.ffn
            << " fp32, backend " << comm::to_string(env.backend) << std::endl;
  out->add({"layer", n + ": dispatch", t_dispatch * 1e3, "ms"});
  out->add({"layer", n + ": combine", t_combine * 1e3, "ms"});
  out->add({"layer", n + ": dispatch+combine bytes sent per rank", mean_bytes / kMiB, "MiB"});
  if (min_bytes != max_bytes) {  // uneven routing: the spread over ranks
    out->add({"layer", n + ": bytes sent, least of any rank", static_cast<double>(min_bytes) / kMiB, "MiB"});
    out->add({"layer", n + ": bytes sent, most of any rank", static_cast<double>(max_bytes) / kMiB, "MiB"});
  }
  const double rate = mean_bytes / t_both / 1e9;
  if (per_peer > 0) {
    const double raw_rate = sent_rate(env, static_cast<double>(per_peer), raw.seconds);
    const std::string be = comm::to_string(env.backend);
    const std::string raw_name = be + " alltoall " + size_label(per_peer) + "/peer (layer's size)";
    out->add({"layer", raw_name + ", self excluded: time", raw.seconds * 1e3, "ms"});
    out->add({"layer", raw_name + ": (G-1)B/t sent per rank", raw_rate, "GB/s"});
    out->add({"layer", n + ": dispatch+combine, bytes sent per rank / t", rate, "GB/s", rate / raw_rate});
  } else {
    out->add({"layer", n + ": dispatch+combine, bytes sent per rank / t", rate, "GB/s"});
  }
  return wrong;
}

// ---- Driver --------------------------------------------------------------------------------------

std::set<std::string> split(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.insert(item);
  return out;
}

/// Parses the command line (the same on every rank); throws InputError naming the problem.
Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw InputError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--backend") {
      const std::string b = value();
      if (b == "nccl" && !kNcclUsable)
        throw InputError(
            "--backend nccl: NCCL is not available in this build (it needs a CUDA build configured with "
            "-DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON; this one runs on Kokkos " +
            std::string(ExecSpace::name()) + (MICROMOE_ENABLE_NCCL ? " with NCCL" : " without NCCL") +
            "); use --backend mpi");
      o.backend = comm::parse_backend(b);  // InputError for anything but mpi / nccl
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--sections") {
      const std::string v = value();
      o.sections = split(v);
      if (o.sections.empty()) throw InputError("--sections '" + v + "' names no section");
      for (const std::string& s : o.sections)
        if (s != "raw" && s != "exchange" && s != "layer")
          throw InputError("--sections: unknown section '" + s + "' (valid: raw, exchange, layer)");
    } else if (a == "--repeats") {
      const std::string v = value();
      std::size_t used = 0;
      int n = 0;
      try {
        n = std::stoi(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || n < 1) throw InputError("--repeats '" + v + "': expected a positive integer");
      o.repeats = n;
    } else if (a.rfind("--kokkos", 0) == 0) {
      continue;  // Kokkos' own arguments (it has read them)
    } else {
      throw InputError("unknown argument '" + a + "'");
    }
  }
  if (o.repeats == 0) o.repeats = o.quick ? 3 : 11;
  return o;
}

/// "host: device" of this rank, for the header (one GPU per rank is the intended layout).
std::string device_of_this_rank() {
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MICROMOE_CHECK_MPI(MPI_Get_processor_name(host, &len));
  std::string d = std::string(host, static_cast<std::size_t>(len)) + ": ";
#if MICROMOE_ENABLE_CUDA
  int dev = -1;
  MICROMOE_CHECK_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  MICROMOE_CHECK_CUDA(cudaGetDeviceProperties(&prop, dev));
  char bus[32] = {};
  MICROMOE_CHECK_CUDA(cudaDeviceGetPCIBusId(bus, sizeof(bus), dev));
  d += std::string(prop.name) + " (CUDA device " + std::to_string(dev) + ", PCI " + bus + ")";
#else
  d += std::string("CPU, Kokkos ") + ExecSpace::name() + " with " + std::to_string(ExecSpace().concurrency()) +
       " thread(s)";
#endif
  return d;
}

/// Rank 0 prints the header: ranks, backend, every rank's device; warns when ranks share a GPU.
void print_header(const Env& env, const Options& o) {
  constexpr int kLen = 256;
  std::string mine = device_of_this_rank();
  mine.resize(kLen - 1, ' ');
  std::vector<char> all(env.root() ? static_cast<std::size_t>(kLen) * env.ranks : 1);
  MICROMOE_CHECK_MPI(MPI_Gather(mine.c_str(), kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, 0, env.world.get()));
  if (!env.root()) return;
  std::vector<std::string> devices;
  for (int r = 0; r < env.ranks; ++r) {
    std::string s(all.data() + static_cast<std::size_t>(r) * kLen);
    s.erase(s.find_last_not_of(' ') + 1);
    devices.push_back(s);
  }
  std::cout << build_info_text();
  std::cout << "bench_exchange: " << env.ranks << " rank(s), backend " << comm::to_string(env.backend) << ", device "
            << devices.front() << ", " << o.repeats << " repeats (median of the slowest rank)"
            << (o.quick ? ", quick" : "") << "\n";
  for (int r = 0; r < env.ranks; ++r)
    std::cout << "  rank " << r << ": " << devices[static_cast<std::size_t>(r)] << "\n";
  if (MICROMOE_ENABLE_CUDA)
    for (int a = 0; a < env.ranks; ++a)
      for (int b = a + 1; b < env.ranks; ++b)
        if (devices[static_cast<std::size_t>(a)] == devices[static_cast<std::size_t>(b)])
          std::cout << "bench_exchange: warning: ranks " << a << " and " << b
                    << " share one GPU: the figures are not one GPU per rank\n";
  std::cout << "Rates: (G-1)B/t = bytes one rank sends to the other ranks per second (GB = 1e9 B; = nccl-tests "
               "alltoall busbw); % = of the raw all-to-all at the same bytes per peer\n";
  std::cout << std::left << std::setw(14) << "section" << std::setw(58) << "name" << std::right << std::setw(12)
            << "value"
            << " " << std::left << std::setw(8) << "unit" << std::right << std::setw(9) << "of raw" << std::endl;
}

int run(int argc, char** argv) {
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const InputError& e) {
    // Every rank parses the same command line: every rank exits here, rank 0 says why.
    if (rank == 0) std::cerr << "bench_exchange: error: " << e.what() << "\n" << kUsage << std::endl;
    return kInputErrorExit;
  }
  // The CSV file must be writable before anything is measured.
  int csv_ok = 1;
  if (rank == 0 && !o.csv.empty()) csv_ok = std::ofstream(o.csv).good() ? 1 : 0;
  MPI_Bcast(&csv_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!csv_ok) {
    if (rank == 0) std::cerr << "bench_exchange: error: --csv " << o.csv << ": cannot write that file" << std::endl;
    return kInputErrorExit;
  }

  try {
    const comm::Communicator world(MPI_COMM_WORLD);
    comm::TokenExchange exchange(world, o.backend);  // the nccl backend builds its communicator here
    Env env{world, exchange, o.backend, ExecSpace(), world.rank(), world.size(), o.repeats};
    print_header(env, o);
    Results results;
    Results* out = env.root() ? &results : nullptr;
    std::int64_t wrong = 0;
    if (o.sections.count("raw") || o.sections.count("exchange")) wrong += measure_sizes(env, o, out);
    if (o.sections.count("layer")) wrong += measure_layer(env, o, out);
    if (out != nullptr && !o.csv.empty()) results.write_csv(o.csv);
    if (wrong > 0) {
      if (env.root())
        std::cerr << "bench_exchange: error: " << wrong << " words were received wrong (see above)" << std::endl;
      return 1;
    }
  } catch (const InputError& e) {
    // Raised alike on every rank (a layer size the layer rejects).
    if (rank == 0) std::cerr << "bench_exchange: error: " << e.what() << std::endl;
    return kInputErrorExit;
  } catch (const std::exception& e) {
    std::cerr << "bench_exchange: error on rank " << rank << ": " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);  // other ranks may be inside a collective: end them all
  }
  return 0;
}

}  // namespace micromoe::bench

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  // As the app does (app/main.cpp): OpenMP binding "false" unless set, and one GPU per rank: the
  // rank's index on its node picks it unless the user or the launcher already chose
  // (core/device_select.hpp).
  setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
  int rc = 0;
  {
    micromoe::RankKokkosArgs kokkos_args(argc, argv, MPI_COMM_WORLD);
    Kokkos::ScopeGuard kokkos(kokkos_args.argc(), kokkos_args.argv());
    rc = micromoe::bench::run(kokkos_args.argc(), kokkos_args.argv());
  }
  MPI_Finalize();
  return rc;
}
