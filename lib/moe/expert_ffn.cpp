// SPDX-License-Identifier: BSD-3-Clause
#include "moe/expert_ffn.hpp"

#include <algorithm>

#include "core/build_config.hpp"
#include "core/error.hpp"
#include "moe/bf16.hpp"
#include "moe/gemm_batch.hpp"
#include "moe/kernels.hpp"

namespace micromoe::moe {

struct ExpertFFN::Impl {
  detail::GemmBatch gemm;
  std::vector<detail::GemmProblem> problems;
  // bf16 copies: weights (refreshed when stale), the forward operands kept for backward, and
  // one gradient operand (dout, then dh).
  Bf16Flat w1, w2, x, a, grad;

  static void grow(const ExecSpace& exec, Bf16Flat& v, std::int64_t n, const char* label) {
    if (static_cast<std::int64_t>(v.extent(0)) < n)
      v = Bf16Flat(Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, std::string(label)),
                   std::max<std::int64_t>(n, 1));
  }
  Bf16* converted(const ExecSpace& exec, Bf16Flat& v, const float* src, std::int64_t n, const char* label) {
    grow(exec, v, n, label);
    detail::to_bf16(exec, src, v.data(), n);
    return v.data();
  }
};

ExpertFFN::ExpertFFN(int slots, int hidden, int ffn, Activation activation, Precision precision, bool grouped)
    : S_(slots),
      H_(hidden),
      F_(ffn),
      F1_(w1_columns(activation, ffn)),
      activation_(activation),
      precision_(precision),
      grouped_(grouped),
      impl_(std::make_unique<Impl>()) {
  if (precision == Precision::tf32 && !MICROMOE_ENABLE_CUDA)
    throw InputError("precision tf32 needs a CUDA build (tensor-core math); use fp32 or bf16 on CPUs");
}

ExpertFFN::~ExpertFFN() = default;

std::pair<std::uint16_t*, std::uint16_t*> ExpertFFN::bf16_weight_copies(const ExecSpace& exec, std::size_t w1_size,
                                                                        std::size_t w2_size) {
  if (precision_ != Precision::bf16) return {nullptr, nullptr};
  Impl& s = *impl_;
  Impl::grow(exec, s.w1, static_cast<std::int64_t>(w1_size), "micromoe::moe::w1_bf16");
  Impl::grow(exec, s.w2, static_cast<std::int64_t>(w2_size), "micromoe::moe::w2_bf16");
  return {s.w1.data(), s.w2.data()};
}

bool ExpertFFN::grouped_fell_back() const { return impl_->gemm.fell_back(); }

double ExpertFFN::forward_flops(const SlotRows& rows) const {
  double r = 0.0;
  for (std::int64_t n : rows.rows) r += static_cast<double>(n);
  return 2.0 * r * (static_cast<double>(H_) * F1_ + static_cast<double>(F_) * H_);
}

std::size_t ExpertFFN::scratch_bytes() const {
  const Impl& s = *impl_;
  return sizeof(Bf16) * (s.w1.extent(0) + s.w2.extent(0) + s.x.extent(0) + s.a.extent(0) + s.grad.extent(0));
}

namespace {

/// One stage over every slot with rows: problem j multiplies the slot's row block of `a`
/// (row width a_cols, element size a_elem) with slot j's weight block of `b` (or the reverse
/// roles for weight gradients, see the callers) into C.
struct Operand {
  const void* base;
  std::int64_t row_width;  ///< elements per row (activations) or per slot block (weights)
  std::size_t elem;        ///< bytes per element
  bool per_slot;           ///< weights: offset by slot, not by row
  const void* at(int j, std::int64_t first) const {
    const std::int64_t off = per_slot ? static_cast<std::int64_t>(j) * row_width : first * row_width;
    return static_cast<const char*>(base) + static_cast<std::size_t>(off) * elem;
  }
};

}  // namespace

