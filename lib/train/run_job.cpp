// SPDX-License-Identifier: BSD-3-Clause
#include "train/run_job.hpp"

#include <mpi.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include "budget/memory_budget.hpp"
#include "comm/verdict.hpp"
#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/thread_default.hpp"
#include "deck/deck.hpp"
#include "report/report_stream.hpp"
#include "report/report_writer.hpp"
#include "train/checkpoint.hpp"
#include "train/progress.hpp"
#include "train/stop_request.hpp"
#include "train/trainer.hpp"
#include "workload/trace.hpp"

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

/// Once, on rank 0: what the one-copy-per-token cap did to the trace (docs/trace.md), and that
/// balanced keeps its forced routing.
void warn_about_trace(const workload::RoutingTrace& trace, const deck::RunConfig& c, int ranks, std::ostream& err) {
  const auto cap = workload::cap_summary(trace, ranks, c.training.tokens_per_micro_batch, c.model.top_k);
  if (cap.rows_capped > 0) {
    char line[400];
    std::snprintf(line, sizeof line,
                  "micromoe: warning: trace %s: the one-copy-per-token cap (top_k = %d) reshaped %lld of %lld "
                  "micro-batch rows%s; their excess went to the other experts in proportion to their shares "
                  "(total-variation distance up to %.4f)",
                  c.workload.trace_file.c_str(), c.model.top_k, static_cast<long long>(cap.rows_capped),
                  static_cast<long long>(cap.rows), trace.per_source ? " (per rank)" : "", cap.max_tv_distance);
    err << line << std::endl;
  }
}

}  // namespace

std::string summary_table(const std::vector<report::StrategyResults>& results, int warmup_iterations) {
  const report::StrategyResults* ep = nullptr;
  for (const auto& r : results)
    if (r.name == "ep") ep = &r;
  std::string table =
      "| strategy | median step time | tokens/s | mean imbalance | max imbalance | speed-up over ep | dropped | "
      "schedule bound | memory bound | migrations |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : results) {
    const auto s = report::summarize(r, warmup_iterations, ep);
    char row[320];
    char speedup[32] = "n/a";
    if (s.speedup_over_ep > 0) std::snprintf(speedup, sizeof speedup, "%.3f", s.speedup_over_ep);
    char sched[32] = "n/a";  // only strategies with a solver prove an optimum
    if (s.mean_schedule_bound > 0) std::snprintf(sched, sizeof sched, "%.3f", s.mean_schedule_bound);
    std::snprintf(row, sizeof row, "| %s | %s | %.4g | %.3f | %.3f | %s | %lld | %s | %.3f | %lld |\n", r.name.c_str(),
                  format_duration(s.median_step_time).c_str(), s.tokens_per_second, s.mean_imbalance, s.max_imbalance,
                  speedup, static_cast<long long>(s.tokens_dropped), sched, s.mean_memory_bound,
                  static_cast<long long>(s.migrations));
    table += row;
  }
  return table;
}

