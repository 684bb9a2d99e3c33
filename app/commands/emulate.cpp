// SPDX-License-Identifier: BSD-3-Clause
// `micromoe emulate DECK --ranks N [overrides]`: time the expert work of N emulated ranks on
// this one device, per strategy (emulate::run_emulation, docs/emulate.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "commands/command.hpp"
#include "commands/deck_input.hpp"
#include "commands/one_process.hpp"
#include "core/error.hpp"
#include "emulate/emulate.hpp"

namespace micromoe::commands {

namespace {

class EmulateCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand(
        "emulate", "Time the expert work of N emulated ranks on this one device, per strategy (docs/emulate.md)");
    sub_->add_option("deck", deck_.path, "Input deck (TOML)")->required()->check(CLI::ExistingFile);
    sub_->add_option("overrides", deck_.overrides, "section.key=value overrides");
    sub_->add_option("--ranks", ranks_, "Ranks (GPUs) to emulate")->required();
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    // One process emulates every rank: several MPI processes would only time each other.
    require_one_process(job, "emulate", "it emulates --ranks ranks on one device");
    if (ranks_ < 1)
      throw InputError("--ranks " + std::to_string(ranks_) +
                       ": the number of emulated ranks must be positive; fix: e.g. --ranks 8");
    const auto resolved = deck_.read(job.world, ranks_);
    return run_one_process([&] { emulate::run_emulation(resolved, ranks_, job.command_line, std::cout); });
  }

 private:
  CLI::App* sub_ = nullptr;
  DeckInput deck_;
  int ranks_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_emulate_command() { return std::make_unique<EmulateCommand>(); }

}  // namespace micromoe::commands
