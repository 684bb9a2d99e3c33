// SPDX-License-Identifier: BSD-3-Clause
// The emulation and simulation reports against their schema tables: every row written with its
// shape, unit, type and values, read back from the file; docs/report.md's generated tables of
// both current.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <variant>

#include "core/error.hpp"
#include "emulate/emulation_report_schema.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_docs.hpp"
#include "simulate/simulation_report_schema.hpp"

namespace micromoe {
namespace {

namespace h5 = report::h5;

/// Every dataset row: present, extents as `sizes` says, its unit, its values.
template <class Source>
void expect_datasets(hid_t group, const std::vector<report::FileDataset<Source>>& rows, const Source& source,
                     const report::DimSizes& sizes) {
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ASSERT_TRUE(h5::has_link(group, row.name));
    std::vector<hsize_t> dims, expected;
    for (const auto& s : row.dims) expected.push_back(sizes.at(s));
    const auto value = row.get(source);
    if (row.type == report::ElementType::int64)
      EXPECT_EQ(h5::read_dataset<std::int64_t>(group, row.name, &dims), std::get<std::vector<std::int64_t>>(value));
    else
      EXPECT_EQ(h5::read_dataset<double>(group, row.name, &dims), std::get<std::vector<double>>(value));
    EXPECT_EQ(dims, expected);
    auto dataset = h5::open_dataset(group, row.name);
    EXPECT_EQ(h5::read_string_attribute(dataset.id(), "unit"), row.unit);
  }
}

/// Every attribute row: present with its value.
template <class Source>
void expect_attributes(hid_t location, const std::vector<report::FileAttribute<Source>>& rows, const Source& source) {
  for (const auto& row : rows) {
    SCOPED_TRACE(row.name);
    ASSERT_TRUE(h5::has_attribute(location, row.name));
    const auto value = row.get(source);
    switch (row.type) {
      case report::AttributeType::int64:
        EXPECT_EQ(h5::read_int_attribute(location, row.name), std::get<std::int64_t>(value));
        break;
      case report::AttributeType::float64:
        EXPECT_DOUBLE_EQ(h5::read_double_attribute(location, row.name), std::get<double>(value));
        break;
      case report::AttributeType::string:
        EXPECT_EQ(h5::read_string_attribute(location, row.name), std::get<std::string>(value));
        break;
      case report::AttributeType::strings:
        EXPECT_EQ(h5::read_string_array_attribute(location, row.name), std::get<std::vector<std::string>>(value));
        break;
    }
  }
}

/// 0.5, 1.5, 2.5, ... (distinct values, so a transposed or shifted dataset fails).
std::vector<double> ramp(std::size_t n, double scale = 1.0) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * (static_cast<double>(i) + 0.5);
  return v;
}
std::vector<std::int64_t> counts(std::size_t n, std::int64_t first) {
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<std::int64_t>(i);
  return v;
}

