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
//   step      moe::MoELayer's whole training step (forward, backward, gradient sync, Adam) at G
//             ranks, GPT (H 2048, F 8192, E 32) and Mixtral (H 4096, F 14336 SwiGLU, E 8) layers,
//             T = 4096 tokens per rank, fp32 and bf16 (CUDA), against its floor: the same work
//             per rank on each rank alone (a one-rank layer with E / G experts) plus four raw
//             all-to-alls of the layer's bytes per peer (exchange_step.cpp says why).
// Rates count only bytes to other ranks: "(G-1)B/t sent per rank" = (G - 1) B / t in GB/s
// (1 GB = 1e9 bytes). That is nccl-tests' alltoall busbw (its algbw counts all G blocks, G B / t,
// and busbw = algbw (G - 1) / G); nccl-tests' time includes the self block, raw's here does not.
// Timing: two warm-up calls, then per repeat: fence, MPI_Barrier, time the operation and a fence
// of the execution space, take the maximum over ranks (MPI_Allreduce MAX); report the median over
// the repeats (11; --quick: 3). Every measured exchange is also checked: each received block must
// hold the sender's pattern (a wrong byte fails the run with exit code 1).
// Usage: bench_exchange [--backend mpi|nccl] [--quick] [--repeats N] [--csv FILE]
//                       [--sections raw,exchange,layer,step]
//   --backend  default: nccl in builds with NCCL whose execution space is CUDA, else mpi
//   --quick    64 KiB and 1 MiB per peer, small layers (T = 256, H = F = 256), 3 repeats (ctest)
//   --csv      rank 0 writes section,name,value,unit,ratio (the format of bench_gpu)
// Sizes per peer: 1, 4, 16, 64, 256 MiB. Bad arguments: a message from rank 0 and exit code 2 on
// every rank.
#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "comm/nccl_communicator.hpp"
#include "core/build_info.hpp"
#include "core/device_select.hpp"
#include "core/gpu_error.hpp"
#include "exchange_bench.hpp"

namespace micromoe::bench {

const char* const kUsage =
    "usage: bench_exchange [--backend mpi|nccl] [--quick] [--repeats N] [--csv FILE] "
    "[--sections raw,exchange,layer,step]";
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
        if (s != "raw" && s != "exchange" && s != "layer" && s != "step")
          throw InputError("--sections: unknown section '" + s + "' (valid: raw, exchange, layer, step)");
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
  std::cout << "bench_exchange: " << env.ranks << " rank(s), backend " << to_string(env.backend) << ", device "
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
    if (o.sections.count("step")) wrong += measure_step(env, o, out);
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
