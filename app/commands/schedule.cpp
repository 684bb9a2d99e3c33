// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule --input FILE.json [--placement-only] [--format json|table]`: the exact
// MicroEP plan and routes of a placement and routing counts (schedule_json.hpp), and
// `micromoe schedule --batch INPUT ...`: many micro-batches through every placement
// (schedule_batch.hpp). Pure host code: main runs it without MPI or Kokkos (docs/schedule.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <string>

#include "comm/verdict.hpp"
#include "commands/command.hpp"
#include "commands/schedule_batch.hpp"
#include "commands/schedule_json.hpp"
#include "core/error_line.hpp"

namespace micromoe::commands {

namespace {

class ScheduleCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand("schedule", "Solve the MicroEP schedule of a placement and routing counts (JSON)");
    auto* input = sub_->add_option("--input", options_.input_path, "JSON input (docs/schedule.md); - for stdin");
    auto* batch = sub_->add_option("--batch", batch_.input,
                                   "Batch mode: a trace CSV or JSON lines of micro-batch counts; - for stdin");
    input->excludes(batch);
    sub_->add_flag("--placement-only", options_.placement_only, "Only build and measure the placement")
        ->excludes(batch);
    sub_->add_option("--format", options_.format, "Output format")
        ->check(CLI::IsMember({"json", "table"}))
        ->excludes(batch);
    auto& l = batch_.layout;
    const auto batch_only = [&](CLI::Option* o) { o->needs(batch)->excludes(input); };
    batch_only(sub_->add_option("--placements", batch_.placements,
                                "Batch: placements to compare, from ep,symmetric,random,adaptive,eplb")
                   ->capture_default_str());
    batch_only(sub_->add_option("--gpus", l.gpus, "Batch: GPUs G of the MicroEP group (required)"));
    batch_only(sub_->add_option("--experts", l.experts, "Batch: experts E (a trace needs it; JSON lines give it)"));
    batch_only(sub_->add_option("--ep", l.ep_size, "Batch: EP size P (S = E / P slots per GPU; default gcd(G, E))"));
    batch_only(sub_->add_option("--gpus-per-node", l.gpus_per_node, "Batch: GPUs per node (default: one node)"));
    batch_only(sub_->add_option("--replace-interval", l.replace_interval,
                                "Batch: adaptive and eplb re-place every K iterations")
                   ->capture_default_str());
    batch_only(sub_->add_option("--eplb-extra-slots", l.eplb_extra_slots, "Batch: eplb's extra slots per GPU")
                   ->capture_default_str());
    batch_only(sub_->add_option("--seed", l.seed, "Batch: seed of the symmetric, random and adaptive placements"));
    batch_only(sub_->add_option("--out", batch_.out, "Batch: results to FILE.jsonl or FILE.h5 (default: stdout)"));
  }

  bool chosen() const override { return sub_->parsed(); }

  bool needs_runtime() const override { return false; }

  int run_host() override {
    std::ostringstream errors;
    int code = 0;
    if (!batch_.input.empty())
      code = run_schedule_batch(batch_, std::cout, errors);
    else if (!options_.input_path.empty())
      code = run_schedule_command(options_, std::cout, errors);
    else {
      errors << "error: schedule needs --input FILE.json or --batch INPUT; fix: see micromoe schedule --help\n";
      code = kInputErrorExit;
    }
    // Messages may echo the input back: each becomes one bounded line.
    std::istringstream lines(errors.str());
    for (std::string line; std::getline(lines, line);) std::cerr << error_line(line) << '\n';
    std::cerr << std::flush;
    return code;
  }

  int run(const Invocation& job) override {
    // Reached only if main started the runtime anyway: rank 0 runs it, every rank agrees.
    return comm::agree_on_root_exit_code(job.world, [&] { return run_host(); });
  }

 private:
  CLI::App* sub_ = nullptr;
  ScheduleCommandOptions options_;
  ScheduleBatchOptions batch_;
};

}  // namespace

std::unique_ptr<Command> make_schedule_command() { return std::make_unique<ScheduleCommand>(); }

}  // namespace micromoe::commands