TEST(EmulationReport, WritesEveryRowOfItsSchemaAndReadsBack) {
  emulate::EmulationInfo info;
  info.build_info = {{"git_revision", "abc"}, {"compiler", "gcc"}, {"compiler", "again"}};
  info.deck = "[model]\nhidden = 16\n";
  info.command_line = "micromoe emulate deck.toml --ranks 4";
  info.start_time = "2026-12-03T19:00:00Z";
  info.end_time = "2026-12-03T19:00:01Z";
  info.layout = emulate::Layout{4, 4, 1, 2, 2};
  info.ffn.hidden = 16;
  info.ffn.ffn = 32;
  info.experts = 8;
  info.top_k = 2;
  info.tokens_per_micro_batch = 64;
  info.warmup_iterations = 1;
  info.device_bytes = 123456;
  const int I = 3, M = 2, R = 4;
  std::vector<emulate::StrategyResult> results(2);
  for (std::size_t k = 0; k < results.size(); ++k) {
    auto& r = results[k];
    r.name = k == 0 ? "ep" : "microep";
    r.iterations = I;
    r.micro_batches = M;
    r.ranks = R;
    r.slots = 2;
    const double s = 1.0 + static_cast<double>(k);
    r.seconds = ramp(I * M * R, 1e-3 * s);
    r.flops = ramp(I * M * R, 1e9 * s);
    r.loads = counts(I * M * R, 100 * s);
    r.compute_time = ramp(I * M, 2e-3 * s);
    r.imbalance = ramp(I * M, 0.1 * s);
    r.dropped = counts(I * M, 0);
    r.lower_bound = counts(I * M, 7);
    r.memory_bound = ramp(I * M, 0.01 * s);
    r.iteration_time = ramp(I, 4e-3 * s);
    r.migrations = counts(I, 1);
    r.migrated_bytes = counts(I, 1000);
    r.measured_iterations = I - 1;
    r.median_iteration_time = 5e-3 * s;
    r.mean_imbalance = 1.2;
    r.max_imbalance = 1.4;
    r.tokens_per_second = 1e6;
    r.flop_rate = 2e12;
  }
  emulate::Comparison comparison;
  comparison.time_ratio = 1.2;
  comparison.imbalance_ratio = 1.3;
  comparison.gain_capture = 0.92;
  comparison.microep_vs_balanced = 0.9;
  const std::string path = "test_report_kinds_emulation.h5";
  emulate::write_emulation_report(path, info, results, comparison);

  auto file = h5::open_file_readonly(path);
  EXPECT_EQ(h5::read_string_attribute(file.id(), "format"), "micromoe-emulation");
  EXPECT_EQ(h5::read_int_attribute(file.id(), "format_version"), emulate::kEmulationFormatVersion);
  EXPECT_EQ(h5::read_string_attribute(file.id(), "program"), "MicroMoE");
  {
    auto run = h5::open_group(file.id(), "run");
    EXPECT_EQ(h5::read_string_attribute(run.id(), "build.compiler.2"), "again");  // a repeated key numbered
    expect_attributes(run.id(), emulate::emulation_run_attributes(), emulate::EmulationRun{info, results});
  }
  for (const auto& r : results) {
    auto group = h5::open_group(file.id(), r.name);
    expect_datasets(group.id(), emulate::emulation_datasets(), r, {{"I", I}, {"M", M}, {"R", R}});
    expect_attributes(group.id(), emulate::emulation_group_attributes(), r);
  }
  auto summary = h5::open_group(file.id(), "summary");
  expect_attributes(summary.id(), emulate::emulation_summary_attributes(), comparison);
  std::remove(path.c_str());
}

