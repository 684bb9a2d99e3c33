// SPDX-License-Identifier: BSD-3-Clause
// write_report: the HDF5 layout of docs/report.md, written to a temporary name and renamed.
#include "report/report_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"

namespace micromoe::report {
namespace {

using Dims = std::vector<hsize_t>;

void write_strategy(hid_t file, const StrategyResults& r, const RunInfo& info, const StrategyResults* ep) {
  const std::string problem = r.shape_problem();
  MICROMOE_REQUIRE(problem.empty(), "report group " + r.name + ": " + problem);
  auto group = h5::create_group(file, r.name);
  const hid_t g = group.id();
  const hsize_t I = static_cast<hsize_t>(r.iterations), L = static_cast<hsize_t>(r.layers),
                M = static_cast<hsize_t>(r.micro_batches), R = static_cast<hsize_t>(r.ranks);
  const auto unit = [g](const std::string& dataset, const std::string& text) {
    auto d = h5::open_dataset(g, dataset);
    h5::write_attribute(d.id(), "unit", text);
  };
  h5::write_dataset(g, "loads", Dims{I, L, M, R}, r.loads);
  unit("loads", "tokens");
  if (r.experts > 0) {  // micromoe run always records them; a trace can be cut from them
    h5::write_dataset(g, "expert_copies", Dims{I, L, M, static_cast<hsize_t>(r.experts)}, r.expert_copies);
    unit("expert_copies", "tokens");
  }
  h5::write_dataset(g, "imbalance", Dims{I, L, M}, r.imbalance);
  unit("imbalance", "1");
  h5::write_dataset(g, "phase_times", Dims{I, kPhaseCount, R}, r.phase_times);
  unit("phase_times", "s");
  {
    auto d = h5::open_dataset(g, "phase_times");
    h5::write_attribute(d.id(), "phase_names", std::vector<std::string>(phase_names().begin(), phase_names().end()));
  }
  h5::write_dataset(g, "bytes_sent", Dims{I, L, M, R}, r.bytes_sent);
  unit("bytes_sent", "bytes");
  h5::write_dataset(g, "tokens_dropped", Dims{I, L, M}, r.tokens_dropped);
  unit("tokens_dropped", "tokens");
  h5::write_dataset(g, "schedule_us", Dims{I, L, M}, r.schedule_us);
  unit("schedule_us", "us");
  h5::write_dataset(g, "loss", Dims{I}, r.loss);
  unit("loss", "1");
  h5::write_dataset(g, "step_time", Dims{I}, r.step_time);
  unit("step_time", "s");
  h5::write_dataset(g, "tokens_per_second", Dims{I}, r.tokens_per_second);
  unit("tokens_per_second", "tokens/s");

  const StrategySummary s = summarize(r, info.warmup_iterations, ep);
  h5::write_attribute(g, "iterations_completed", static_cast<std::int64_t>(r.iterations));
  h5::write_attribute(g, "layers", static_cast<std::int64_t>(r.layers));
  h5::write_attribute(g, "micro_batches", static_cast<std::int64_t>(r.micro_batches));
  h5::write_attribute(g, "ranks", static_cast<std::int64_t>(r.ranks));
  h5::write_attribute(g, "measured_iterations", static_cast<std::int64_t>(s.measured_iterations));
  h5::write_attribute(g, "mean_step_time", s.mean_step_time);
  h5::write_attribute(g, "median_step_time", s.median_step_time);
  h5::write_attribute(g, "tokens_per_second", s.tokens_per_second);
  h5::write_attribute(g, "mean_imbalance", s.mean_imbalance);
  h5::write_attribute(g, "max_imbalance", s.max_imbalance);
  h5::write_attribute(g, "mean_schedule_us", s.mean_schedule_us);
  h5::write_attribute(g, "speedup_over_ep", s.speedup_over_ep);
  h5::write_attribute(g, "tokens_dropped_total", s.tokens_dropped);
  h5::write_attribute(g, "peak_memory_bytes", s.peak_memory_bytes);
}

void write_file(const std::string& path, const RunInfo& info, const std::vector<StrategyResults>& strategies) {
  const StrategyResults* ep = nullptr;
  for (const auto& r : strategies)
    if (r.name == "ep") ep = &r;

  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  h5::write_attribute(file.id(), "format_version", kReportFormatVersion);
  h5::write_attribute(file.id(), "program", std::string("MicroMoE"));
  {
    auto run = h5::create_group(file.id(), "run");
    const hid_t g = run.id();
    std::set<std::string> build_keys;  // a repeated key gets a numbered name instead of failing the report
    for (const auto& [key, value] : info.build_info) {
      std::string name = "build." + key;
      for (int n = 2; !build_keys.insert(name).second; ++n) name = "build." + key + "." + std::to_string(n);
      h5::write_attribute(g, name, value);
    }
    h5::write_attribute(g, "deck", info.deck);
    h5::write_attribute(g, "command_line", info.command_line);
    h5::write_attribute(g, "ranks", static_cast<std::int64_t>(info.ranks));
    h5::write_attribute(g, "start_time", info.start_time);
    h5::write_attribute(g, "end_time", info.end_time);
    h5::write_attribute(g, "truncated", static_cast<std::int64_t>(info.truncated ? 1 : 0));
    h5::write_attribute(g, "iterations_completed", info.iterations_completed);
    h5::write_attribute(g, "warmup_iterations", static_cast<std::int64_t>(info.warmup_iterations));
    std::vector<std::string> names;
    for (const auto& r : strategies) names.push_back(r.name);
    h5::write_attribute(g, "strategies", names);
    h5::write_string_dataset(g, "hosts", info.hosts);
  }
  for (const auto& r : strategies) write_strategy(file.id(), r, info, ep);
  MICROMOE_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
}

void check_names(const std::string& path, const std::vector<StrategyResults>& strategies) {
  std::set<std::string> names;
  for (const auto& r : strategies) {
    if (r.name.empty() || r.name.find('/') != std::string::npos || r.name == "run" || r.name == "." ||
        !names.insert(r.name).second)
      throw Error("report " + path + ": strategy group name \"" + r.name +
                  "\" is empty, contains '/', is \"run\" or is repeated");
  }
}

}  // namespace

void check_report_path(const std::string& path) {
  const std::string temporary = path + ".tmp";
  std::FILE* probe = std::fopen(temporary.c_str(), "wb");
  if (!probe)
    throw InputError("[run] report: cannot create " + temporary + ": " + std::strerror(errno) +
                     "; fix: create its directory, or set run.report to a writable path");
  std::fclose(probe);
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
