// SPDX-License-Identifier: BSD-3-Clause
#include "budget/size_limits.hpp"

#include "budget/rank_buffers.hpp"
#include "budget/view_limits.hpp"
#include "core/error.hpp"

namespace micromoe::budget {

void check_size_limits(const deck::RunConfig& resolved, int ranks) {
  const std::string where = "deck " + resolved.source + ": ";
  for (const IntCount& n : int_counts(resolved, ranks))
    if (!n.value.fits(kMaxInt))
      throw InputError(where + n.keys + ": the " + n.name + " come to " + n.value.text() + ", more than " +
                       std::to_string(kMaxInt) + " (int); fix: lower these keys");
  for (const auto kind : resolved.run.strategies) {
    CheckedSize total = 0;  // all buffers together: must at least be a number (run.memory_check = off)
    for (const Buffer& b : rank_buffers(resolved, ranks, kind)) {
      total += b.bytes();
      if (total.overflowed())
        throw InputError(where + b.keys + ": the buffers of a rank (strategy '" + to_string(kind) +
                         "') come to more than 2^63 bytes; fix: lower these keys");
      const CheckedSize elements = b.elements();
      // Host vectors (0 runtime extents) are held to the allocation limit of a 1-D View.
      const int extents = b.runtime_extents > 0 ? b.runtime_extents : 1;
      const std::int64_t limit = max_view_elements(extents, b.element_bytes);
      if (elements.fits(limit)) continue;
      const bool slots = b.keys.find("model.experts, parallel.ep_size") != std::string::npos;
      throw InputError(where + b.keys + ": " + b.name + " need " + b.shape() + " = " + elements.text() +
                       " elements per rank (strategy '" + to_string(kind) + "'), more than one View holds (" +
                       std::to_string(limit) + ": " + view_limit_reason(extents) + "); fix: lower these keys" +
                       (slots ? ", or raise parallel.ep_size" : ""));
    }
  }
}

}  // namespace micromoe::budget
