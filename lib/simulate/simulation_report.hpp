// SPDX-License-Identifier: BSD-3-Clause
// The HDF5 report of `micromoe simulate` (schema: docs/report.md, "Simulation report"), a file
// kind of its own like emulate's: written to PATH.tmp and renamed, whole or not at all.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emulate/plan.hpp"
#include "simulate/calibration.hpp"
#include "simulate/summary.hpp"
#include "simulate/topology.hpp"

namespace micromoe::simulate {

inline constexpr std::int64_t kSimulationFormatVersion = 1;

/// Run-wide facts stored in /run.
struct SimulationInfo {
  std::vector<std::pair<std::string, std::string>> build_info;
  std::string deck, command_line, start_time, end_time;
  emulate::Layout layout;
  Topology topology;
  double exchange_bytes = 0;
  bool fast_counts = false;
  std::string calibration_path;
  double wall_seconds = 0;  ///< the simulator's own run time
};

void write_simulation_report(const std::string& path, const SimulationInfo& info, const Calibration& calibration,
                             const std::vector<StrategySimulation>& results,
                             const std::vector<StrategySummary>& summaries);

}  // namespace micromoe::simulate
