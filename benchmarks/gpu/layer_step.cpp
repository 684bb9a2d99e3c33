// SPDX-License-Identifier: BSD-3-Clause
// One MoE layer training step (forward, backward, gradient sync, optimizer) at the paper's
// layer sizes, balanced routing, this process alone, against its floor:
//   GEMMs      expert FFN (3 x forward FLOPs) at the vendor rate measured for the precision and
//              the per-expert shape, plus the gate's three small GEMMs at the fp32 rate;
//   bytes      the row kernels of dispatch / combine and their backward, and the optimizer's
//              pass over parameters, gradients and state, at the measured copy bandwidth;
//   scheduler  the host time of the schedule phase, as measured.
// Also the fixed cost of a step (launches, fences, allocations, host work): the same step -
// same tokens, experts, top-k, precision, every kernel and fence - with H = F = 64, so that
// the data work is negligible and what remains is the step's overhead.
#include <mpi.h>

#include <algorithm>

#include "comm/communicator.hpp"
#include "core/build_config.hpp"
#include "moe/kernels.hpp"
#include "moe/layer.hpp"
#include "sections.hpp"

namespace micromoe::bench {

namespace {

struct StepTimes {
  double step = 0.0;           ///< median seconds per training step
  moe::PhaseTimers per_phase;  ///< mean seconds per step by phase
};

StepTimes time_steps(moe::MoELayer& layer, std::int64_t T, int H, int steps) {
  const ExecSpace exec;
  moe::MoELayer::Matrix x("bench::x", T, H), dy("bench::dy", T, H);
  moe::detail::init_uniform(exec, moe::detail::Flat(x.data(), x.span()), 3, 1, 1.0f);
  moe::detail::init_uniform(exec, moe::detail::Flat(dy.data(), dy.span()), 3, 2, 1e-3f);
  auto one = [&] {
    layer.forward(exec, x);
    layer.backward(exec, dy);
    layer.step(exec);
  };
  one();
  one();
  Kokkos::fence();
  layer.reset_timers();
  std::vector<double> t;
  for (int s = 0; s < steps; ++s) {
    Kokkos::Timer timer;
    one();
    Kokkos::fence();
    t.push_back(timer.seconds());
  }
  std::sort(t.begin(), t.end());
  StepTimes r;
  r.step = t[t.size() / 2];
  for (int p = 0; p < moe::phase_count; ++p)
    r.per_phase.add(static_cast<moe::Phase>(p), layer.timers().seconds(static_cast<moe::Phase>(p)) / steps);
  return r;
}

struct LayerCase {
  ModelShape model;
  int experts;
  std::int64_t tokens;
};

}  // namespace

void measure_layer_step(const Options& o, const Floors& floors, Results& out) {
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (ranks != 1) return;  // the single-process step; multi-rank steps are the app's (micromoe run)
  const comm::Communicator world(MPI_COMM_WORLD);
  std::vector<LayerCase> cases;
  for (const ModelShape& m : o.models)
    cases.push_back({m, m.hidden <= 2048 ? 32 : 8, o.quick ? 64 : 4096});  // E = 8 at H = 4096: fits 141 GB with Adam
  const std::vector<moe::Precision> ps = MICROMOE_ENABLE_CUDA
                                             ? std::vector<moe::Precision>{moe::Precision::fp32, moe::Precision::bf16}
                                             : std::vector<moe::Precision>{moe::Precision::fp32};
  for (const LayerCase& c : cases)
    for (moe::Precision p : ps) {
      moe::LayerConfig cfg;
      cfg.hidden = c.model.hidden;
      cfg.ffn = c.model.ffn;
      cfg.experts = c.experts;
      cfg.top_k = 2;
      cfg.activation = c.model.activation;
      cfg.precision = p;
      cfg.strategy.kind = strategy::StrategyKind::balanced;
      cfg.optimizer.kind = moe::OptimizerKind::adam;
      moe::MoELayer layer(cfg, world);
      const StepTimes full = time_steps(layer, c.tokens, cfg.hidden, o.quick ? 3 : 7);
      moe::LayerConfig tiny_cfg = cfg;
      tiny_cfg.hidden = tiny_cfg.ffn = 64;
      moe::MoELayer tiny_layer(tiny_cfg, world);
      const StepTimes tiny = time_steps(tiny_layer, c.tokens, tiny_cfg.hidden, o.quick ? 3 : 7);

      // The floor.
      const int F1 = moe::w1_columns(cfg.activation, cfg.ffn);
      const double copies = static_cast<double>(c.tokens) * cfg.top_k;
      const int per_expert = static_cast<int>(copies / cfg.experts);
      const double expert_flops = 3.0 * 2.0 * copies * (double(cfg.hidden) * F1 + double(cfg.ffn) * cfg.hidden);
      const double gate_flops = 3.0 * 2.0 * c.tokens * double(cfg.hidden) * cfg.experts;
      const double rate = floors.rate(p, per_expert, cfg.hidden, cfg.ffn);
      const double fp32_rate = floors.rate(moe::Precision::fp32, per_expert, cfg.hidden, cfg.ffn);
      const double row = double(cfg.hidden) * sizeof(float);
      // Forward: gather (2N), dispatch block copy (2N), combine block copy (2N), combine (N + T);
      // backward: scatter (T + 2N), two block copies (4N), add (N + 2T); activations R x F.
      const double row_bytes = row * (11.0 * copies + 4.0 * c.tokens) + 4.0 * copies * F1 * sizeof(float);
      const double params = double(cfg.experts) * (double(cfg.hidden) * F1 + double(cfg.ffn) * cfg.hidden);
      // Adam reads w, g, m, v and writes w, m, v; bf16 also writes the weights' bf16 copy in
      // that pass. (Resetting the gradients is not counted: a backward that writes its first
      // gradients needs none, so the floor leaves it out.)
      const double optimizer_bytes = params * (sizeof(float) * 7.0 + (p == moe::Precision::bf16 ? 2.0 : 0.0));
      const double sched = full.per_phase.seconds(moe::Phase::schedule);
      const double floor = (rate > 0 ? expert_flops / rate : 0.0) + (fp32_rate > 0 ? gate_flops / fp32_rate : 0.0) +
                           (row_bytes + optimizer_bytes) / floors.copy_bytes_per_s + sched;
      const std::string name =
          c.model.name + " " + to_string(p) + " E=" + std::to_string(cfg.experts) + " T=" + std::to_string(c.tokens);
      out.add({"layer", "step (fwd+bwd+sync+adam) " + name, full.step * 1e3, "ms", rate > 0 ? floor / full.step : -1});
      out.add({"layer", "step floor " + name, floor * 1e3, "ms"});
      for (int q = 0; q < moe::phase_count; ++q) {
        const auto ph = static_cast<moe::Phase>(q);
        if (full.per_phase.seconds(ph) > 0)
          out.add({"phase", std::string(moe::phase_name(ph)) + " " + name, full.per_phase.seconds(ph) * 1e3, "ms"});
      }
      // Fixed cost: the H = F = 64 step launches every kernel, fences every phase and does the
      // host work of the full one; its data work is negligible.
      out.add(
          {"layer", "fixed cost per step (same step at H=F=64) " + name, tiny.step * 1e3, "ms", tiny.step / full.step});
    }
}

}  // namespace micromoe::bench
