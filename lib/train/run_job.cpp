// SPDX-License-Identifier: BSD-3-Clause
#include "train/run_job.hpp"

#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <vector>

#include "budget/memory_budget.hpp"
#include "comm/verdict.hpp"
#include "core/build_info.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "report/report_writer.hpp"
#include "train/progress.hpp"
#include "train/stop_request.hpp"
#include "train/trainer.hpp"

namespace micromoe::train {

namespace {

std::vector<std::string> gather_host_names(const comm::Communicator& world) {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MICROMOE_CHECK_MPI(MPI_Get_processor_name(name, &length));
  std::vector<char> all(world.rank() == 0 ? static_cast<std::size_t>(MPI_MAX_PROCESSOR_NAME) * world.size() : 1);
  MICROMOE_CHECK_MPI(
      MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, world.get()));
  std::vector<std::string> hosts;
  if (world.rank() == 0)
    for (int r = 0; r < world.size(); ++r)
      hosts.emplace_back(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
  return hosts;
}

}  // namespace

std::string summary_table(const std::vector<report::StrategyResults>& results, int warmup_iterations) {
  const report::StrategyResults* ep = nullptr;
  for (const auto& r : results)
    if (r.name == "ep") ep = &r;
  std::string table =
      "| strategy | median step time | tokens/s | mean imbalance | max imbalance | speed-up over ep | dropped |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : results) {
    const auto s = report::summarize(r, warmup_iterations, ep);
    char row[320];
    char speedup[32] = "n/a";
    if (s.speedup_over_ep > 0) std::snprintf(speedup, sizeof speedup, "%.3f", s.speedup_over_ep);
    std::snprintf(row, sizeof row, "| %s | %s | %.4g | %.3f | %.3f | %s | %lld |\n", r.name.c_str(),
                  format_duration(s.median_step_time).c_str(), s.tokens_per_second, s.mean_imbalance, s.max_imbalance,
                  speedup, static_cast<long long>(s.tokens_dropped));
    table += row;
  }
  return table;
}

JobOutcome run_job(const deck::RunConfig& resolved, const std::string& command_line, const comm::Communicator& world,
                   std::ostream& out) {
  install_stop_handler();
  const bool root = world.rank() == 0;
  report::RunInfo info;
  info.build_info = build_info();
  info.deck = deck::render_deck(resolved, false);
  info.command_line = command_line;
  info.hosts = gather_host_names(world);
  info.ranks = world.size();
  info.start_time = report::utc_timestamp();
  info.warmup_iterations = resolved.training.warmup_iterations;

  // An unwritable report path fails now, not after the training, on every rank.
  comm::agree_on_root(world, [&] {
    try {
      report::check_report_path(resolved.run.report);
    } catch (const std::exception& e) {
      throw InputError(e.what());
    }
  });

  // A deck that needs more memory than a rank has is refused before anything is allocated.
  const auto memory = budget::check_memory(resolved, world.size(), world);
  if (root && memory.exceeded)
    std::cerr << "micromoe: warning: the deck may need more memory than a rank has (run.memory_check = \"warn\")"
              << std::endl;

  Trainer trainer(resolved, world);
  const long total =
      static_cast<long>(resolved.training.iterations) * static_cast<long>(resolved.run.strategies.size());
  ProgressPrinter progress(out, resolved.run.quiet || !root, total);
  if (root && !resolved.run.quiet)
    out << "micromoe: " << world.size() << " ranks, " << resolved.run.strategies.size() << " strategies x "
        << resolved.training.iterations << " iterations, ep_size " << resolved.parallel.ep_size << ", MicroEP group "
        << resolved.parallel.ep_size * resolved.parallel.microep_group << ", " << trainer.gpus_per_node()
        << " ranks per node" << std::endl
        << "micromoe: " << memory.line << std::endl;

  std::vector<report::StrategyResults> results;
  JobOutcome outcome;
  for (const auto kind : resolved.run.strategies) {
    auto run = trainer.train(kind, progress);
    info.iterations_completed = run.results.iterations;
    results.push_back(std::move(run.results));
    if (run.truncated) {
      outcome.truncated = true;
      break;
    }
  }
  info.truncated = outcome.truncated;
  info.end_time = report::utc_timestamp();
  outcome.report_path = resolved.run.report;

  // Rank 0 writes; everyone learns whether it worked, so the job fails (or not) as a whole.
  comm::agree_on_root(world, [&] {
    try {
      report::write_report(outcome.report_path, info, results);
    } catch (const std::exception& e) {
      throw Error("writing the report " + outcome.report_path + " failed: " + e.what());
    }
  });
  if (root) {
    out << "\n" << summary_table(results, resolved.training.warmup_iterations) << "\n";
    out << "report: " << outcome.report_path << (outcome.truncated ? " (truncated by SIGTERM)" : "") << std::endl;
  }
  return outcome;
}

}  // namespace micromoe::train
