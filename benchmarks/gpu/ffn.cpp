// SPDX-License-Identifier: BSD-3-Clause
// The expert FFN path (moe::ExpertFFN, what the layer and the emulated cluster run): forward +
// backward, i.e. six GEMMs plus the activation and, for bf16, the operand conversions.
#include "core/build_config.hpp"
#include "moe/expert_ffn.hpp"
#include "moe/kernels.hpp"
#include "sections.hpp"

namespace micromoe::bench {

namespace {

using Matrix = moe::ExpertFFN::Matrix;
using Slots = moe::ExpertFFN::Slots;

struct Buffers {
  Slots w1, w2, dw1, dw2;
  Matrix xin, hpre, act, out, x0;
  Buffers(int S, std::int64_t R, int H, int F, int F1)
      : w1("bench::w1", S, H, F1),
        w2("bench::w2", S, F, H),
        dw1("bench::dw1", S, H, F1),
        dw2("bench::dw2", S, F, H),
        xin("bench::xin", R, H),
        hpre("bench::hpre", R, F1),
        act("bench::act", R, F),
        out("bench::out", R, H),
        x0("bench::x0", R, H) {
    const ExecSpace exec;
    // Random, non-zero data everywhere (never time zeros); weights scaled like an init.
    moe::detail::init_uniform(exec, moe::detail::Flat(w1.data(), w1.span()), 11, 1, 0.02f);
    moe::detail::init_uniform(exec, moe::detail::Flat(w2.data(), w2.span()), 11, 2, 0.02f);
    moe::detail::init_uniform(exec, moe::detail::Flat(x0.data(), x0.span()), 11, 3, 1.0f);
  }
};

/// Median seconds of forward + backward (the backward reads the forward's out as its dout).
/// The backward overwrites xin with dx, so every step starts from a copy of the same random
/// input (otherwise values would drift towards zero or infinity over the repetitions); the
/// copy's own median time is subtracted.
double time_step(moe::ExpertFFN& ffn, Buffers& b, const moe::SlotRows& rows) {
  const ExecSpace exec;
  const double copy = median_seconds([&] { Kokkos::deep_copy(exec, b.xin, b.x0); });
  const double both = median_seconds([&] {
    Kokkos::deep_copy(exec, b.xin, b.x0);
    ffn.forward(exec, b.w1, b.w2, rows, b.xin, b.hpre, b.act, b.out);
    ffn.backward(exec, b.w1, b.w2, b.dw1, b.dw2, rows, b.xin, b.hpre, b.act, b.out);
  });
  return both - copy;
}

std::vector<moe::Precision> precisions() {
  if (MICROMOE_ENABLE_CUDA) return {moe::Precision::fp32, moe::Precision::tf32, moe::Precision::bf16};
  return {moe::Precision::fp32, moe::Precision::bf16};
}

}  // namespace

void measure_ffn(const Options& o, const Floors& floors, Results& out) {
  for (const ModelShape& m : o.models)
    for (int t : o.tokens) {
      const int F1 = m.activation == moe::Activation::swiglu ? 2 * m.ffn : m.ffn;
      Buffers b(1, t, m.hidden, m.ffn, F1);
      const moe::SlotRows rows{{0}, {t}};
      for (moe::Precision p : precisions()) {
        moe::ExpertFFN ffn(1, m.hidden, m.ffn, m.activation, p, false);
        const double s = time_step(ffn, b, rows);
        const double rate = 3.0 * ffn.forward_flops(rows) / s;
        // The vendor rate at the forward shape (T x H x F); swiglu's first GEMM is twice as wide.
        const double floor = floors.rate(p, t, m.hidden, m.ffn);
        out.add({"ffn", "fwd+bwd " + moe::to_string(p) + " " + m.name + " T=" + std::to_string(t), rate / 1e12,
                 "TFLOP/s", floor > 0 ? rate / floor : -1.0});
      }
    }
}

void measure_small_experts(const Options& o, const Floors& floors, Results& out) {
  (void)floors;
  const ModelShape& m = o.models.front();
  const std::vector<int> slot_counts = o.quick ? std::vector<int>{4} : std::vector<int>{8, 32};
  const std::vector<int> per_expert =
      o.quick ? std::vector<int>{4, 16} : std::vector<int>{8, 16, 32, 64, 128, 256, 512, 1024};
  const std::vector<moe::Precision> ps = MICROMOE_ENABLE_CUDA
                                             ? std::vector<moe::Precision>{moe::Precision::fp32, moe::Precision::bf16}
                                             : std::vector<moe::Precision>{moe::Precision::fp32};
  for (int S : slot_counts) {
    Buffers b(S, static_cast<std::int64_t>(S) * per_expert.back(), m.hidden, m.ffn, m.ffn);
    for (int n : per_expert) {
      moe::SlotRows rows;
      for (int j = 0; j < S; ++j) {
        rows.first.push_back(static_cast<std::int64_t>(j) * n);
        rows.rows.push_back(n);
      }
      for (moe::Precision p : ps)
        for (bool grouped : {false, true}) {
          moe::ExpertFFN ffn(S, m.hidden, m.ffn, m.activation, p, grouped);
          const double s = time_step(ffn, b, rows);
          const std::string how = grouped ? (ffn.grouped_fell_back() ? "grouped(fell back)" : "grouped") : "per-expert";
          out.add({"small",
                   moe::to_string(p) + " " + how + " " + m.name + " S=" + std::to_string(S) +
                       " tokens/expert=" + std::to_string(n),
                   3.0 * ffn.forward_flops(rows) / s / 1e12, "TFLOP/s"});
        }
    }
  }
}

}  // namespace micromoe::bench
