// SPDX-License-Identifier: BSD-3-Clause
#include "moe/gemm_batch.hpp"

#include <array>
#include <utility>

#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/gpu_error.hpp"
#include "moe/bf16.hpp"
#include "moe/moe_compat.hpp"

namespace micromoe::moe::detail {

namespace {

using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
using ConstView = Kokkos::View<const float**, TokenLayout, MemSpace, Unmanaged>;
using View = Kokkos::View<float**, TokenLayout, MemSpace, Unmanaged>;

/// Stored (rows, columns) of A and B, which the row-major layout makes their leading dimensions.
std::pair<std::int64_t, std::int64_t> stored_a(const GemmStage& s, const GemmProblem& p) {
  return s.trans_a ? std::make_pair(p.k, p.m) : std::make_pair(p.m, p.k);
}
std::pair<std::int64_t, std::int64_t> stored_b(const GemmStage& s, const GemmProblem& p) {
  return s.trans_b ? std::make_pair(p.n, p.k) : std::make_pair(p.k, p.n);
}

/// C = beta C for an empty inner dimension (the only betas used are 0 and 1).
void scale_only(const ExecSpace& exec, const GemmStage& s, const GemmProblem& p) {
  MICROMOE_REQUIRE(s.beta == 0.0f || s.beta == 1.0f, "GemmBatch: beta must be 0 or 1");
  if (s.beta == 0.0f) Kokkos::deep_copy(exec, View(p.c, p.m, p.n), 0.0f);
}

}  // namespace

struct GemmBatch::Impl {
  // CPU emulation of bf16 operands: widened copies, then an fp32 GEMM (the same products).
  Kokkos::View<float*, MemSpace> a_wide, b_wide;

  void widen(const ExecSpace& exec, Kokkos::View<float*, MemSpace>& buf, const void* src, std::int64_t n) {
    if (static_cast<std::int64_t>(buf.extent(0)) < n)
      buf = Kokkos::View<float*, MemSpace>(
          Kokkos::view_alloc(exec, Kokkos::WithoutInitializing, "micromoe::moe::gemm_widened"), n);
    from_bf16(exec, static_cast<const Bf16*>(src), buf.data(), n);
  }

  /// One problem through KokkosBlas::gemm (fp32 data; bf16 widened first, CPU builds only).
  void kokkos_gemm(const ExecSpace& exec, const GemmStage& s, const GemmProblem& p) {
    const auto [ar, ac] = stored_a(s, p);
    const auto [br, bc] = stored_b(s, p);
    const float* a = static_cast<const float*>(p.a);
    const float* b = static_cast<const float*>(p.b);
    if (s.precision == Precision::bf16) {
      widen(exec, a_wide, p.a, ar * ac);
      widen(exec, b_wide, p.b, br * bc);
      a = a_wide.data();
      b = b_wide.data();
    }
    kk::gemm(exec, s.trans_a ? "T" : "N", s.trans_b ? "T" : "N", s.alpha, ConstView(a, ar, ac), ConstView(b, br, bc),
             s.beta, View(p.c, p.m, p.n));
  }

#if MICROMOE_ENABLE_CUDA
  cublasHandle_t handle = nullptr;
  std::array<bool, 3> grouped_unsupported{};  // by Precision: cuBLAS rejected the grouped call
  Kokkos::View<std::uintptr_t*, MemSpace> device_pointers;
  std::vector<std::uintptr_t> host_pointers;

  // An explicit workspace: cublasSetStream resets the handle to the default pool, and Hopper
  // kernels (split-K among them) ask for up to 32 MiB.
  Kokkos::View<char*, MemSpace> workspace{"micromoe::moe::gemm_cublas_workspace", std::size_t{64} << 20};

  Impl() { MICROMOE_CHECK_CUBLAS(cublasCreate(&handle)); }

  void bind(const ExecSpace& exec) {
    MICROMOE_CHECK_CUBLAS(cublasSetStream(handle, exec.cuda_stream()));
    MICROMOE_CHECK_CUBLAS(cublasSetWorkspace(handle, workspace.data(), workspace.span()));
  }
  ~Impl() {
    if (handle) cublasDestroy(handle);
  }

  static cudaDataType_t operand_type(Precision p) { return p == Precision::bf16 ? CUDA_R_16BF : CUDA_R_32F; }
  static cublasComputeType_t compute_type(Precision p) {
    return p == Precision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  }

  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: B goes first.
  void gemm_ex(const ExecSpace& exec, const GemmStage& s, const GemmProblem& p) {
    bind(exec);
    const std::int64_t lda = stored_a(s, p).second, ldb = stored_b(s, p).second;
    MICROMOE_CHECK_CUBLAS(cublasGemmEx_64(handle, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, p.n, p.m, p.k, &s.alpha, p.b,
                                          operand_type(s.precision), ldb, p.a, operand_type(s.precision), lda, &s.beta,
                                          p.c, CUDA_R_32F, p.n, compute_type(s.precision), CUBLAS_GEMM_DEFAULT));
  }

