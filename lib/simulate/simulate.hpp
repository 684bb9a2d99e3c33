// SPDX-License-Identifier: BSD-3-Clause
// `micromoe simulate DECK --gpus N`: the step time of every strategy predicted for N GPUs from a
// calibration (calibration.hpp) and the deck's [cluster] topology (docs/simulate.md).
#pragma once

#include <ostream>
#include <string>

#include "deck/run_config.hpp"

namespace micromoe::simulate {

/// Runs the simulation of a deck resolved for `gpus` ranks (deck::resolve_layout), prints the
/// progress (unless run.quiet) and the table to `out`, and writes the report (run.report).
/// Throws InputError, before any work, for a missing or mismatched calibration, a report path
/// that cannot be written, or GPUs that do not fill whole nodes.
void run_simulation(const deck::RunConfig& resolved, int gpus, const std::string& command_line, std::ostream& out);

}  // namespace micromoe::simulate
