// SPDX-License-Identifier: BSD-3-Clause
// micromoe: the batch executable. A thin driver: MPI and Kokkos guards, the command line,
// and error handling that ends every rank together with a non-zero exit and no hang:
//   * deck and command-line problems are found by every rank alike (each parses the same
//     input) and reported once, by rank 0, with exit code 2;
//   * a failure during the run (a rank that throws mid-collective) aborts the whole job.
#include <mpi.h>

#include <CLI/CLI.hpp>
#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "core/build_info.hpp"
#include "core/device_select.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "emulate/emulate.hpp"
#include "schedule/command.hpp"
#include "train/run_job.hpp"

namespace {

/// MPI for the lifetime of main (finalised even when an exception unwinds).
struct MpiGuard {
  MpiGuard(int& argc, char**& argv) { MPI_Init(&argc, &argv); }
  ~MpiGuard() { MPI_Finalize(); }
  MpiGuard(const MpiGuard&) = delete;
  MpiGuard& operator=(const MpiGuard&) = delete;
};

constexpr int kInputErrorExit = 2;

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/// Every rank reads and checks the deck; the lowest rank that failed reports, all agree.
/// Returns true (and the resolved deck) when every rank accepted it.
bool read_deck_everywhere(const std::string& path, const std::vector<std::string>& overrides, int ranks,
                          micromoe::deck::RunConfig& resolved) {
  std::string problem;
  try {
    resolved = micromoe::deck::resolve_layout(micromoe::deck::parse_deck(path, overrides), ranks);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  const int mine = problem.empty() ? world_size() : world_rank();
  int first_failed = 0;
  MPI_Allreduce(&mine, &first_failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first_failed == world_size()) return true;
  if (world_rank() == first_failed) std::cerr << "micromoe: error: " << problem << std::endl;
  return false;
}

std::string join_arguments(int argc, char** argv) {
  std::ostringstream os;
  for (int i = 0; i < argc; ++i) os << (i ? " " : "") << argv[i];
  return os.str();
}

}  // namespace

int main(int argc, char** argv) {
  MpiGuard mpi(argc, argv);
  // Unset, OpenMP's thread binding is implementation-defined and Kokkos warns on every rank;
  // say "false" (what unset means in practice). Set it (e.g. spread) to bind threads.
  setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
  // One GPU per rank on multi-GPU nodes: the rank's index on its node picks it (unless the user
  // or the launcher already chose; see core/device_select.hpp).
  micromoe::RankKokkosArgs kokkos_args(argc, argv, MPI_COMM_WORLD);
  Kokkos::ScopeGuard kokkos(kokkos_args.argc(), kokkos_args.argv());
  argc = kokkos_args.argc();
  argv = kokkos_args.argv();
  const bool root = world_rank() == 0;
  const std::string command_line = join_arguments(argc, argv);

  CLI::App app{
      "MicroMoE: fine-grained load balancing for distributed Mixture-of-Experts layers.\n"
      "Run under mpiexec with one rank per GPU (or CPU socket)."};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the build: MicroMoE, git revision, Kokkos, MPI, NCCL");

  std::string deck;
  std::vector<std::string> overrides;
  auto* run = app.add_subcommand("run", "Train every strategy of a deck side by side and write an HDF5 report");
  run->add_option("deck", deck, "Input deck (TOML); see docs/deck.md")->required()->check(CLI::ExistingFile);
  run->add_option("overrides", overrides, "section.key=value overrides, checked like deck keys");

  int check_ranks = 0;
  auto* check = app.add_subcommand("check", "Validate a deck and print the effective deck (defaults filled in)");
  check->add_option("deck", deck, "Input deck (TOML)")->required()->check(CLI::ExistingFile);
  check->add_option("overrides", overrides, "section.key=value overrides");
  check->add_option("--ranks", check_ranks, "Check the layout for this many ranks (default: this job's)")
      ->check(CLI::PositiveNumber);

  int emulate_ranks = 0;
  auto* emulate = app.add_subcommand(
      "emulate", "Time the expert work of N emulated ranks on this one device, per strategy (docs/emulate.md)");
  emulate->add_option("deck", deck, "Input deck (TOML)")->required()->check(CLI::ExistingFile);
  emulate->add_option("overrides", overrides, "section.key=value overrides");
  emulate->add_option("--ranks", emulate_ranks, "Ranks (GPUs) to emulate")->required();

  micromoe::schedule::ScheduleCommandOptions schedule_options;
  auto* schedule =
      app.add_subcommand("schedule", "Solve the MicroEP schedule of a placement and routing counts (JSON)");
  schedule->add_option("--input", schedule_options.input_path, "JSON input (docs/schedule.md); - for stdin")
      ->required();
  schedule->add_flag("--placement-only", schedule_options.placement_only, "Only build and measure the placement");
  schedule->add_option("--format", schedule_options.format, "Output format")->check(CLI::IsMember({"json", "table"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line, so every rank exits with the same code.
    if (root) return app.exit(e);
    return e.get_exit_code() == 0 ? 0 : kInputErrorExit;
  }

  if (version) {
    if (root) std::cout << micromoe::build_info_text();
    return 0;
  }
  if (*schedule) {
    // A serial command: rank 0 computes, every rank returns its exit code.
    int code = root ? micromoe::schedule::run_schedule_command(schedule_options, std::cout, std::cerr) : 0;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return code;
  }
  if (*check) {
    micromoe::deck::RunConfig resolved;
    if (!read_deck_everywhere(deck, overrides, check_ranks > 0 ? check_ranks : world_size(), resolved))
      return kInputErrorExit;
    if (root) std::cout << micromoe::deck::render_deck(resolved, true);
    return 0;
  }
  if (*emulate) {
    // One process emulates every rank: several MPI processes would only time each other.
    if (world_size() > 1) {
      if (root)
        std::cerr << "micromoe: error: emulate runs in one process (it emulates --ranks ranks on one device), not "
                  << world_size() << "; fix: run it without mpiexec, or with -n 1" << std::endl;
      return kInputErrorExit;
    }
    if (emulate_ranks < 1) {
      std::cerr << "micromoe: error: --ranks " << emulate_ranks
                << ": the number of emulated ranks must be positive; fix: e.g. --ranks 8" << std::endl;
      return kInputErrorExit;
    }
    micromoe::deck::RunConfig resolved;
    if (!read_deck_everywhere(deck, overrides, emulate_ranks, resolved)) return kInputErrorExit;
    try {
      micromoe::emulate::run_emulation(resolved, emulate_ranks, command_line, std::cout);
    } catch (const micromoe::InputError& e) {
      std::cerr << "micromoe: error: " << e.what() << std::endl;
      return kInputErrorExit;
    } catch (const std::exception& e) {
      std::cerr << "micromoe: error: " << e.what() << std::endl;
      return 1;
    }
    return 0;
  }
  if (*run) {
    micromoe::deck::RunConfig resolved;
    if (!read_deck_everywhere(deck, overrides, world_size(), resolved)) return kInputErrorExit;
    try {
      const micromoe::comm::Communicator world(MPI_COMM_WORLD);
      micromoe::train::run_job(resolved, command_line, world, std::cout);
    } catch (const micromoe::InputError& e) {
      // Raised identically on every rank (sizes the layers reject, a bad trace file).
      if (root) std::cerr << "micromoe: error: " << e.what() << std::endl;
      return kInputErrorExit;
    } catch (const std::exception& e) {
      std::cerr << "micromoe: error on rank " << world_rank() << ": " << e.what() << std::endl;
      MPI_Abort(MPI_COMM_WORLD, 1);  // other ranks may be inside a collective: end them all
    }
    return 0;
  }
  if (root) std::cout << app.help();
  return 0;
}
