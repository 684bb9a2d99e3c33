// SPDX-License-Identifier: BSD-3-Clause
// The expert FFNs of one rank: for every local slot j, rows [first_j, first_j + rows_j) of the
// slot-major expert input go through that slot's FFN,  out = act(x W1_j) W2_j,  and back.
// One object owns the choices that decide the speed of expert compute:
//
//   precision  fp32  KokkosBlas::gemm (cuBLAS SGEMM on CUDA, the BLAS TPL on CPUs): exact.
//              tf32  fp32 data, cuBLAS with TF32 tensor-core math (CUDA builds only).
//              bf16  bf16 copies of activations and weights, fp32 accumulation and fp32
//                    outputs and gradients; cuBLAS GemmEx on CUDA. On CPUs the same
//                    numerics are emulated (bf16-rounded operands, fp32 GEMM) for testing.
//   grouped    one grouped-GEMM launch per GEMM stage for all slots (cuBLAS grouped batched)
//              instead of one GEMM per slot: pays when experts have few tokens each. Where
//              cuBLAS lacks the type combination, or on CPUs, it falls back to the loop.
//
// Used by MoELayer and by the emulated-cluster mode (lib/emulate), so both time the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/kokkos_types.hpp"
#include "moe/layer_config.hpp"
#include "moe/slot_rows.hpp"

namespace micromoe::moe {

class ExpertFFN {
 public:
  using Matrix = Kokkos::View<float**, TokenLayout, MemSpace>;
  using Slots = Kokkos::View<float***, TokenLayout, MemSpace>;  ///< [S][rows][cols] weights per slot

  /// Throws InputError for a precision this build cannot run (tf32 without CUDA).
  ExpertFFN(int slots, int hidden, int ffn, Activation activation, Precision precision, bool grouped);
  ~ExpertFFN();
  ExpertFFN(const ExpertFFN&) = delete;
  ExpertFFN& operator=(const ExpertFFN&) = delete;

  /// The weights changed (initialisation, optimizer step, migration): bf16 re-converts its
  /// weight copies before the next forward. No-op for fp32 / tf32.
  void weights_changed() { weights_stale_ = true; }
  /// bf16: the weights' bf16 copies (sized for w1 / w2 of `w1_size` / `w2_size` values), for an
  /// optimizer that writes them in its own pass over the weights; call weights_refreshed()
  /// after. {nullptr, nullptr} for fp32 / tf32.
  std::pair<std::uint16_t*, std::uint16_t*> bf16_weight_copies(const ExecSpace& exec, std::size_t w1_size,
                                                               std::size_t w2_size);
  /// The bf16 copies are current (written by the optimizer).
  void weights_refreshed() { weights_stale_ = false; }

  /// Forward: xin [R, H] -> hpre [R, F1] (pre-activation, kept for backward), act [R, F]
  /// (fp32 / tf32; bf16 keeps its activation as a bf16 copy inside and leaves act alone),
  /// out [R, H]. w1 [S][H][F1], w2 [S][F][H]. R >= rows.total().
  void forward(const ExecSpace& exec, const Slots& w1, const Slots& w2, const SlotRows& rows, const Matrix& xin,
               const Matrix& hpre, const Matrix& act, const Matrix& out);

  /// Backward of the last forward (same rows and buffers): dout [R, H] is read from `out`;
  /// dw2 += act^T dout, dact -> act, dh -> hpre (bf16: into an internal bf16 copy; hpre is
  /// left as it was), dw1 += xin^T dh, dxin -> xin. Without `accumulate`, the weight gradients
  /// of the slots with rows are overwritten (dw = ...) and never read: for zeroed gradients it
  /// is the same result without the read of dw1 and dw2.
  void backward(const ExecSpace& exec, const Slots& w1, const Slots& w2, const Slots& dw1, const Slots& dw2,
                const SlotRows& rows, const Matrix& xin, const Matrix& hpre, const Matrix& act, const Matrix& out,
                bool accumulate = true);

  Precision precision() const { return precision_; }
  bool grouped() const { return grouped_; }
  /// True once a grouped call fell back to per-slot GEMMs (type combination not supported).
  bool grouped_fell_back() const;
  /// Floating-point operations of one forward (or one backward: twice this) for `rows`.
  double forward_flops(const SlotRows& rows) const;
  /// Bytes of the bf16 copies held (0 for fp32 / tf32).
  std::size_t scratch_bytes() const;

 private:
  struct Impl;
  /// InputError unless the buffers are contiguous with exactly H, F1, F columns and enough rows.
  void check_buffers(const Slots& w1, const Slots& w2, const SlotRows& rows, const Matrix& xin, const Matrix& hpre,
                     const Matrix& act, const Matrix& out) const;
  int S_, H_, F_, F1_;
  Activation activation_;
  Precision precision_;
  bool grouped_;
  bool weights_stale_ = true;
  std::unique_ptr<Impl> impl_;
};

}  // namespace micromoe::moe
