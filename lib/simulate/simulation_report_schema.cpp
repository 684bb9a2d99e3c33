// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/simulation_report_schema.hpp"

namespace micromoe::simulate {

namespace {

using report::AttributeType;
using report::ElementType;
using report::FileValue;
using Run = report::FileAttribute<SimulationRun>;
using CalibrationAttribute = report::FileAttribute<CalibrationUsed>;
using CalibrationDataset = report::FileDataset<CalibrationUsed>;
using Dataset = report::FileDataset<StrategySimulation>;
using Group = report::FileAttribute<SimulatedStrategy>;

FileValue integer(std::int64_t v) { return v; }
FileValue real(double v) { return v; }

}  // namespace

const std::vector<report::FileAttribute<SimulationRun>>& simulation_run_attributes() {
  static const std::vector<Run> rows = {
      {"deck", AttributeType::string, "-", "the effective deck (every key, overrides applied)",
       [](const SimulationRun& r) -> FileValue { return r.info.deck; }},
      {"command_line", AttributeType::string, "-", "as typed",
       [](const SimulationRun& r) -> FileValue { return r.info.command_line; }},
      {"start_time", AttributeType::string, "-", "ISO 8601 UTC",
       [](const SimulationRun& r) -> FileValue { return r.info.start_time; }},
      {"end_time", AttributeType::string, "-", "ISO 8601 UTC",
       [](const SimulationRun& r) -> FileValue { return r.info.end_time; }},
      {"gpus", AttributeType::int64, "-", "simulated GPUs R (`--gpus`)",
       [](const SimulationRun& r) { return integer(r.info.layout.ranks); }},
      {"group_size", AttributeType::int64, "-", "GPUs per MicroEP group",
       [](const SimulationRun& r) { return integer(r.info.layout.group_size); }},
      {"groups", AttributeType::int64, "-", "MicroEP groups D (data-parallel copies)",
       [](const SimulationRun& r) { return integer(r.info.layout.groups); }},
      {"ep_size", AttributeType::int64, "-", "GPUs per EP group",
       [](const SimulationRun& r) { return integer(r.info.layout.ep_size); }},
      {"microep_group", AttributeType::int64, "-", "EP groups per MicroEP group (d)",
       [](const SimulationRun& r) { return integer(r.info.layout.microep_group); }},
      {"gpus_per_node", AttributeType::int64, "-", "`cluster.gpus_per_node`",
       [](const SimulationRun& r) { return integer(r.info.topology.gpus_per_node); }},
      {"intra_node_bandwidth", AttributeType::float64, "B/s", "per-GPU all-to-all bandwidth inside a node",
       [](const SimulationRun& r) { return real(r.info.topology.intra_bandwidth); }},
      {"intra_node_latency", AttributeType::float64, "s", "all-to-all latency inside a node",
       [](const SimulationRun& r) { return real(r.info.topology.intra_latency); }},
      {"inter_node_bandwidth", AttributeType::float64, "B/s", "per-GPU all-to-all bandwidth across nodes",
       [](const SimulationRun& r) { return real(r.info.topology.inter_bandwidth); }},
      {"inter_node_latency", AttributeType::float64, "s", "all-to-all latency across nodes",
       [](const SimulationRun& r) { return real(r.info.topology.inter_latency); }},
      {"exchange_bytes", AttributeType::float64, "B", "bytes per element of a token row on the wire",
       [](const SimulationRun& r) { return real(r.info.exchange_bytes); }},
      {"fast_counts", AttributeType::int64, "-", "1: per-expert binomial counts, 0: token by token",
       [](const SimulationRun& r) { return integer(r.info.fast_counts ? 1 : 0); }},
      {"wall_seconds", AttributeType::float64, "s", "the simulator's own run time",
       [](const SimulationRun& r) { return real(r.info.wall_seconds); }},
      {"strategies", AttributeType::strings, "-", "the strategy groups, in run order",
       [](const SimulationRun& r) -> FileValue {
         std::vector<std::string> names;
         for (const auto& s : r.results) names.push_back(s.name);
         return names;
       }},
  };
  return rows;
}

const std::vector<report::FileAttribute<CalibrationUsed>>& simulation_calibration_attributes() {
  static const std::vector<CalibrationAttribute> rows = {
      {"path", AttributeType::string, "-", "`cluster.calibration`",
       [](const CalibrationUsed& c) -> FileValue { return c.path; }},
      {"device", AttributeType::string, "-", "the device it was measured on",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.device; }},
      {"date", AttributeType::string, "-", "when it was measured (ISO 8601 UTC)",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.date; }},
      {"commit", AttributeType::string, "-", "the build that measured it",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.commit; }},
      {"command_line", AttributeType::string, "-", "the `micromoe calibrate` command",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.command_line; }},
      {"gate_seconds_per_token", AttributeType::float64, "s", "gate forward + backward, per token",
       [](const CalibrationUsed& c) { return real(c.calibration.gate_seconds_per_token); }},
      {"row_seconds_per_copy", AttributeType::float64, "s", "row kernels around the exchange, per routed copy",
       [](const CalibrationUsed& c) { return real(c.calibration.row_seconds_per_copy); }},
      {"optimizer_seconds_per_slot", AttributeType::float64, "s", "one expert's optimizer pass",
       [](const CalibrationUsed& c) { return real(c.calibration.optimizer_seconds_per_slot); }},
      {"slots", AttributeType::int64, "-", "slots per timed FFN call (`ffn_seconds` is one slot's share)",
       [](const CalibrationUsed& c) { return integer(c.calibration.slots); }},
      {"sustain_seconds", AttributeType::float64, "s",
       "how long each grid point ran back to back before and while timed (0: interleaved bursts)",
       [](const CalibrationUsed& c) { return real(c.calibration.sustain_seconds); }},
  };
  return rows;
}

