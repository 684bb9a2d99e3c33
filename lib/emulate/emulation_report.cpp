// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/emulation_report.hpp"

#include <set>

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"

namespace micromoe::emulate {

namespace {

using Dims = std::vector<hsize_t>;

template <class T>
void dataset(hid_t g, const std::string& name, const Dims& dims, const std::vector<T>& data, const std::string& unit) {
  report::h5::write_dataset(g, name, dims, data);
  auto d = report::h5::open_dataset(g, name);
  report::h5::write_attribute(d.id(), "unit", unit);
}

void write_strategy(hid_t file, const StrategyResult& r) {
  auto group = report::h5::create_group(file, r.name);
  const hid_t g = group.id();
  const hsize_t I = static_cast<hsize_t>(r.iterations), M = static_cast<hsize_t>(r.micro_batches),
                R = static_cast<hsize_t>(r.ranks);
  dataset(g, "seconds", Dims{I, M, R}, r.seconds, "s");
  dataset(g, "flops", Dims{I, M, R}, r.flops, "flop");
  dataset(g, "loads", Dims{I, M, R}, r.loads, "tokens");
  dataset(g, "compute_time", Dims{I, M}, r.compute_time, "s");
  dataset(g, "imbalance", Dims{I, M}, r.imbalance, "1");
  dataset(g, "tokens_dropped", Dims{I, M}, r.dropped, "tokens");
  dataset(g, "lower_bound", Dims{I, M}, r.lower_bound, "tokens");
  dataset(g, "memory_bound", Dims{I, M}, r.memory_bound, "1");
  dataset(g, "iteration_time", Dims{I}, r.iteration_time, "s");
  dataset(g, "migrations", Dims{I}, r.migrations, "experts");
  dataset(g, "migrated_bytes", Dims{I}, r.migrated_bytes, "bytes");
  report::h5::write_attribute(g, "iterations", static_cast<std::int64_t>(r.iterations));
  report::h5::write_attribute(g, "micro_batches", static_cast<std::int64_t>(r.micro_batches));
  report::h5::write_attribute(g, "ranks", static_cast<std::int64_t>(r.ranks));
  report::h5::write_attribute(g, "slots_per_rank", static_cast<std::int64_t>(r.slots));
  report::h5::write_attribute(g, "measured_iterations", static_cast<std::int64_t>(r.measured_iterations));
  report::h5::write_attribute(g, "median_iteration_time", r.median_iteration_time);
  report::h5::write_attribute(g, "mean_imbalance", r.mean_imbalance);
  report::h5::write_attribute(g, "max_imbalance", r.max_imbalance);
  report::h5::write_attribute(g, "tokens_per_second", r.tokens_per_second);
  report::h5::write_attribute(g, "flop_rate", r.flop_rate);
}

void write_file(const std::string& path, const EmulationInfo& info, const std::vector<StrategyResult>& results,
                const Comparison& c) {
  auto fapl = report::h5::modern_format_fapl();
  auto file = report::h5::create_file(path, fapl.id());
  report::h5::write_attribute(file.id(), "format", std::string("micromoe-emulation"));
  report::h5::write_attribute(file.id(), "format_version", kEmulationFormatVersion);
  report::h5::write_attribute(file.id(), "program", std::string("MicroMoE"));
  {
    auto run = report::h5::create_group(file.id(), "run");
    const hid_t g = run.id();
    std::set<std::string> build_keys;  // a repeated key gets a numbered name instead of failing the report
    for (const auto& [key, value] : info.build_info) {
      std::string name = "build." + key;
      for (int n = 2; !build_keys.insert(name).second; ++n) name = "build." + key + "." + std::to_string(n);
      report::h5::write_attribute(g, name, value);
    }
    const auto integer = [g](const char* name, std::int64_t v) { report::h5::write_attribute(g, name, v); };
    report::h5::write_attribute(g, "deck", info.deck);
    report::h5::write_attribute(g, "command_line", info.command_line);
    report::h5::write_attribute(g, "start_time", info.start_time);
    report::h5::write_attribute(g, "end_time", info.end_time);
    integer("ranks", info.layout.ranks);
    integer("group_size", info.layout.group_size);
    integer("groups", info.layout.groups);
    integer("ep_size", info.layout.ep_size);
    integer("microep_group", info.layout.microep_group);
    integer("hidden", info.ffn.hidden);
    integer("ffn", info.ffn.ffn);
    integer("experts", info.experts);
    integer("top_k", info.top_k);
    integer("tokens_per_micro_batch", info.tokens_per_micro_batch);
    integer("warmup_iterations", info.warmup_iterations);
    integer("grouped_gemm", info.ffn.grouped ? 1 : 0);
    integer("device_bytes", info.device_bytes);
    report::h5::write_attribute(g, "activation", to_string(info.ffn.activation));
    report::h5::write_attribute(g, "precision", to_string(info.ffn.precision));
    std::vector<std::string> names;
    for (const auto& r : results) names.push_back(r.name);
    report::h5::write_attribute(g, "strategies", names);
  }
  for (const auto& r : results) write_strategy(file.id(), r);
  {
    auto summary = report::h5::create_group(file.id(), "summary");
    const hid_t g = summary.id();
    report::h5::write_attribute(g, "time_ratio_ep_over_microep", c.time_ratio);
    report::h5::write_attribute(g, "imbalance_ratio_ep_over_microep", c.imbalance_ratio);
    report::h5::write_attribute(g, "gain_capture", c.gain_capture);
    report::h5::write_attribute(g, "microep_relative_to_balanced", c.microep_vs_balanced);
    report::h5::write_attribute(g, "eplb_relative_to_balanced", c.eplb_vs_balanced);
    report::h5::write_attribute(g, "microep_adaptive_relative_to_balanced", c.adaptive_vs_balanced);
  }
  MICROMOE_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
}

}  // namespace

void write_emulation_report(const std::string& path, const EmulationInfo& info,
                            const std::vector<StrategyResult>& results, const Comparison& comparison) {
  report::write_file_atomically(
      path, [&](const std::string& temporary) { write_file(temporary, info, results, comparison); });
}

}  // namespace micromoe::emulate
