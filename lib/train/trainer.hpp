// SPDX-License-Identifier: BSD-3-Clause
// Trains the MoE stack with one strategy on the deck's workload and measures it: per
// iteration / layer / micro-batch / rank token loads, phase times, bytes, drops, loss and
// throughput, gathered on rank 0 into an report::StrategyResults.
#pragma once

#include <functional>
#include <memory>

#include "comm/communicator.hpp"
#include "comm/shared_nccl.hpp"
#include "deck/run_config.hpp"
#include "report/report_data.hpp"
#include "train/progress.hpp"
#include "workload/trace.hpp"

namespace micromoe::train {

class MoEStack;

struct StrategyRun {
  /// Rank 0: the iterations run here, unless TrainOptions::append took them (dims and
  /// peak_memory_bytes only then; dims only on the other ranks).
  report::StrategyResults results;
  bool truncated = false;        ///< a stop was requested (SIGTERM): results hold the completed iterations
  int iterations_completed = 0;  ///< every rank: iterations done, restarted ones included
};

/// How Trainer::train runs beyond the plain case (every hook may be left empty).
struct TrainOptions {
  /// Iterations already done (a restart): training continues with this one.
  int first_iteration = 0;
  /// Collective, after the stack is built: sets its state (a restart).
  std::function<void(MoEStack&)> restore;
  /// Rank 0: takes each iteration's results (a one-iteration StrategyResults) instead of
  /// keeping them in StrategyRun::results; false = it failed, the run stops (every rank).
  std::function<bool(const report::StrategyResults&)> append;
  /// Collective: a checkpoint after `completed` iterations, every checkpoint_interval
  /// iterations (0: never) and when a stop request ends the strategy early.
  std::function<void(MoEStack&, int completed)> checkpoint;
  int checkpoint_interval = 0;
};

/// Where the verification dump of `strategy` goes: the report's path with ".h5" replaced by
/// "_dump_<strategy>.h5" (run.dump_layer / run.dump_micro_batch, first iteration).
std::string dump_path(const std::string& report, const std::string& strategy);

class Trainer {
 public:
  /// `config` must be resolved for world.size() ranks (deck::resolve_layout). Ranks form MicroEP
  /// groups of ep_size * microep_group consecutive ranks; with several groups, each group's
  /// gradients are summed across groups (data parallelism). Collective. Reads the trace file,
  /// if any (InputError on every rank for a bad one).
  Trainer(const deck::RunConfig& config, const comm::Communicator& world);

  /// Trains `strategy` from the common initial model on the common data. Collective.
  StrategyRun train(strategy::StrategyKind strategy, ProgressPrinter& progress, const TrainOptions& options = {});

  /// Ranks per node (from the deck, or detected with MPI_COMM_TYPE_SHARED).
  int gpus_per_node() const { return gpus_per_node_; }
  /// The replayed trace (workload.kind = "trace"), else null.
  const workload::RoutingTrace* trace() const { return trace_.get(); }
  /// Whether `strategy` routes by the trace: every strategy but balanced, which keeps its forced
  /// uniform routing (the ideal to compare with), when the run replays one.
  bool replays_trace(strategy::StrategyKind strategy) const { return trace_ != nullptr && routes_by_trace(strategy); }
  /// Under trace replay, every strategy but balanced routes by the trace.
  static bool routes_by_trace(strategy::StrategyKind strategy) { return strategy != strategy::StrategyKind::balanced; }

 private:
  deck::RunConfig config_;
  const comm::Communicator& world_;
  comm::Communicator group_;          ///< this rank's MicroEP group
  comm::Communicator data_parallel_;  ///< this rank's place in every MicroEP group
  comm::SharedNccl nccl_;             ///< NCCL communicators of both (nccl backend), for every strategy
  int gpus_per_node_ = 1;
  std::unique_ptr<workload::RoutingTrace> trace_;
};

}  // namespace micromoe::train