const std::vector<report::FileDataset<CalibrationUsed>>& simulation_calibration_datasets() {
  static const std::vector<CalibrationDataset> rows = {
      {"rows",
       {"P"},
       "tokens",
       ElementType::int64,
       "the rows-per-slot grid",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.rows; }},
      {"ffn_seconds",
       {"P"},
       "s",
       ElementType::float64,
       "one slot's expert forward + backward at each grid point",
       [](const CalibrationUsed& c) -> FileValue { return c.calibration.ffn_seconds; }},
  };
  return rows;
}

const std::vector<report::FileDataset<StrategySimulation>>& simulation_datasets() {
  const std::vector<std::string> IMR = {"I", "M", "R"}, IMD = {"I", "M", "D"}, IM = {"I", "M"}, I = {"I"};
  using S = StrategySimulation;
  static const std::vector<Dataset> rows = {
      {"compute", IMR, "s", ElementType::float64,
       "predicted expert forward + backward of the rank (calibration, summed over its slots)",
       [](const S& r) -> FileValue { return r.compute; }},
      {"local", IMR, "s", ElementType::float64, "gate + row kernels + the group's scheduler time",
       [](const S& r) -> FileValue { return r.local; }},
      {"loads", IMR, "tokens", ElementType::int64, "copies the rank computes (the strategy's `gpu_load`)",
       [](const S& r) -> FileValue { return r.loads; }},
      {"send_bytes", IMR, "B", ElementType::float64, "dispatch bytes the rank sends to other ranks",
       [](const S& r) -> FileValue { return r.send_bytes; }},
      {"inter_node_bytes", IMR, "B", ElementType::float64, "of `send_bytes`, those that leave the node",
       [](const S& r) -> FileValue { return r.inter_node_bytes; }},
      {"recv_bytes", IMR, "B", ElementType::float64, "dispatch bytes the rank receives from other ranks",
       [](const S& r) -> FileValue { return r.recv_bytes; }},
      {"dispatch", IMD, "s", ElementType::float64,
       "one all-to-all of the group (combine and the backward's two mirror it)",
       [](const S& r) -> FileValue { return r.dispatch; }},
      {"scheduler", IMD, "s", ElementType::float64, "the group's routing call, measured (CPU time)",
       [](const S& r) -> FileValue { return r.scheduler; }},
      {"micro_batch_time", IMD, "s", ElementType::float64,
       "max `local` + 4 `dispatch` + max `compute` over the group's ranks",
       [](const S& r) -> FileValue { return r.micro_batch_time; }},
      {"imbalance", IM, "1", ElementType::float64, "max over all ranks / mean of `loads`",
       [](const S& r) -> FileValue { return r.imbalance; }},
      {"tokens_dropped", IM, "tokens", ElementType::int64, "copies dropped, all groups (`ep-capacity`)",
       [](const S& r) -> FileValue { return r.dropped; }},
      {"lower_bound", IM, "tokens", ElementType::int64,
       "the scheduler's proven optimum max load, max over groups (microep*; 0 for the others)",
       [](const S& r) -> FileValue { return r.lower_bound; }},
      {"gradient_sync", I, "s", ElementType::float64, "predicted gradient sync after the iteration",
       [](const S& r) -> FileValue { return r.gradient_sync; }},
      {"optimizer", I, "s", ElementType::float64, "predicted optimizer pass (busiest rank)",
       [](const S& r) -> FileValue { return r.optimizer; }},
      {"migration", I, "s", ElementType::float64,
       "predicted weight + optimizer-state moves of the re-placement after the iteration",
       [](const S& r) -> FileValue { return r.migration; }},
      {"migration_bytes", I, "B", ElementType::float64, "bytes of those moves, all groups",
       [](const S& r) -> FileValue { return r.migration_bytes; }},
      {"migrations", I, "experts", ElementType::int64, "new (GPU, expert) pairs, all groups",
       [](const S& r) -> FileValue { return r.migrations; }},
      {"critical_group", I, "1", ElementType::int64, "the group whose micro-batches took longest",
       [](const S& r) -> FileValue {
         return std::vector<std::int64_t>(r.critical_group.begin(), r.critical_group.end());
       }},
      {"iteration_time", I, "s", ElementType::float64,
       "critical group's sum of `micro_batch_time` + `gradient_sync` + `optimizer` + `migration`",
       [](const S& r) -> FileValue { return r.iteration_time; }},
  };
  return rows;
}

