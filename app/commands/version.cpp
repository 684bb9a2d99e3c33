// SPDX-License-Identifier: BSD-3-Clause
// `micromoe --version`: the build (MicroMoE, git revision, Kokkos, MPI, NCCL), printed by rank 0.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands/command.hpp"
#include "core/build_info.hpp"

namespace micromoe::commands {

namespace {

class VersionCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    cli.add_flag("--version", chosen_, "Print the build: MicroMoE, git revision, Kokkos, MPI, NCCL");
  }

  bool chosen() const override { return chosen_; }

  int run(const Invocation& job) override {
    if (job.root()) std::cout << build_info_text();
    return 0;
  }

 private:
  bool chosen_ = false;
};

}  // namespace

std::unique_ptr<Command> make_version_command() { return std::make_unique<VersionCommand>(); }

}  // namespace micromoe::commands
