// SPDX-License-Identifier: BSD-3-Clause
// bench_exchange's section step: one MoE layer training step (forward, backward, gradient sync,
// Adam) at G ranks with real communication, against its floor with communication:
//   compute   the same work per rank on each rank alone: a one-rank layer with E / G experts and
//             the same T tokens and top-k has the same expert rows, GEMM shapes, row kernels and
//             optimizer pass, and no exchange (measured on all ranks at once, one GPU each;
//             bench_gpu's layer section puts such a step at 94-106% of its GEMM and copy floor);
//   exchange  four raw all-to-alls of the layer's bytes per peer B (dispatch and combine in the
//             forward, and the same two in the backward), B = bytes sent (forward and backward) / (4 (G - 1)).
// Routing is balanced with EP placement (no replicas), so the gradient sync is the gate's
// all-reduce alone (H x E floats), left out of the floor. A step that costs exactly its one-rank
// work plus four raw all-to-alls reaches 100%.
#include <iostream>
#include <sstream>

#include "exchange_bench.hpp"
#include "moe/kernels.hpp"
#include "moe/layer.hpp"

namespace micromoe::bench {

namespace {

struct StepCase {
  std::string name;
  int hidden, ffn, experts;
  moe::Activation activation;
};

struct StepTimes {
  double step = 0.0;                                                        ///< median over repeats of the slowest rank
  std::vector<double> phases = std::vector<double>(moe::phase_count, 0.0);  ///< per step, slowest rank
};

moe::LayerConfig config_of(const StepCase& c, moe::Precision p, int experts, int ep_size, comm::Backend backend) {
  moe::LayerConfig cfg;
  cfg.hidden = c.hidden;
  cfg.ffn = c.ffn;
  cfg.experts = experts;
  cfg.top_k = 2;
  cfg.activation = c.activation;
  cfg.precision = p;
  cfg.strategy.kind = strategy::StrategyKind::balanced;  // EP placement, round-robin routing: every rank works alike
  cfg.strategy.ep_size = ep_size;
  cfg.optimizer.kind = moe::OptimizerKind::adam;
  cfg.backend = backend;
  return cfg;
}

/// Whole training steps of `layer` on T tokens: median of the slowest rank, and the mean phase
/// times of a step (slowest rank per phase).
StepTimes time_steps(const Env& env, moe::MoELayer& layer, std::int64_t T, int H) {
  moe::MoELayer::Matrix x("bench_exchange::step_x", T, H), dy("bench_exchange::step_dy", T, H);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(x.data(), x.span()), 13, 1, 1.0f);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(dy.data(), dy.span()), 13, 2, 1e-3f);
  const auto one = [&] {
    { const auto y = layer.forward(env.exec, x); }
    { const auto dx = layer.backward(env.exec, dy); }
    layer.step(env.exec);
  };
  one();  // first use of every GEMM shape and allocation, outside the phase totals
  layer.reset_timers();
  StepTimes t;
  t.step = timed(env, one);  // two warm-up steps, then env.repeats timed ones
  const double steps = env.repeats + 2.0;
  std::vector<double> mine(moe::phase_count);
  for (int p = 0; p < moe::phase_count; ++p) mine[p] = layer.timers().seconds(static_cast<moe::Phase>(p)) / steps;
  MICROMOE_CHECK_MPI(
      MPI_Allreduce(mine.data(), t.phases.data(), moe::phase_count, MPI_DOUBLE, MPI_MAX, env.world.get()));
  return t;
}

}  // namespace

std::int64_t measure_step(const Env& env, const Options& o, Results* out) {
  const int G = env.ranks;
  const std::int64_t T = o.quick ? 256 : 4096;
  const std::vector<StepCase> cases =
      o.quick ? std::vector<StepCase>{{"tiny-h256-f256", 256, 256, 2 * G, moe::Activation::gelu}}
              : std::vector<StepCase>{{"gpt-h2048-f8192", 2048, 8192, 32, moe::Activation::gelu},
                                      {"mixtral-h4096-f14336", 4096, 14336, 8, moe::Activation::swiglu}};
  const std::vector<moe::Precision> precisions =
      MICROMOE_ENABLE_CUDA && !o.quick ? std::vector<moe::Precision>{moe::Precision::fp32, moe::Precision::bf16}
                                       : std::vector<moe::Precision>{moe::Precision::fp32};
  const comm::Communicator self(MPI_COMM_SELF);
  std::int64_t wrong = 0;
  for (const StepCase& c : cases) {
    if (c.experts % G != 0) {
      if (env.root()) std::cout << "step: " << c.name << " skipped: E = " << c.experts << " is not a multiple of G\n";
      continue;
    }
    for (const moe::Precision p : precisions) {
      moe::MoELayer layer(config_of(c, p, c.experts, G, env.backend), env.world);
      const StepTimes full = time_steps(env, layer, T, c.hidden);
      const std::int64_t bytes = layer.last_stats().bytes_sent;
      // The same work per rank on each rank alone (the mpi backend on one rank moves nothing).
      StepTimes alone;
      {
        moe::MoELayer local(config_of(c, p, c.experts / G, 1, comm::Backend::mpi), self);
        alone = time_steps(env, local, T, c.hidden);
      }
      const double mean_bytes = static_cast<double>(sum_over_ranks(env, bytes)) / G;
      const std::size_t per_peer =
          G > 1 ? static_cast<std::size_t>(mean_bytes / (4.0 * (G - 1))) / sizeof(float) * sizeof(float) : 0;
      Measured raw;
      if (per_peer > 0) {
        const Buffers buf(static_cast<std::size_t>(G) * per_peer / sizeof(float), env.backend);
        raw = measure_raw(env, buf, per_peer);
        wrong += raw.wrong;
        if (raw.wrong > 0 && env.root())
          std::cerr << "bench_exchange: error: raw all-to-all at the step's size: " << raw.wrong
                    << " words received wrong" << std::endl;
      }
      if (out == nullptr) continue;
      std::ostringstream name;
      name << c.name << " " << to_string(p) << " E=" << c.experts << " T=" << T;
      const std::string n = name.str();
      const double exchange_floor = 4.0 * raw.seconds;
      const double floor = alone.step + exchange_floor;
      out->add({"step", n + ": step at G ranks (fwd+bwd+sync+adam)", full.step * 1e3, "ms", floor / full.step});
      out->add({"step", n + ": same work per rank, one rank alone", alone.step * 1e3, "ms"});
      if (per_peer > 0)
        out->add({"step", n + ": 4 raw all-to-alls of " + size_label(per_peer) + "/peer", exchange_floor * 1e3, "ms"});
      out->add({"step", n + ": floor (one rank alone + 4 raw all-to-alls)", floor * 1e3, "ms"});
      out->add({"step", n + ": cost of the exchange (step - one rank alone)", (full.step - alone.step) * 1e3, "ms",
                full.step > 0 ? (full.step - alone.step) / full.step : -1.0});
      for (int q = 0; q < moe::phase_count; ++q)
        if (full.phases[q] > 0)
          out->add({"step", n + ": phase " + std::string(moe::phase_name(static_cast<moe::Phase>(q))),
                    full.phases[q] * 1e3, "ms"});
    }
  }
  return wrong;
}

}  // namespace micromoe::bench
