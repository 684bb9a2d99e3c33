// SPDX-License-Identifier: BSD-3-Clause
// One rank's measurements of one iteration, laid out by the report schema: every dataset the
// ranks measure (all but Combine::derived), without its iteration and rank dimensions, in one
// flat buffer gathered to rank 0 in one call; combine_records() then folds the ranks' records
// into StrategyResults as each dataset's Combine says. No MPI here: the caller gathers.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "report/report_data.hpp"

namespace micromoe::report {

class RankRecord {
 public:
  /// A dataset's place in the record: look it up once (field()), then set values through it.
  struct Field {
    std::size_t offset = 0;
    std::vector<std::size_t> extents;  ///< the dataset's dims without iteration and rank
  };

  /// The record of results with these extents (its iteration count and name do not matter).
  explicit RankRecord(const StrategyResults& shape);

  /// The named dataset's field; micromoe::Error for an unknown or derived dataset.
  Field field(std::string_view dataset) const;
  /// The value at `coords` (one per extent of the field, none for a per-iteration scalar).
  /// int64 datasets travel as doubles: exact up to 2^53.
  double& at(const Field& field, std::initializer_list<int> coords);

  /// Zeros every value (at the start of an iteration).
  void clear();
  double* data() { return values_.data(); }
  const std::vector<double>& values() const { return values_; }
  /// Values in one rank's record.
  int size() const { return static_cast<int>(values_.size()); }

 private:
  std::vector<std::size_t> offsets_;  ///< per schema dataset (unused for derived ones)
  std::vector<std::vector<std::size_t>> extents_;
  std::vector<double> values_;
};

/// Rank 0: folds `gathered` (every rank's record, rank after rank, as MPI_Gather leaves them)
/// into iteration `iteration` of `results`, as each dataset's Combine says. Derived datasets are
/// left for the caller to compute.
void combine_records(const std::vector<double>& gathered, int iteration, StrategyResults& results);

}  // namespace micromoe::report
