// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule --input FILE.json [--placement-only] [--format json|table]`: the exact
// MicroEP plan and routes of a placement and routing counts (schedule_json.hpp, docs/schedule.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <string>

#include "comm/verdict.hpp"
#include "commands/command.hpp"
#include "commands/schedule_json.hpp"
#include "core/error_line.hpp"

namespace micromoe::commands {

namespace {

class ScheduleCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand("schedule", "Solve the MicroEP schedule of a placement and routing counts (JSON)");
    sub_->add_option("--input", options_.input_path, "JSON input (docs/schedule.md); - for stdin")->required();
    sub_->add_flag("--placement-only", options_.placement_only, "Only build and measure the placement");
    sub_->add_option("--format", options_.format, "Output format")->check(CLI::IsMember({"json", "table"}));
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    // A serial command: rank 0 computes, every rank returns its exit code.
    // Its messages may echo the input back: each becomes one bounded line.
    return comm::agree_on_root_exit_code(job.world, [&] {
      std::ostringstream errors;
      const int code = run_schedule_command(options_, std::cout, errors);
      std::istringstream lines(errors.str());
      for (std::string line; std::getline(lines, line);) std::cerr << error_line(line) << '\n';
      std::cerr << std::flush;
      return code;
    });
  }

 private:
  CLI::App* sub_ = nullptr;
  ScheduleCommandOptions options_;
};

}  // namespace

std::unique_ptr<Command> make_schedule_command() { return std::make_unique<ScheduleCommand>(); }

}  // namespace micromoe::commands
