// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/emulation_report_schema.hpp"

namespace micromoe::emulate {

namespace {

using report::AttributeType;
using report::ElementType;
using report::FileValue;
using Run = report::FileAttribute<EmulationRun>;
using Dataset = report::FileDataset<StrategyResult>;
using Group = report::FileAttribute<StrategyResult>;
using Summary = report::FileAttribute<Comparison>;

FileValue integer(std::int64_t v) { return v; }

}  // namespace

const std::vector<report::FileAttribute<EmulationRun>>& emulation_run_attributes() {
  static const std::vector<Run> rows = {
      {"deck", AttributeType::string, "-", "the effective deck (every key, overrides applied)",
       [](const EmulationRun& r) -> FileValue { return r.info.deck; }},
      {"command_line", AttributeType::string, "-", "as typed",
       [](const EmulationRun& r) -> FileValue { return r.info.command_line; }},
      {"start_time", AttributeType::string, "-", "ISO 8601 UTC",
       [](const EmulationRun& r) -> FileValue { return r.info.start_time; }},
      {"end_time", AttributeType::string, "-", "ISO 8601 UTC",
       [](const EmulationRun& r) -> FileValue { return r.info.end_time; }},
      {"ranks", AttributeType::int64, "-", "emulated ranks R (`--ranks`)",
       [](const EmulationRun& r) { return integer(r.info.layout.ranks); }},
      {"group_size", AttributeType::int64, "-", "ranks per MicroEP group",
       [](const EmulationRun& r) { return integer(r.info.layout.group_size); }},
      {"groups", AttributeType::int64, "-", "MicroEP groups (data-parallel copies)",
       [](const EmulationRun& r) { return integer(r.info.layout.groups); }},
      {"ep_size", AttributeType::int64, "-", "ranks per EP group",
       [](const EmulationRun& r) { return integer(r.info.layout.ep_size); }},
      {"microep_group", AttributeType::int64, "-", "EP groups per MicroEP group (d)",
       [](const EmulationRun& r) { return integer(r.info.layout.microep_group); }},
      {"hidden", AttributeType::int64, "-", "the layer's hidden size",
       [](const EmulationRun& r) { return integer(r.info.ffn.hidden); }},
      {"ffn", AttributeType::int64, "-", "the expert FFN's width",
       [](const EmulationRun& r) { return integer(r.info.ffn.ffn); }},
      {"experts", AttributeType::int64, "-", "experts of the layer",
       [](const EmulationRun& r) { return integer(r.info.experts); }},
      {"top_k", AttributeType::int64, "-", "experts per token",
       [](const EmulationRun& r) { return integer(r.info.top_k); }},
      {"tokens_per_micro_batch", AttributeType::int64, "-", "tokens per rank and micro-batch",
       [](const EmulationRun& r) { return integer(r.info.tokens_per_micro_batch); }},
      {"warmup_iterations", AttributeType::int64, "-", "iterations left out of the summaries",
       [](const EmulationRun& r) { return integer(r.info.warmup_iterations); }},
      {"grouped_gemm", AttributeType::int64, "-", "1: the experts' GEMMs grouped in one launch, 0: one per expert",
       [](const EmulationRun& r) { return integer(r.info.ffn.grouped ? 1 : 0); }},
      {"device_bytes", AttributeType::int64, "B", "device memory of the shared weights and buffers",
       [](const EmulationRun& r) { return integer(r.info.device_bytes); }},
      {"activation", AttributeType::string, "-", "`model.activation`",
       [](const EmulationRun& r) -> FileValue { return to_string(r.info.ffn.activation); }},
      {"precision", AttributeType::string, "-", "`model.precision`",
       [](const EmulationRun& r) -> FileValue { return to_string(r.info.ffn.precision); }},
      {"strategies", AttributeType::strings, "-", "the strategy groups, in run order",
       [](const EmulationRun& r) -> FileValue {
         std::vector<std::string> names;
         for (const auto& s : r.results) names.push_back(s.name);
         return names;
       }},
  };
  return rows;
}

const std::vector<report::FileDataset<StrategyResult>>& emulation_datasets() {
  const std::vector<std::string> IMR = {"I", "M", "R"}, IM = {"I", "M"}, I = {"I"};
  static const std::vector<Dataset> rows = {
      {"seconds", IMR, "s", ElementType::float64,
       "forward + backward of the rank's expert FFNs, timed alone on the device",
       [](const StrategyResult& r) -> FileValue { return r.seconds; }},
      {"flops", IMR, "flop", ElementType::float64, "floating-point operations of that work (3 x forward)",
       [](const StrategyResult& r) -> FileValue { return r.flops; }},
      {"loads", IMR, "tokens", ElementType::int64,
       "routed copies the rank's experts computed (the strategy's `gpu_load`)",
       [](const StrategyResult& r) -> FileValue { return r.loads; }},
      {"compute_time", IM, "s", ElementType::float64, "max over ranks of `seconds`: the micro-batch's compute time",
       [](const StrategyResult& r) -> FileValue { return r.compute_time; }},
      {"imbalance", IM, "1", ElementType::float64, "max over ranks / mean over ranks of `loads` (1 when empty)",
       [](const StrategyResult& r) -> FileValue { return r.imbalance; }},
      {"tokens_dropped", IM, "tokens", ElementType::int64, "copies dropped over all ranks (`ep-capacity` only)",
       [](const StrategyResult& r) -> FileValue { return r.dropped; }},
      {"lower_bound", IM, "tokens", ElementType::int64,
       "the scheduler's proven optimum max load, max over groups (microep*; 0 for the others)",
       [](const StrategyResult& r) -> FileValue { return r.lower_bound; }},
      {"memory_bound", IM, "1", ElementType::float64,
       "the best max / mean load any placement of the strategy's memory could reach for the group's expert loads "
       "(`schedule::memory_bound`, docs/layer.md), max over groups",
       [](const StrategyResult& r) -> FileValue { return r.memory_bound; }},
      {"iteration_time", I, "s", ElementType::float64, "sum over micro-batches of `compute_time`",
       [](const StrategyResult& r) -> FileValue { return r.iteration_time; }},
      {"migrations", I, "experts", ElementType::int64,
       "expert copies moved by the re-placement after the iteration, all groups (eplb, microep-adaptive)",
       [](const StrategyResult& r) -> FileValue { return r.migrations; }},
      {"migrated_bytes", I, "bytes", ElementType::int64,
       "weights and optimizer state those copies carry in training (fp32 W1, W2 and SGD's momentum or Adam's m and "
       "v): what the migration would move",
       [](const StrategyResult& r) -> FileValue { return r.migrated_bytes; }},
  };
  return rows;
}

const std::vector<report::FileAttribute<StrategyResult>>& emulation_group_attributes() {
  static const std::vector<Group> rows = {
      {"iterations", AttributeType::int64, "-", "I", [](const StrategyResult& r) { return integer(r.iterations); }},
      {"micro_batches", AttributeType::int64, "-", "M",
       [](const StrategyResult& r) { return integer(r.micro_batches); }},
      {"ranks", AttributeType::int64, "-", "R", [](const StrategyResult& r) { return integer(r.ranks); }},
      {"slots_per_rank", AttributeType::int64, "-", "expert slots per rank (the largest of the run for eplb)",
       [](const StrategyResult& r) { return integer(r.slots); }},
      {"measured_iterations", AttributeType::int64, "-", "iterations after `warmup_iterations` (the summaries' own)",
       [](const StrategyResult& r) { return integer(r.measured_iterations); }},
      {"median_iteration_time", AttributeType::float64, "s", "lower median of `iteration_time`; -1 = undefined",
       [](const StrategyResult& r) -> FileValue { return r.median_iteration_time; }},
      {"mean_imbalance", AttributeType::float64, "1", "mean of `imbalance`; -1 = undefined",
       [](const StrategyResult& r) -> FileValue { return r.mean_imbalance; }},
      {"max_imbalance", AttributeType::float64, "1", "max of `imbalance`; -1 = undefined",
       [](const StrategyResult& r) -> FileValue { return r.max_imbalance; }},
      {"tokens_per_second", AttributeType::float64, "tokens/s",
       "R x tokens per rank x M / `median_iteration_time`; -1 = undefined",
       [](const StrategyResult& r) -> FileValue { return r.tokens_per_second; }},
      {"flop_rate", AttributeType::float64, "flop/s", "sum of `flops` / sum of `seconds`; -1 = undefined",
       [](const StrategyResult& r) -> FileValue { return r.flop_rate; }},
  };
  return rows;
}

const std::vector<report::FileAttribute<Comparison>>& emulation_summary_attributes() {
  static const std::vector<Summary> rows = {
      {"time_ratio_ep_over_microep", AttributeType::float64, "1", "median iteration times, ep / microep",
       [](const Comparison& c) -> FileValue { return c.time_ratio; }},
      {"imbalance_ratio_ep_over_microep", AttributeType::float64, "1", "mean imbalances, ep / microep",
       [](const Comparison& c) -> FileValue { return c.imbalance_ratio; }},
      {"gain_capture", AttributeType::float64, "1", "time ratio / imbalance ratio",
       [](const Comparison& c) -> FileValue { return c.gain_capture; }},
      {"microep_relative_to_balanced", AttributeType::float64, "1", "T_balanced / T_microep",
       [](const Comparison& c) -> FileValue { return c.microep_vs_balanced; }},
      {"eplb_relative_to_balanced", AttributeType::float64, "1", "T_balanced / T_eplb",
       [](const Comparison& c) -> FileValue { return c.eplb_vs_balanced; }},
      {"microep_adaptive_relative_to_balanced", AttributeType::float64, "1", "T_balanced / T_microep-adaptive",
       [](const Comparison& c) -> FileValue { return c.adaptive_vs_balanced; }},
  };
  return rows;
}

std::vector<std::pair<std::string, std::string>> emulation_doc_sections() {
  return {{"emulation_run_attributes", report::attributes_markdown(emulation_run_attributes())},
          {"emulation_datasets", report::datasets_markdown(emulation_datasets())},
          {"emulation_group_attributes", report::attributes_markdown(emulation_group_attributes())},
          {"emulation_summary_attributes", report::attributes_markdown(emulation_summary_attributes())}};
}

}  // namespace micromoe::emulate
