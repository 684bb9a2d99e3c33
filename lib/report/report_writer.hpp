// SPDX-License-Identifier: BSD-3-Clause
// The HDF5 report (schema: docs/report.md, format_version 1). Serial HDF5: rank 0 only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "report/hdf5_handles.hpp"
#include "report/report_data.hpp"

namespace micromoe::report {

/// The format version written to the root attribute "format_version".
constexpr std::int64_t kReportFormatVersion = 1;

/// Writes the report to `path + ".tmp"` and renames it to `path` once complete: a report exists
/// whole or not at all. On any failure the temporary file is removed (an older file at `path`
/// is left untouched) and micromoe::Error is thrown. Strategy names must be unique, non-empty,
/// without '/', and not "run"; every StrategyResults must have the shapes its dims say.
void write_report(const std::string& path, const RunInfo& info, const std::vector<StrategyResults>& strategies);

/// Calls write(path + ".tmp") with HDF5's error stack quiet, then renames the file to `path`: a
/// file exists whole or not at all. On any failure the temporary file is removed (an older file
/// at `path` is left untouched) and the exception propagates (micromoe::Error for the rename).
/// Shared by every HDF5 file the application writes.
void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

/// Checks early (before hours of training) that a report can be created at `path`: the name has
/// no NUL, `path` and `path + ".tmp"` are regular files or do not exist (never a directory, a
/// device node, a FIFO or a socket), their directory exists and is writable, and `path + ".tmp"`
/// can be created (it is created and removed). Throws micromoe::InputError "[run] report: ...;
/// fix: ..." otherwise. Call it on rank 0 and share the verdict.
void check_report_path(const std::string& path);
/// The same checks for another output file of the run, named `key` in the errors
/// ("[run] checkpoint: ...").
void check_output_path(const std::string& path, const std::string& key);

/// The pieces of the layout that write_report and the streamed report (report_stream.hpp)
/// share, so both write the same file.
namespace detail {
/// Creates `path` with the root attributes (format_version, program).
h5::File create_report_file(const std::string& path);
/// A dataset's unit, dims and (with a phase axis) phase_names attributes.
void write_dataset_attributes(hid_t dataset, const DatasetSpec& spec);
/// A strategy group's summary attributes, from `r`'s datasets (`ep`: the ep group, may be null).
void write_group_attributes(hid_t group, const StrategyResults& r, const RunInfo& info, const StrategyResults* ep);
/// The /run group: build information, run attributes (`names`: the strategy groups), hosts.
void write_run_group(hid_t file, const RunInfo& info, const std::vector<std::string>& names);
}  // namespace detail

}  // namespace micromoe::report
