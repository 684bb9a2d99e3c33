// SPDX-License-Identifier: BSD-3-Clause
// Kokkos conventions of the layer: every phase is a profiling region named "micromoe::<phase>"
// (what Kokkos Tools and Nsight Systems show), every kernel and allocation it makes while one
// is open carries a label, and phase timing can be turned off: the timers then stay zero and
// the results keep their bits.
#include <set>
#include <string>
#include <vector>

#include "core/profiling_region.hpp"
#include "moe_harness.hpp"

namespace micromoe::moe::testing {
namespace {

/// Trains two iterations of microep-adaptive (re-placing after each, so migration runs) and
/// returns what a user sees: outputs, input gradients, and the weights and state at the end.
struct Trace {
  std::vector<float> y, dx, gradients, weights, state;
};

Trace train(MoELayer& layer, const Case& c) {
  const int G = ranks(), r = rank(), H = c.hidden;
  Trace t;
  layer.set_parameters(ExecSpace(), make_data(c, G, 0).params);
  for (int s = 0; s < 2; ++s) {
    const Data d = make_data(c, G, s);
    const ExecSpace exec;
    const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
    const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
    const auto y = to_host(layer.forward(exec, x));
    const auto dx = to_host(layer.backward(exec, dy));
    layer.sync_gradients(exec);
    const auto g = layer.gather(exec, Tensor::gradients, true);
    t.y.insert(t.y.end(), y.begin(), y.end());
    t.dx.insert(t.dx.end(), dx.begin(), dx.end());
    t.gradients.insert(t.gradients.end(), g.w1.begin(), g.w1.end());
    t.gradients.insert(t.gradients.end(), g.gate.begin(), g.gate.end());
    layer.step(exec);
  }
  for (Tensor which : {Tensor::weights, Tensor::state1}) {
    const HostTensors h = layer.gather(ExecSpace(), which);
    std::vector<float>& out = which == Tensor::weights ? t.weights : t.state;
    for (const auto* v : {&h.gate, &h.w1, &h.w2}) out.insert(out.end(), v->begin(), v->end());
  }
  return t;
}

Case adaptive_case() {
  Case c;
  c.strategy = strategy::StrategyKind::microep_adaptive;
  c.skew = true;
  c.replace_interval = 1;
  c.optimizer.kind = OptimizerKind::adam;
  return c;
}

TEST(PhaseTiming, OffLeavesTimersZeroAndResultsBitIdentical) {
  const Case c = adaptive_case();
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer timed(config_of(c), world), untimed(config_of(c), world);
  EXPECT_TRUE(timed.phase_timing()) << "timing is on by default (the trainer reports phase times)";
  untimed.set_phase_timing(false);
  EXPECT_FALSE(untimed.phase_timing());
  const Trace a = train(timed, c), b = train(untimed, c);
  for (int p = 0; p < phase_count; ++p)
    EXPECT_EQ(untimed.timers().seconds(static_cast<Phase>(p)), 0.0) << phase_name(static_cast<Phase>(p));
  EXPECT_EQ(untimed.timers().total(), 0.0);
  EXPECT_GT(timed.timers().seconds(Phase::expert_compute), 0.0);
  EXPECT_GT(timed.timers().seconds(Phase::optimizer), 0.0);
  EXPECT_TRUE(same_bits(a.y, b.y)) << "y";
  EXPECT_TRUE(same_bits(a.dx, b.dx)) << "dx";
  EXPECT_TRUE(same_bits(a.gradients, b.gradients)) << "gradients";
  EXPECT_TRUE(same_bits(a.weights, b.weights)) << "weights";
  EXPECT_TRUE(same_bits(a.state, b.state)) << "optimizer state";
  EXPECT_EQ(timed.migrations(), untimed.migrations());
  if (ranks() >= 4) EXPECT_GT(untimed.migrations(), 0) << "migration was not exercised";
  // Turned back on, the phases are timed again.
  untimed.set_phase_timing(true);
  train(untimed, c);
  EXPECT_GT(untimed.timers().seconds(Phase::gate), 0.0);
}

// What the Kokkos Tools callbacks saw (one process, one thread calls them).
struct Seen {
  std::vector<std::string> open;               // the region stack
  std::set<std::string> regions;               // every region pushed
  std::vector<std::string> unlabelled;         // kernels / allocations inside a micromoe region without a label
  std::set<std::string> kernels, allocations;  // labels seen inside micromoe regions
  int pushes = 0, pops = 0;
  int launching = 0;  // kernels begun and not ended
};
Seen* seen = nullptr;

bool in_layer_region() {
  for (const auto& r : seen->open)
    if (r.rfind("micromoe::", 0) == 0) return true;
  return false;
}
/// Ours ("micromoe::..."), or Kokkos' and Kokkos Kernels' own (deep_copy fills, BLAS).
bool labelled(const std::string& name) { return name.rfind("micromoe::", 0) == 0 || name.rfind("Kokkos", 0) == 0; }
void on_push(const char* name) {
  seen->open.emplace_back(name);
  seen->regions.insert(name);
  ++seen->pushes;
}
void on_pop() {
  if (!seen->open.empty()) seen->open.pop_back();
  ++seen->pops;
}
void on_kernel(const char* name, const std::uint32_t, std::uint64_t* id) {
  *id = 0;
  ++seen->launching;
  if (!in_layer_region()) return;
  seen->kernels.insert(name);
  if (!labelled(name)) seen->unlabelled.push_back(std::string("kernel ") + name);
}
void on_end(std::uint64_t) { --seen->launching; }
void on_allocate(const Kokkos::Tools::SpaceHandle, const char* label, const void*, const std::uint64_t) {
  // Inside a launch: the backend's own (OpenMP's per-thread team scratch), not the layer's.
  if (!in_layer_region() || seen->launching > 0) return;
  seen->allocations.insert(label);
  if (!labelled(label)) seen->unlabelled.push_back(std::string("allocation '") + label + "' in " + seen->open.back());
}

TEST(Profiling, EveryPhaseIsANamedRegionAndEveryKernelAndAllocationIsLabelled) {
  namespace tools = Kokkos::Tools::Experimental;
  const Case c = adaptive_case();
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(config_of(c), world);
  layer.set_phase_timing(false);  // regions do not depend on timing
  Seen record;
  seen = &record;
  const auto saved = tools::get_callbacks();
  tools::set_push_region_callback(on_push);
  tools::set_pop_region_callback(on_pop);
  tools::set_begin_parallel_for_callback(on_kernel);
  tools::set_begin_parallel_reduce_callback(on_kernel);
  tools::set_begin_parallel_scan_callback(on_kernel);
  tools::set_end_parallel_for_callback(on_end);
  tools::set_end_parallel_reduce_callback(on_end);
  tools::set_end_parallel_scan_callback(on_end);
  tools::set_allocate_data_callback(on_allocate);
  train(layer, c);
  tools::set_callbacks(saved);
  seen = nullptr;

  EXPECT_EQ(record.pushes, record.pops) << "unbalanced regions";
  EXPECT_TRUE(record.open.empty());
  std::vector<Phase> expected{Phase::gate,          Phase::count_exchange, Phase::schedule, Phase::permute,
                              Phase::dispatch,      Phase::expert_compute, Phase::combine,  Phase::backward,
                              Phase::gradient_sync, Phase::optimizer};
  if (layer.migrations() > 0) expected.push_back(Phase::migration);
  for (Phase p : expected) {
    EXPECT_EQ(phase_region_name(p), std::string("micromoe::") + phase_name(p));
    EXPECT_EQ(record.regions.count(phase_region_name(p)), 1u) << "no region " << phase_region_name(p);
  }
  for (const auto& r : record.regions) EXPECT_TRUE(labelled(r)) << "region " << r;  // ours or Kokkos Kernels'
  EXPECT_TRUE(record.unlabelled.empty()) << record.unlabelled.size() << " unlabelled, first: " << record.unlabelled[0];
  EXPECT_GT(record.kernels.count("micromoe::moe::gate_select"), 0u);
  EXPECT_GT(record.allocations.count("micromoe::moe::send"), 0u);
}

}  // namespace
}  // namespace micromoe::moe::testing
