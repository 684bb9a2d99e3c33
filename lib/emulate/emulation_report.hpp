// SPDX-License-Identifier: BSD-3-Clause
// The HDF5 report of `micromoe emulate` (schema: docs/report.md, "Emulation report"), written
// to PATH.tmp and renamed, so a report exists whole or not at all.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "emulate/plan.hpp"
#include "emulate/rank_bench.hpp"
#include "emulate/results.hpp"

namespace micromoe::emulate {

inline constexpr std::int64_t kEmulationFormatVersion = 1;

/// Run-wide facts stored in /run.
struct EmulationInfo {
  std::vector<std::pair<std::string, std::string>> build_info;  ///< micromoe::build_info()
  std::string deck;                                             ///< the effective deck (deck::render_deck)
  std::string command_line;
  std::string start_time, end_time;  ///< ISO 8601 UTC
  Layout layout;
  FfnSetup ffn;
  int experts = 0, top_k = 0, tokens_per_micro_batch = 0, warmup_iterations = 0;
  std::int64_t device_bytes = 0;  ///< device memory of the shared weights and buffers
};

void write_emulation_report(const std::string& path, const EmulationInfo& info,
                            const std::vector<StrategyResult>& results, const Comparison& comparison);

}  // namespace micromoe::emulate
