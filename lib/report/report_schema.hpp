// SPDX-License-Identifier: BSD-3-Clause
// The report schema: one row per dataset of a strategy group (name, symbolic dimensions, unit,
// element type, how the ranks' values combine, one-line doc), one row per group attribute and
// one per /run attribute.
// The per-rank record and its combination on rank 0 (rank_record.hpp), StrategyResults'
// storage, the writer, the generated part of docs/report.md and the "dims" attribute the Python
// reader uses are all driven by these tables: a new dataset is one row here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace micromoe::report {

/// The symbolic dimensions of the report's datasets.
enum class Dim { iteration, layer, micro_batch, rank, expert, phase };
inline constexpr std::size_t kDimCount = 6;

/// One dimension: its symbol in docs/report.md, its name in the "dims" attribute, what it counts.
struct DimSpec {
  Dim dim;
  const char* symbol;  ///< "I"
  const char* name;    ///< "iteration"
  const char* doc;
};
/// Every dimension, indexed by Dim.
const std::array<DimSpec, kDimCount>& report_dims();
inline const DimSpec& dim_spec(Dim d) { return report_dims()[static_cast<std::size_t>(d)]; }

enum class ElementType { int64, float64 };
/// "int64", "float64"
const char* type_name(ElementType type);

/// How the ranks' values of one cell become the reported value.
enum class Combine {
  per_rank,  ///< each rank's value kept: the dataset's last dimension is rank
  sum,       ///< summed over ranks
  max,       ///< maximum over ranks
  rank0,     ///< the same on every rank: rank 0's value
  derived,   ///< not measured by the ranks: rank 0 computes it from other datasets
};
/// "per rank", "sum over ranks", ...
const char* combine_name(Combine combine);

/// One dataset of a strategy group.
struct DatasetSpec {
  std::string name;
  std::vector<Dim> dims;  ///< the first is always iteration
  std::string unit;       ///< the "unit" attribute ("1" for ratios)
  ElementType type = ElementType::float64;
  Combine combine = Combine::per_rank;
  bool optional = false;  ///< not written when one of its extents (other than iteration) is 0
  std::string doc;        ///< one line
};

/// Every dataset of a strategy group, in writing order.
const std::vector<DatasetSpec>& report_datasets();
/// The dataset's position in report_datasets(); throws micromoe::Error for an unknown name.
std::size_t dataset_index(std::string_view name);

struct StrategyResults;
struct StrategySummary;
/// A summary attribute's value (int64 or float64).
using AttributeValue = std::variant<std::int64_t, double>;

/// One attribute of a strategy group (its dimensions and summary statistics).
struct AttributeSpec {
  std::string name;
  ElementType type = ElementType::float64;
  std::string unit;  ///< "-" for counts without a unit
  std::string doc;   ///< one line
  /// The value, from the results and their summary.
  std::function<AttributeValue(const StrategyResults&, const StrategySummary&)> get;
};

/// Every attribute of a strategy group, in writing order.
const std::vector<AttributeSpec>& report_group_attributes();

struct RunInfo;
/// A /run attribute's value.
using RunValue = std::variant<std::int64_t, std::string, std::vector<std::string>>;
/// "int64", "string", "string[]"
const char* type_name(const RunValue& value);

/// One attribute of /run (besides the `build.<key>` ones, one per build_info() entry).
struct RunAttributeSpec {
  std::string name;
  std::string doc;  ///< one line
  /// The value, from the run's facts and the strategy groups' names in run order.
  std::function<RunValue(const RunInfo&, const std::vector<std::string>& strategies)> get;
};

/// Every attribute of /run, in writing order.
const std::vector<RunAttributeSpec>& report_run_attributes();

}  // namespace micromoe::report
