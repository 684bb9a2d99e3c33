// SPDX-License-Identifier: BSD-3-Clause
#include "report/report_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "report/report_writer.hpp"

namespace micromoe::report {

namespace {

std::vector<hsize_t> row_extents(const StrategyResults& r, const DatasetSpec& spec) {
  std::vector<hsize_t> dims;
  for (const Dim d : spec.dims) dims.push_back(static_cast<hsize_t>(r.extent(d)));
  dims[0] = 0;  // every dataset's first dimension is iteration
  return dims;
}

/// Chunks of whole iterations, about 4 KiB each (at least one iteration): a short run stays small,
/// a long one appends whole chunks.
std::vector<hsize_t> chunk_extents(std::vector<hsize_t> dims) {
  hsize_t row = 8;
  for (std::size_t i = 1; i < dims.size(); ++i) row *= std::max<hsize_t>(dims[i], 1);
  dims[0] = std::clamp<hsize_t>(4096 / row, 1, 512);
  return dims;
}

const char* const kSummaryDatasets[] = {"step_time",      "tokens_per_second", "imbalance",    "schedule_us",
                                        "tokens_dropped", "schedule_bound",    "memory_bound", "migrations"};

}  // namespace

bool dataset_written(const StrategyResults& dims, const DatasetSpec& spec) {
  if (!spec.optional) return true;
  for (std::size_t i = 1; i < spec.dims.size(); ++i)
    if (dims.extent(spec.dims[i]) == 0) return false;
  return true;
}

ReportStream::ReportStream(std::string path) : path_(std::move(path)), temporary_(path_ + ".tmp") {
  const h5::QuietErrors quiet;
  try {
    file_ = detail::create_report_file(temporary_);
  } catch (const Error& e) {
    std::remove(temporary_.c_str());
    throw Error("report " + path_ + ": not written: " + e.what());
  }
}

ReportStream::~ReportStream() {
  if (committed_) return;
  current_.clear();
  file_.reset();
  std::remove(temporary_.c_str());  // a failed run leaves nothing behind
}

void ReportStream::begin_strategy(const StrategyResults& dims) {
  const h5::QuietErrors quiet;
  auto group = h5::create_group(file_.id(), dims.name);
  for (const auto& spec : report_datasets()) {
    if (!dataset_written(dims, spec)) continue;
    const auto extents = row_extents(dims, spec);
    std::vector<hsize_t> max = extents;
    max[0] = H5S_UNLIMITED;
    auto space = h5::Dataspace::adopt(
        MICROMOE_CHECK_HDF5(H5Screate_simple(static_cast<int>(extents.size()), extents.data(), max.data())));
    auto dcpl = h5::PropertyList::adopt(MICROMOE_CHECK_HDF5(H5Pcreate(H5P_DATASET_CREATE)));
    const auto chunk = chunk_extents(extents);
    MICROMOE_CHECK_HDF5(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()));
    const hid_t type = spec.type == ElementType::int64 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
    auto dataset = h5::create_dataset(group.id(), spec.name, type, space.id(), dcpl.id());
    detail::write_dataset_attributes(dataset.id(), spec);
  }
  groups_.push_back({dims, 0, 0});
  open_datasets(dims.name);
}

void ReportStream::adopt_strategy(const StrategyResults& dims, std::int64_t peak_memory_bytes) {
  const h5::QuietErrors quiet;
  auto group = h5::open_group(file_.id(), dims.name);
  auto loss = h5::open_dataset(group.id(), "loss");
  const auto rows = h5::extents(h5::dataset_space(loss.id()).id());
  groups_.push_back({dims, static_cast<std::int64_t>(rows.at(0)), peak_memory_bytes});
  open_datasets(dims.name);
}

void ReportStream::open_datasets(const std::string& name) {
  auto group = h5::open_group(file_.id(), name);
  current_.clear();
  for (const auto& spec : report_datasets())
    current_.push_back(dataset_written(groups_.back().dims, spec) ? h5::open_dataset(group.id(), spec.name)
                                                                  : h5::Dataset{});
}