  /// One grouped-batched launch (a group per problem). False when cuBLAS rejects the types.
  bool grouped(const ExecSpace& exec, const GemmStage& s, const std::vector<GemmProblem>& ps) {
    const std::size_t n = ps.size();
    std::vector<cublasOperation_t> op_first(n, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N);
    std::vector<cublasOperation_t> op_second(n, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N);
    std::vector<std::int64_t> m(n), nn(n), k(n), ld_first(n), ld_second(n), ldc(n), size(n, 1);
    std::vector<float> alpha(n, s.alpha), beta(n, s.beta);
    host_pointers.assign(3 * n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const GemmProblem& p = ps[i];
      m[i] = p.n;  // column-major view: C^T is n x m
      nn[i] = p.m;
      k[i] = p.k;
      ld_first[i] = stored_b(s, p).second;
      ld_second[i] = stored_a(s, p).second;
      ldc[i] = p.n;
      host_pointers[i] = reinterpret_cast<std::uintptr_t>(p.b);
      host_pointers[n + i] = reinterpret_cast<std::uintptr_t>(p.a);
      host_pointers[2 * n + i] = reinterpret_cast<std::uintptr_t>(p.c);
    }
    if (device_pointers.extent(0) < 3 * n)
      device_pointers = Kokkos::View<std::uintptr_t*, MemSpace>("micromoe::moe::gemm_pointers", 3 * n);
    // Pageable source: the call returns once the bytes are staged, so host_pointers may be reused.
    MICROMOE_CHECK_CUDA(cudaMemcpyAsync(device_pointers.data(), host_pointers.data(), 3 * n * sizeof(std::uintptr_t),
                                        cudaMemcpyHostToDevice, exec.cuda_stream()));
    const auto* base = reinterpret_cast<void* const*>(device_pointers.data());
    bind(exec);
    const cublasStatus_t rc = cublasGemmGroupedBatchedEx_64(
        handle, op_first.data(), op_second.data(), m.data(), nn.data(), k.data(), alpha.data(),
        const_cast<const void* const*>(base), operand_type(s.precision), ld_first.data(),
        const_cast<const void* const*>(base + n), operand_type(s.precision), ld_second.data(), beta.data(),
        const_cast<void* const*>(base + 2 * n), CUDA_R_32F, ldc.data(), static_cast<std::int64_t>(n), size.data(),
        compute_type(s.precision));
    if (rc == CUBLAS_STATUS_NOT_SUPPORTED || rc == CUBLAS_STATUS_INVALID_VALUE) return false;
    MICROMOE_CHECK_CUBLAS(rc);
    return true;
  }
#endif
};

GemmBatch::GemmBatch() : impl_(std::make_unique<Impl>()) {}
GemmBatch::~GemmBatch() = default;

void GemmBatch::run(const ExecSpace& exec, const GemmStage& stage, const std::vector<GemmProblem>& problems,
                    bool grouped) {
  std::vector<GemmProblem> work;
  work.reserve(problems.size());
  for (const GemmProblem& p : problems) {
    if (p.m == 0 || p.n == 0) continue;
    if (p.k == 0) {
      scale_only(exec, stage, p);
      continue;
    }
    work.push_back(p);
  }
  if (work.empty()) return;
#if MICROMOE_ENABLE_CUDA
  const std::size_t which = static_cast<std::size_t>(stage.precision);
  if (grouped && work.size() > 1 && !impl_->grouped_unsupported[which]) {
    if (impl_->grouped(exec, stage, work)) return;
    impl_->grouped_unsupported[which] = true;
    fell_back_ = true;
  }
  for (const GemmProblem& p : work) {
    if (stage.precision == Precision::fp32)
      impl_->kokkos_gemm(exec, stage, p);  // KokkosBlas: cuBLAS SGEMM underneath
    else
      impl_->gemm_ex(exec, stage, p);
  }
#else
  MICROMOE_REQUIRE(stage.precision != Precision::tf32, "tf32 expert GEMMs need a CUDA build");
  if (grouped && work.size() > 1) fell_back_ = true;  // no grouped BLAS on CPUs: the loop is it
  for (const GemmProblem& p : work) impl_->kokkos_gemm(exec, stage, p);
#endif
}

void GemmBatch::run_vendor(const ExecSpace& exec, const GemmStage& stage, const GemmProblem& problem) {
  if (problem.m == 0 || problem.n == 0 || problem.k == 0) return run(exec, stage, {problem}, false);
#if MICROMOE_ENABLE_CUDA
  impl_->gemm_ex(exec, stage, problem);
#else
  impl_->kokkos_gemm(exec, stage, problem);
#endif
}

}  // namespace micromoe::moe::detail
