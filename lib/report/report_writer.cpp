// SPDX-License-Identifier: BSD-3-Clause
// write_report: the HDF5 layout of docs/report.md (strategy groups from the schema tables of
// report_schema.hpp), written to a temporary name and renamed.
#include "report/report_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <variant>

#include "core/error.hpp"
#include "core/error_line.hpp"
#include "core/file_kind.hpp"
#include "report/file_schema.hpp"
#include "report/hdf5_handles.hpp"

namespace micromoe::report {
namespace {

using Dims = std::vector<hsize_t>;

/// A dataset's extents in `r`, as HDF5 wants them.
Dims extents(const StrategyResults& r, const DatasetSpec& spec) {
  Dims dims;
  for (const Dim d : spec.dims) dims.push_back(static_cast<hsize_t>(r.extent(d)));
  return dims;
}

void write_dataset(hid_t group, const StrategyResults& r, const DatasetSpec& spec, const DatasetValues& values) {
  const Dims dims = extents(r, spec);
  if (spec.optional && std::find(dims.begin() + 1, dims.end(), hsize_t{0}) != dims.end()) return;
  if (spec.type == ElementType::int64)
    h5::write_dataset(group, spec.name, dims, values.int64);
  else
    h5::write_dataset(group, spec.name, dims, values.float64);
  auto d = h5::open_dataset(group, spec.name);
  detail::write_dataset_attributes(d.id(), spec);
}

void write_strategy(hid_t file, const StrategyResults& r, const RunInfo& info, const StrategyResults* ep) {
  const std::string problem = r.shape_problem();
  MICROMOE_REQUIRE(problem.empty(), "report group " + r.name + ": " + problem);
  auto group = h5::create_group(file, r.name);
  const auto& specs = report_datasets();
  for (std::size_t d = 0; d < specs.size(); ++d) write_dataset(group.id(), r, specs[d], r.datasets[d]);

  detail::write_group_attributes(group.id(), r, info, ep);
}

void write_file(const std::string& path, const RunInfo& info, const std::vector<StrategyResults>& strategies) {
  const StrategyResults* ep = nullptr;
  for (const auto& r : strategies)
    if (r.name == "ep") ep = &r;

  auto file = detail::create_report_file(path);
  std::vector<std::string> names;
  for (const auto& r : strategies) names.push_back(r.name);
  detail::write_run_group(file.id(), info, names);
  for (const auto& r : strategies) write_strategy(file.id(), r, info, ep);
  MICROMOE_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
}

}  // namespace

namespace detail {

h5::File create_report_file(const std::string& path) {
  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  write_program_attributes(file.id(), "", kReportFormatVersion);  // a training report has no "format"
  return file;
}

void write_dataset_attributes(hid_t dataset, const DatasetSpec& spec) {
  h5::write_attribute(dataset, "unit", spec.unit);
  std::vector<std::string> names;  // the reader's shapes come from here, not from its own tables
  for (const Dim dim : spec.dims) names.emplace_back(dim_spec(dim).name);
  h5::write_attribute(dataset, "dims", names);
  if (std::find(spec.dims.begin(), spec.dims.end(), Dim::phase) != spec.dims.end())
    h5::write_attribute(dataset, "phase_names", std::vector<std::string>(phase_names().begin(), phase_names().end()));
}

void write_group_attributes(hid_t group, const StrategyResults& r, const RunInfo& info, const StrategyResults* ep) {
  const StrategySummary summary = summarize(r, info.warmup_iterations, ep);
  for (const auto& attribute : report_group_attributes())
    std::visit([&](auto value) { h5::write_attribute(group, attribute.name, value); }, attribute.get(r, summary));
}

void write_run_group(hid_t file, const RunInfo& info, const std::vector<std::string>& names) {
  auto run = h5::create_group(file, "run");
  const hid_t g = run.id();
  write_build_attributes(g, info.build_info);
  for (const auto& attribute : report_run_attributes())
    std::visit([&](const auto& value) { h5::write_attribute(g, attribute.name, value); }, attribute.get(info, names));
  h5::write_string_dataset(g, "hosts", info.hosts);
}

}  // namespace detail

namespace {

void check_names(const std::string& path, const std::vector<StrategyResults>& strategies) {
  std::set<std::string> names;
  for (const auto& r : strategies) {
    if (r.name.empty() || r.name.find('/') != std::string::npos || r.name == "run" || r.name == "." ||
        !names.insert(r.name).second)
      throw Error("report " + path + ": strategy group name \"" + r.name +
                  "\" is empty, contains '/', is \"run\" or is repeated");
  }
}

/// Empty when `directory` exists, is a directory, and this process may create files in it.
std::string directory_problem(const std::string& directory) {
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0) return std::strerror(errno);
  if (!S_ISDIR(info.st_mode)) return "is not a directory";
  if (::access(directory.c_str(), W_OK | X_OK) != 0) return std::string("not writable: ") + std::strerror(errno);
  return {};
}

}  // namespace

void check_report_path(const std::string& path) { check_output_path(path, "report"); }

void check_output_path(const std::string& path, const std::string& key) {
  const std::string create_fix = "create its directory, or set run." + key + " to a writable path";
  const auto refuse = [&](const std::string& what, const std::string& problem, const std::string& fix) {
    throw InputError("[run] " + key + ": " + error_line(what) + ": " + problem + "; fix: " + fix);
  };
  const std::string regular_fix =
      "set run." + key + " to the name of a regular file (or of none yet), e.g. " + key + ".h5";
  const std::string other_fix = "remove it, or set run." + key + " to another name";
  // Only a regular file (or nothing yet) is replaced: the rename at the end would otherwise
  // replace a device node or fail on a directory after the whole training.
  const std::string temporary = path + ".tmp";
  if (const auto problem = replaceable_file_problem(path); !problem.empty()) refuse(path, problem, regular_fix);
  if (const auto problem = replaceable_file_problem(temporary); !problem.empty()) refuse(temporary, problem, other_fix);
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  if (const auto problem = directory_problem(directory); !problem.empty())
    refuse("cannot create " + temporary, "directory " + directory + ": " + problem, create_fix);
  // The probe: a non-blocking open that neither follows a link nor waits on a FIFO made since.
  const int probe = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (probe < 0) refuse("cannot create " + temporary, std::strerror(errno), create_fix);
  struct stat info {};
  const bool regular = ::fstat(probe, &info) == 0 && S_ISREG(info.st_mode);
  ::close(probe);
  if (!regular) refuse(temporary, "is not a regular file", other_fix);
  std::remove(temporary.c_str());
}

void write_file_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const std::string temporary = path + ".tmp";
  const h5::QuietErrors quiet;
  try {
    write(temporary);  // every handle is closed when this returns
  } catch (...) {
    std::remove(temporary.c_str());
    throw;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    throw Error("report " + path + ": cannot rename " + temporary + " to it: " + reason);
  }
}

void write_report(const std::string& path, const RunInfo& info, const std::vector<StrategyResults>& strategies) {
  check_names(path, strategies);
  write_file_atomically(path, [&](const std::string& temporary) {
    try {
      write_file(temporary, info, strategies);
    } catch (const Error& e) {
      throw Error("report " + path + ": not written: " + e.what());
    }
  });
}

}  // namespace micromoe::report