void ReportStream::append(const StrategyResults& window) {
  MICROMOE_REQUIRE(!groups_.empty() && groups_.back().dims.name == window.name,
                   "report stream: results of " + window.name + " outside its group");
  const std::string problem = window.shape_problem();
  MICROMOE_REQUIRE(problem.empty(), "report group " + window.name + ": " + problem);
  if (window.iterations == 0) return;
  const h5::QuietErrors quiet;
  auto& group = groups_.back();
  const auto& specs = report_datasets();
  for (std::size_t d = 0; d < specs.size(); ++d) {
    if (!current_[d].valid()) continue;
    const hid_t dataset = current_[d].id();
    auto count = row_extents(window, specs[d]);
    count[0] = static_cast<hsize_t>(window.iterations);
    auto extents = count;
    extents[0] = static_cast<hsize_t>(group.rows) + count[0];
    MICROMOE_CHECK_HDF5(H5Dset_extent(dataset, extents.data()));
    auto file_space = h5::dataset_space(dataset);
    std::vector<hsize_t> start(count.size(), 0);
    start[0] = static_cast<hsize_t>(group.rows);
    MICROMOE_CHECK_HDF5(
        H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
    auto memory = h5::create_dataspace(count);
    const bool int64 = specs[d].type == ElementType::int64;
    const void* values = int64 ? static_cast<const void*>(window.datasets[d].int64.data())
                               : static_cast<const void*>(window.datasets[d].float64.data());
    MICROMOE_CHECK_HDF5(H5Dwrite(dataset, int64 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, memory.id(), file_space.id(),
                                 H5P_DEFAULT, values));
  }
  group.rows += window.iterations;
}

void ReportStream::set_peak_memory(const std::string& name, std::int64_t bytes) {
  for (auto& g : groups_)
    if (g.dims.name == name) g.peak_memory_bytes = bytes;
}

std::vector<StrategyResults> ReportStream::summaries() const {
  const h5::QuietErrors quiet;
  std::vector<StrategyResults> out;
  for (const auto& g : groups_) {
    StrategyResults r = g.dims;
    r.resize(0, g.dims.layers, g.dims.micro_batches, g.dims.ranks, g.dims.experts);
    r.iterations = static_cast<int>(g.rows);
    r.peak_memory_bytes = g.peak_memory_bytes;
    auto group = h5::open_group(file_.id(), g.dims.name);
    for (const char* name : kSummaryDatasets) {
      const auto& spec = report_datasets()[dataset_index(name)];
      if (spec.type == ElementType::int64)
        r.int64(name) = h5::read_dataset<std::int64_t>(group.id(), name);
      else
        r.float64(name) = h5::read_dataset<double>(group.id(), name);
    }
    out.push_back(std::move(r));
  }
  return out;
}

void ReportStream::commit(const RunInfo& info) {
  const h5::QuietErrors quiet;
  try {
    const auto results = summaries();
    const StrategyResults* ep = nullptr;
    std::vector<std::string> names;
    for (const auto& r : results) {
      names.push_back(r.name);
      if (r.name == "ep") ep = &r;
    }
    detail::write_run_group(file_.id(), info, names);
    for (const auto& r : results) {
      auto group = h5::open_group(file_.id(), r.name);
      detail::write_group_attributes(group.id(), r, info, ep);
    }
    current_.clear();
    MICROMOE_CHECK_HDF5(H5Fflush(file_.id(), H5F_SCOPE_GLOBAL));
    file_.reset();
  } catch (const Error& e) {
    throw Error("report " + path_ + ": not written: " + e.what());
  }
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0)
    throw Error("report " + path_ + ": cannot rename " + temporary_ + " to it: " + std::strerror(errno));
  committed_ = true;
}

}  // namespace micromoe::report
