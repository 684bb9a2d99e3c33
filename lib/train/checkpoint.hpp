// SPDX-License-Identifier: BSD-3-Clause
// Checkpoint and restart of `micromoe run` (docs/restart.md): one HDF5 file, written by rank 0
// atomically (temporary file, fsync, rename), holding every rank's weights and optimizer
// states, each layer's strategy state (placement, load history, solver warm start), where the
// run stands (strategy, iteration: the workload and trace position follow from it), the
// report's results so far, and a fingerprint of the deck, the build and the rank count.
#pragma once

#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "deck/run_config.hpp"
#include "report/report_stream.hpp"
#include "train/moe_stack.hpp"

namespace micromoe::train {

/// The checkpoint format version (root attribute "checkpoint_format_version").
constexpr std::int64_t kCheckpointFormatVersion = 1;

/// Where a run stands: strategy `strategy` (index into run.strategies) has completed
/// `iteration` iterations; the strategies before it are complete.
struct CheckpointPosition {
  int strategy = 0;
  int iteration = 0;
};

/// run.checkpoint, or (empty) the report's path with ".h5" replaced by ".ckpt.h5".
std::string checkpoint_path(const deck::RunConfig& config);

/// The deck keys a restart must match, "section.key = value" (TOML) in schema order: every key
/// except run.report, run.quiet, run.checkpoint, run.checkpoint_interval, the dump keys and
/// workload.trace_file (the path may move with the job; the routing replayed is fixed by the
/// other keys and the file's content).
std::vector<std::string> restart_fingerprint(const deck::RunConfig& config);

/// Collective over `world`: writes the checkpoint of `stack` at `position`. Rank 0 gathers and
/// writes; `report` (rank 0; null elsewhere) holds the results so far. Throws micromoe::Error on
/// every rank when the file could not be written (an older checkpoint at `path` stays whole).
void write_checkpoint(const std::string& path, const deck::RunConfig& config, const comm::Communicator& world,
                      MoEStack& stack, const CheckpointPosition& position, const report::ReportStream* report);

/// Collective: checks on every rank that `path` exists, is a checkpoint of this format, and
/// was written for this deck (restart_fingerprint) and rank count; otherwise throws
/// InputError "[run] restart: ..." naming what differs, on every rank. Returns the position.
CheckpointPosition check_checkpoint(const std::string& path, const deck::RunConfig& config,
                                    const comm::Communicator& world);

/// Collective: restores this rank's part of `stack` (built for the checkpoint's strategy).
void restore_stack(const std::string& path, MoEStack& stack, const comm::Communicator& world);

/// Rank 0: copies the checkpoint's results into `report` and adopts its groups, in run order.
void restore_results(const std::string& path, const deck::RunConfig& config, int ranks, report::ReportStream& report);

}  // namespace micromoe::train
