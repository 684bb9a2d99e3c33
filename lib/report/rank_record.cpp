// SPDX-License-Identifier: BSD-3-Clause
#include "report/rank_record.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace micromoe::report {

namespace {

/// A measured dataset's dims in the record: without iteration (first) and, per rank, rank (last).
std::vector<std::size_t> record_extents(const DatasetSpec& spec, const StrategyResults& shape) {
  std::vector<std::size_t> extents;
  for (std::size_t i = 1; i < spec.dims.size(); ++i)
    if (spec.dims[i] != Dim::rank) extents.push_back(shape.extent(spec.dims[i]));
  return extents;
}

std::size_t product(const std::vector<std::size_t>& extents) {
  std::size_t n = 1;
  for (const auto e : extents) n *= e;
  return n;
}

template <class T>
void combine(const DatasetSpec& spec, const double* gathered, std::size_t record, std::size_t offset, std::size_t cells,
             int ranks, int iteration, std::vector<T>& out) {
  const auto value = [&](std::size_t c, int r) {
    return static_cast<T>(gathered[static_cast<std::size_t>(r) * record + offset + c]);
  };
  const std::size_t first = static_cast<std::size_t>(iteration) * cells;
  for (std::size_t c = 0; c < cells; ++c) {
    switch (spec.combine) {
      case Combine::per_rank:
        for (int r = 0; r < ranks; ++r) out[(first + c) * static_cast<std::size_t>(ranks) + r] = value(c, r);
        break;
      case Combine::sum: {
        T sum = 0;
        for (int r = 0; r < ranks; ++r) sum += value(c, r);
        out[first + c] = sum;
        break;
      }
      case Combine::max: {
        T max = value(c, 0);
        for (int r = 1; r < ranks; ++r) max = std::max(max, value(c, r));
        out[first + c] = max;
        break;
      }
      case Combine::rank0:
        out[first + c] = value(c, 0);
        break;
      case Combine::derived:
        break;
    }
  }
}

}  // namespace

RankRecord::RankRecord(const StrategyResults& shape) {
  const auto& specs = report_datasets();
  std::size_t size = 0;
  for (const auto& spec : specs) {
    offsets_.push_back(size);
    extents_.push_back(spec.combine == Combine::derived ? std::vector<std::size_t>{} : record_extents(spec, shape));
    if (spec.combine != Combine::derived) size += product(extents_.back());
  }
  values_.assign(size, 0.0);
}

RankRecord::Field RankRecord::field(std::string_view dataset) const {
  const std::size_t d = dataset_index(dataset);
  if (report_datasets()[d].combine == Combine::derived)
    throw Error("report dataset \"" + std::string(dataset) + "\" is derived on rank 0, not measured by the ranks");
  return {offsets_[d], extents_[d]};
}

double& RankRecord::at(const Field& field, std::initializer_list<int> coords) {
  MICROMOE_REQUIRE(coords.size() == field.extents.size(), "RankRecord::at: one coordinate per extent");
  std::size_t flat = 0;
  auto extent = field.extents.begin();
  for (const int c : coords) {
    MICROMOE_REQUIRE(c >= 0 && static_cast<std::size_t>(c) < *extent, "RankRecord::at: coordinate out of range");
    flat = flat * *extent++ + static_cast<std::size_t>(c);
  }
  return values_[field.offset + flat];
}

void RankRecord::clear() { std::fill(values_.begin(), values_.end(), 0.0); }

void combine_records(const std::vector<double>& gathered, int iteration, StrategyResults& results) {
  const RankRecord layout(results);
  const std::size_t record = layout.values().size();
  MICROMOE_REQUIRE(gathered.size() == record * static_cast<std::size_t>(results.ranks),
                   "combine_records: " + std::to_string(gathered.size()) + " values gathered, " +
                       std::to_string(results.ranks) + " records of " + std::to_string(record) + " expected");
  MICROMOE_REQUIRE(iteration >= 0 && iteration < results.iterations, "combine_records: iteration out of range");
  const auto& specs = report_datasets();
  for (std::size_t d = 0; d < specs.size(); ++d) {
    if (specs[d].combine == Combine::derived) continue;
    const auto field = layout.field(specs[d].name);
    const std::size_t cells = product(field.extents);
    if (specs[d].type == ElementType::int64)
      combine(specs[d], gathered.data(), record, field.offset, cells, results.ranks, iteration,
              results.datasets[d].int64);
    else
      combine(specs[d], gathered.data(), record, field.offset, cells, results.ranks, iteration,
              results.datasets[d].float64);
  }
}

}  // namespace micromoe::report
