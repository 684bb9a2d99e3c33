// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/emulation_report.hpp"

#include "core/error.hpp"
#include "emulate/emulation_report_schema.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"

namespace micromoe::emulate {

namespace {

void write_file(const std::string& path, const EmulationInfo& info, const std::vector<StrategyResult>& results,
                const Comparison& comparison) {
  auto fapl = report::h5::modern_format_fapl();
  auto file = report::h5::create_file(path, fapl.id());
  report::write_program_attributes(file.id(), "micromoe-emulation", kEmulationFormatVersion);
  {
    auto run = report::h5::create_group(file.id(), "run");
    report::write_build_attributes(run.id(), info.build_info);
    report::write_attributes(run.id(), emulation_run_attributes(), EmulationRun{info, results});
  }
  for (const auto& r : results) {
    auto group = report::h5::create_group(file.id(), r.name);
    const report::DimSizes sizes = {{"I", static_cast<hsize_t>(r.iterations)},
                                    {"M", static_cast<hsize_t>(r.micro_batches)},
                                    {"R", static_cast<hsize_t>(r.ranks)}};
    report::write_datasets(group.id(), emulation_datasets(), r, sizes);
    report::write_attributes(group.id(), emulation_group_attributes(), r);
  }
  {
    auto summary = report::h5::create_group(file.id(), "summary");
    report::write_attributes(summary.id(), emulation_summary_attributes(), comparison);
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
