// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/emulate.hpp"

#include <algorithm>
#include <cstdio>

#include "core/build_info.hpp"
#include "core/kokkos_types.hpp"
#include "deck/deck.hpp"
#include "emulate/emulation_report.hpp"
#include "report/report_data.hpp"
#include "report/report_writer.hpp"
#include "train/progress.hpp"

namespace micromoe::emulate {

void run_emulation(const deck::RunConfig& resolved, int ranks, const std::string& command_line, std::ostream& out) {
  report::check_report_path(resolved.run.report);  // fails now, not after the timing
  EmulationInfo info;
  info.start_time = report::utc_timestamp();
  info.build_info = build_info();
  info.deck = deck::render_deck(resolved, false);
  info.command_line = command_line;
  info.layout = layout_of(resolved, ranks);
  info.ffn = ffn_setup(resolved);
  info.experts = resolved.model.experts;
  info.top_k = resolved.model.top_k;
  info.tokens_per_micro_batch = resolved.training.tokens_per_micro_batch;
  info.warmup_iterations = resolved.training.warmup_iterations;
  const bool verbose = !resolved.run.quiet;

  // Host: every strategy's routing of every micro-batch (cheap next to the timing).
  CountSource counts(resolved, info.layout.group_size);
  std::vector<StrategyPlan> plans;
  int max_slots = 0;
  std::int64_t max_rows = 0;
  for (const auto kind : resolved.run.strategies) {
    plans.push_back(plan_strategy(resolved, info.layout, kind, counts));
    max_slots = std::max(max_slots, plans.back().slots);
    max_rows = std::max(max_rows, plans.back().max_rows());
  }

  // Device: one set of weights and buffers for every rank of every strategy.
  RankBench bench(info.ffn, max_slots, max_rows);
  info.device_bytes = static_cast<std::int64_t>(bench.bytes());
  if (verbose) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "micromoe emulate: %d ranks on one %s device: %d MicroEP group(s) of %d (%d EP groups of %d); "
                  "%d experts, top-%d, hidden %d, ffn %d, %s, %s%s; %d tokens x %d micro-batches x %d iterations; "
                  "%.2f GB of device memory\n",
                  ranks, ExecSpace::name(), info.layout.groups, info.layout.group_size, info.layout.microep_group,
                  info.layout.ep_size, info.experts, info.top_k, info.ffn.hidden, info.ffn.ffn,
                  to_string(info.ffn.activation).c_str(), to_string(info.ffn.precision).c_str(),
                  info.ffn.grouped ? ", grouped GEMM" : "", info.tokens_per_micro_batch,
                  resolved.training.micro_batches, resolved.training.iterations, info.device_bytes * 1e-9);
    out << line << std::flush;
  }
  std::vector<StrategyResult> results;
  for (const auto& plan : plans) {
    std::vector<double> flops;
    auto seconds = bench.time_plan(plan, &flops);
    results.push_back(summarize(plan, std::move(seconds), std::move(flops), resolved.training.warmup_iterations,
                                resolved.training.tokens_per_micro_batch));
    // What a moved copy carries in training (moe::ParameterStore::migrate): W1, W2 and the
    // optimizer state (SGD: momentum; Adam: m and v), fp32.
    const std::int64_t params = static_cast<std::int64_t>(info.ffn.hidden) *
                                (moe::w1_columns(info.ffn.activation, info.ffn.ffn) + info.ffn.ffn);
    const int copies = resolved.training.optimizer == moe::OptimizerKind::adam ? 3 : 2;
    for (const std::int64_t moved : results.back().migrations)
      results.back().migrated_bytes.push_back(moved * params * copies * static_cast<std::int64_t>(sizeof(float)));
    if (verbose)
      out << "  " << plan.name << ": median compute " << train::format_duration(results.back().median_iteration_time)
          << " per iteration, mean imbalance " << results.back().mean_imbalance << std::endl;
  }
  const Comparison comparison = compare(results);
  info.end_time = report::utc_timestamp();
  write_emulation_report(resolved.run.report, info, results, comparison);
  out << "\n" << result_table(results, comparison) << "\nreport: " << resolved.run.report << std::endl;
}

}  // namespace micromoe::emulate
