// SPDX-License-Identifier: BSD-3-Clause
#include "moe/optimizer_update.hpp"

#include <cstdint>

#include "core/kokkos_compat.hpp"
#include "moe/bf16.hpp"
#include "moe/vector_access.hpp"

namespace micromoe::moe::detail {

namespace {

using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;

/// The arithmetic of one parameter, shared by the vector and the scalar tail so both give the
/// serial reference's bits: SGD v = mu v + g, w -= lr v; Adam as in layer_config.hpp.
struct Update {
  bool adam;
  float lr, mu, b1, b2, eps, c1, c2;
  KOKKOS_INLINE_FUNCTION float operator()(float w, float g, float& s1, float& s2) const {
    if (!adam) {
      s1 = mu * s1 + g;
      return w - lr * s1;
    }
    s1 = b1 * s1 + (1.0f - b1) * g;
    s2 = b2 * s2 + (1.0f - b2) * g * g;
    return w - lr * (s1 / c1) / (compat::sqrt(s2 / c2) + eps);
  }
};

}  // namespace

void optimizer_update(const ExecSpace& exec, const OptimizerConfig& cfg, float c1, float c2, const Flat& w,
                      const Flat& g, const Flat& s1, const Flat& s2, std::uint16_t* w_bf16) {
  const std::int64_t n = static_cast<std::int64_t>(w.extent(0));
  if (n == 0) return;
  const bool adam = cfg.kind == OptimizerKind::adam;
  const Update u{adam, cfg.lr, cfg.momentum, cfg.beta1, cfg.beta2, cfg.eps, c1, c2};
  float* pw = w.data();
  const float* pg = g.data();
  float* p1 = s1.data();
  float* p2 = adam ? s2.data() : s1.data();  // SGD: a dummy alias, never written
  // Vec4s where every array allows 16-byte (bf16: 8-byte) accesses; the rest one by one.
  constexpr std::uintptr_t kVec = alignof(Vec4);
  const bool vec = aligned_to(pw, kVec) && aligned_to(pg, kVec) && aligned_to(p1, kVec) && aligned_to(p2, kVec) &&
                   (w_bf16 == nullptr || aligned_to(w_bf16, alignof(Bf16x4)));
  const std::int64_t quads = vec ? n / 4 : 0;
  const std::int64_t tail_begin = 4 * quads;
  Kokkos::parallel_for(
      "micromoe::moe::optimizer_update", Range(exec, 0, quads + (n - tail_begin)), KOKKOS_LAMBDA(const std::int64_t i) {
        if (i < quads) {
          const Vec4 gq = reinterpret_cast<const Vec4*>(pg)[i];
          Vec4 wq = reinterpret_cast<const Vec4*>(pw)[i];
          Vec4 m = reinterpret_cast<const Vec4*>(p1)[i];
          Vec4 v = adam ? reinterpret_cast<const Vec4*>(p2)[i] : Vec4{};
          for (int c = 0; c < 4; ++c) wq.v[c] = u(wq.v[c], gq.v[c], m.v[c], v.v[c]);
          reinterpret_cast<Vec4*>(pw)[i] = wq;
          reinterpret_cast<Vec4*>(p1)[i] = m;
          if (adam) reinterpret_cast<Vec4*>(p2)[i] = v;
          if (w_bf16 != nullptr) {
            Bf16x4 b;
            for (int c = 0; c < 4; ++c) b.v[c] = bf16_from_float(wq.v[c]);
            reinterpret_cast<Bf16x4*>(w_bf16)[i] = b;
          }
          return;
        }
        const std::int64_t j = tail_begin + (i - quads);
        float m = p1[j], v = adam ? p2[j] : 0.0f;
        const float wj = u(pw[j], pg[j], m, v);
        pw[j] = wj;
        p1[j] = m;
        if (adam) p2[j] = v;
        if (w_bf16 != nullptr) w_bf16[j] = bf16_from_float(wj);
      });
}

}  // namespace micromoe::moe::detail
