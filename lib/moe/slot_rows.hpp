// SPDX-License-Identifier: BSD-3-Clause
// Slot-major row ranges of one micro-batch on one rank: which rows of the expert input each
// local slot computes. Plain host data, shared by the exchange plan and the expert FFNs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace micromoe::moe {

struct SlotRows {
  std::vector<std::int64_t> first;  ///< [S] first row of slot j
  std::vector<std::int64_t> rows;   ///< [S] rows of slot j (0: idle slot)
  /// One past the last row any slot uses.
  std::int64_t total() const {
    std::int64_t end = 0;
    for (std::size_t j = 0; j < rows.size(); ++j)
      if (rows[j] > 0) end = std::max(end, first[j] + rows[j]);
    return end;
  }
};

}  // namespace micromoe::moe
