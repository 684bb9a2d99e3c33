// SPDX-License-Identifier: BSD-3-Clause
// A batch of row-major GEMMs of one stage of the expert FFNs (same transposes, scalars and
// types; different sizes and matrices): C_i = alpha op(A_i) op(B_i) + beta C_i with fp32 C.
// Runs them one by one (KokkosBlas::gemm for fp32, cuBLAS GemmEx for tf32 / bf16) or, when
// grouped, in one cuBLAS grouped-batched launch. See expert_ffn.hpp for when each is used.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/kokkos_types.hpp"
#include "moe/layer_config.hpp"

namespace micromoe::moe::detail {

/// One product on contiguous row-major matrices: op(A) is m x k, op(B) is k x n, C is m x n.
/// A is stored [m][k] (or [k][m] when transposed), B [k][n] (or [n][k]), C [m][n].
struct GemmProblem {
  std::int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  ///< float, or Bf16 when the stage's operands are bf16
  const void* b = nullptr;
  float* c = nullptr;
};

struct GemmStage {
  bool trans_a = false, trans_b = false;
  float alpha = 1.0f, beta = 0.0f;
  Precision precision = Precision::fp32;  ///< bf16: A and B hold Bf16; otherwise float
};

class GemmBatch {
 public:
  GemmBatch();
  ~GemmBatch();
  GemmBatch(const GemmBatch&) = delete;
  GemmBatch& operator=(const GemmBatch&) = delete;

  /// Enqueues every problem on `exec` (empty ones are skipped; k = 0 sets C = beta C).
  void run(const ExecSpace& exec, const GemmStage& stage, const std::vector<GemmProblem>& problems, bool grouped);
  /// One problem straight through the vendor BLAS (cuBLAS GemmEx on CUDA, fp32 included; the
  /// KokkosBlas path on CPUs): the floor the other paths are measured against.
  void run_vendor(const ExecSpace& exec, const GemmStage& stage, const GemmProblem& problem);
  /// True once a grouped run fell back to one GEMM per problem.
  bool fell_back() const { return fell_back_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool fell_back_ = false;
};

}  // namespace micromoe::moe::detail
