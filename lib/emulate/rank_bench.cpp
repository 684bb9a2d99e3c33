// SPDX-License-Identifier: BSD-3-Clause
#include "emulate/rank_bench.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "moe/kernels.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::emulate {

namespace {

using Slots = moe::ExpertFFN::Slots;
using Matrix = moe::ExpertFFN::Matrix;

moe::detail::Flat flat(const Slots& v) { return moe::detail::Flat(v.data(), v.size()); }
moe::detail::Flat flat(const Matrix& v) { return moe::detail::Flat(v.data(), v.size()); }

Slots first_slots(const Slots& v, int slots) {
  return Kokkos::subview(v, std::make_pair(0, slots), Kokkos::ALL, Kokkos::ALL);
}
Matrix first_rows(const Matrix& v, std::int64_t rows) {
  return Kokkos::subview(v, std::make_pair(std::int64_t{0}, rows), Kokkos::ALL);
}

}  // namespace

FfnSetup ffn_setup(const deck::RunConfig& resolved) {
  const auto layer = train::layer_configs(resolved, strategy::StrategyKind::ep, resolved.parallel.gpus_per_node).at(0);
  FfnSetup s;
  s.hidden = layer.hidden;
  s.ffn = layer.ffn;
  s.activation = layer.activation;
  s.precision = layer.precision;
  s.grouped = layer.expert_gemm == moe::ExpertGemm::grouped;
  s.seed = layer.seed;
  return s;
}

RankBench::RankBench(const FfnSetup& setup, int max_slots, std::int64_t max_rows)
    : setup_(setup), max_slots_(std::max(max_slots, 1)) {
  const int H = setup.hidden, F = setup.ffn, F1 = moe::w1_columns(setup.activation, F);
  const std::int64_t R = std::max<std::int64_t>(max_rows, 1);
  const auto uninit = [](const char* label) {
    return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label));
  };
  w1_ = Slots(uninit("micromoe::emulate::w1"), max_slots_, H, F1);
  w2_ = Slots(uninit("micromoe::emulate::w2"), max_slots_, F, H);
  dw1_ = Slots("micromoe::emulate::dw1", max_slots_, H, F1);
  dw2_ = Slots("micromoe::emulate::dw2", max_slots_, F, H);
  x0_ = Matrix(uninit("micromoe::emulate::x0"), R, H);
  xin_ = Matrix(uninit("micromoe::emulate::xin"), R, H);
  hpre_ = Matrix(uninit("micromoe::emulate::hpre"), R, F1);
  act_ = Matrix(uninit("micromoe::emulate::act"), R, F);
  out_ = Matrix(uninit("micromoe::emulate::out"), R, H);
  // Non-zero data of the usual initialisation scale (1 / sqrt(fan-in)): activations stay O(1).
  const ExecSpace exec;
  moe::detail::init_uniform(exec, flat(w1_), setup.seed, 1, 1.0f / std::sqrt(static_cast<float>(H)));
  moe::detail::init_uniform(exec, flat(w2_), setup.seed, 2, 1.0f / std::sqrt(static_cast<float>(F)));
  moe::detail::init_uniform(exec, flat(x0_), setup.seed, 3, 1.0f);
  compat::fence(exec, "micromoe::emulate::init");
}

std::vector<double> RankBench::time_plan(const StrategyPlan& plan, std::vector<double>* flops) {
  MICROMOE_REQUIRE(plan.slots <= max_slots_ && plan.max_rows() <= static_cast<std::int64_t>(xin_.extent(0)),
                   "emulate: plan " + plan.name + " exceeds the bench's slots or rows");
  const ExecSpace exec;
  moe::ExpertFFN ffn(plan.slots, setup_.hidden, setup_.ffn, setup_.activation, setup_.precision, setup_.grouped);
  ffn.weights_changed();  // bf16: converted once, in the warm-up
  const Slots w1 = first_slots(w1_, plan.slots), w2 = first_slots(w2_, plan.slots);
  const Slots dw1 = first_slots(dw1_, plan.slots), dw2 = first_slots(dw2_, plan.slots);

  // Backward overwrites the input with its gradient: every timed call starts from x0's rows.
  const auto run = [&](const moe::SlotRows& rows, bool timed) {
    const std::int64_t n = rows.total();
    Kokkos::deep_copy(exec, first_rows(xin_, n), first_rows(x0_, n));
    compat::fence(exec, "micromoe::emulate::before_rank");
    Kokkos::Timer timer;
    ffn.forward(exec, w1, w2, rows, xin_, hpre_, act_, out_);
    // As the layer's backward of an iteration's first micro-batch: weight gradients written.
    ffn.backward(exec, w1, w2, dw1, dw2, rows, xin_, hpre_, act_, out_, /*accumulate=*/false);
    compat::fence(exec, "micromoe::emulate::after_rank");
    return timed ? timer.seconds() : 0.0;
  };

  std::vector<double> seconds(plan.rows.size(), 0.0);
  if (flops) flops->assign(plan.rows.size(), 0.0);
  if (plan.rows.empty()) return seconds;
  const auto largest = std::max_element(plan.rows.begin(), plan.rows.end(),
                                        [](const auto& a, const auto& b) { return a.total() < b.total(); });
  run(*largest, false);  // warm-up: library handles, workspaces, bf16 weight copies
  // An untimed pass over every cell first: each distinct GEMM shape loads its kernels lazily
  // (CUDA module loading) and runs cuBLAS's heuristic once. Measured on the H200 without this
  // pass, those first uses stalled individual ranks 2-4x at random (4 ms -> 10-16 ms for the
  // same rows), which the slowest-rank rule turned into a bias against every strategy with
  // irregular row counts (ep, microep) and none against balanced's fixed shapes.
  for (const auto& rows : plan.rows) run(rows, false);
  for (int i = 0; i < plan.iterations; ++i) {
    // Gradients restart every iteration, as after an optimizer step (untimed).
    Kokkos::deep_copy(exec, dw1, 0.0f);
    Kokkos::deep_copy(exec, dw2, 0.0f);
    for (int m = 0; m < plan.micro_batches; ++m)
      for (int r = 0; r < plan.ranks; ++r) {
        const std::size_t c = plan.cell(i, m, r);
        seconds[c] = run(plan.rows[c], true);
        // MICROMOE_EMULATE_TRACE=1: every rank's slot rows and time of iteration 1 (diagnostics).
        if (i == 1 && std::getenv("MICROMOE_EMULATE_TRACE") != nullptr) {
          std::cerr << "trace " << plan.name << " mb " << m << " rank " << r << " ms " << seconds[c] * 1e3 << " rows";
          for (const auto n : plan.rows[c].rows) std::cerr << " " << n;
          std::cerr << "\n";
        }
        if (flops) (*flops)[c] = 3.0 * ffn.forward_flops(plan.rows[c]);  // backward: twice the forward
      }
  }
  return seconds;
}

std::size_t RankBench::bytes() const {
  return sizeof(float) *
         (2 * (w1_.size() + w2_.size()) + x0_.size() + xin_.size() + hpre_.size() + act_.size() + out_.size());
}

}  // namespace micromoe::emulate
