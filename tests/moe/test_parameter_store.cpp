// SPDX-License-Identifier: BSD-3-Clause
// The parameter store on its own (one rank): parameters set by expert land in their slots; the
// stale-gradient states (a backward after a step writes instead of adding, and zero-fills only
// the gate and the slots without rows; stale gradients read as zeros); the optimizer step; and
// migration to a placement with other slots, which moves weights and optimizer state with
// their expert and restarts the expert gradients at zero.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/token_exchange.hpp"
#include "moe/parameter_store.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe {
namespace {

constexpr int H = 3, F = 2, E = 4, S = 4;
constexpr std::size_t n1 = std::size_t{H} * F, n2 = std::size_t{F} * H;

HostTensors by_expert(float base) {
  HostTensors t;
  for (std::size_t i = 0; i < std::size_t{H} * E; ++i) t.gate.push_back(base + static_cast<float>(i));
  for (std::size_t i = 0; i < n1 * E; ++i) t.w1.push_back(base + 100.0f + static_cast<float>(i));
  for (std::size_t i = 0; i < n2 * E; ++i) t.w2.push_back(base + 200.0f + static_cast<float>(i));
  return t;
}

template <class V>
void fill(const V& v, float x) {
  Kokkos::deep_copy(v, x);
}

bool all_equal(const std::vector<float>& v, std::size_t first, std::size_t n, float x) {
  return std::all_of(v.begin() + static_cast<std::ptrdiff_t>(first), v.begin() + static_cast<std::ptrdiff_t>(first + n),
                     [x](float y) { return y == x; });
}

// One rank, four slots: expert e in slot 3 - e (reversed), so slot and expert differ.
const schedule::Placement reversed(1, S, E, {3, 2, 1, 0});
const schedule::Placement identity(1, S, E, {0, 1, 2, 3});

TEST(ParameterStore, SetPlacesExpertsInTheirSlotsAndZeroesTheRest) {
  ParameterStore p(H, F, F, E, S, OptimizerKind::adam);
  const ExecSpace exec;
  const HostTensors w = by_expert(1.0f);
  p.set(exec, w, reversed, 0);
  const HostSlots s = p.local_slots(Tensor::weights);
  for (int j = 0; j < S; ++j) {
    const int e = reversed.expert(0, j);
    EXPECT_TRUE(std::equal(s.w1.begin() + j * n1, s.w1.begin() + (j + 1) * n1, w.w1.begin() + e * n1)) << j;
    EXPECT_TRUE(std::equal(s.w2.begin() + j * n2, s.w2.begin() + (j + 1) * n2, w.w2.begin() + e * n2)) << j;
  }
  EXPECT_EQ(p.local_gate(Tensor::weights), w.gate);
  const HostTensors back = p.local_by_expert(Tensor::weights, reversed, 0, false);
  EXPECT_EQ(back.w1, w.w1);
  EXPECT_EQ(back.w2, w.w2);
  for (Tensor t : {Tensor::gradients, Tensor::state1, Tensor::state2}) {
    const HostSlots z = p.local_slots(t);
    EXPECT_TRUE(all_equal(z.w1, 0, z.w1.size(), 0.0f));
    EXPECT_TRUE(all_equal(z.w2, 0, z.w2.size(), 0.0f));
  }
  EXPECT_EQ(p.steps(), 0);
  // Adam keeps two states: gate + 2 slot tensors, each weights, gradients, state1, state2.
  EXPECT_EQ(p.bytes(), 4 * sizeof(float) * (std::size_t{H} * E + S * (n1 + n2)));
  ParameterStore sgd(H, F, F, E, S, OptimizerKind::sgd);
  EXPECT_EQ(sgd.bytes(), 3 * sizeof(float) * (std::size_t{H} * E + S * (n1 + n2)));
}

TEST(ParameterStore, StaleGradientsReadAsZerosAndTheNextBackwardWrites) {
  ParameterStore p(H, F, F, E, S, OptimizerKind::sgd);
  const ExecSpace exec;
  p.set(exec, by_expert(0.0f), identity, 0);
  SlotRows rows;
  rows.rows = {5, 0, 2, 0};
  rows.first = {0, 5, 5, 7};
  EXPECT_FALSE(p.begin_backward(exec, rows)) << "zeroed gradients: the first backward writes";
  EXPECT_TRUE(p.begin_backward(exec, rows)) << "a second backward adds";
  const GradientViews g = p.gradients();
  fill(g.gate, 3.0f);
  fill(g.w1, 3.0f);
  fill(g.w2, 3.0f);
  p.mark_stale();
  EXPECT_TRUE(p.gradients_stale());
  const HostSlots stale = p.local_slots(Tensor::gradients);
  EXPECT_TRUE(all_equal(stale.w1, 0, stale.w1.size(), 0.0f)) << "stale gradients read as zeros";
  EXPECT_TRUE(all_equal(p.local_gate(Tensor::gradients), 0, std::size_t{H} * E, 0.0f));
  EXPECT_FALSE(p.begin_backward(exec, rows)) << "after a step the backward writes";
  EXPECT_FALSE(p.gradients_stale());
  exec.fence();
  // Now real: the gate and the slots without rows are zeros, the slots with rows untouched (the
  // backward overwrites them without reading).
  const HostSlots real = p.local_slots(Tensor::gradients);
  for (int j = 0; j < S; ++j) {
    const float want = rows.rows[j] > 0 ? 3.0f : 0.0f;
    EXPECT_TRUE(all_equal(real.w1, j * n1, n1, want)) << "slot " << j;
    EXPECT_TRUE(all_equal(real.w2, j * n2, n2, want)) << "slot " << j;
  }
  EXPECT_TRUE(all_equal(p.local_gate(Tensor::gradients), 0, std::size_t{H} * E, 0.0f));
  p.zero_gradients(exec);
  exec.fence();
  const HostSlots zero = p.local_slots(Tensor::gradients);
  EXPECT_TRUE(all_equal(zero.w1, 0, zero.w1.size(), 0.0f));
  EXPECT_FALSE(p.begin_backward(exec, rows));
}

TEST(ParameterStore, SgdStepAndMigrationCarryWeightsAndStateWithTheirExpert) {
  comm::Communicator self(MPI_COMM_SELF);
  comm::TokenExchange exchange(self, comm::Backend::mpi);
  ParameterStore p(H, F, F, E, S, OptimizerKind::sgd);
  const ExecSpace exec;
  const HostTensors w = by_expert(1.0f);
  p.set(exec, w, identity, 0);
  const GradientViews g = p.gradients();
  fill(g.gate, 1.0f);
  fill(g.w1, 1.0f);
  fill(g.w2, 1.0f);
  OptimizerConfig o;
  o.kind = OptimizerKind::sgd;
  o.lr = 0.5f;
  o.momentum = 0.0f;
  p.optimizer_step(exec, o, {nullptr, nullptr});
  exec.fence();
  EXPECT_EQ(p.steps(), 1);
  const HostTensors stepped = p.local_by_expert(Tensor::weights, identity, 0, false);
  for (std::size_t i = 0; i < w.w1.size(); ++i) ASSERT_EQ(stepped.w1[i], w.w1[i] - 0.5f) << i;
  for (std::size_t i = 0; i < w.gate.size(); ++i) ASSERT_EQ(stepped.gate[i], w.gate[i] - 0.5f) << i;
  const HostTensors state = p.local_by_expert(Tensor::state1, identity, 0, false);
  EXPECT_TRUE(all_equal(state.w1, 0, state.w1.size(), 1.0f)) << "momentum buffer = gradient";

  std::size_t noted = 0;
  const std::int64_t moved = p.migrate(exec, identity, reversed, 0, exchange, [&](std::size_t b) { noted = b; });
  EXPECT_EQ(moved, 0) << "nothing crosses ranks on one rank";
  EXPECT_GT(noted, 0u);
  // By expert nothing changed; by slot everything did.
  const HostTensors after = p.local_by_expert(Tensor::weights, reversed, 0, false);
  EXPECT_EQ(after.w1, stepped.w1);
  EXPECT_EQ(after.w2, stepped.w2);
  EXPECT_EQ(after.gate, stepped.gate);
  EXPECT_EQ(p.local_by_expert(Tensor::state1, reversed, 0, false).w1, state.w1);
  const HostSlots slots = p.local_slots(Tensor::weights);
  EXPECT_TRUE(std::equal(slots.w1.begin(), slots.w1.begin() + n1, stepped.w1.begin() + 3 * n1))
      << "slot 0 holds expert 3";
  const HostSlots grads = p.local_slots(Tensor::gradients);
  EXPECT_TRUE(all_equal(grads.w1, 0, grads.w1.size(), 0.0f)) << "expert gradients restart at zero";
}

// A re-placement that keeps the slot count leaves the experts that stay in their slot where
// they are: the tensors are not re-allocated and only the moved slots travel (the transfer
// buffers hold two rows each way, not four), so a migration costs its moved bytes.
TEST(ParameterStore, MigrationCopiesOnlyTheSlotsWhoseExpertChanged) {
  comm::Communicator self(MPI_COMM_SELF);
  comm::TokenExchange exchange(self, comm::Backend::mpi);
  ParameterStore p(H, F, F, E, S, OptimizerKind::sgd);
  const ExecSpace exec;
  const HostTensors w = by_expert(1.0f);
  p.set(exec, w, identity, 0);
  const float* w1_before = p.slots(Tensor::weights, 1).data();
  const float* state_before = p.slots(Tensor::state1, 2).data();
  const schedule::Placement swapped(1, S, E, {1, 0, 2, 3});  // experts 2 and 3 stay in slots 2 and 3
  std::size_t noted = 0;
  p.migrate(exec, identity, swapped, 0, exchange, [&](std::size_t b) { noted = b; });
  EXPECT_EQ(p.slots(Tensor::weights, 1).data(), w1_before) << "weights re-allocated";
  EXPECT_EQ(p.slots(Tensor::state1, 2).data(), state_before) << "optimizer state re-allocated";
  const std::size_t row_bytes = 2 * (n1 + n2) * sizeof(float);  // weights and one sgd state
  EXPECT_EQ(noted, 2 * 2 * row_bytes) << "two slots out, two in";
  EXPECT_EQ(p.last_migration_bytes(), static_cast<std::int64_t>(2 * row_bytes));
  const HostTensors after = p.local_by_expert(Tensor::weights, swapped, 0, false);
  EXPECT_EQ(after.w1, w.w1);
  EXPECT_EQ(after.w2, w.w2);
  const HostSlots slots = p.local_slots(Tensor::weights);
  EXPECT_TRUE(std::equal(slots.w1.begin(), slots.w1.begin() + n1, w.w1.begin() + n1)) << "slot 0 holds expert 1";
}

// A migration in rounds of one copy, and of a third of a copy (pieces), moves the same bits as
// one round, while its receive buffer and the exchange's host staging hold one round.
TEST(ParameterStore, MigrationInBoundedRoundsMovesTheSameBits) {
  comm::Communicator self(MPI_COMM_SELF);
  const ExecSpace exec;
  const HostTensors w = by_expert(1.0f);
  const std::size_t row_bytes = 3 * (n1 + n2) * sizeof(float);  // weights and two adam states: 144 B
  struct Bound {
    std::size_t round_bytes, noted, staging_max;
  };
  // One copy per round: 4 copies packed, 1 received per round. 50 B: pieces of 12 floats
  // (3 per copy), 12 packed, 1 received per round. Unbounded: 4 and 4.
  const Bound bounds[] = {{row_bytes, 5 * row_bytes, 2 * row_bytes},
                          {50, 13 * 48, 2 * 48},
                          {kMigrationRoundBytes, 8 * row_bytes, 2 * S * row_bytes}};
  std::vector<HostSlots> results;
  for (const Bound& bound : bounds) {
    comm::TokenExchange exchange(self, comm::Backend::mpi);
    ParameterStore p(H, F, F, E, S, OptimizerKind::adam);
    p.set(exec, w, identity, 0);
    std::size_t noted = 0;
    p.migrate(
        exec, identity, reversed, 0, exchange, [&](std::size_t b) { noted = b; }, bound.round_bytes);
    EXPECT_EQ(noted, bound.noted) << "all pieces packed, one round received at a time";
    EXPECT_LE(exchange.staging_bytes(), bound.staging_max) << "host staging beyond one round";
    EXPECT_EQ(p.last_migration_bytes(), static_cast<std::int64_t>(S * row_bytes));
    EXPECT_EQ(p.local_by_expert(Tensor::weights, reversed, 0, false).w1, w.w1);
    EXPECT_EQ(p.local_by_expert(Tensor::weights, reversed, 0, false).w2, w.w2);
    results.push_back(p.local_slots(Tensor::weights));
  }
  for (std::size_t i = 1; i < results.size(); ++i) {
    EXPECT_EQ(results[0].w1, results[i].w1);
    EXPECT_EQ(results[0].w2, results[i].w2);
  }
}

}  // namespace
}  // namespace micromoe::moe