JobOutcome run_job(const deck::RunConfig& resolved, const std::string& command_line, const comm::Communicator& world,
                   std::ostream& out, const std::string& restart) {
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

  // An unwritable report or checkpoint path fails now, not after the training, on every rank.
  const std::string checkpoint = checkpoint_path(resolved);
  comm::agree_on_root(world, [&] {
    try {
      report::check_report_path(resolved.run.report);
      report::check_output_path(checkpoint, "checkpoint");
    } catch (const std::exception& e) {
      throw InputError(e.what());
    }
  });
  // A restart is checked on every rank before anything is written.
  CheckpointPosition start;
  if (!restart.empty()) start = check_checkpoint(restart, resolved, world);

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
        << " ranks per node" << (restart.empty() ? "" : ", restarted from " + restart) << std::endl
        << "micromoe: " << thread_choice() << std::endl
        << "micromoe: " << memory.line << std::endl;
  if (root && !resolved.run.quiet && trainer.trace() != nullptr) {
    const auto& t = *trainer.trace();
    out << "micromoe: trace " << t.iterations << " iterations x " << t.layers << " layers x " << t.micro_batches
        << " micro-batches, "
        << (t.per_source ? std::to_string(t.sources) + " source ranks (rank r replays the sources s with s mod " +
                               std::to_string(world.size()) + " = r mod " + std::to_string(t.sources) + ")"
                         : std::string("counts over all ranks"))
        << std::endl;
  }

  if (root && trainer.trace() != nullptr) warn_about_trace(*trainer.trace(), resolved, world.size(), std::cerr);

  // Rank 0 streams the results into the report as they come (report_stream.hpp).
  std::unique_ptr<report::ReportStream> stream;
  comm::agree_on_root(world, [&] {
    stream = std::make_unique<report::ReportStream>(resolved.run.report);
    if (!restart.empty()) restore_results(restart, resolved, world.size(), *stream);
  });
  std::string stream_failure;  // rank 0: the first failed append; the run stops, the job fails
  JobOutcome outcome;
  const auto strategies = resolved.run.strategies;
  for (std::size_t s = static_cast<std::size_t>(start.strategy); s < strategies.size(); ++s) {
    const bool resumed = !restart.empty() && s == static_cast<std::size_t>(start.strategy);
    if (resumed && start.iteration >= resolved.training.iterations) continue;  // complete in the checkpoint
    TrainOptions options;
    if (resumed) {
      options.first_iteration = start.iteration;
      options.restore = [&](MoEStack& stack) { restore_stack(restart, stack, world); };
    }
    report::StrategyResults dims;
    dims.name = to_string(strategies[s]);
    dims.trace_replayed = trainer.replays_trace(strategies[s]);
    dims.resize(0, resolved.model.layers, resolved.training.micro_batches, world.size(), resolved.model.experts);
    comm::agree_on_root(world, [&] {
      if (!resumed || stream->groups().empty() || stream->groups().back().dims.name != dims.name)
        stream->begin_strategy(dims);
    });
    options.append = [&](const report::StrategyResults& window) {
      try {
        stream->append(window);
        return true;
      } catch (const std::exception& e) {
        stream_failure = e.what();
        return false;
      }
    };
    options.checkpoint = [&, s](MoEStack& stack, int completed) {
      write_checkpoint(checkpoint, resolved, world, stack, {static_cast<int>(s), completed}, stream.get());
    };
    options.checkpoint_interval = resolved.run.checkpoint_interval;
    auto run = trainer.train(strategies[s], progress, options);
    if (root) stream->set_peak_memory(dims.name, run.results.peak_memory_bytes);
    info.iterations_completed = run.iterations_completed;
    if (run.truncated) {
      outcome.truncated = true;
      break;
    }
  }
  info.truncated = outcome.truncated;
  info.end_time = report::utc_timestamp();
  outcome.report_path = resolved.run.report;

  // Rank 0 writes; everyone learns whether it worked, so the job fails (or not) as a whole.
  std::vector<report::StrategyResults> summaries;
  comm::agree_on_root(world, [&] {
    try {
      if (!stream_failure.empty()) throw Error(stream_failure);
      summaries = stream->summaries();
      stream->commit(info);
    } catch (const std::exception& e) {
      stream.reset();  // the temporary file goes
      throw Error("writing the report " + outcome.report_path + " failed: " + e.what());
    }
  });
  if (root) {
    out << "\n" << summary_table(summaries, resolved.training.warmup_iterations) << "\n";
    for (const auto& r : summaries)
      if (trainer.trace() != nullptr && !r.trace_replayed)
        out << r.name << ": forced uniform routing, not the trace (the ideal to compare with)\n\n";
    out << "report: " << outcome.report_path << (outcome.truncated ? " (truncated by SIGTERM)" : "") << std::endl;
  }
  return outcome;
}

}  // namespace micromoe::train
