// SPDX-License-Identifier: BSD-3-Clause
// The report writer: contents read back with the HDF5 C API, summaries, and "whole or nothing".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"
#include "sample_results.hpp"

namespace micromoe::report {
namespace {

bool exists(const std::string& path) { return std::ifstream(path).good(); }

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "micromoe_" + std::to_string(getpid()) + "_" + name;
}

TEST(ReportWriter, WritesTheSchema) {
  const std::string path = temp_path("report.h5");
  const RunInfo info = testing::sample_run_info();
  const std::vector<StrategyResults> results = {testing::sample_results("ep", 2.0),
                                                testing::sample_results("microep", 1.1)};
  write_report(path, info, results);
  ASSERT_TRUE(exists(path));
  EXPECT_FALSE(exists(path + ".tmp"));

  auto file = h5::open_file_readonly(path);
  EXPECT_EQ(h5::read_int_attribute(file.id(), "format_version"), 1);
  auto run = h5::open_group(file.id(), "run");
  EXPECT_EQ(h5::read_string_attribute(run.id(), "deck"), info.deck);
  EXPECT_EQ(h5::read_string_attribute(run.id(), "build.git_revision"), "abc123");
  EXPECT_EQ(h5::read_int_attribute(run.id(), "ranks"), 4);
  EXPECT_EQ(h5::read_int_attribute(run.id(), "truncated"), 0);
  EXPECT_EQ(h5::read_int_attribute(run.id(), "iterations_completed"), 5);
  EXPECT_EQ(h5::read_string_attribute(run.id(), "start_time"), info.start_time);
  EXPECT_EQ(h5::read_string_array_attribute(run.id(), "strategies"), (std::vector<std::string>{"ep", "microep"}));
  {
    auto hosts = h5::open_dataset(run.id(), "hosts");
    auto space = h5::dataset_space(hosts.id());
    EXPECT_EQ(h5::extents(space.id()), (std::vector<hsize_t>{4}));
  }

  for (const auto& r : results) {
    auto g = h5::open_group(file.id(), r.name);
    std::vector<hsize_t> dims;
    EXPECT_EQ(h5::read_dataset<std::int64_t>(g.id(), "loads", &dims), r.int64("loads"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, 2, 3, 4}));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "imbalance", &dims), r.float64("imbalance"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, 2, 3}));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "phase_times", &dims), r.float64("phase_times"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, kPhaseCount, 4}));
    EXPECT_EQ(h5::read_dataset<std::int64_t>(g.id(), "expert_copies", &dims), r.int64("expert_copies"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, 2, 3, 6}));
    EXPECT_EQ(h5::read_dataset<std::int64_t>(g.id(), "bytes_sent", &dims), r.int64("bytes_sent"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, 2, 3, 4}));
    EXPECT_EQ(h5::read_dataset<std::int64_t>(g.id(), "tokens_dropped", &dims), r.int64("tokens_dropped"));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "schedule_us", &dims), r.float64("schedule_us"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5, 2, 3}));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "loss", &dims), r.float64("loss"));
    EXPECT_EQ(dims, (std::vector<hsize_t>{5}));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "step_time"), r.float64("step_time"));
    EXPECT_EQ(h5::read_dataset<double>(g.id(), "tokens_per_second"), r.float64("tokens_per_second"));
    {
      auto d = h5::open_dataset(g.id(), "phase_times");
      const auto names = h5::read_string_array_attribute(d.id(), "phase_names");
      ASSERT_EQ(names.size(), kPhaseCount);
      EXPECT_EQ(names.front(), "gate");
      EXPECT_EQ(names[static_cast<std::size_t>(Phase::gradient_sync)], "gradient_sync");
      EXPECT_EQ(h5::read_string_attribute(d.id(), "unit"), "s");
    }
    for (const auto& spec : report_datasets()) {  // unit and dims attributes as the schema says
      auto d = h5::open_dataset(g.id(), spec.name);
      EXPECT_EQ(h5::read_string_attribute(d.id(), "unit"), spec.unit) << spec.name;
      std::vector<std::string> names;
      for (const Dim dim : spec.dims) names.emplace_back(dim_spec(dim).name);
      EXPECT_EQ(h5::read_string_array_attribute(d.id(), "dims"), names) << spec.name;
    }
    const StrategySummary s = summarize(r, 1, &results[0]);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "mean_step_time"), s.mean_step_time);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "median_step_time"), s.median_step_time);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "tokens_per_second"), s.tokens_per_second);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "mean_imbalance"), s.mean_imbalance);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "max_imbalance"), s.max_imbalance);
    EXPECT_DOUBLE_EQ(h5::read_double_attribute(g.id(), "speedup_over_ep"), s.speedup_over_ep);
    EXPECT_EQ(h5::read_int_attribute(g.id(), "peak_memory_bytes"), 1 << 20);
    EXPECT_EQ(h5::read_int_attribute(g.id(), "iterations_completed"), 5);
  }
  auto ep = h5::open_group(file.id(), "ep");
  auto microep = h5::open_group(file.id(), "microep");
  EXPECT_DOUBLE_EQ(h5::read_double_attribute(ep.id(), "speedup_over_ep"), 1.0);
  EXPECT_GT(h5::read_double_attribute(microep.id(), "speedup_over_ep"), 1.5);
  EXPECT_LT(h5::read_double_attribute(microep.id(), "mean_imbalance"),
            h5::read_double_attribute(ep.id(), "mean_imbalance"));
  std::remove(path.c_str());
}

