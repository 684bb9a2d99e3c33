// SPDX-License-Identifier: BSD-3-Clause
// The typed result of reading a deck: every key of every section, defaults filled in.
// docs/deck.md lists each key with its type, default, range and meaning (generated from the
// schema in deck_schema.cpp; a test keeps the two equal). Enumerated keys hold the domain's own
// types (moe::Activation, strategy::StrategyKind, ...), named by their tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "budget/memory_check.hpp"
#include "comm/backend.hpp"
#include "moe/layer_config.hpp"
#include "schedule/placement.hpp"
#include "strategy/strategy_kind.hpp"
#include "workload/workload_kind.hpp"

namespace micromoe::deck {

/// [model]: the stack of MoE layers every strategy trains.
struct ModelConfig {
  int hidden = 128;                                    ///< model (token) width H
  int ffn = 256;                                       ///< expert FFN inner width
  int experts = 16;                                    ///< experts per layer E
  int top_k = 2;                                       ///< experts per token
  int layers = 2;                                      ///< MoE layers in the stack
  moe::Activation activation = moe::Activation::gelu;  ///< expert activation
  bool renormalize = true;                             ///< renormalise the top-k gate probabilities to sum 1
  /// Expert compute precision: fp32 runs everywhere (exact); tf32 needs a CUDA build; bf16 runs
  /// on cuBLAS in CUDA builds and is emulated (same numerics, no speed-up) on CPUs.
  moe::Precision precision = moe::Precision::fp32;
  moe::ExpertGemm expert_gemm = moe::ExpertGemm::per_expert;          ///< how the expert GEMMs are launched
  moe::WirePrecision wire_precision = moe::WirePrecision::automatic;  ///< token rows on the wire
};

/// [parallel]: how ranks form EP groups and MicroEP groups, and how tokens travel.
struct ParallelConfig {
  int ep_size = 0;        ///< GPUs per EP group; 0 = ranks / microep_group (resolve_layout)
  int microep_group = 0;  ///< d: EP groups merged into one MicroEP group; 0 = automatic (resolve_layout)
  int gpus_per_node = 0;  ///< ranks per node for locality; 0 = detect at run time
  schedule::PlacementKind placement = schedule::PlacementKind::symmetric;  ///< shuffled placement of microep
  comm::Backend backend = comm::Backend::mpi;                              ///< token-exchange backend
  double capacity_factor = 1.25;  ///< ep-capacity: capacity = factor * tokens*k / experts
  int eplb_redundant_slots = 1;   ///< eplb: extra expert slots per GPU
  int replace_interval = 50;      ///< K: eplb / microep-adaptive re-placement period (iterations)
  int adaptive_min_replicas = 0;  ///< microep-adaptive replica floor; 0: auto (schedule::adaptive_floors)
};

/// [workload]: where the tokens (and their imbalance) come from.
struct WorkloadConfig {
  workload::WorkloadKind kind = workload::WorkloadKind::synthetic;
  double zipf_s = 1.0;              ///< Zipf exponent of cluster popularity
  int clusters = 64;                ///< token clusters
  double drift = 0.05;              ///< per-iteration popularity drift rate
  double burst_probability = 0.05;  ///< probability that a micro-batch bursts
  double burst_factor = 4.0;        ///< popularity multiplier of the bursting cluster
  std::string trace_file;           ///< per-expert counts to replay (kind = trace)
  double noise = 0.25;              ///< standard deviation of a token around its cluster centre
  int teacher_rank = 4;             ///< rank of each teacher expert (the learnable targets)
};

/// [training]
struct TrainingConfig {
  int iterations = 20;
  int warmup_iterations = 2;         ///< excluded from the summary statistics
  int micro_batches = 4;             ///< gradient-accumulation steps per iteration
  int tokens_per_micro_batch = 512;  ///< per rank
  moe::OptimizerKind optimizer = moe::OptimizerKind::adam;
  double learning_rate = 1e-3;
  double momentum = 0.9;  ///< SGD momentum; Adam beta1
  std::uint64_t seed = 42;
};

/// [run]
struct RunSection {
  /// Every strategy, in the order of strategy::StrategyKind.
  std::vector<strategy::StrategyKind> strategies = enum_values<strategy::StrategyKind>();
  std::string report = "micromoe_report.h5";  ///< relative to the current working directory
  bool quiet = false;                         ///< no per-iteration progress lines
  int dump_layer = -1;                        ///< verification dump: layer, -1 = off
  int dump_micro_batch = -1;                  ///< verification dump: micro-batch, -1 = off
  int checkpoint_interval = 0;  ///< checkpoint every this many iterations; 0 = off (SIGTERM still writes one)
  std::string checkpoint;       ///< checkpoint path; empty: the report's with ".h5" -> ".ckpt.h5"
  /// A deck whose memory estimate exceeds what a rank has: refused, warned about, or not compared.
  budget::MemoryCheck memory_check = budget::MemoryCheck::error;
};

/// [cluster]: the machine `micromoe simulate` predicts for (docs/simulate.md). Bandwidths are
/// per GPU, in GB/s (1e9 bytes/s); latencies in microseconds. Ignored by run and emulate.
struct ClusterConfig {
  int gpus_per_node = 8;              ///< GPUs per node (the NVLink domain)
  double intra_node_bandwidth = 360;  ///< all-to-all bus bandwidth per GPU inside a node (NVLink)
  double intra_node_latency = 15;     ///< fixed cost of one all-to-all inside a node
  double inter_node_bandwidth = 47;   ///< per GPU across nodes (its NIC; 400 Gb/s NDR)
  double inter_node_latency = 30;     ///< fixed cost of one all-to-all across nodes
  double exchange_bytes = 2;          ///< bytes per element of a token row on the wire (bf16: 2)
  std::string calibration;            ///< calibration file of micromoe calibrate (HDF5); required by simulate
  bool fast_counts = false;           ///< per-expert binomial counts instead of token-by-token draws
};

/// A whole deck. Default-constructed = the deck with every default.
struct RunConfig {
  ModelConfig model;
  ParallelConfig parallel;
  WorkloadConfig workload;
  TrainingConfig training;
  RunSection run;
  ClusterConfig cluster;
  /// Where the values came from (deck path, or "<defaults>"): used in error messages only,
  /// not a deck key and not compared by operator==.
  std::string source = "<defaults>";

  /// True when the verification dump is on (both dump_layer and dump_micro_batch >= 0).
  bool dump_enabled() const { return run.dump_layer >= 0 && run.dump_micro_batch >= 0; }
};

/// Equal when every deck key has the same value (source is ignored).
bool operator==(const RunConfig& a, const RunConfig& b);
inline bool operator!=(const RunConfig& a, const RunConfig& b) { return !(a == b); }

}  // namespace micromoe::deck
