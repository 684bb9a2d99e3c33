// SPDX-License-Identifier: BSD-3-Clause
// `micromoe run DECK [overrides] [--restart FILE]`: train every strategy of the deck side by side
// and write one HDF5 report (train::run_job), continuing from a checkpoint with --restart.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands/command.hpp"
#include "commands/deck_input.hpp"
#include "train/run_job.hpp"

namespace micromoe::commands {

namespace {

class RunCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand("run", "Train every strategy of a deck side by side and write an HDF5 report");
    sub_->add_option("deck", deck_.path, "Input deck (TOML); see docs/deck.md")->required()->check(CLI::ExistingFile);
    sub_->add_option("overrides", deck_.overrides, "section.key=value overrides, checked like deck keys");
    sub_->add_option("--restart", restart_,
                     "Continue from this checkpoint (run.checkpoint of an earlier run of the same deck and rank count; "
                     "see docs/restart.md)");
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    const auto resolved = deck_.read(job.world, job.world.size());
    // Input problems found later (sizes the layers reject, a bad trace file) are raised
    // identically on every rank; anything else may be one rank's own.
    train::run_job(resolved, job.command_line, job.world, std::cout, restart_);
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  DeckInput deck_;
  std::string restart_;
};

}  // namespace

std::unique_ptr<Command> make_run_command() { return std::make_unique<RunCommand>(); }

}  // namespace micromoe::commands