TEST(ReportWriter, MedianStepTimeSkipsWarmupAndResistsOutliers) {
  StrategyResults r = testing::sample_results("ep", 1.0);
  ASSERT_EQ(r.float64("step_time").size(), 5u);
  r.float64("step_time") = {100.0, 0.3, 0.1, 50.0, 0.2};  // measured after 1 warm-up: 0.1 0.2 0.3 50
  const StrategySummary s = summarize(r, 1, nullptr);
  EXPECT_DOUBLE_EQ(s.median_step_time, 0.2);  // the lower median; the mean is dragged to 12.65
  EXPECT_DOUBLE_EQ(s.mean_step_time, (0.3 + 0.1 + 50.0 + 0.2) / 4);
}

TEST(ReportWriter, SummaryIsNanFree) {
  StrategyResults empty = testing::sample_results("microep", 1.0, 0);
  const StrategySummary s = summarize(empty, 2, nullptr);
  EXPECT_EQ(s.measured_iterations, 0);
  EXPECT_EQ(s.mean_step_time, -1);
  EXPECT_EQ(s.speedup_over_ep, -1);
  const StrategyResults r = testing::sample_results("microep", 1.0);
  EXPECT_EQ(summarize(r, 2, nullptr).speedup_over_ep, -1);  // no ep group
  EXPECT_EQ(summarize(r, 2, nullptr).measured_iterations, 3);
  EXPECT_EQ(summarize(r, 99, nullptr).measured_iterations, 5);  // warm-up longer than the run: all
  StrategyResults nan = r;
  nan.float64("step_time")[3] = std::nan("");
  EXPECT_EQ(summarize(nan, 2, nullptr).mean_step_time, -1);
  EXPECT_EQ(summarize(r, 2, &nan).speedup_over_ep, -1);
  // A truncated run: a strategy with no completed iteration is still written.
  const std::string path = temp_path("truncated.h5");
  RunInfo info = testing::sample_run_info();
  info.truncated = true;
  write_report(path, info, {testing::sample_results("ep", 2.0, 3), empty});
  auto file = h5::open_file_readonly(path);
  auto run = h5::open_group(file.id(), "run");
  EXPECT_EQ(h5::read_int_attribute(run.id(), "truncated"), 1);
  auto g = h5::open_group(file.id(), "microep");
  std::vector<hsize_t> dims;
  EXPECT_TRUE(h5::read_dataset<std::int64_t>(g.id(), "loads", &dims).empty());
  EXPECT_EQ(dims, (std::vector<hsize_t>{0, 2, 3, 4}));
  EXPECT_EQ(h5::read_double_attribute(g.id(), "mean_step_time"), -1);
  std::remove(path.c_str());
}

TEST(ReportWriter, OptionalDatasetWithoutExtentIsLeftOut) {
  const std::string path = temp_path("no_experts.h5");
  write_report(path, testing::sample_run_info(), {testing::sample_results("ep", 1.0, 2, 2, 3, 4, 0)});
  auto file = h5::open_file_readonly(path);
  auto g = h5::open_group(file.id(), "ep");
  EXPECT_FALSE(h5::has_link(g.id(), "expert_copies"));
  EXPECT_TRUE(h5::has_link(g.id(), "loads"));
  std::remove(path.c_str());
}

TEST(ReportWriter, ComputesImbalanceFromLoads) {
  StrategyResults r;
  r.resize(1, 1, 2, 2);
  r.int64("loads") = {3, 1, 0, 0};
  r.compute_imbalance();
  EXPECT_DOUBLE_EQ(r.float64("imbalance")[0], 1.5);
  EXPECT_DOUBLE_EQ(r.float64("imbalance")[1], 1.0);
}

