// SPDX-License-Identifier: BSD-3-Clause
// The device-resident parts of dispatch and combine, each against the copy bandwidth for the
// bytes it must move (every input row read once, every output row written once):
//   gather_rows          x [T, H] -> send [T k, H] in routed order        k T H (read + write)
//   block_copy           recv -> slot-major rows (and back)              2 T k H
//   combine_rows         back [T k, H] -> y [T, H], weighted sum         T k H read + T H write
//   scatter_output_grad  dy [T, H] -> dsend [T k, H], and dgw            T H + 2 T k H (+ back read)
//   add_copy_grads       dback [T k, H] -> dx [T, H] (+=)                 T k H + 2 T H
#include <numeric>
#include <random>

#include "moe/kernels.hpp"
#include "sections.hpp"

namespace micromoe::bench {

void measure_permute(const Options& o, const Floors& floors, Results& out) {
  namespace d = moe::detail;
  const ExecSpace exec;
  const std::int64_t T = o.quick ? 512 : 16384;
  const int k = 2;
  for (const int H : {o.models.front().hidden, o.models.back().hidden}) {
    const std::int64_t N = T * k;
    d::Matrix x("bench::x", T, H), send("bench::send", N, H), recv("bench::recv", N, H), y("bench::y", T, H);
    d::Matrix gw("bench::gw", T, k), dgw("bench::dgw", T, k);
    d::init_uniform(exec, d::Flat(x.data(), x.span()), 5, 1, 1.0f);
    d::init_uniform(exec, d::Flat(send.data(), send.span()), 5, 2, 1.0f);
    d::init_uniform(exec, d::Flat(gw.data(), gw.span()), 5, 3, 1.0f);
    // A random routing order: copy n goes to row perm[n] (what the exchange plan produces).
    std::vector<std::int64_t> perm(static_cast<std::size_t>(N));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937_64(42));
    d::I64 copy_row("bench::copy_row", N);
    auto copy_row_h = Kokkos::create_mirror_view(copy_row);
    for (std::int64_t n = 0; n < N; ++n) copy_row_h(n) = perm[static_cast<std::size_t>(n)];
    Kokkos::deep_copy(copy_row, copy_row_h);
    // Blocks as the layer makes them: pieces of kBlockRows rows, sources in shuffled order.
    const std::int64_t nb = (N + d::kBlockRows - 1) / d::kBlockRows;
    std::vector<std::int64_t> order(static_cast<std::size_t>(nb));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
    d::Blocks blocks("bench::blocks", nb);
    auto blocks_h = Kokkos::create_mirror_view(blocks);
    std::int64_t dst = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
      const std::int64_t src = order[static_cast<std::size_t>(b)] * d::kBlockRows;
      const std::int64_t n = std::min(d::kBlockRows, N - src);
      blocks_h(b, 0) = src;
      blocks_h(b, 1) = dst;
      blocks_h(b, 2) = n;
      dst += n;
    }
    Kokkos::deep_copy(blocks, blocks_h);

    const double row = static_cast<double>(H) * sizeof(float);
    auto report = [&](const std::string& name, double bytes, double s) {
      out.add({"permute", name + " T=" + std::to_string(T) + " k=2 H=" + std::to_string(H), bytes / s / 1e9, "GB/s",
               bytes / s / floors.copy_bytes_per_s});
    };
    report("gather_rows", 2.0 * N * row, median_seconds([&] { d::gather_rows(exec, x, k, copy_row, send); }));
    report("block_copy", 2.0 * N * row,
           median_seconds([&] { d::block_copy(exec, send, recv, blocks, static_cast<int>(nb), false); }));
    report("combine_rows", (N + T) * row, median_seconds([&] { d::combine_rows(exec, recv, copy_row, gw, y); }));
    report("scatter_output_grad", (T + 2.0 * N) * row,
           median_seconds([&] { d::scatter_output_grad(exec, y, recv, copy_row, gw, send, dgw); }));
    report("add_copy_grads", (N + 2.0 * T) * row,
           median_seconds([&] { d::add_copy_grads(exec, send, copy_row, k, y); }));
  }
}

}  // namespace micromoe::bench
