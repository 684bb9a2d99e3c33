// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/simulate.hpp"

#include <chrono>
#include <ctime>
#include <iostream>

#include "core/build_info.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "report/report_writer.hpp"
#include "simulate/calibration.hpp"
#include "simulate/cost_model.hpp"
#include "simulate/simulation.hpp"
#include "simulate/simulation_report.hpp"
#include "simulate/summary.hpp"

namespace micromoe::simulate {

namespace {

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_progress(int done, int total) { std::cout << "simulate: iteration " << done << "/" << total << std::endl; }

}  // namespace

void run_simulation(const deck::RunConfig& resolved, int gpus, const std::string& command_line, std::ostream& out) {
  const int per_node = resolved.cluster.gpus_per_node;
  if (gpus > per_node && gpus % per_node != 0)
    throw InputError("--gpus " + std::to_string(gpus) +
                     " does not fill whole nodes of cluster.gpus_per_node = " + std::to_string(per_node) +
                     "; fix: a multiple of " + std::to_string(per_node) + ", or set cluster.gpus_per_node");
  const Calibration calibration = read_calibration(resolved.cluster.calibration);
  check_matches(calibration, resolved);
  report::check_report_path(resolved.run.report);

  const auto wall = std::chrono::steady_clock::now();
  SimulationInfo info;
  info.build_info = build_info();
  info.deck = deck::render_deck(resolved);
  info.command_line = command_line;
  info.start_time = utc_now();
  info.layout = emulate::layout_of(resolved, gpus);
  info.topology = Topology::from(resolved.cluster);
  info.exchange_bytes = resolved.cluster.exchange_bytes;
  info.fast_counts = resolved.cluster.fast_counts;
  info.calibration_path = resolved.cluster.calibration;
  if (!resolved.run.quiet)
    out << "simulate: " << gpus << " GPUs (" << info.layout.groups << " MicroEP groups of " << info.layout.group_size
        << ", " << per_node << " per node), calibration of " << calibration.device << " (" << calibration.date << ", "
        << calibration.commit << ")" << std::endl;

  const LayerCosts costs = LayerCosts::from(resolved, calibration);
  const auto results =
      simulate_strategies(resolved, info.layout, info.topology, costs, resolved.run.quiet ? nullptr : print_progress);
  std::vector<StrategySummary> summaries;
  for (const auto& r : results)
    summaries.push_back(summarize(r, resolved.training.warmup_iterations, resolved.training.tokens_per_micro_batch));
  info.end_time = utc_now();
  info.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  out << summary_table(summaries, gpus);
  out << "Calibration: " << calibration.device << ", " << calibration.date << "; simulated in " << info.wall_seconds
      << " s; report " << resolved.run.report << std::endl;
  write_simulation_report(resolved.run.report, info, calibration, results, summaries);
}

}  // namespace micromoe::simulate