TEST(ReportWriter, NoFileOnFailure) {
  const std::string path = temp_path("failed.h5");
  std::vector<StrategyResults> results = {testing::sample_results("ep", 2.0), testing::sample_results("microep", 1.0)};
  results[1].float64("loss").pop_back();  // fails after the file was created and the ep group written
  try {
    write_report(path, testing::sample_run_info(), results);
    ADD_FAILURE() << "a wrong shape must be refused";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("not written"), std::string::npos) << what;
    EXPECT_NE(what.find("loss has 4 values, its dims need 5"), std::string::npos) << what;
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(path + ".tmp"));

  // An older report at the path survives a failed write untouched.
  write_report(path, testing::sample_run_info(), {testing::sample_results("ep", 2.0)});
  EXPECT_THROW(write_report(path, testing::sample_run_info(), results), Error);
  EXPECT_TRUE(exists(path));
  EXPECT_FALSE(exists(path + ".tmp"));
  {
    auto file = h5::open_file_readonly(path);
    EXPECT_FALSE(h5::has_link(file.id(), "microep"));
  }
  std::remove(path.c_str());

  try {
    write_report(path, testing::sample_run_info(),
                 {testing::sample_results("ep", 1.0), testing::sample_results("ep", 1.0)});
    ADD_FAILURE() << "repeated group names must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("repeated"), std::string::npos);
  }
  EXPECT_THROW(write_report("/nonexistent-dir/r.h5", testing::sample_run_info(), {}), Error);
  EXPECT_FALSE(exists(path));
}

TEST(ReportWriter, TruncateKeepsTheFirstIterations) {
  StrategyResults r = testing::sample_results("microep", 1.5, 5);
  const StrategyResults full = r;
  r.truncate(2);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_EQ(r.shape_problem(), "");
  EXPECT_EQ(r.int64("loads"), std::vector<std::int64_t>(full.int64("loads").begin(),
                                                        full.int64("loads").begin() + r.int64("loads").size()));
  EXPECT_EQ(r.float64("phase_times").size(), 2 * kPhaseCount * 4);
  EXPECT_EQ(r.float64("step_time"),
            std::vector<double>(full.float64("step_time").begin(), full.float64("step_time").begin() + 2));
  r.truncate(0);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_TRUE(r.int64("loads").empty());
  EXPECT_EQ(r.shape_problem(), "");
}

TEST(ReportWriter, CheckReportPathSaysWhatToFix) {
  const std::string path = temp_path("probe.h5");
  EXPECT_NO_THROW(check_report_path(path));
  EXPECT_FALSE(exists(path + ".tmp"));
  try {
    check_report_path("/nonexistent-dir/r.h5");
    ADD_FAILURE() << "an unwritable report path must be refused";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("[run] report: cannot create /nonexistent-dir/r.h5.tmp"), std::string::npos)
        << e.what();
  }
}

TEST(ReportWriter, CheckReportPathRefusesAnythingButARegularFile) {
  // Directories, FIFOs and device nodes would fail the rename, block, or be replaced at the end.
  const std::string directory = temp_path("report_dir");
  const std::string fifo = temp_path("report_fifo");
  std::remove(fifo.c_str());
  ASSERT_TRUE(::mkdir(directory.c_str(), 0755) == 0 || errno == EEXIST);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {directory, "is a directory"},
      {directory + "/", "is a directory"},
      {fifo, "FIFO"},
      {"/dev/null", "character device"},  // only stat()ed: refused before anything is opened
      {temp_path("no_such_dir") + "/r.h5", "No such file or directory"},
      {std::string("r\0.h5", 4), "NUL"},
      {"", "empty"}};
  for (const auto& [path, needle] : refused) {
    try {
      check_report_path(path);
      ADD_FAILURE() << "report path '" << path << "' accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  // A FIFO at the temporary name is refused too, and never opened (that would block).
  const std::string report = temp_path("fifo_tmp.h5");
  std::remove((report + ".tmp").c_str());
  ASSERT_EQ(::mkfifo((report + ".tmp").c_str(), 0600), 0);
  EXPECT_THROW(check_report_path(report), InputError);
  struct stat info {};
  ASSERT_EQ(::stat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode)) << "the FIFO was replaced";
  std::remove(fifo.c_str());
  std::remove((report + ".tmp").c_str());

  // An existing regular file is fine (the report replaces it at the end) and left untouched now.
  const std::string existing = temp_path("existing.h5");
  std::ofstream(existing) << "old";
  EXPECT_NO_THROW(check_report_path(existing));
  std::ifstream in(existing);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "old");
}

TEST(Hdf5Handles, MoveOnlyAndClosedOnce) {
  const std::string path = temp_path("handles.h5");
  {
    auto file = h5::create_file(path);
    auto group = h5::create_group(file.id(), "g");
    h5::Group moved = std::move(group);
    EXPECT_FALSE(group.valid());
    EXPECT_TRUE(moved.valid());
    EXPECT_GT(H5Iis_valid(moved.id()), 0);
    const hid_t id = moved.id();
    moved.reset();
    EXPECT_LE(H5Iis_valid(id), 0);
    h5::QuietErrors quiet;
    EXPECT_THROW(h5::open_group(file.id(), "missing"), Error);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace micromoe::report
