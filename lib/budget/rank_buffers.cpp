// SPDX-License-Identifier: BSD-3-Clause
#include "budget/rank_buffers.hpp"

#include <algorithm>

#include "core/build_config.hpp"
#include "core/phase.hpp"
#include "moe/layer_config.hpp"
#include "report/report_schema.hpp"

namespace micromoe::budget {

CheckedSize Buffer::elements() const {
  CheckedSize n = 1;
  for (const std::int64_t d : dims) n *= CheckedSize(d);
  return n;
}

CheckedSize Buffer::bytes() const { return elements() * CheckedSize(element_bytes) * CheckedSize(count); }

std::string Buffer::shape() const {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

int slots_per_rank(const deck::RunConfig& c, strategy::StrategyKind kind) {
  const int per_rank = c.model.experts / std::max(c.parallel.ep_size, 1);
  return kind == strategy::StrategyKind::eplb ? per_rank + c.parallel.eplb_redundant_slots : per_rank;
}

namespace {

using strategy::StrategyKind;

/// Every value the sizes are built from, as CheckedSize-ready int64.
struct Sizes {
  std::int64_t H, F, F1, E, K, T, L, M, I, G, S, W, strategies;
  bool adam, bf16, migrates, staged, trace;
};

Sizes sizes_of(const deck::RunConfig& c, int ranks, StrategyKind kind) {
  Sizes s{};
  s.H = c.model.hidden;
  s.F = c.model.ffn;
  s.F1 = static_cast<std::int64_t>(c.model.activation == moe::Activation::swiglu ? 2 : 1) * c.model.ffn;
  s.E = c.model.experts;
  s.K = c.model.top_k;
  s.T = c.training.tokens_per_micro_batch;
  s.L = c.model.layers;
  s.M = c.training.micro_batches;
  s.I = c.training.iterations;
  s.G = static_cast<std::int64_t>(c.parallel.ep_size) * c.parallel.microep_group;  // MicroEP group
  s.S = slots_per_rank(c, kind);
  s.W = ranks;
  s.strategies = static_cast<std::int64_t>(c.run.strategies.size());
  s.adam = c.training.optimizer == moe::OptimizerKind::adam;
  s.bf16 = c.model.precision == moe::Precision::bf16;
  s.migrates = kind == StrategyKind::eplb || kind == StrategyKind::microep_adaptive;
  // CUDA builds stage MPI traffic through pinned host memory; NCCL and CPU builds do not.
  s.staged = MICROMOE_ENABLE_CUDA && c.parallel.backend == comm::Backend::mpi;
  s.trace = c.workload.kind == workload::WorkloadKind::trace;
  return s;
}

CheckedSize mul(std::initializer_list<std::int64_t> factors) {
  CheckedSize n = 1;
  for (const std::int64_t f : factors) n *= CheckedSize(f);
  return n;
}

/// Extent of a report dimension for one strategy's results.
std::int64_t report_extent(report::Dim d, const Sizes& s) {
  switch (d) {
    case report::Dim::iteration:
      return s.I;
    case report::Dim::layer:
      return s.L;
    case report::Dim::micro_batch:
      return s.M;
    case report::Dim::rank:
      return s.W;
    case report::Dim::expert:
      return s.E;
    case report::Dim::phase:
      return static_cast<std::int64_t>(kPhaseCount);
  }
  return 1;
}

}  // namespace

std::vector<Buffer> rank_buffers(const deck::RunConfig& c, int ranks, StrategyKind kind) {
  const Sizes s = sizes_of(c, ranks, kind);
  const std::string slots = std::string("model.experts, parallel.ep_size") +
                            (kind == StrategyKind::eplb ? ", parallel.eplb_redundant_slots" : "");
  const std::string w1_keys = "model.hidden, model.ffn, model.activation, " + slots;
  const std::string w2_keys = "model.hidden, model.ffn, " + slots;
  const std::string tokens = "training.tokens_per_micro_batch";
  const std::string copies = tokens + ", model.top_k";
  const std::string received = copies + ", parallel.ep_size, parallel.microep_group";
  const std::int64_t states = s.adam ? 2 : 1;     // optimizer states per tensor
  const std::int64_t tensors = 2 + states;        // weights, gradients, states
  const std::int64_t copies_n = s.T * s.K;        // copies this rank sends (T K <= 2^30)
  const std::int64_t recv_rows = s.G * copies_n;  // worst case: every copy of the group here
  const std::int64_t L = s.L;
  std::vector<Buffer> b;
  bool in_layer = true;  // the layers' buffers come first
  const auto add = [&](std::string name, std::string keys, std::vector<std::int64_t> dims, int bytes, int extents,
                       Memory memory, std::int64_t count) {
    b.push_back(Buffer{std::move(name), std::move(keys), std::move(dims), bytes, extents, memory, count, in_layer});
  };
  const Memory dev = Memory::device, host = Memory::host;

  // ParameterStore: weights, gradients and optimizer states (count), of the gate and of every slot.
  add("gate weights", "model.hidden, model.experts", {s.H, s.E}, 4, 2, dev, L * tensors);
  add("expert weights W1", w1_keys, {s.S, s.H, s.F1}, 4, 3, dev, L * tensors);
  add("expert weights W2", w2_keys, {s.S, s.F, s.H}, 4, 3, dev, L * tensors);
  // Gate activations and the copy tables of a micro-batch (layer.cpp's Impl, one per layer).
  add("gate logits and probabilities", tokens + ", model.experts", {s.T, s.E}, 4, 2, dev, 2 * L);
  add("gate weights of the chosen experts", copies, {s.T, s.K}, 4, 2, dev, 3 * L);  // gw, dgw, idx
  add("copy positions", copies, {copies_n}, 8, 1, dev, 2 * L);
  add("expert tables", "model.experts", {s.E + 1}, 8, 1, dev, 4 * L);
  add("counting-sort scratch", copies + ", model.experts", {s.E * (copies_n / 256 + 1) + 1}, 8, 1, dev, L);
  add("exchange legs", "model.experts, parallel.ep_size, parallel.microep_group", {s.E * s.G + 1, 3}, 8, 2, dev, L);
  add("copy blocks", received + ", " + slots, {recv_rows / 16 + s.G * s.S + 1, 3}, 8, 2, dev, L);
  // Exchange buffers: rows sent (and combined back), rows received and the expert activations.
  add("send and combine buffers", copies + ", model.hidden", {copies_n, s.H}, 4, 2, dev, 2 * L);
  add("received rows and expert input/output", received + ", model.hidden", {recv_rows, s.H}, 4, 2, dev, 3 * L);
  add("expert pre-activation", received + ", model.ffn, model.activation", {recv_rows, s.F1}, 4, 2, dev, L);
  add("expert activation", received + ", model.ffn", {recv_rows, s.F}, 4, 2, dev, L);
  if (s.bf16) {  // expert_ffn.cpp: bf16 copies of the weights and of the GEMM operands
    add("bf16 copies of W1", w1_keys + ", model.precision", {s.S * s.H, s.F1}, 2, 1, dev, L);
    add("bf16 copies of W2", w2_keys + ", model.precision", {s.S * s.F, s.H}, 2, 1, dev, L);
    add("bf16 copies of expert operands", received + ", model.hidden, model.ffn, model.precision",
        {recv_rows, s.H + s.F + std::max(s.H, s.F1)}, 2, 1, dev, L);
    // bf16 rows on the wire (model.wire_precision = auto): a send and a receive buffer per layer,
    // each as large as the rows a rank may receive (combine sends back what dispatch received).
    if (c.model.wire_precision == moe::WirePrecision::automatic)
      add("bf16 rows on the wire", received + ", model.hidden, model.precision, model.wire_precision", {recv_rows, s.H},
          2, 2, dev, 2 * L);
  }
  if (MICROMOE_ENABLE_CUDA && c.parallel.backend == comm::Backend::nccl && s.G > 1) {
    // nccl_gradient_sync.cpp: the other replicas' parts of one slot's gradient (eplb and
    // microep-adaptive may replicate an expert on every rank of the group; the others d times).
    const std::int64_t others =
        kind == StrategyKind::eplb || kind == StrategyKind::microep_adaptive ? s.G - 1 : c.parallel.microep_group - 1;
    if (others > 0)
      add("NCCL replica-sum scratch", w1_keys + ", parallel.backend", {others, s.H * std::max(s.F1, s.F)}, 4, 1, dev,
          L);
  }
  if (MICROMOE_ENABLE_CUDA) add("cuBLAS workspace", "model.layers", {std::int64_t{64} << 20}, 1, 1, dev, L);
  if (s.migrates)  // one layer migrates at a time: send and receive every slot's weights and states
    add("migration buffers", w1_keys + ", training.optimizer", {s.S, (s.H * s.F1 + s.F * s.H) * (1 + states)}, 4, 2,
        dev, 2);
  in_layer = false;
  // Trainer and stack: x, target, dh, and per layer the input, output and their gradients.
  add("token activations", tokens + ", model.hidden, model.layers", {s.T, s.H}, 4, 2, dev, 3 + 4 * L);
  if (s.trace) add("trace routing", copies + ", model.layers", {s.T, s.K}, 4, 2, dev, L);
  add("teacher experts", "model.experts, workload.teacher_rank, model.hidden", {s.E, c.workload.teacher_rank, s.H}, 4,
      3, dev, 2);
  add("workload cluster centres", "workload.clusters, model.hidden", {c.workload.clusters, s.H + 1}, 4, 2, dev, 1);
  // Host: MPI staging of CUDA builds (exchange and gradient sync), routing tables, results.
  if (s.staged) {
    add("host staging of sent rows", copies + ", model.hidden", {copies_n, s.H}, 4, 1, host, L);
    add("host staging of received rows", received + ", model.hidden", {recv_rows, s.H}, 4, 1, host, L);
    add("host staging of W1 gradients", w1_keys, {s.S, s.H, s.F1}, 4, 3, host, L);
    add("host staging of W2 gradients", w2_keys, {s.S, s.F, s.H}, 4, 3, host, L);
  }
  add("routing tables", "model.experts, parallel.ep_size, parallel.microep_group", {s.G, s.E}, 8, 0, host, 4 * L);
  // Rank 0 streams results into the report (report::ReportStream): it holds one iteration's
  // record of every rank for the current strategy, never every iteration (`training.iterations`
  // costs no memory; the summaries read back at the end grow with the iterations run).
  CheckedSize per_iteration = 0;
  for (const auto& spec : report::report_datasets()) {
    CheckedSize n = 1;
    for (const report::Dim d : spec.dims)
      if (d != report::Dim::iteration) n *= CheckedSize(report_extent(d, s));
    per_iteration += n;
  }
  add("report record of one iteration (rank 0)", "model.layers, training.micro_batches, model.experts",
      {per_iteration.value()}, 8, 0, host, 1);
  return b;
}

std::vector<IntCount> int_counts(const deck::RunConfig& c, int ranks) {
  const Sizes s = sizes_of(c, ranks, StrategyKind::ep);
  const std::string received = "training.tokens_per_micro_batch, model.top_k, parallel.ep_size, parallel.microep_group";
  return {
      {"rows a rank may receive per exchange (MPI displacements, kernel league sizes)", received, mul({s.G, s.T, s.K})},
      {"bytes of one token row (MPI datatype)", "model.hidden", mul({s.H, 4})},
      {"expert pre-activation columns (kernel loops)", "model.ffn, model.activation", CheckedSize(s.F1)},
  };
}

}  // namespace micromoe::budget
