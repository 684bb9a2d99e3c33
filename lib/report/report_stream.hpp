// SPDX-License-Identifier: BSD-3-Clause
// The streamed report: rank 0 appends every iteration's results to extendible, chunked
// datasets of the temporary report file as the run goes, and renames the file once the run
// ends (whole or stopped). Memory is one iteration's record whatever `iterations` is; the file
// has the layout write_report writes (docs/report.md): same names, dims, types and values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "report/hdf5_handles.hpp"
#include "report/report_data.hpp"

namespace micromoe::report {

class ReportStream {
 public:
  /// Creates `path` + ".tmp" with the root attributes. It is removed again unless commit() runs.
  explicit ReportStream(std::string path);
  ~ReportStream();
  ReportStream(const ReportStream&) = delete;
  ReportStream& operator=(const ReportStream&) = delete;

  /// Starts the group `dims.name`: empty extendible datasets of dims' extents (its iterations
  /// are ignored).
  void begin_strategy(const StrategyResults& dims);
  /// Takes over the group `dims.name` already in the file (copied from a checkpoint): later
  /// appends follow its rows; `peak_memory_bytes` as measured before the restart.
  void adopt_strategy(const StrategyResults& dims, std::int64_t peak_memory_bytes);
  /// Appends `window`'s iterations to the last group begun or adopted (same name and extents).
  void append(const StrategyResults& window);
  /// The group's peak memory (max over ranks), written at commit.
  void set_peak_memory(const std::string& name, std::int64_t bytes);

  /// The groups so far, in run order, holding only what their summaries need (step_time,
  /// tokens_per_second, imbalance, schedule_us, tokens_dropped, schedule_bound, memory_bound,
  /// migrations: kSummaryDatasets, read back from the file).
  std::vector<StrategyResults> summaries() const;
  /// Groups so far, in run order, their rows, and their peak memory.
  struct Group {
    StrategyResults dims;  ///< name and extents (no values)
    std::int64_t rows = 0;
    std::int64_t peak_memory_bytes = 0;
  };
  const std::vector<Group>& groups() const { return groups_; }
  /// The open temporary file (a checkpoint copies the groups from it).
  hid_t file() const { return file_.id(); }

  /// Writes /run and every group's summary attributes, closes the file and renames it to the
  /// report's path: the report exists whole or not at all. Throws micromoe::Error.
  void commit(const RunInfo& info);

 private:
  void open_datasets(const std::string& name);

  std::string path_, temporary_;
  h5::File file_;
  std::vector<Group> groups_;
  std::vector<h5::Dataset> current_;  ///< the last group's datasets, indexed like report_datasets()
  bool committed_ = false;
};

/// True when the dataset is written for these extents (an optional one is left out when one of
/// its extents other than iteration is 0).
bool dataset_written(const StrategyResults& dims, const DatasetSpec& spec);

}  // namespace micromoe::report
