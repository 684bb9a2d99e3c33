// SPDX-License-Identifier: BSD-3-Clause
// Ceilings measured in the same process as everything they are compared with: a large device
// copy, and the vendor GEMM (cuBLAS on CUDA: SGEMM, TF32, bf16 operands with fp32 output, and
// all-bf16 for orientation; the BLAS behind KokkosBlas on CPUs) at the expert shapes.
#include "core/build_config.hpp"
#include "core/gpu_error.hpp"
#include "moe/bf16.hpp"
#include "moe/gemm_batch.hpp"
#include "moe/kernels.hpp"
#include "sections.hpp"

namespace micromoe::bench {

double Floors::rate(moe::Precision p, int t, int h, int f) const {
  const auto it = gemm_rate.find({p, t, h, f});
  return it == gemm_rate.end() ? 0.0 : it->second;
}

namespace {

using Flat = Kokkos::View<float*, MemSpace>;

Flat random_flat(std::int64_t n, std::uint64_t stream) {
  Flat v(Kokkos::view_alloc(Kokkos::WithoutInitializing, "bench::data"), n);
  moe::detail::init_uniform(ExecSpace(), moe::detail::Flat(v.data(), n), 7, stream, 1.0f);
  return v;
}

double copy_bandwidth(const Options& o, Results& out) {
  const std::int64_t n = o.quick ? (1 << 20) : (std::int64_t{1} << 29);  // 2 GiB of floats
  Flat a = random_flat(n, 1), b("bench::copy_dst", n);
  const double s = median_seconds([&] { Kokkos::deep_copy(ExecSpace(), b, a); });
  const double bw = 2.0 * n * sizeof(float) / s;
  out.add({"floor", "device copy " + std::to_string(n * 4 >> 20) + " MiB (read + write)", bw / 1e9, "GB/s"});
  return bw;
}

const char* precision_label(moe::Precision p) {
  return p == moe::Precision::fp32 ? "fp32" : p == moe::Precision::tf32 ? "tf32" : "bf16 (fp32 out)";
}

}  // namespace

Floors measure_floors(const Options& o, Results& out) {
  Floors f;
  f.copy_bytes_per_s = copy_bandwidth(o, out);
  std::vector<moe::Precision> precisions = {moe::Precision::fp32};
  if (MICROMOE_ENABLE_CUDA) precisions = {moe::Precision::fp32, moe::Precision::tf32, moe::Precision::bf16};
  moe::detail::GemmBatch gemm;
  for (const ModelShape& m : o.models)
    for (int t : o.tokens) {
      const std::int64_t H = m.hidden, F = m.ffn;
      Flat x = random_flat(t * H, 2), w = random_flat(H * F, 3), y("bench::y", t * F);
      moe::Bf16Flat xb("bench::xb", t * H), wb("bench::wb", H * F);
      moe::detail::to_bf16(ExecSpace(), x.data(), xb.data(), t * H);
      moe::detail::to_bf16(ExecSpace(), w.data(), wb.data(), H * F);
      for (moe::Precision p : precisions) {
        const bool bf = p == moe::Precision::bf16;
        const moe::detail::GemmProblem prob{t,
                                            F,
                                            H,
                                            bf ? static_cast<const void*>(xb.data()) : x.data(),
                                            bf ? static_cast<const void*>(wb.data()) : w.data(),
                                            y.data()};
        // The vendor call itself: fp32 through cuBLAS GemmEx too, so the floor is cuBLAS' SGEMM.
        const moe::detail::GemmStage stage{false, false, 1.0f, 0.0f, p};
        const double s = median_seconds([&] { gemm.run_vendor(ExecSpace(), stage, prob); });
        const double rate = 2.0 * t * H * F / s;
        f.gemm_rate[{p, t, m.hidden, m.ffn}] = rate;
        out.add({"floor", std::string("GEMM ") + precision_label(p) + " " + m.name + " " + shape(t, F, H), rate / 1e12,
                 "TFLOP/s"});
      }
#if MICROMOE_ENABLE_CUDA
      // For orientation: all-bf16 (bf16 output), the figure usually quoted for the chip.
      moe::Bf16Flat yb("bench::yb", t * F);
      cublasHandle_t handle;
      MICROMOE_CHECK_CUBLAS(cublasCreate(&handle));
      const float one = 1.0f, zero = 0.0f;
      const double s = median_seconds([&] {
        MICROMOE_CHECK_CUBLAS(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(F), t,
                                           static_cast<int>(H), &one, wb.data(), CUDA_R_16BF, static_cast<int>(F),
                                           xb.data(), CUDA_R_16BF, static_cast<int>(H), &zero, yb.data(), CUDA_R_16BF,
                                           static_cast<int>(F), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      });
      cublasDestroy(handle);
      out.add(
          {"floor", "GEMM bf16 (bf16 out) " + m.name + " " + shape(t, F, H), 2.0 * t * H * F / s / 1e12, "TFLOP/s"});
#endif
    }
  return f;
}

}  // namespace micromoe::bench
