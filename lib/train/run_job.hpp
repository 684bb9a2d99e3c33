// SPDX-License-Identifier: BSD-3-Clause
// `micromoe run`: every strategy of a deck, side by side, into one HDF5 report.
#pragma once

#include <ostream>
#include <string>

#include <vector>
#include "comm/communicator.hpp"

#include "deck/run_config.hpp"
#include "report/report_data.hpp"

namespace micromoe::train {

struct JobOutcome {
  std::string report_path;  ///< where the report was written (rank 0)
  bool truncated = false;   ///< stopped by SIGTERM: the report says so
};

/// Collective over `world`. Trains every strategy of the resolved deck, prints progress and a
/// summary table on rank 0, streams the report on rank 0 (a temporary file, renamed at the
/// end), writes checkpoints (run.checkpoint_interval, and on SIGTERM), and makes every rank
/// agree on the outcome (a failed report write throws on every rank). `restart`: a checkpoint
/// to continue from (checked first: InputError on every rank, nothing written, when it does
/// not fit the deck or the rank count).
JobOutcome run_job(const deck::RunConfig& resolved, const std::string& command_line, const comm::Communicator& world,
                   std::ostream& out, const std::string& restart = {});

/// The markdown summary table of the report's strategies (what run/demo.sh prints).
std::string summary_table(const std::vector<report::StrategyResults>& results, int warmup_iterations);

}  // namespace micromoe::train
