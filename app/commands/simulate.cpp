// SPDX-License-Identifier: BSD-3-Clause
// `micromoe simulate DECK --gpus N [overrides]`: every strategy's step time predicted for N GPUs
// from a calibration and the deck's [cluster] topology, in one process (simulate::run_simulation,
// docs/simulate.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "commands/command.hpp"
#include "commands/deck_input.hpp"
#include "commands/one_process.hpp"
#include "core/error.hpp"
#include "simulate/simulate.hpp"

namespace micromoe::commands {

namespace {

class SimulateCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand("simulate",
                              "Predict every strategy's step time on N GPUs from a calibration (docs/simulate.md)");
    sub_->add_option("deck", deck_.path, "Input deck (TOML)")->required()->check(CLI::ExistingFile);
    sub_->add_option("overrides", deck_.overrides, "section.key=value overrides");
    sub_->add_option("--gpus", ranks_, "GPUs (ranks) of the simulated cluster")->required();
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    require_one_process(job, "simulate", "it simulates every GPU's routing itself");
    if (ranks_ < 1)
      throw InputError("--gpus " + std::to_string(ranks_) +
                       ": the number of GPUs must be positive; fix: e.g. --gpus 64");
    const auto resolved = deck_.read(job.world, ranks_);
    return run_one_process([&] { simulate::run_simulation(resolved, ranks_, job.command_line, std::cout); });
  }

 private:
  CLI::App* sub_ = nullptr;
  DeckInput deck_;
  int ranks_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_simulate_command() { return std::make_unique<SimulateCommand>(); }

}  // namespace micromoe::commands
