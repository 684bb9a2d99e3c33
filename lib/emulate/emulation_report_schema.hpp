// SPDX-License-Identifier: BSD-3-Clause
// The emulation report's schema tables (docs/report.md, "Emulation report"): /run's attributes,
// each strategy group's datasets and attributes, /summary's attributes. The writer
// (emulation_report.cpp), the generated tables of docs/report.md and the tests read these rows:
// a new dataset is one row here.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "emulate/emulation_report.hpp"
#include "report/file_schema.hpp"

namespace micromoe::emulate {

/// What /run's attributes are read from.
struct EmulationRun {
  const EmulationInfo& info;
  const std::vector<StrategyResult>& results;
};

const std::vector<report::FileAttribute<EmulationRun>>& emulation_run_attributes();
/// Shapes in I (iterations), M (micro-batches), R (ranks).
const std::vector<report::FileDataset<StrategyResult>>& emulation_datasets();
const std::vector<report::FileAttribute<StrategyResult>>& emulation_group_attributes();
const std::vector<report::FileAttribute<Comparison>>& emulation_summary_attributes();

/// The generated sections of docs/report.md: (marker name, Markdown).
std::vector<std::pair<std::string, std::string>> emulation_doc_sections();

}  // namespace micromoe::emulate
