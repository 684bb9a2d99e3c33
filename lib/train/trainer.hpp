// SPDX-License-Identifier: BSD-3-Clause
// Trains the MoE stack with one strategy on the deck's workload and measures it: per
// iteration / layer / micro-batch / rank token loads, phase times, bytes, drops, loss and
// throughput, gathered on rank 0 into an report::StrategyResults.
#pragma once

#include <memory>

#include "comm/communicator.hpp"
#include "comm/shared_nccl.hpp"
#include "deck/run_config.hpp"
#include "report/report_data.hpp"
#include "train/progress.hpp"
#include "workload/trace.hpp"

namespace micromoe::train {

struct StrategyRun {
  report::StrategyResults results;  ///< complete on rank 0 (dims only elsewhere)
  bool truncated = false;           ///< a stop was requested (SIGTERM): results hold the completed iterations
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
  StrategyRun train(strategy::StrategyKind strategy, ProgressPrinter& progress);

  /// Ranks per node (from the deck, or detected with MPI_COMM_TYPE_SHARED).
  int gpus_per_node() const { return gpus_per_node_; }
  /// The replayed trace (workload.kind = "trace"), else null.
  const workload::RoutingTrace* trace() const { return trace_.get(); }

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
