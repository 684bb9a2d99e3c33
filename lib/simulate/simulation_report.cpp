// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/simulation_report.hpp"

#include <set>

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"

namespace micromoe::simulate {

namespace {

namespace h5 = report::h5;
using Dims = std::vector<hsize_t>;

template <class T>
void dataset(hid_t g, const std::string& name, const Dims& dims, const std::vector<T>& data, const std::string& unit) {
  h5::write_dataset(g, name, dims, data);
  auto d = h5::open_dataset(g, name);
  h5::write_attribute(d.id(), "unit", unit);
}

void write_strategy(hid_t file, const StrategySimulation& r, const StrategySummary& s) {
  auto group = h5::create_group(file, r.name);
  const hid_t g = group.id();
  const hsize_t I = static_cast<hsize_t>(r.iterations), M = static_cast<hsize_t>(r.micro_batches),
                R = static_cast<hsize_t>(r.ranks), D = static_cast<hsize_t>(r.groups);
  dataset(g, "compute", Dims{I, M, R}, r.compute, "s");
  dataset(g, "local", Dims{I, M, R}, r.local, "s");
  dataset(g, "loads", Dims{I, M, R}, r.loads, "tokens");
  dataset(g, "send_bytes", Dims{I, M, R}, r.send_bytes, "B");
  dataset(g, "inter_node_bytes", Dims{I, M, R}, r.inter_node_bytes, "B");
  dataset(g, "recv_bytes", Dims{I, M, R}, r.recv_bytes, "B");
  dataset(g, "dispatch", Dims{I, M, D}, r.dispatch, "s");
  dataset(g, "scheduler", Dims{I, M, D}, r.scheduler, "s");
  dataset(g, "micro_batch_time", Dims{I, M, D}, r.micro_batch_time, "s");
  dataset(g, "imbalance", Dims{I, M}, r.imbalance, "1");
  dataset(g, "tokens_dropped", Dims{I, M}, r.dropped, "tokens");
  dataset(g, "lower_bound", Dims{I, M}, r.lower_bound, "tokens");
  dataset(g, "gradient_sync", Dims{I}, r.gradient_sync, "s");
  dataset(g, "optimizer", Dims{I}, r.optimizer, "s");
  dataset(g, "migration", Dims{I}, r.migration, "s");
  dataset(g, "migration_bytes", Dims{I}, r.migration_bytes, "B");
  dataset(g, "migrations", Dims{I}, r.migrations, "experts");
  std::vector<std::int64_t> critical(r.critical_group.begin(), r.critical_group.end());
  dataset(g, "critical_group", Dims{I}, critical, "1");
  dataset(g, "iteration_time", Dims{I}, r.iteration_time, "s");
  const auto real = [g](const char* name, double v) { h5::write_attribute(g, name, v); };
  h5::write_attribute(g, "measured_iterations", static_cast<std::int64_t>(s.measured_iterations));
  real("median_iteration_time", s.median_iteration_time);
  real("mean_iteration_time", s.mean_iteration_time);
  real("local_time", s.local);
  real("exchange_time", s.exchange);
  real("compute_time", s.compute);
  real("gradient_sync_time", s.gradient_sync);
  real("optimizer_time", s.optimizer);
  real("migration_time", s.migration);
  real("scheduler_time", s.scheduler);
  real("mean_imbalance", s.mean_imbalance);
  real("max_imbalance", s.max_imbalance);
  real("tokens_per_second", s.tokens_per_second);
}

void write_file(const std::string& path, const SimulationInfo& info, const Calibration& c,
                const std::vector<StrategySimulation>& results, const std::vector<StrategySummary>& summaries) {
  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  h5::write_attribute(file.id(), "format", std::string("micromoe-simulation"));
  h5::write_attribute(file.id(), "format_version", kSimulationFormatVersion);
  h5::write_attribute(file.id(), "program", std::string("MicroMoE"));
  h5::write_attribute(file.id(), "prediction",
                      std::string("predicted by micromoe simulate from a calibration, "
                                  "not measured on the cluster (docs/simulate.md)"));
  {
    auto run = h5::create_group(file.id(), "run");
    const hid_t g = run.id();
    std::set<std::string> build_keys;
    for (const auto& [key, value] : info.build_info) {
      std::string name = "build." + key;
      for (int n = 2; !build_keys.insert(name).second; ++n) name = "build." + key + "." + std::to_string(n);
      h5::write_attribute(g, name, value);
    }
    const auto integer = [g](const char* name, std::int64_t v) { h5::write_attribute(g, name, v); };
    const auto real = [g](const char* name, double v) { h5::write_attribute(g, name, v); };
    h5::write_attribute(g, "deck", info.deck);
    h5::write_attribute(g, "command_line", info.command_line);
    h5::write_attribute(g, "start_time", info.start_time);
    h5::write_attribute(g, "end_time", info.end_time);
    integer("gpus", info.layout.ranks);
    integer("group_size", info.layout.group_size);
    integer("groups", info.layout.groups);
    integer("ep_size", info.layout.ep_size);
    integer("microep_group", info.layout.microep_group);
    integer("gpus_per_node", info.topology.gpus_per_node);
    real("intra_node_bandwidth", info.topology.intra_bandwidth);
    real("intra_node_latency", info.topology.intra_latency);
    real("inter_node_bandwidth", info.topology.inter_bandwidth);
    real("inter_node_latency", info.topology.inter_latency);
    real("exchange_bytes", info.exchange_bytes);
    integer("fast_counts", info.fast_counts ? 1 : 0);
    real("wall_seconds", info.wall_seconds);
    std::vector<std::string> names;
    for (const auto& r : results) names.push_back(r.name);
    h5::write_attribute(g, "strategies", names);
  }
  {
    auto cal = h5::create_group(file.id(), "calibration");
    const hid_t g = cal.id();
    h5::write_attribute(g, "path", info.calibration_path);
    h5::write_attribute(g, "device", c.device);
    h5::write_attribute(g, "date", c.date);
    h5::write_attribute(g, "commit", c.commit);
    h5::write_attribute(g, "command_line", c.command_line);
    h5::write_attribute(g, "gate_seconds_per_token", c.gate_seconds_per_token);
    h5::write_attribute(g, "row_seconds_per_copy", c.row_seconds_per_copy);
    h5::write_attribute(g, "optimizer_seconds_per_slot", c.optimizer_seconds_per_slot);
    dataset(g, "rows", Dims{c.rows.size()}, c.rows, "tokens");
    dataset(g, "ffn_seconds", Dims{c.ffn_seconds.size()}, c.ffn_seconds, "s");
  }
  for (std::size_t k = 0; k < results.size(); ++k) write_strategy(file.id(), results[k], summaries[k]);
  MICROMOE_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
}

}  // namespace

void write_simulation_report(const std::string& path, const SimulationInfo& info, const Calibration& calibration,
                             const std::vector<StrategySimulation>& results,
                             const std::vector<StrategySummary>& summaries) {
  report::write_file_atomically(
      path, [&](const std::string& temporary) { write_file(temporary, info, calibration, results, summaries); });
}

}  // namespace micromoe::simulate