const std::vector<report::FileAttribute<SimulatedStrategy>>& simulation_group_attributes() {
  using S = SimulatedStrategy;
  static const std::vector<Group> rows = {
      {"measured_iterations", AttributeType::int64, "-", "iterations after `warmup_iterations` (the summaries' own)",
       [](const S& s) { return integer(s.summary.measured_iterations); }},
      {"median_iteration_time", AttributeType::float64, "s", "lower median of `iteration_time`",
       [](const S& s) { return real(s.summary.median_iteration_time); }},
      {"mean_iteration_time", AttributeType::float64, "s", "mean of `iteration_time`: the sum of the six phases below",
       [](const S& s) { return real(s.summary.mean_iteration_time); }},
      {"local_time", AttributeType::float64, "s", "mean over iterations of the critical group's slowest local work",
       [](const S& s) { return real(s.summary.local); }},
      {"exchange_time", AttributeType::float64, "s", "the same of 4 all-to-alls per micro-batch",
       [](const S& s) { return real(s.summary.exchange); }},
      {"compute_time", AttributeType::float64, "s", "the same of the slowest expert compute",
       [](const S& s) { return real(s.summary.compute); }},
      {"gradient_sync_time", AttributeType::float64, "s", "mean of `gradient_sync`",
       [](const S& s) { return real(s.summary.gradient_sync); }},
      {"optimizer_time", AttributeType::float64, "s", "mean of `optimizer`",
       [](const S& s) { return real(s.summary.optimizer); }},
      {"migration_time", AttributeType::float64, "s", "mean of `migration`",
       [](const S& s) { return real(s.summary.migration); }},
      {"scheduler_time", AttributeType::float64, "s", "of `local_time`: the critical group's routing calls",
       [](const S& s) { return real(s.summary.scheduler); }},
      {"mean_imbalance", AttributeType::float64, "1", "mean of `imbalance`",
       [](const S& s) { return real(s.summary.mean_imbalance); }},
      {"max_imbalance", AttributeType::float64, "1", "max of `imbalance`",
       [](const S& s) { return real(s.summary.max_imbalance); }},
      {"tokens_per_second", AttributeType::float64, "tokens/s",
       "all ranks' tokens per iteration / median iteration time",
       [](const S& s) { return real(s.summary.tokens_per_second); }},
  };
  return rows;
}

std::vector<std::pair<std::string, std::string>> simulation_doc_sections() {
  return {{"simulation_run_attributes", report::attributes_markdown(simulation_run_attributes())},
          {"simulation_calibration_attributes", report::attributes_markdown(simulation_calibration_attributes())},
          {"simulation_calibration_datasets", report::datasets_markdown(simulation_calibration_datasets())},
          {"simulation_datasets", report::datasets_markdown(simulation_datasets())},
          {"simulation_group_attributes", report::attributes_markdown(simulation_group_attributes())}};
}

}  // namespace micromoe::simulate
