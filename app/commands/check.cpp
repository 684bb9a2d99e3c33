// SPDX-License-Identifier: BSD-3-Clause
// `micromoe check DECK [overrides] [--ranks N]`: validate a deck (its sizes and its memory
// estimate included) and print the effective deck (every default filled in) and, as a comment,
// the memory a rank needs and has.
#include <CLI/CLI.hpp>
#include <iostream>
#include <limits>

#include "budget/memory_budget.hpp"
#include "commands/command.hpp"
#include "commands/deck_input.hpp"
#include "deck/deck.hpp"

namespace micromoe::commands {

namespace {

class CheckCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand(
        "check", "Validate a deck and print the effective deck (defaults filled in) and its memory per rank");
    sub_->add_option("deck", deck_.path, "Input deck (TOML)")->required()->check(CLI::ExistingFile);
    sub_->add_option("overrides", deck_.overrides, "section.key=value overrides");
    sub_->add_option("--ranks", ranks_, "Check the layout for this many ranks (default: this job's)")
        ->check(CLI::Range(1, std::numeric_limits<int>::max()));
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    const int ranks = ranks_ > 0 ? ranks_ : job.world.size();
    const auto resolved = deck_.read(job.world, ranks);
    // --ranks N other than this job's size describes another job: its machines are not this one.
    const bool this_job = ranks == job.world.size();
    const auto memory = budget::check_memory(resolved, ranks, job.world, this_job);
    if (job.root()) std::cout << deck::render_deck(resolved, true) << "\n# " << memory.line << "\n";
    return 0;
  }

 private:
  CLI::App* sub_ = nullptr;
  DeckInput deck_;
  int ranks_ = 0;
};

}  // namespace

std::unique_ptr<Command> make_check_command() { return std::make_unique<CheckCommand>(); }

}  // namespace micromoe::commands
