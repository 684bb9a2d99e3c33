// SPDX-License-Identifier: BSD-3-Clause
// `micromoe emulate DECK --ranks N`: the MicroEP gain measured on one device. Every strategy of
// the deck routes real skewed micro-batches for N emulated ranks (plan.hpp); each rank's expert
// work is timed on this process's device (rank_bench.hpp); a micro-batch takes as long as its
// slowest rank. Communication and the gate are not emulated (docs/emulate.md).
#pragma once

#include <ostream>
#include <string>

#include "deck/run_config.hpp"

namespace micromoe::emulate {

/// Runs the emulation of a deck resolved for `ranks` ranks (deck::resolve_layout), prints the
/// progress (unless run.quiet) and the table to `out`, and writes the report (run.report).
/// Throws InputError for input problems found before any timing (report path, trace file).
void run_emulation(const deck::RunConfig& resolved, int ranks, const std::string& command_line, std::ostream& out);

}  // namespace micromoe::emulate
