// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/simulation_report.hpp"

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"
#include "simulate/simulation_report_schema.hpp"

namespace micromoe::simulate {

namespace {

namespace h5 = report::h5;

void write_file(const std::string& path, const SimulationInfo& info, const Calibration& calibration,
                const std::vector<StrategySimulation>& results, const std::vector<StrategySummary>& summaries) {
  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  report::write_program_attributes(file.id(), "micromoe-simulation", kSimulationFormatVersion);
  h5::write_attribute(file.id(), "prediction",
                      std::string("predicted by micromoe simulate from a calibration, "
                                  "not measured on the cluster (docs/simulate.md)"));
  {
    auto run = h5::create_group(file.id(), "run");
    report::write_build_attributes(run.id(), info.build_info);
    report::write_attributes(run.id(), simulation_run_attributes(), SimulationRun{info, results});
  }
  {
    auto group = h5::create_group(file.id(), "calibration");
    const CalibrationUsed used{info.calibration_path, calibration};
    report::write_attributes(group.id(), simulation_calibration_attributes(), used);
    report::write_datasets(group.id(), simulation_calibration_datasets(), used,
                           {{"P", static_cast<hsize_t>(calibration.rows.size())}});
  }
  for (std::size_t k = 0; k < results.size(); ++k) {
    const auto& r = results[k];
    auto group = h5::create_group(file.id(), r.name);
    const report::DimSizes sizes = {{"I", static_cast<hsize_t>(r.iterations)},
                                    {"M", static_cast<hsize_t>(r.micro_batches)},
                                    {"R", static_cast<hsize_t>(r.ranks)},
                                    {"D", static_cast<hsize_t>(r.groups)}};
    report::write_datasets(group.id(), simulation_datasets(), r, sizes);
    report::write_attributes(group.id(), simulation_group_attributes(), SimulatedStrategy{r, summaries[k]});
  }
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
