// SPDX-License-Identifier: BSD-3-Clause
// Wall-time-aware shutdown: SIGTERM (what Slurm sends before the time limit) asks the run to
// finish its current iteration, write the report marked truncated, and exit. A second SIGTERM
// (or SIGINT) ends the process at once, the default action.
#pragma once

#include <mpi.h>

namespace micromoe::train {

/// Installs the SIGTERM (and SIGINT) handler that records a stop request. Idempotent.
void install_stop_handler();

/// True once this process received SIGTERM/SIGINT (async-signal-safe flag).
bool stop_requested_locally();

/// Collective over `comm`: true on every rank when any rank received the signal (or passed
/// `also`: a failure of its own that ends the run), so all ranks leave the training loop at the
/// same iteration.
bool stop_requested(MPI_Comm comm, bool also = false);

/// Test hook: behave as if the signal had arrived (or clear it).
void set_stop_requested_for_testing(bool value);

}  // namespace micromoe::train