TEST(SimulationReport, WritesEveryRowOfItsSchemaAndReadsBack) {
  simulate::SimulationInfo info;
  info.build_info = {{"git_revision", "abc"}};
  info.deck = "[model]\nhidden = 16\n";
  info.command_line = "micromoe simulate deck.toml --gpus 4";
  info.start_time = "2026-12-03T19:00:00Z";
  info.end_time = "2026-12-03T19:00:01Z";
  info.layout = emulate::Layout{4, 2, 2, 1, 2};
  info.topology.gpus_per_node = 2;
  info.exchange_bytes = 2;
  info.fast_counts = true;
  info.calibration_path = "cal.h5";
  info.wall_seconds = 0.25;
  simulate::Calibration calibration;
  calibration.device = "test device";
  calibration.date = "2026-12-03T00:00:00Z";
  calibration.commit = "def";
  calibration.command_line = "micromoe calibrate deck.toml";
  calibration.rows = {1, 2, 4};
  calibration.ffn_seconds = {1e-4, 1.5e-4, 2e-4};
  calibration.gate_seconds_per_token = 1e-8;
  calibration.row_seconds_per_copy = 2e-8;
  calibration.optimizer_seconds_per_slot = 3e-5;
  calibration.slots = 2;
  calibration.sustain_seconds = 0.3;
  const int I = 3, M = 2, R = 4, D = 2;
  simulate::StrategySimulation r;
  r.name = "microep";
  r.iterations = I;
  r.micro_batches = M;
  r.ranks = R;
  r.groups = D;
  r.group_size = 2;
  r.compute = ramp(I * M * R, 1e-3);
  r.local = ramp(I * M * R, 1e-4);
  r.loads = counts(I * M * R, 50);
  r.send_bytes = ramp(I * M * R, 1e6);
  r.inter_node_bytes = ramp(I * M * R, 1e5);
  r.recv_bytes = ramp(I * M * R, 2e6);
  r.dispatch = ramp(I * M * D, 1e-5);
  r.scheduler = ramp(I * M * D, 1e-6);
  r.micro_batch_time = ramp(I * M * D, 2e-3);
  r.imbalance = ramp(I * M, 0.1);
  r.dropped = counts(I * M, 0);
  r.lower_bound = counts(I * M, 9);
  r.gradient_sync = ramp(I, 1e-2);
  r.optimizer = ramp(I, 1e-3);
  r.migration = ramp(I, 1e-4);
  r.migration_bytes = ramp(I, 1e8);
  r.migrations = counts(I, 3);
  r.critical_group = {0, 1, 1};
  r.iteration_time = ramp(I, 3e-2);
  simulate::StrategySummary summary;
  summary.name = r.name;
  summary.measured_iterations = 2;
  summary.median_iteration_time = 0.03;
  summary.mean_iteration_time = 0.031;
  summary.local = 1e-4;
  summary.exchange = 2e-4;
  summary.compute = 3e-3;
  summary.gradient_sync = 1e-2;
  summary.optimizer = 1e-3;
  summary.migration = 1e-4;
  summary.scheduler = 1e-5;
  summary.mean_imbalance = 1.1;
  summary.max_imbalance = 1.3;
  summary.tokens_per_second = 1e7;
  const std::string path = "test_report_kinds_simulation.h5";
  simulate::write_simulation_report(path, info, calibration, {r}, {summary});

  auto file = h5::open_file_readonly(path);
  EXPECT_EQ(h5::read_string_attribute(file.id(), "format"), "micromoe-simulation");
  EXPECT_EQ(h5::read_int_attribute(file.id(), "format_version"), simulate::kSimulationFormatVersion);
  EXPECT_TRUE(h5::has_attribute(file.id(), "prediction"));
  const std::vector<simulate::StrategySimulation> results = {r};
  {
    auto run = h5::open_group(file.id(), "run");
    EXPECT_EQ(h5::read_string_attribute(run.id(), "build.git_revision"), "abc");
    expect_attributes(run.id(), simulate::simulation_run_attributes(), simulate::SimulationRun{info, results});
  }
  {
    auto group = h5::open_group(file.id(), "calibration");
    const simulate::CalibrationUsed used{info.calibration_path, calibration};
    expect_attributes(group.id(), simulate::simulation_calibration_attributes(), used);
    expect_datasets(group.id(), simulate::simulation_calibration_datasets(), used, {{"P", 3}});
  }
  auto group = h5::open_group(file.id(), "microep");
  expect_datasets(group.id(), simulate::simulation_datasets(), r, {{"I", I}, {"M", M}, {"R", R}, {"D", D}});
  expect_attributes(group.id(), simulate::simulation_group_attributes(), simulate::SimulatedStrategy{r, summary});
  std::remove(path.c_str());
}

TEST(ReportKinds, AWrongSizeOrTypeIsAnErrorNotAReport) {
  auto file = h5::create_file("test_report_kinds_bad.h5");
  EXPECT_THROW(report::write_unit_dataset(file.id(), "x", {"I"}, {{"I", 3}}, report::ElementType::float64, "s",
                                          std::vector<double>{1, 2}),
               Error);
  EXPECT_THROW(report::write_unit_dataset(file.id(), "y", {"I"}, {{"I", 2}}, report::ElementType::int64, "s",
                                          std::vector<double>{1, 2}),
               Error);
  EXPECT_THROW(report::write_unit_dataset(file.id(), "z", {"Q"}, {{"I", 2}}, report::ElementType::float64, "s",
                                          std::vector<double>{1, 2}),
               Error);
  EXPECT_THROW(report::write_typed_attribute(file.id(), "a", report::AttributeType::int64, 1.5), Error);
  file.reset();
  std::remove("test_report_kinds_bad.h5");
}

TEST(ReportKinds, DocsTablesAreCurrent) {
  const std::string path = std::string(MICROMOE_SOURCE_DIR) + "/docs/report.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  std::stringstream text;
  text << in.rdbuf();
  auto sections = emulate::emulation_doc_sections();
  for (const auto& s : simulate::simulation_doc_sections()) sections.push_back(s);
  for (const auto& row : simulate::simulation_datasets())
    EXPECT_NE(text.str().find("| `" + row.name + "` |"), std::string::npos) << row.name;
  EXPECT_EQ(text.str(), report::fill_generated_sections(text.str(), sections))
      << path << " is out of date; regenerate it: <build>/tests/report/micromoe_report_docs docs/report.md";
}

}  // namespace
}  // namespace micromoe