void ExpertFFN::check_buffers(const Slots& w1, const Slots& w2, const SlotRows& rows, const Matrix& xin,
                              const Matrix& hpre, const Matrix& act, const Matrix& out) const {
  // The GEMMs address rows through raw pointers: a strided or wider view would be misread.
  const std::int64_t R = rows.total();
  auto fits = [&](const Matrix& m, int cols) {
    return m.span_is_contiguous() && static_cast<int>(m.extent(1)) == cols &&
           static_cast<std::int64_t>(m.extent(0)) >= R;
  };
  MICROMOE_REQUIRE(rows.first.size() == rows.rows.size() && static_cast<int>(rows.rows.size()) <= S_,
                   "ExpertFFN: slot rows must have one first/rows entry per slot");
  MICROMOE_REQUIRE(w1.span_is_contiguous() && w2.span_is_contiguous() && static_cast<int>(w1.extent(1)) == H_ &&
                       static_cast<int>(w1.extent(2)) == F1_ && static_cast<int>(w2.extent(1)) == F_ &&
                       static_cast<int>(w2.extent(2)) == H_ && w1.extent(0) >= rows.rows.size() &&
                       w2.extent(0) >= rows.rows.size(),
                   "ExpertFFN: weights must be contiguous [S][H][F1] and [S][F][H]");
  MICROMOE_REQUIRE(fits(xin, H_) && fits(hpre, F1_) && fits(act, F_) && fits(out, H_),
                   "ExpertFFN: buffers must be contiguous with H, F1, F, H columns and at least the slots' rows");
}

void ExpertFFN::forward(const ExecSpace& exec, const Slots& w1, const Slots& w2, const SlotRows& rows,
                        const Matrix& xin, const Matrix& hpre, const Matrix& act, const Matrix& out) {
  Impl& s = *impl_;
  const std::int64_t R = rows.total();
  if (R == 0) return;
  check_buffers(w1, w2, rows, xin, hpre, act, out);
  const bool bf16 = precision_ == Precision::bf16;
  const std::size_t opsize = bf16 ? sizeof(Bf16) : sizeof(float);
  const void* w1_data = w1.data();
  const void* w2_data = w2.data();
  const void* x_data = xin.data();
  if (bf16) {
    if (weights_stale_) {
      s.converted(exec, s.w1, w1.data(), static_cast<std::int64_t>(w1.span()), "micromoe::moe::w1_bf16");
      s.converted(exec, s.w2, w2.data(), static_cast<std::int64_t>(w2.span()), "micromoe::moe::w2_bf16");
      weights_stale_ = false;
    }
    w1_data = s.w1.data();
    w2_data = s.w2.data();
    x_data = s.converted(exec, s.x, xin.data(), R * H_, "micromoe::moe::x_bf16");
  }
  const std::int64_t HF1 = static_cast<std::int64_t>(H_) * F1_, FH = static_cast<std::int64_t>(F_) * H_;
  auto stage = [&](const Operand& a, const Operand& b, float* c, std::int64_t c_width, std::int64_t k, std::int64_t n) {
    s.problems.clear();
    for (int j = 0; j < static_cast<int>(rows.rows.size()); ++j) {
      const std::int64_t first = rows.first[static_cast<std::size_t>(j)], m = rows.rows[static_cast<std::size_t>(j)];
      if (m > 0) s.problems.push_back({m, n, k, a.at(j, first), b.at(j, first), c + first * c_width});
    }
    s.gemm.run(exec, {false, false, 1.0f, 0.0f, precision_}, s.problems, grouped_);
  };
  // h = x W1
  stage({x_data, H_, opsize, false}, {w1_data, HF1, opsize, true}, hpre.data(), F1_, H_, F1_);
  const void* a_data = act.data();
  if (bf16) {  // the activation writes its bf16 copy directly: no fp32 A is needed in bf16
    Impl::grow(exec, s.a, R * F_, "micromoe::moe::act_bf16");
    detail::activation_forward_bf16(exec, activation_, hpre, s.a.data(), R, F_);
    a_data = s.a.data();
  } else {
    detail::activation_forward(exec, activation_, hpre, act, R, F_);
  }
  // out = a W2
  stage({a_data, F_, opsize, false}, {w2_data, FH, opsize, true}, out.data(), H_, F_, H_);
}

