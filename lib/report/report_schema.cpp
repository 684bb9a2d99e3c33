// SPDX-License-Identifier: BSD-3-Clause
// The report schema tables: the one place a dataset or summary attribute is declared.
#include "report/report_schema.hpp"

#include "core/error.hpp"
#include "report/report_data.hpp"

namespace micromoe::report {

const std::array<DimSpec, kDimCount>& report_dims() {
  static const std::array<DimSpec, kDimCount> dims = {{
      {Dim::iteration, "I", "iteration",
       "iterations completed by the strategy (all of `[training] iterations`, fewer when truncated; may be 0)"},
      {Dim::layer, "L", "layer", "MoE layers (`[model] layers`)"},
      {Dim::micro_batch, "M", "micro_batch", "micro-batches per iteration (`[training] micro_batches`)"},
      {Dim::rank, "R", "rank", "ranks (GPUs)"},
      {Dim::expert, "E", "expert", "experts (`[model] experts`)"},
      {Dim::phase, "P", "phase", "timed phases (`migration`: eplb / microep-adaptive re-placement)"},
  }};
  return dims;
}

const char* type_name(ElementType type) { return type == ElementType::int64 ? "int64" : "float64"; }

const char* combine_name(Combine combine) {
  switch (combine) {
    case Combine::per_rank:
      return "per rank";
    case Combine::sum:
      return "sum over ranks";
    case Combine::max:
      return "max over ranks";
    case Combine::rank0:
      return "rank 0 (same on all)";
    case Combine::derived:
      return "rank 0, from other datasets";
  }
  return "?";
}

const std::vector<DatasetSpec>& report_datasets() {
  using D = Dim;
  using T = ElementType;
  using C = Combine;
  static const std::vector<DatasetSpec> datasets = {
      {"loads",
       {D::iteration, D::layer, D::micro_batch, D::rank},
       "tokens",
       T::int64,
       C::per_rank,
       false,
       "tokens (routed copies: top-k counts a token k times) each rank's experts computed"},
      {"expert_copies",
       {D::iteration, D::layer, D::micro_batch, D::expert},
       "tokens",
       T::int64,
       C::sum,
       true,
       "routed copies of each expert over all ranks, before any drop (what a routing trace records: "
       "`postprocess/report_to_trace.py` cuts one from it); counted once per MicroEP group, by its first rank. "
       "Written by `micromoe run`; readers treat it as optional (older reports lack it)"},
      {"imbalance",
       {D::iteration, D::layer, D::micro_batch},
       "1",
       T::float64,
       C::derived,
       false,
       "max over ranks / mean over ranks of `loads` (1 = perfectly balanced)"},
      {"phase_times",
       {D::iteration, D::phase, D::rank},
       "s",
       T::float64,
       C::per_rank,
       false,
       "wall time of each phase on each rank, summed over layers and micro-batches of the iteration"},
      {"bytes_sent",
       {D::iteration, D::layer, D::micro_batch, D::rank},
       "bytes",
       T::int64,
       C::per_rank,
       false,
       "bytes each rank sent to other ranks in dispatch and combine, forward and backward (wire rows)"},
      {"migrated_bytes",
       {D::iteration, D::layer, D::rank},
       "bytes",
       T::int64,
       C::per_rank,
       false,
       "expert weights and optimizer state each rank received in the iteration's re-placement (eplb, "
       "microep-adaptive; 0 without one); its time is the `migration` phase"},
      {"tokens_dropped",
       {D::iteration, D::layer, D::micro_batch},
       "tokens",
       T::int64,
       C::sum,
       false,
       "routed copies dropped over all ranks (non-zero only for `ep-capacity`); counted once per MicroEP group, by "
       "its first rank"},
      {"schedule_us",
       {D::iteration, D::layer, D::micro_batch},
       "us",
       T::float64,
       C::max,
       false,
       "time to compute the token schedule"},
      {"schedule_bound",
       {D::iteration, D::layer, D::micro_batch},
       "1",
       T::float64,
       C::max,
       false,
       "the scheduler's proven optimum max load on the strategy's placement / mean load (microep*; 0 for the "
       "others, which run no solver), max over MicroEP groups"},
      {"memory_bound",
       {D::iteration, D::layer, D::micro_batch},
       "1",
       T::float64,
       C::max,
       false,
       "the best max load / mean load any placement of the strategy's memory (S slots per GPU) could reach for "
       "the micro-batch's expert copies: max(ceil(T/G), min over replica counts 1 <= d_e <= G with sum d_e <= G*S "
       "of max_e ceil(L_e/d_e)) * G / T (docs/layer.md), max over MicroEP groups"},
      {"migrations",
       {D::iteration},
       "experts",
       T::int64,
       C::sum,
       false,
       "expert copies moved by re-placements (eplb, microep-adaptive) after the iteration, all layers; counted "
       "once per MicroEP group, by its first rank"},
      {"loss", {D::iteration}, "1", T::float64, C::rank0, false, "training loss after the iteration"},
      {"step_time", {D::iteration}, "s", T::float64, C::max, false, "wall time of the iteration"},
      {"tokens_per_second",
       {D::iteration},
       "tokens/s",
       T::float64,
       C::derived,
       false,
       "tokens processed by all ranks per second of the iteration (from `step_time`)"},
  };
  return datasets;
}

std::size_t dataset_index(std::string_view name) {
  const auto& datasets = report_datasets();
  for (std::size_t i = 0; i < datasets.size(); ++i)
    if (datasets[i].name == name) return i;
  throw Error("report schema: no dataset \"" + std::string(name) + "\" (lib/report/report_schema.cpp lists them)");
}

const std::vector<AttributeSpec>& report_group_attributes() {
  using T = ElementType;
  using R = const StrategyResults&;
  using S = const StrategySummary&;
  static const std::vector<AttributeSpec> attributes = {
      {"iterations_completed", T::int64, "-", "I", [](R r, S) -> AttributeValue { return std::int64_t{r.iterations}; }},
      {"layers", T::int64, "-", "L", [](R r, S) -> AttributeValue { return std::int64_t{r.layers}; }},
      {"micro_batches", T::int64, "-", "M", [](R r, S) -> AttributeValue { return std::int64_t{r.micro_batches}; }},
      {"ranks", T::int64, "-", "R", [](R r, S) -> AttributeValue { return std::int64_t{r.ranks}; }},
      {"measured_iterations", T::int64, "-", "iterations the summary covers",
       [](R, S s) -> AttributeValue { return std::int64_t{s.measured_iterations}; }},
      {"mean_step_time", T::float64, "s", "mean of `step_time`; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.mean_step_time; }},
      {"median_step_time", T::float64, "s",
       "median of `step_time` (the lower one for an even count): quote this on shared machines; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.median_step_time; }},
      {"tokens_per_second", T::float64, "tokens/s",
       "total tokens / total time over the measured iterations; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.tokens_per_second; }},
      {"mean_imbalance", T::float64, "1",
       "mean of `imbalance` over measured iterations, layers and micro-batches; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.mean_imbalance; }},
      {"max_imbalance", T::float64, "1", "maximum of the same; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.max_imbalance; }},
      {"mean_schedule_us", T::float64, "us", "mean of `schedule_us` over the same; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.mean_schedule_us; }},
      {"mean_schedule_bound", T::float64, "1", "mean of `schedule_bound` over the same; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.mean_schedule_bound; }},
      {"mean_memory_bound", T::float64, "1", "mean of `memory_bound` over the same; -1 when I = 0",
       [](R, S s) -> AttributeValue { return s.mean_memory_bound; }},
      {"migrations_total", T::int64, "experts", "sum of `migrations` over the whole run",
       [](R, S s) -> AttributeValue { return s.migrations; }},
      {"speedup_over_ep", T::float64, "1",
       "`median_step_time` of `ep` / this group's (1 for `ep` itself); -1 when the run has no `ep` group or either "
       "is undefined",
       [](R, S s) -> AttributeValue { return s.speedup_over_ep; }},
      {"tokens_dropped_total", T::int64, "tokens", "sum of `tokens_dropped` over the whole run",
       [](R, S s) -> AttributeValue { return s.tokens_dropped; }},
      {"peak_memory_bytes", T::int64, "bytes", "peak memory use, max over ranks",
       [](R, S s) -> AttributeValue { return s.peak_memory_bytes; }},
      {"trace_replayed", T::int64, "-",
       "1 when the routing replayed `workload.trace_file`; 0 for the gate's own routing and for `balanced`, which "
       "keeps its forced uniform routing under a trace (the ideal to compare with)",
       [](R r, S) -> AttributeValue { return std::int64_t{r.trace_replayed ? 1 : 0}; }},
  };
  return attributes;
}

const char* type_name(const RunValue& value) {
  switch (value.index()) {
    case 0:
      return "int64";
    case 1:
      return "string";
    default:
      return "string[]";
  }
}

const std::vector<RunAttributeSpec>& report_run_attributes() {
  using I = const RunInfo&;
  using N = const std::vector<std::string>&;
  static const std::vector<RunAttributeSpec> attributes = {
      {"deck", "the effective deck: every key with the value used, as TOML (`micromoe check` prints the same)",
       [](I info, N) -> RunValue { return info.deck; }},
      {"command_line", "the command line of the run", [](I info, N) -> RunValue { return info.command_line; }},
      {"ranks", "R", [](I info, N) -> RunValue { return std::int64_t{info.ranks}; }},
      {"start_time", "ISO 8601 UTC, e.g. `2026-11-29T01:23:45Z`",
       [](I info, N) -> RunValue { return info.start_time; }},
      {"end_time", "ISO 8601 UTC", [](I info, N) -> RunValue { return info.end_time; }},
      {"truncated", "1 when SIGTERM stopped the run early, else 0",
       [](I info, N) -> RunValue { return std::int64_t{info.truncated ? 1 : 0}; }},
      {"iterations_completed", "iterations the last strategy that ran completed",
       [](I info, N) -> RunValue { return info.iterations_completed; }},
      {"warmup_iterations", "iterations left out of the summary attributes",
       [](I info, N) -> RunValue { return std::int64_t{info.warmup_iterations}; }},
      {"strategies", "the strategy groups, in run order", [](I, N names) -> RunValue { return names; }},
  };
  return attributes;
}

}  // namespace micromoe::report
