// SPDX-License-Identifier: BSD-3-Clause
// The simulation report's schema tables (docs/report.md, "Simulation report"): /run's and
// /calibration's attributes and datasets, each strategy group's datasets and attributes. The
// writer (simulation_report.cpp), the generated tables of docs/report.md and the tests read
// these rows: a new dataset is one row here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "report/file_schema.hpp"
#include "simulate/simulation_report.hpp"

namespace micromoe::simulate {

/// What /run's attributes are read from.
struct SimulationRun {
  const SimulationInfo& info;
  const std::vector<StrategySimulation>& results;
};
/// What /calibration is read from.
struct CalibrationUsed {
  const std::string& path;
  const Calibration& calibration;
};
/// What a strategy group is read from.
struct SimulatedStrategy {
  const StrategySimulation& simulation;
  const StrategySummary& summary;
};

const std::vector<report::FileAttribute<SimulationRun>>& simulation_run_attributes();
const std::vector<report::FileAttribute<CalibrationUsed>>& simulation_calibration_attributes();
/// Shape P (the calibration's grid points).
const std::vector<report::FileDataset<CalibrationUsed>>& simulation_calibration_datasets();
/// Shapes in I (iterations), M (micro-batches), R (GPUs), D (MicroEP groups).
const std::vector<report::FileDataset<StrategySimulation>>& simulation_datasets();
const std::vector<report::FileAttribute<SimulatedStrategy>>& simulation_group_attributes();

/// The generated sections of docs/report.md: (marker name, Markdown).
std::vector<std::pair<std::string, std::string>> simulation_doc_sections();

}  // namespace micromoe::simulate
