// SPDX-License-Identifier: BSD-3-Clause
// bench_exchange's sections raw, exchange (every size) and layer (dispatch + combine).
#include <algorithm>
#include <iostream>
#include <sstream>

#include "exchange_bench.hpp"
#include "moe/kernels.hpp"
#include "moe/layer.hpp"

namespace micromoe::bench {

/// raw and exchange at every size; rows in section order. Returns words received wrong.
std::int64_t measure_sizes(const Env& env, const Options& o, Results* out) {
  const std::vector<std::size_t> sizes =
      o.quick ? std::vector<std::size_t>{64 * kKiB, 1 * kMiB}
              : std::vector<std::size_t>{1 * kMiB, 4 * kMiB, 16 * kMiB, 64 * kMiB, 256 * kMiB};
  const bool exchange = o.sections.count("exchange") > 0;
  const std::string be = to_string(env.backend);
  const Buffers buf(
      static_cast<std::size_t>(env.ranks) * (*std::max_element(sizes.begin(), sizes.end())) / sizeof(float),
      env.backend);
  std::vector<Row> raw_rows, exchange_rows;
  std::int64_t wrong = 0;
  for (const std::size_t b : sizes) {
    const std::string size = size_label(b) + "/peer";
    const Measured raw = measure_raw(env, buf, b);
    wrong += raw.wrong;
    if (raw.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: raw " << be << " all-to-all at " << size << ": " << raw.wrong
                << " words received wrong" << std::endl;
    const double raw_rate = env.ranks > 1 ? sent_rate(env, static_cast<double>(b), raw.seconds) : 0.0;
    raw_rows.push_back({"raw", be + " alltoall " + size + ", self excluded: time", raw.seconds * 1e3, "ms"});
    if (env.ranks > 1)
      raw_rows.push_back({"raw", be + " alltoall " + size + ": (G-1)B/t sent per rank", raw_rate, "GB/s"});
    if (!exchange) continue;
    const Measured ex = measure_exchange(env, buf, b);
    wrong += ex.wrong;
    if (ex.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: TokenExchange at " << size << ": " << ex.wrong << " words received wrong"
                << std::endl;
    const std::string rows = std::to_string(b / kRowBytes) + " rows";
    exchange_rows.push_back(
        {"exchange", "TokenExchange " + size + ", " + rows + ", self included: time", ex.seconds * 1e3, "ms"});
    if (env.ranks > 1) {
      const double rate = sent_rate(env, static_cast<double>(b), ex.seconds);
      exchange_rows.push_back(
          {"exchange", "TokenExchange " + size + ": (G-1)B/t sent per rank", rate, "GB/s", rate / raw_rate});
    }
  }
  if (out != nullptr) {
    if (o.sections.count("raw"))
      for (Row& r : raw_rows) out->add(std::move(r));
    for (Row& r : exchange_rows) out->add(std::move(r));
  }
  return wrong;
}

/// The layer's dispatch + combine against raw at its per-peer size. Returns words received wrong.
std::int64_t measure_layer(const Env& env, const Options& o, Results* out) {
  if (env.ranks < 2) {
    if (env.root()) std::cout << "layer: skipped (one rank: no bytes to other ranks)" << std::endl;
    return 0;
  }
  moe::LayerConfig cfg;
  cfg.hidden = o.quick ? 256 : 2048;
  cfg.ffn = o.quick ? 256 : 1024;  // only the exchange phases are timed
  cfg.experts = 8 * env.ranks;
  cfg.top_k = 2;
  cfg.precision = moe::Precision::fp32;
  cfg.strategy.kind = strategy::StrategyKind::balanced;  // EP placement, round-robin routing: every rank sends alike
  cfg.strategy.ep_size = env.ranks;
  cfg.backend = env.backend;
  const std::int64_t T = o.quick ? 256 : 4096;
  moe::MoELayer layer(cfg, env.world);
  moe::MoELayer::Matrix x("bench_exchange::x", T, cfg.hidden), dy("bench_exchange::dy", T, cfg.hidden);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(x.data(), x.span()), 11, 1, 1.0f);
  moe::detail::init_uniform(env.exec, moe::detail::Flat(dy.data(), dy.span()), 11, 2, 1e-3f);
  compat::fence(env.exec, "bench_exchange::layer_inputs");

  // Per repeat, the slowest rank's dispatch, combine and dispatch + combine (forward; the
  // backward follows so that the next forward is allowed, untimed).
  std::vector<double> dispatch, combine, both;
  std::int64_t bytes = 0;
  for (int r = 0; r < 2 + env.repeats; ++r) {
    compat::fence(env.exec, "bench_exchange::layer_before");
    MICROMOE_CHECK_MPI(MPI_Barrier(env.world.get()));
    layer.reset_timers();
    { const auto y = layer.forward(env.exec, x); }
    const double mine[3] = {layer.timers().seconds(moe::Phase::dispatch), layer.timers().seconds(moe::Phase::combine),
                            layer.timers().seconds(moe::Phase::dispatch) + layer.timers().seconds(moe::Phase::combine)};
    bytes = layer.last_stats().bytes_sent;
    { const auto dx = layer.backward(env.exec, dy); }
    compat::fence(env.exec, "bench_exchange::layer_after");
    double slowest[3] = {0, 0, 0};
    MICROMOE_CHECK_MPI(MPI_Allreduce(mine, slowest, 3, MPI_DOUBLE, MPI_MAX, env.world.get()));
    if (r < 2) continue;  // warm-up
    dispatch.push_back(slowest[0]);
    combine.push_back(slowest[1]);
    both.push_back(slowest[2]);
  }
  std::int64_t min_bytes = 0, max_bytes = 0;
  MICROMOE_CHECK_MPI(MPI_Allreduce(&bytes, &min_bytes, 1, MPI_INT64_T, MPI_MIN, env.world.get()));
  MICROMOE_CHECK_MPI(MPI_Allreduce(&bytes, &max_bytes, 1, MPI_INT64_T, MPI_MAX, env.world.get()));
  const double mean_bytes = static_cast<double>(sum_over_ranks(env, bytes)) / env.ranks;
  const double t_dispatch = median(dispatch), t_combine = median(combine), t_both = median(both);

  // The floor: raw at the layer's per-peer size (two all-to-alls of B per peer), a multiple of 4.
  const std::size_t per_peer =
      static_cast<std::size_t>(mean_bytes / (2.0 * (env.ranks - 1))) / sizeof(float) * sizeof(float);
  std::int64_t wrong = 0;
  Measured raw;
  if (per_peer > 0) {
    const Buffers buf(static_cast<std::size_t>(env.ranks) * per_peer / sizeof(float), env.backend);
    raw = measure_raw(env, buf, per_peer);
    wrong = raw.wrong;
    if (raw.wrong > 0 && env.root())
      std::cerr << "bench_exchange: error: raw all-to-all at the layer's size: " << raw.wrong << " words received wrong"
                << std::endl;
  }
  if (out == nullptr) return wrong;
  // Row names: the layer's sizes (G is the run's: E = 8 G; F only sets the untimed expert work).
  std::ostringstream name;
  name << "T=" << T << " H=" << cfg.hidden << " E=" << cfg.experts << " k=2";
  const std::string n = name.str();
  std::cout << "layer: EP over " << env.ranks << " ranks, balanced routing, " << n << " F=" << cfg.ffn
            << " fp32, backend " << to_string(env.backend) << std::endl;
  out->add({"layer", n + ": dispatch", t_dispatch * 1e3, "ms"});
  out->add({"layer", n + ": combine", t_combine * 1e3, "ms"});
  out->add({"layer", n + ": dispatch+combine bytes sent per rank", mean_bytes / kMiB, "MiB"});
  if (min_bytes != max_bytes) {  // uneven routing: the spread over ranks
    out->add({"layer", n + ": bytes sent, least of any rank", static_cast<double>(min_bytes) / kMiB, "MiB"});
    out->add({"layer", n + ": bytes sent, most of any rank", static_cast<double>(max_bytes) / kMiB, "MiB"});
  }
  const double rate = mean_bytes / t_both / 1e9;
  if (per_peer > 0) {
    const double raw_rate = sent_rate(env, static_cast<double>(per_peer), raw.seconds);
    const std::string be = to_string(env.backend);
    const std::string raw_name = be + " alltoall " + size_label(per_peer) + "/peer (layer's size)";
    out->add({"layer", raw_name + ", self excluded: time", raw.seconds * 1e3, "ms"});
    out->add({"layer", raw_name + ": (G-1)B/t sent per rank", raw_rate, "GB/s"});
    out->add({"layer", n + ": dispatch+combine, bytes sent per rank / t", rate, "GB/s", rate / raw_rate});
  } else {
    out->add({"layer", n + ": dispatch+combine, bytes sent per rank / t", rate, "GB/s"});
  }
  return wrong;
}

}  // namespace micromoe::bench