void ExpertFFN::backward(const ExecSpace& exec, const Slots& w1, const Slots& w2, const Slots& dw1, const Slots& dw2,
                         const SlotRows& rows, const Matrix& xin, const Matrix& hpre, const Matrix& act,
                         const Matrix& out, bool accumulate) {
  Impl& s = *impl_;
  const std::int64_t R = rows.total();
  if (R == 0) return;
  check_buffers(w1, w2, rows, xin, hpre, act, out);
  MICROMOE_REQUIRE(dw1.extent(1) == w1.extent(1) && dw1.extent(2) == w1.extent(2) && dw2.extent(1) == w2.extent(1) &&
                       dw2.extent(2) == w2.extent(2),
                   "ExpertFFN: gradients must have the weights' shapes");
  const bool bf16 = precision_ == Precision::bf16;
  const std::size_t opsize = bf16 ? sizeof(Bf16) : sizeof(float);
  // Operands as the forward left them: bf16 copies of x and a, or the fp32 buffers.
  const void* x_data = bf16 ? static_cast<const void*>(s.x.data()) : xin.data();
  const void* a_data = bf16 ? static_cast<const void*>(s.a.data()) : act.data();
  const void* w1_data = bf16 ? static_cast<const void*>(s.w1.data()) : w1.data();
  const void* w2_data = bf16 ? static_cast<const void*>(s.w2.data()) : w2.data();
  const std::int64_t HF1 = static_cast<std::int64_t>(H_) * F1_, FH = static_cast<std::int64_t>(F_) * H_;

  // Weight gradient of every slot: dW_j (+)= A_j^T G_j (A_j: rows x m, G_j: rows x n).
  auto weight_grad = [&](const Operand& a, const Operand& g, const Slots& dw, std::int64_t m, std::int64_t n) {
    s.problems.clear();
    for (int j = 0; j < static_cast<int>(rows.rows.size()); ++j) {
      const std::int64_t first = rows.first[static_cast<std::size_t>(j)], r = rows.rows[static_cast<std::size_t>(j)];
      if (r > 0) s.problems.push_back({m, n, r, a.at(j, first), g.at(j, first), dw.data() + j * m * n});
    }
    s.gemm.run(exec, {true, false, 1.0f, accumulate ? 1.0f : 0.0f, precision_}, s.problems, grouped_);
  };
  // Input gradient of every slot: D_j = G_j W_j^T (G_j: rows x k, W_j stored n x k).
  auto input_grad = [&](const Operand& g, const Operand& w, float* d, std::int64_t n, std::int64_t k) {
    s.problems.clear();
    for (int j = 0; j < static_cast<int>(rows.rows.size()); ++j) {
      const std::int64_t first = rows.first[static_cast<std::size_t>(j)], r = rows.rows[static_cast<std::size_t>(j)];
      if (r > 0) s.problems.push_back({r, n, k, g.at(j, first), w.at(j, first), d + first * n});
    }
    s.gemm.run(exec, {false, true, 1.0f, 0.0f, precision_}, s.problems, grouped_);
  };

  // One buffer for both gradient operands (dout, then dh), sized once for the larger.
  if (bf16) Impl::grow(exec, s.grad, R * std::max(H_, F1_), "micromoe::moe::grad_bf16");
  const void* dout = bf16 ? s.converted(exec, s.grad, out.data(), R * H_, "micromoe::moe::grad_bf16")
                          : static_cast<const void*>(out.data());
  weight_grad({a_data, F_, opsize, false}, {dout, H_, opsize, false}, dw2, F_,
              H_);  // dW2 += a^T dout
  input_grad({dout, H_, opsize, false}, {w2_data, FH, opsize, true}, act.data(), F_,
             H_);  // da = dout W2^T
  // dh: in place into hpre (fp32), or straight into the bf16 gradient operand.
  if (bf16)
    detail::activation_backward_bf16(exec, activation_, hpre, act, s.grad.data(), R, F_);
  else
    detail::activation_backward(exec, activation_, hpre, act, R, F_);
  const void* dh = bf16 ? static_cast<const void*>(s.grad.data()) : static_cast<const void*>(hpre.data());
  weight_grad({x_data, H_, opsize, false}, {dh, F1_, opsize, false}, dw1, H_,
              F1_);  // dW1 += x^T dh
  input_grad({dh, F1_, opsize, false}, {w1_data, HF1, opsize, true}, xin.data(), H_,
             F1_);  // dx = dh W1^T
}

}  // namespace micromoe::moe
