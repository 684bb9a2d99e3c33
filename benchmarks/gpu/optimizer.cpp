// SPDX-License-Identifier: BSD-3-Clause
// The optimizer's pass (moe::detail::optimizer_update, as MoELayer::step runs it) against the
// copy bandwidth for the bytes it must move per parameter:
//   adam        w, g, m, v read; w, m, v written                     28 bytes
//   adam+bf16   the same plus the weights' bf16 copy                 30 bytes
//   sgd         w, g, v read; w, v written                           20 bytes
#include "moe/kernels.hpp"
#include "moe/optimizer_update.hpp"
#include "sections.hpp"

namespace micromoe::bench {

void measure_optimizer(const Options& o, const Floors& floors, Results& out) {
  namespace d = moe::detail;
  const ExecSpace exec;
  // 2^28 parameters (1 GiB per array): the size of a GPT-sized layer's expert weights.
  const std::int64_t n = o.quick ? (1 << 16) + 3 : std::int64_t{1} << 28;
  d::Matrix store("bench::optimizer_arrays", 4, n);  // w, g, m, v: rows of one allocation
  d::init_uniform(exec, d::Flat(store.data(), store.span()), 9, 1, 1e-2f);
  auto row = [&](int r) { return d::Flat(store.data() + r * n, static_cast<std::size_t>(n)); };
  Kokkos::View<std::uint16_t*, MemSpace> bf16("bench::optimizer_bf16", n);
  const std::string size = " n=" + std::to_string(n);
  for (const bool adam : {true, false}) {
    moe::OptimizerConfig cfg;
    cfg.kind = adam ? moe::OptimizerKind::adam : moe::OptimizerKind::sgd;
    for (const bool with_bf16 : {false, true}) {
      if (!adam && with_bf16) continue;
      const double bytes = static_cast<double>(n) * ((adam ? 28.0 : 20.0) + (with_bf16 ? 2.0 : 0.0));
      const double s = median_seconds([&] {
        d::optimizer_update(exec, cfg, 0.5f, 0.5f, row(0), row(1), row(2), row(3), with_bf16 ? bf16.data() : nullptr);
      });
      const std::string name = std::string(adam ? "adam" : "sgd") + (with_bf16 ? "+bf16" : "") + size;
      out.add({"optimizer", name, bytes / s / 1e9, "GB/s", bytes / s / floors.copy_bytes_per_s});
    }
  }
}

}  // namespace micromoe::bench
