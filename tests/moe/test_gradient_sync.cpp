// SPDX-License-Identifier: BSD-3-Clause
// The gradient sync on its own, at every rank count: the gate gradient becomes its sum over
// the group, each slot's expert gradients the sum over that expert's replicas (every replica
// the same bits), slots of unreplicated experts stay as they were; after set_placement the
// sums follow the new replica sets. The backend is MICROMOE_TEST_BACKEND's (mpi by default).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdlib>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/token_exchange.hpp"
#include "moe/gradient_sync.hpp"
#include "schedule/placement.hpp"

namespace micromoe::moe {
namespace {

constexpr int H = 4, F1 = 3, F = 2, E = 8;

/// A value that identifies (rank, slot, element); small integers, so fp32 sums are exact.
float value(int rank, int slot, std::size_t i) { return static_cast<float>((rank + 1) * 100 + slot * 10 + i % 7); }

GradientViews filled(int rank, int S) {
  GradientViews g;
  g.gate = decltype(g.gate)("test::gate_grad", H, E);
  g.w1 = decltype(g.w1)("test::w1_grad", S, H, F1);
  g.w2 = decltype(g.w2)("test::w2_grad", S, F, H);
  auto gate = Kokkos::create_mirror_view(g.gate);
  auto w1 = Kokkos::create_mirror_view(g.w1);
  auto w2 = Kokkos::create_mirror_view(g.w2);
  for (std::size_t i = 0; i < gate.span(); ++i) gate.data()[i] = value(rank, 9, i);
  for (int j = 0; j < S; ++j) {
    for (std::size_t i = 0; i < std::size_t{H} * F1; ++i) w1.data()[j * H * F1 + i] = value(rank, j, i);
    for (std::size_t i = 0; i < std::size_t{F} * H; ++i) w2.data()[j * F * H + i] = -value(rank, j, i);
  }
  Kokkos::deep_copy(g.gate, gate);
  Kokkos::deep_copy(g.w1, w1);
  Kokkos::deep_copy(g.w2, w2);
  return g;
}

void expect_sums(const GradientViews& g, const schedule::Placement& p, int me, int G) {
  auto gate = Kokkos::create_mirror_view_and_copy(HostSpace(), g.gate);
  auto w1 = Kokkos::create_mirror_view_and_copy(HostSpace(), g.w1);
  auto w2 = Kokkos::create_mirror_view_and_copy(HostSpace(), g.w2);
  for (std::size_t i = 0; i < gate.span(); ++i) {
    float want = 0.0f;
    for (int r = 0; r < G; ++r) want += value(r, 9, i);
    ASSERT_EQ(gate.data()[i], want) << "gate element " << i;
  }
  for (int j = 0; j < p.slots_per_gpu; ++j) {
    const int e = p.expert(me, j);
    if (e < 0) continue;
    for (std::size_t i = 0; i < std::size_t{H} * F1; ++i) {
      float want = 0.0f;
      for (int r : p.replicas(e)) want += value(r, j, i);
      ASSERT_EQ(w1.data()[j * H * F1 + i], want) << "w1 of expert " << e << " in slot " << j;
    }
    for (std::size_t i = 0; i < std::size_t{F} * H; ++i) {
      float want = 0.0f;
      for (int r : p.replicas(e)) want -= value(r, j, i);
      ASSERT_EQ(w2.data()[j * F * H + i], want) << "w2 of expert " << e << " in slot " << j;
    }
  }
}

TEST(GradientSync, SumsTheGateOverTheGroupAndEachSlotOverItsReplicas) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int G = world.size(), me = world.rank();
  comm::Backend backend = comm::Backend::mpi;
  if (const char* b = std::getenv("MICROMOE_TEST_BACKEND")) backend = comm::parse_backend(b);
  comm::TokenExchange exchange(world, backend);
  // Two replicas per expert (one at G = 1), then a placement with other replica sets.
  const int S = G >= 2 ? 2 * E / G : E;
  const schedule::Placement first = schedule::make_symmetric_placement(G, S, E, 1);
  auto sync = make_gradient_sync(backend, world, nullptr, exchange, {}, first);
  const ExecSpace exec;
  GradientViews g = filled(me, S);
  sync->run(exec, g);
  exec.fence();
  expect_sums(g, first, me, G);

  const schedule::Placement second = schedule::make_random_placement(G, S, E, 5);
  sync->set_placement(second);
  g = filled(me, S);
  sync->run(exec, g);
  exec.fence();
  expect_sums(g, second, me, G);
}

// Re-placement must not rebuild anything: no backend creates a communicator per replica set
// (the MPI backend sums a replicated slot by messages among its replicas on the group's
// communicator, as NCCL does), neither at the first placement nor at later ones, including
// placements seen before. The sums stay right across the re-placements.
TEST(GradientSync, ReplacementCreatesNoCommunicators) {
  comm::Communicator world(MPI_COMM_WORLD);
  const int G = world.size(), me = world.rank();
  comm::Backend backend = comm::Backend::mpi;
  if (const char* b = std::getenv("MICROMOE_TEST_BACKEND")) backend = comm::parse_backend(b);
  comm::TokenExchange exchange(world, backend);
  const int S = G >= 2 ? 2 * E / G : E;
  const schedule::Placement first = schedule::make_symmetric_placement(G, S, E, 1);
  const schedule::Placement second = schedule::make_random_placement(G, S, E, 5);
  auto sync = make_gradient_sync(backend, world, nullptr, exchange, {}, first);
  EXPECT_EQ(sync->communicators_created(), 0);
  sync->set_placement(second);
  sync->set_placement(first);
  sync->set_placement(second);
  sync->set_placement(second);
  EXPECT_EQ(sync->communicators_created(), 0) << "a re-placement created communicators";
  const ExecSpace exec;
  GradientViews g = filled(me, S);
  sync->run(exec, g);
  exec.fence();
  expect_sums(g, second, me, G);
  sync->set_placement(first);
  g = filled(me, S);
  sync->run(exec, g);
  exec.fence();
  expect_sums(g, first, me, G);
}

}  // namespace
}  // namespace micromoe::moe
