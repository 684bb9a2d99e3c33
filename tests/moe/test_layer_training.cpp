// SPDX-License-Identifier: BSD-3-Clause
// Training: several optimizer steps (SGD with momentum, Adam) of the distributed layer follow
// the serial reference; microep-adaptive's re-placement migrates expert weights and optimizer
// state bit-exactly (the same bits as a run that did not migrate) and training then continues
// as if nothing had moved.
#include "moe_harness.hpp"

namespace micromoe::moe::testing {
namespace {

constexpr double kTrainTolerance = 1e-4;  // several steps of fp32 rounding

/// The layer of `c` and its serial reference, from the same parameters (step 0's data).
struct LayerAndReference {
  explicit LayerAndReference(const Case& c)
      : world(MPI_COMM_WORLD), layer(config_of(c), world), ref(config_of(c)), initial(make_data(c, ranks(), 0)) {
    layer.set_parameters(ExecSpace(), initial.params);
    ref.params = initial.params;
  }
  comm::Communicator world;
  MoELayer layer;
  ReferenceMoE ref;
  Data initial;
};

/// Runs `steps` iterations (one micro-batch each, new data per step) of the layer and of the
/// reference; after each step the next forward outputs and the parameters must agree.
/// `slot_counts` (optional) receives the layer's slots per rank after every step;
/// `received_bytes` (optional) the migrations' bytes received, summed over steps and ranks.
void train_against_reference(const Case& c, int steps, std::int64_t* migrations = nullptr,
                             std::vector<int>* slot_counts = nullptr, bool* mixed_slots = nullptr,
                             std::int64_t* received_bytes = nullptr) {
  const int G = ranks(), r = rank(), H = c.hidden;
  LayerAndReference both(c);
  MoELayer& layer = both.layer;
  ReferenceMoE& ref = both.ref;
  for (int s = 0; s < steps; ++s) {
    const Data d = make_data(c, G, s);
    const ExecSpace exec;
    const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
    const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
    const auto y = to_host(layer.forward(exec, x));
    const auto dx = to_host(layer.backward(exec, dy));
    const auto ry = ref.forward(d.x, d.total);
    const auto rdx = ref.backward(d.dy);
    const std::string what = to_string(c.strategy) + " step " + std::to_string(s);
    EXPECT_LE(rel_error(y, slice(ry, d.first[r], d.count[r], H)), kTrainTolerance) << what << ": y";
    EXPECT_LE(rel_error(dx, slice(rdx, d.first[r], d.count[r], H)), kTrainTolerance) << what << ": dx";
    layer.step(exec);
    ref.step();
    expect_tensors_match(layer, Tensor::weights, ref.params, kTrainTolerance, what + ": weights");
    expect_tensors_match(layer, Tensor::state1, ref.state1, 10 * kTrainTolerance, what + ": state1");
    if (slot_counts) slot_counts->push_back(layer.placement().slots_per_gpu);
    if (mixed_slots) *mixed_slots = *mixed_slots || !layer.placement().same_slot();
    if (received_bytes) *received_bytes += layer.migrated_bytes();
  }
  if (migrations) *migrations = layer.migrations();
  if (received_bytes) MPI_Allreduce(MPI_IN_PLACE, received_bytes, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}

TEST(Training, SgdMomentumFollowsReference) {
  for (const auto s : {StrategyKind::ep, StrategyKind::eplb, StrategyKind::microep}) {
    Case c;
    c.strategy = s;
    c.skew = true;
    c.optimizer.kind = OptimizerKind::sgd;
    c.optimizer.lr = 0.05f;
    c.replace_interval = 2;
    train_against_reference(c, 4);
  }
}

TEST(Training, AdamFollowsReference) {
  Case c;
  c.strategy = StrategyKind::microep;
  c.skew = true;
  c.optimizer.kind = OptimizerKind::adam;
  c.optimizer.lr = 1e-3f;
  c.optimizer.eps = 1e-3f;  // keeps near-zero gradient entries from amplifying rounding
  train_against_reference(c, 3);
}

TEST(Training, AdaptiveWithMigrationFollowsReference) {
  for (auto kind : {OptimizerKind::sgd, OptimizerKind::adam}) {
    Case c;
    c.strategy = StrategyKind::microep_adaptive;
    c.skew = true;
    c.replace_interval = 1;  // re-place after every step
    c.optimizer.kind = kind;
    c.optimizer.lr = kind == OptimizerKind::sgd ? 0.05f : 1e-3f;
    c.optimizer.eps = 1e-3f;
    std::int64_t migrations = 0;
    train_against_reference(c, 4, &migrations);
    // At G = 2 every expert already sits on both ranks: nothing can move.
    if (ranks() >= 4) EXPECT_GT(migrations, 0) << "the skewed load never moved an expert";
  }
}

TEST(Training, AdaptiveWithExpertsInDifferentSlotsFollowsReference) {
  // A budget of one copy per re-placement: the single-copy moves give an expert a position in
  // another slot index than its other replicas use. Dispatch, combine, the gradient sums among
  // replicas and the migrations address every replica by its own (GPU, slot).
  Case c;
  c.strategy = StrategyKind::microep_adaptive;
  c.one_expert = true;  // expert 0 hot from the first step: it takes positions from the others
  c.replace_interval = 1;
  c.adaptive_min_replicas = 1;
  c.adaptive_max_migrations = 1;
  c.optimizer.kind = OptimizerKind::sgd;
  c.optimizer.lr = 0.05f;
  std::int64_t migrations = 0;
  bool mixed = false;
  train_against_reference(c, 6, &migrations, nullptr, &mixed);
  if (ranks() >= 4) {
    EXPECT_GT(migrations, 0);
    EXPECT_TRUE(mixed) << "every placement kept each expert in one slot index: the case no longer covers it";
  }
}

TEST(Training, EplbFollowsReferenceAcrossReplacements) {
  // DeepSeek's EPLB re-placed after every step on near-even loads: experts move between GPUs
  // (migrations), experts staying on a GPU keep their slot (nothing copied for them), and the
  // layer keeps exactly S + 1 slots per GPU (E/P + eplb's one extra) at every step; training
  // must not notice.
  Case c;
  c.strategy = StrategyKind::eplb;
  c.replace_interval = 1;
  c.optimizer.kind = OptimizerKind::sgd;
  c.optimizer.lr = 0.05f;
  const LayerConfig cfg = config_of(c);
  const int S = c.experts / cfg.strategy.ep_size + cfg.strategy.eplb_extra_slots;
  std::int64_t migrations = 0, received = 0;
  std::vector<int> slots;
  train_against_reference(c, 8, &migrations, &slots, nullptr, &received);
  EXPECT_EQ(slots, std::vector<int>(8, S)) << "eplb's slot count is not S + 1 at every step";
  if (ranks() >= 4) EXPECT_GT(migrations, 0) << "no re-placement moved an expert";
  // Only experts new on a GPU are copied (W1, W2 and their momentum each): one that stays keeps
  // its slot, so no copy moves it between slots.
  const std::int64_t copy_bytes = 4 * c.hidden * c.ffn * static_cast<std::int64_t>(sizeof(float));
  EXPECT_EQ(received, migrations * copy_bytes) << "experts staying on a GPU were copied to another slot";
}

TEST(Training, MigrationMovesExactBits) {
  // Two layers, identical first iteration; one re-places after it (interval 1), the other never
  // (interval 1000). The migrated weights and optimizer state must carry the same bits.
  const int G = ranks(), r = rank(), H = 16;
  Case c;
  c.strategy = StrategyKind::microep_adaptive;
  c.skew = true;
  c.optimizer.kind = OptimizerKind::adam;
  comm::Communicator world(MPI_COMM_WORLD);
  Case moving = c, still = c;
  moving.replace_interval = 1;
  still.replace_interval = 1000;
  MoELayer a(config_of(moving), world), b(config_of(still), world);
  const Data d = make_data(c, G, 0);
  for (MoELayer* l : {&a, &b}) {
    const ExecSpace exec;
    l->set_parameters(exec, d.params);
    const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
    const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
    l->forward(exec, x);
    l->backward(exec, dy);
    l->step(exec);
  }
  if (G >= 4) EXPECT_NE(a.placement(), b.placement()) << "no re-placement happened";
  for (Tensor t : {Tensor::weights, Tensor::state1, Tensor::state2}) {
    const HostTensors ta = a.gather(ExecSpace(), t), tb = b.gather(ExecSpace(), t);
    EXPECT_TRUE(same_bits(ta.w1, tb.w1)) << "w1 tensor " << static_cast<int>(t);
    EXPECT_TRUE(same_bits(ta.w2, tb.w2)) << "w2 tensor " << static_cast<int>(t);
    EXPECT_TRUE(same_bits(ta.gate, tb.gate));
    // Every replica of the migrated layer holds those bits.
    const HostSlots s = a.local_slots(t);
    const std::size_t n1 = static_cast<std::size_t>(H) * c.ffn, n2 = n1;
    for (int j = 0; j < a.placement().slots_per_gpu; ++j) {
      const int e = a.placement().expert(r, j);
      if (e < 0) continue;
      EXPECT_TRUE(std::equal(s.w1.begin() + j * n1, s.w1.begin() + (j + 1) * n1, ta.w1.begin() + e * n1));
      EXPECT_TRUE(std::equal(s.w2.begin() + j * n2, s.w2.begin() + (j + 1) * n2, ta.w2.begin() + e * n2));
    }
  }
  // Gradients after migration are zero.
  const HostSlots g = a.local_slots(Tensor::gradients);
  EXPECT_TRUE(std::all_of(g.w1.begin(), g.w1.end(), [](float v) { return v == 0.0f; }));
  // Training continues as if nothing had moved: three more steps of both layers (the moving one
  // keeps re-placing) agree to rounding (the plans differ, so sums are grouped differently).
  for (int s = 1; s <= 3; ++s) {
    const Data ds = make_data(c, G, s);
    const ExecSpace exec;
    const auto x = to_device(slice(ds.x, ds.first[r], ds.count[r], H), ds.count[r], H);
    const auto dy = to_device(slice(ds.dy, ds.first[r], ds.count[r], H), ds.count[r], H);
    const auto ya = to_host(a.forward(exec, x)), yb = to_host(b.forward(exec, x));
    const auto dxa = to_host(a.backward(exec, dy)), dxb = to_host(b.backward(exec, dy));
    EXPECT_LE(rel_error(ya, yb), kTrainTolerance) << "step " << s;
    EXPECT_LE(rel_error(dxa, dxb), kTrainTolerance) << "step " << s;
    a.step(exec);
    b.step(exec);
    const HostTensors wa = a.gather(exec, Tensor::weights), wb = b.gather(exec, Tensor::weights);
    EXPECT_LE(rel_error(wa.w1, wb.w1), kTrainTolerance) << "step " << s;
    EXPECT_LE(rel_error(wa.w2, wb.w2), kTrainTolerance) << "step " << s;
    EXPECT_LE(rel_error(wa.gate, wb.gate), kTrainTolerance) << "step " << s;
  }
  if (G >= 4) EXPECT_GT(a.migrations(), 0);
  EXPECT_EQ(b.migrations(), 0);
}

TEST(Training, MigrationInBoundedRoundsMovesTheSameBits) {
  // The same training with migrations in bounded rounds and in one round: every output,
  // gradient and weight bit-identical, re-placing after every step (microep-adaptive and eplb).
  // Bounds: a third of a copy (each copy in three pieces, one piece per round) and two copies
  // per round. A copy here: W1, W2, Adam's m and v, 6 x 16 x 24 floats.
  const int G = ranks(), r = rank(), H = 16;
  constexpr std::size_t copy_bytes = 6 * 16 * 24 * sizeof(float);
  for (const std::size_t bound : {copy_bytes / 3, 2 * copy_bytes})
    for (const auto strategy : {StrategyKind::microep_adaptive, StrategyKind::eplb}) {
      Case c;
      c.strategy = strategy;
      c.skew = true;
      c.replace_interval = 1;
      c.optimizer.kind = OptimizerKind::adam;
      Case rounds = c;
      rounds.migration_round_bytes = bound;
      comm::Communicator world(MPI_COMM_WORLD);
      MoELayer a(config_of(rounds), world), b(config_of(c), world);
      const ExecSpace exec;
      const Data d0 = make_data(c, G, 0);
      a.set_parameters(exec, d0.params);
      b.set_parameters(exec, d0.params);
      for (int s = 0; s < 4; ++s) {
        const Data ds = make_data(c, G, s);
        const auto x = to_device(slice(ds.x, ds.first[r], ds.count[r], H), ds.count[r], H);
        const auto dy = to_device(slice(ds.dy, ds.first[r], ds.count[r], H), ds.count[r], H);
        EXPECT_TRUE(same_bits(to_host(a.forward(exec, x)), to_host(b.forward(exec, x)))) << "step " << s;
        EXPECT_TRUE(same_bits(to_host(a.backward(exec, dy)), to_host(b.backward(exec, dy)))) << "step " << s;
        a.step(exec);
        b.step(exec);
        ASSERT_EQ(a.placement(), b.placement());
        EXPECT_EQ(a.migrated_bytes(), b.migrated_bytes());
        for (Tensor t : {Tensor::weights, Tensor::state1, Tensor::state2}) {
          const HostSlots sa = a.local_slots(t), sb = b.local_slots(t);
          EXPECT_TRUE(same_bits(sa.w1, sb.w1)) << "step " << s << " tensor " << static_cast<int>(t);
          EXPECT_TRUE(same_bits(sa.w2, sb.w2)) << "step " << s << " tensor " << static_cast<int>(t);
        }
      }
      if (G >= 4) EXPECT_GT(a.migrations(), 0) << to_string(strategy) << " never migrated";
      EXPECT_EQ(a.migrations(), b.migrations());
    }
}

TEST(Training, GradientsAccumulateOverMicroBatches) {
  // Three micro-batches per iteration (different token counts), then one step, for two
  // iterations; the reference accumulates the same way.
  for (const auto strategy : {StrategyKind::ep, StrategyKind::microep, StrategyKind::microep_adaptive}) {
    Case c;
    c.strategy = strategy;
    c.skew = true;
    c.replace_interval = 1;
    c.optimizer.kind = OptimizerKind::sgd;
    c.optimizer.lr = 0.05f;
    const int G = ranks(), r = rank(), H = c.hidden;
    LayerAndReference both(c);
    MoELayer& layer = both.layer;
    ReferenceMoE& ref = both.ref;
    for (int it = 0; it < 2; ++it) {
      for (int mb = 0; mb < 3; ++mb) {
        Case cm = c;
        cm.tokens = 8 + 5 * mb;
        const Data d = make_data(cm, G, 10 * it + mb);
        const ExecSpace exec;
        const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
        const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
        const auto y = to_host(layer.forward(exec, x));
        layer.backward(exec, dy);
        const auto ry = ref.forward(d.x, d.total);
        ref.backward(d.dy);
        EXPECT_LE(rel_error(y, slice(ry, d.first[r], d.count[r], H)), kTrainTolerance) << to_string(strategy);
      }
      layer.step(ExecSpace());
      ref.step();
      expect_tensors_match(layer, Tensor::weights, ref.params, kTrainTolerance,
                           to_string(strategy) + " iteration " + std::to_string(it));
    }
  }
}

TEST(Training, GradientResetAfterStepIsExact) {
  // step() resets the gradients without touching them: they read as zeros, and the next
  // backward overwrites the slots with tokens and zero-fills the rest. Iteration 1 gives every
  // expert gradients; iteration 2 routes every token to experts 0 and 1 only, so the other
  // experts' slots still hold iteration 1's values in memory and must come out zero.
  Case c;
  c.optimizer.kind = OptimizerKind::adam;
  const int G = ranks(), r = rank(), H = c.hidden;
  LayerAndReference both(c);
  MoELayer& layer = both.layer;
  ReferenceMoE& ref = both.ref;
  const Data& d0 = both.initial;
  const ExecSpace exec;
  {
    const auto x = to_device(slice(d0.x, d0.first[r], d0.count[r], H), d0.count[r], H);
    const auto dy = to_device(slice(d0.dy, d0.first[r], d0.count[r], H), d0.count[r], H);
    layer.forward(exec, x);
    layer.backward(exec, dy);
    ref.forward(d0.x, d0.total);
    ref.backward(d0.dy);
    const HostTensors g = layer.gather(exec, Tensor::gradients, true);
    const std::size_t n1 = static_cast<std::size_t>(H) * c.ffn;
    ASSERT_TRUE(std::any_of(g.w1.begin() + 2 * n1, g.w1.end(), [](float v) { return v != 0.0f; }))
        << "iteration 1 must leave non-zero gradients of experts 2.. in memory";
    layer.step(exec);
    ref.step();
  }
  const HostTensors after_step = layer.gather(exec, Tensor::gradients, true);
  for (const auto* v : {&after_step.gate, &after_step.w1, &after_step.w2})
    EXPECT_TRUE(std::all_of(v->begin(), v->end(), [](float g) { return g == 0.0f; })) << "gradients after step()";

  const Data d1 = make_data(c, G, 1);
  std::vector<int> forced(static_cast<std::size_t>(d1.total) * c.top_k);
  for (std::size_t i = 0; i < forced.size(); ++i) forced[i] = static_cast<int>(i % 2);  // experts 0 and 1
  Kokkos::View<int**, TokenLayout, MemSpace> mine("test::choices", d1.count[r], c.top_k);
  auto mine_h = Kokkos::create_mirror_view(mine);
  for (std::int64_t t = 0; t < d1.count[r]; ++t)
    for (int i = 0; i < c.top_k; ++i) mine_h(t, i) = forced[static_cast<std::size_t>((d1.first[r] + t) * c.top_k + i)];
  Kokkos::deep_copy(mine, mine_h);
  layer.set_next_choices(mine);
  layer.forward(exec, to_device(slice(d1.x, d1.first[r], d1.count[r], H), d1.count[r], H));
  layer.backward(exec, to_device(slice(d1.dy, d1.first[r], d1.count[r], H), d1.count[r], H));
  ref.forward(d1.x, d1.total, nullptr, &forced);
  ref.backward(d1.dy);
  const HostTensors got = layer.gather(exec, Tensor::gradients, true), want = ref.gradients();
  EXPECT_LE(rel_error(got.gate, want.gate), kTolerance);
  EXPECT_LE(rel_error(got.w1, want.w1), kTolerance);
  EXPECT_LE(rel_error(got.w2, want.w2), kTolerance);
  const std::size_t n1 = static_cast<std::size_t>(H) * c.ffn;
  for (int e = 2; e < c.experts; ++e)
    EXPECT_TRUE(std::all_of(got.w1.begin() + e * n1, got.w1.begin() + (e + 1) * n1, [](float g) { return g == 0.0f; }))
        << "expert " << e << " got no tokens: its gradient must be zero";
}

TEST(Timers, EveryPhaseIsTimedAndPeakMemoryReported) {
  Case c;
  c.strategy = StrategyKind::microep;
  const Data d = make_data(c, ranks());
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(config_of(c), world);
  run_once(layer, c, d);
  layer.optimizer_step(ExecSpace());
  for (Phase p : {Phase::gate, Phase::count_exchange, Phase::schedule, Phase::permute, Phase::dispatch,
                  Phase::expert_compute, Phase::combine, Phase::backward, Phase::gradient_sync, Phase::optimizer})
    EXPECT_GT(layer.timers().seconds(p), 0.0) << phase_name(p);
  EXPECT_GE(layer.peak_bytes(), layer.current_bytes());
}

}  // namespace
}  // namespace micromoe::moe::testing
