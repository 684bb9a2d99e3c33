// SPDX-License-Identifier: BSD-3-Clause
// The expert FFN path (moe::ExpertFFN, what the layer and the emulated cluster run): forward +
// backward, i.e. six GEMMs plus the activation and, for bf16, the operand conversions.
#include "core/build_config.hpp"
#include "moe/bf16.hpp"
#include "moe/expert_ffn.hpp"
#include "moe/gemm_batch.hpp"
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
/// copy's own median time is subtracted. The weight gradients are written, not accumulated:
/// what the layer's backward does for an iteration's first micro-batch (MoELayer::step zeroes).
double time_step(moe::ExpertFFN& ffn, Buffers& b, const moe::SlotRows& rows) {
  const ExecSpace exec;
  const double copy = median_seconds([&] { Kokkos::deep_copy(exec, b.xin, b.x0); });
  const double both = median_seconds([&] {
    Kokkos::deep_copy(exec, b.xin, b.x0);
    ffn.forward(exec, b.w1, b.w2, rows, b.xin, b.hpre, b.act, b.out);
    ffn.backward(exec, b.w1, b.w2, b.dw1, b.dw2, rows, b.xin, b.hpre, b.act, b.out, /*accumulate=*/false);
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
      const int F1 = moe::w1_columns(m.activation, m.ffn);
      Buffers b(1, t, m.hidden, m.ffn, F1);
      const moe::SlotRows rows{{0}, {t}};
      for (moe::Precision p : precisions()) {
        moe::ExpertFFN ffn(1, m.hidden, m.ffn, m.activation, p, false);
        const double s = time_step(ffn, b, rows);
        const double rate = 3.0 * ffn.forward_flops(rows) / s;
        // The vendor rate at the forward shape (T x H x F); swiglu's first GEMM is twice as wide.
        const double floor = floors.rate(p, t, m.hidden, m.ffn);
        out.add({"ffn", "fwd+bwd " + to_string(p) + " " + m.name + " T=" + std::to_string(t), rate / 1e12, "TFLOP/s",
                 floor > 0 ? rate / floor : -1.0});
      }
    }
}

void measure_ffn_stages(const Options& o, const Floors& floors, Results& out) {
  // Where fwd+bwd time goes: each of the six GEMMs alone at its own shape and transposes
  // (vendor call, one expert of T rows), and the memory-bound kernels between them.
  (void)floors;
  const ExecSpace exec;
  const ModelShape& m = o.models.front();
  const std::int64_t T = o.tokens.size() > 2 ? o.tokens[2] : o.tokens.back();
  const std::int64_t H = m.hidden, F = m.ffn;
  using Flat = Kokkos::View<float*, MemSpace>;
  // Every stage's operands fit in max(T, H) x max(H, F) elements (the weight-gradient stages
  // read T-row operands as their B).
  const std::int64_t most = std::max(T, H) * std::max(H, F);
  Flat a("bench::a", most), b("bench::b", most), c("bench::c", most);
  moe::detail::init_uniform(exec, moe::detail::Flat(a.data(), a.span()), 9, 1, 1.0f);
  moe::detail::init_uniform(exec, moe::detail::Flat(b.data(), b.span()), 9, 2, 0.02f);
  moe::detail::init_uniform(exec, moe::detail::Flat(c.data(), c.span()), 9, 3, 1.0f);
  moe::Bf16Flat ab("bench::ab", a.span()), bb("bench::bb", b.span());
  moe::detail::to_bf16(exec, a.data(), ab.data(), static_cast<std::int64_t>(a.span()));
  moe::detail::to_bf16(exec, b.data(), bb.data(), static_cast<std::int64_t>(b.span()));
  struct Stage {
    const char* name;
    bool ta, tb;
    float beta;
    std::int64_t m, n, k;
  };
  const Stage stages[] = {
      {"fwd h=xW1 (NN)", false, false, 0.0f, T, F, H},      {"fwd o=aW2 (NN)", false, false, 0.0f, T, H, F},
      {"bwd dW2+=a^T do (TN)", true, false, 1.0f, F, H, T}, {"bwd da=do W2^T (NT)", false, true, 0.0f, T, F, H},
      {"bwd dW1+=x^T dh (TN)", true, false, 1.0f, H, F, T}, {"bwd dx=dh W1^T (NT)", false, true, 0.0f, T, H, F}};
  moe::detail::GemmBatch gemm;
  std::vector<moe::Precision> ps = {moe::Precision::fp32, moe::Precision::bf16};
  for (moe::Precision p : ps)
    for (const Stage& st : stages) {
      const bool bf = p == moe::Precision::bf16;
      const moe::detail::GemmProblem prob{st.m,
                                          st.n,
                                          st.k,
                                          bf ? static_cast<const void*>(ab.data()) : a.data(),
                                          bf ? static_cast<const void*>(bb.data()) : b.data(),
                                          c.data()};
      const moe::detail::GemmStage g{st.ta, st.tb, 1.0f, st.beta, p};
      const double sec = median_seconds([&] { gemm.run_vendor(exec, g, prob); });
      out.add({"stage", to_string(p) + " " + st.name + " " + m.name + " " + shape(st.m, st.n, st.k),
               2.0 * st.m * st.n * st.k / sec / 1e12, "TFLOP/s"});
    }
  // Row counts that are not multiples of 8 (what routing produces): bf16 forward (rows = M)
  // and weight gradient (rows = the inner dimension K).
  const std::int64_t even = std::min<std::int64_t>(1024, T);  // within the buffers above
  for (const std::int64_t rows : {even, even - 1, even - 23})
    for (const bool wgrad : {false, true}) {
      const Stage st = wgrad ? Stage{"bf16 dW1+=x^T dh (TN)", true, false, 1.0f, H, F, rows}
                             : Stage{"bf16 h=xW1 (NN)", false, false, 0.0f, rows, F, H};
      const moe::detail::GemmProblem prob{st.m, st.n, st.k, ab.data(), bb.data(), c.data()};
      const moe::detail::GemmStage g{st.ta, st.tb, 1.0f, st.beta, moe::Precision::bf16};
      const double sec = median_seconds([&] { gemm.run_vendor(exec, g, prob); });
      out.add({"stage", std::string(st.name) + " rows=" + std::to_string(rows) + " " + shape(st.m, st.n, st.k),
               2.0 * st.m * st.n * st.k / sec / 1e12, "TFLOP/s"});
    }
  const std::int64_t n = T * F;
  const double conv = median_seconds([&] { moe::detail::to_bf16(exec, a.data(), ab.data(), n); });
  out.add({"stage", "to_bf16 " + std::to_string(n >> 20) + " Mi floats", 6.0 * n / conv / 1e9, "GB/s",
           6.0 * n / conv / floors.copy_bytes_per_s});
  moe::detail::Matrix h(a.data(), T, F), act(c.data(), T, F);
  const double fwd =
      median_seconds([&] { moe::detail::activation_forward(exec, m.activation, h, act, T, static_cast<int>(F)); });
  out.add({"stage", "activation_forward " + to_string(m.activation) + " " + shape(T, F, 1), 8.0 * n / fwd / 1e9, "GB/s",
           8.0 * n / fwd / floors.copy_bytes_per_s});
  // The bf16 path's fused version: fp32 in, bf16 out (6 bytes per value).
  const double fwd16 = median_seconds(
      [&] { moe::detail::activation_forward_bf16(exec, m.activation, h, ab.data(), T, static_cast<int>(F)); });
  out.add({"stage", "activation_forward_bf16 " + to_string(m.activation) + " " + shape(T, F, 1), 6.0 * n / fwd16 / 1e9,
           "GB/s", 6.0 * n / fwd16 / floors.copy_bytes_per_s});
}

void measure_small_experts(const Options& o, const Floors& floors, Results& out) {
  (void)floors;
  const ModelShape& m = o.models.front();
  const std::vector<int> slot_counts = o.quick ? std::vector<int>{4} : std::vector<int>{8, 32};
  const std::vector<int> per_expert = o.quick ? std::vector<int>{4, 16} : std::vector<int>{8, 32, 128, 512, 2048};
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
                   to_string(p) + " " + how + " " + m.name + " S=" + std::to_string(S) +
                       " tokens/expert=" + std::to_string(n),
                   3.0 * ffn.forward_flops(rows) / s / 1e12, "TFLOP/s"});
        }
    }
  }
}

}  // namespace micromoe::bench
