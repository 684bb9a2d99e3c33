// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/measure_calibration.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <functional>

#include "core/build_info.hpp"
#include "core/kokkos_compat.hpp"
#include "deck/deck.hpp"
#include "emulate/rank_bench.hpp"
#include "moe/kernels.hpp"
#include "moe/moe_compat.hpp"
#include "moe/optimizer_update.hpp"
#include "train/layer_configs.hpp"

namespace micromoe::simulate {

namespace {

constexpr std::int64_t kMaxCalibrationRows = 262144;  // slots x rows of the largest grid point

using moe::detail::Flat;
using moe::detail::I64;
using moe::detail::IntMatrix;
using moe::detail::Matrix;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[(v.size() - 1) / 2];  // the lower median, as emulate's
}

/// Median seconds of `repeats` calls of `work`, each fenced before and after, after one
/// untimed warm-up call (kernel loading, library handles).
double time_median(int repeats, const std::function<void(const ExecSpace&)>& work) {
  const ExecSpace exec;
  work(exec);
  compat::fence(exec, "micromoe::calibrate::warmup");
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) {
    compat::fence(exec, "micromoe::calibrate::before");
    Kokkos::Timer timer;
    work(exec);
    compat::fence(exec, "micromoe::calibrate::after");
    seconds.push_back(timer.seconds());
  }
  return median(seconds);
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string git_revision() {
  for (const auto& [key, value] : build_info())
    if (key == "git_revision") return value;
  return "unknown";
}

/// One "rank" per call: `slots` slots of n rows each.
moe::SlotRows equal_slots(std::int64_t n, int slots) {
  moe::SlotRows rows;
  for (int j = 0; j < slots; ++j) {
    rows.first.push_back(j * n);
    rows.rows.push_back(n);
  }
  return rows;
}

/// The expert FFN grid, burst timing: emulate's rank bench (the same timing as micromoe
/// emulate), one "rank" per grid point, one "iteration" per repeat, so each point's calls are
/// interleaved with the other points'; the median over the repeats divided by the slots is one
/// slot's time. Several slots per call, as a rank runs them, so that the call's fixed cost
/// (launch latency, the fence) is shared as on a real rank.
std::vector<double> time_ffn_burst(emulate::RankBench& bench, const std::vector<std::int64_t>& grid, int slots,
                                   int repeats) {
  emulate::StrategyPlan plan;
  plan.name = "calibration";
  plan.iterations = repeats;
  plan.micro_batches = 1;
  plan.ranks = static_cast<int>(grid.size());
  plan.slots = slots;
  for (int i = 0; i < repeats; ++i)
    for (const auto n : grid) plan.rows.push_back(equal_slots(n, slots));
  plan.loads.assign(plan.rows.size(), 0);
  const auto seconds = bench.time_plan(plan);
  std::vector<double> out;
  for (std::size_t p = 0; p < grid.size(); ++p) {
    std::vector<double> samples;
    for (int i = 0; i < repeats; ++i) samples.push_back(seconds[plan.cell(i, 0, static_cast<int>(p))]);
    out.push_back(median(samples) / slots);
  }
  return out;
}

/// Sustained timing: each grid point alone, its calls back to back for `sustain` seconds
/// untimed (rank bench's pass over every cell) and as long again timed (at least `repeats`
/// calls; the median kept), as a rank runs its micro-batches one after another. On the H200 a
/// GEMM's speed depends on how long the GPU has been busy (the power-limited clock): short
/// calls between small ones ran up to 13% faster per row than the same shape back to back,
/// which is how emulate and training run them (docs/PERFORMANCE.md, "Validation").
std::vector<double> time_ffn_sustained(emulate::RankBench& bench, const std::vector<std::int64_t>& grid,
                                       const std::vector<double>& burst, int slots, int repeats, double sustain) {
  std::vector<double> out;
  for (std::size_t p = 0; p < grid.size(); ++p) {
    const double call = std::max(burst[p] * slots, 1e-6);
    const int calls = std::clamp(static_cast<int>(std::ceil(sustain / call)), repeats, 4000);
    emulate::StrategyPlan plan;
    plan.name = "calibration";
    plan.iterations = 1;
    plan.micro_batches = 1;
    plan.ranks = calls;
    plan.slots = slots;
    plan.rows.assign(static_cast<std::size_t>(calls), equal_slots(grid[p], slots));
    plan.loads.assign(plan.rows.size(), 0);
    out.push_back(median(bench.time_plan(plan)) / slots);
  }
  return out;
}

std::vector<double> time_ffn_grid(const deck::RunConfig& resolved, const std::vector<std::int64_t>& grid, int slots,
                                  int repeats, double sustain) {
  emulate::RankBench bench(emulate::ffn_setup(resolved), slots, grid.back() * slots);
  const auto burst = time_ffn_burst(bench, grid, slots, repeats);
  return sustain > 0 ? time_ffn_sustained(bench, grid, burst, slots, repeats, sustain) : burst;
}

/// Gate forward (GEMM, softmax + top-k) and backward (through the softmax, two GEMMs) of T tokens.
double time_gate(const moe::LayerConfig& layer, int tokens, int repeats) {
  const int T = tokens, H = layer.hidden, E = layer.experts, K = layer.top_k;
  const ExecSpace exec;
  Matrix x("micromoe::calibrate::x", T, H), wg("micromoe::calibrate::wg", H, E), dwg("micromoe::calibrate::dwg", H, E);
  Matrix logits("micromoe::calibrate::logits", T, E), probs("micromoe::calibrate::probs", T, E);
  Matrix dlogits("micromoe::calibrate::dlogits", T, E), dx("micromoe::calibrate::dx", T, H);
  Matrix gw("micromoe::calibrate::gw", T, K), dgw("micromoe::calibrate::dgw", T, K);
  IntMatrix idx("micromoe::calibrate::idx", T, K);
  moe::detail::init_uniform(exec, Flat(x.data(), x.size()), layer.seed, 11, 1.0f);
  moe::detail::init_uniform(exec, Flat(wg.data(), wg.size()), layer.seed, 12, 1.0f / std::sqrt(float(H)));
  moe::detail::init_uniform(exec, Flat(dgw.data(), dgw.size()), layer.seed, 13, 1.0f);
  return time_median(repeats, [&](const ExecSpace& e) {
    moe::kk::gemm(e, "N", "N", 1.0f, x, wg, 0.0f, logits);
    moe::detail::gate_select(e, logits, probs, idx, gw, layer.renormalize, false, 0);
    moe::detail::gate_backward(e, probs, idx, dgw, layer.renormalize, dlogits);
    moe::kk::gemm(e, "N", "T", 1.0f, dlogits, wg, 0.0f, dx);
    moe::kk::gemm(e, "T", "N", 1.0f, x, dlogits, 1.0f, dwg);
  });
}

/// The row kernels around the exchange for T tokens' T*k copies: gather into the send buffer,
/// combine the returned rows, and their backward (scatter the output gradient, add copy grads).
double time_row_kernels(const moe::LayerConfig& layer, int tokens, int repeats) {
  const int T = tokens, H = layer.hidden, K = layer.top_k;
  const std::int64_t C = static_cast<std::int64_t>(T) * K;
  const ExecSpace exec;
  Matrix x("micromoe::calibrate::x", T, H), y("micromoe::calibrate::y", T, H), dx("micromoe::calibrate::dx", T, H);
  Matrix send("micromoe::calibrate::send", C, H), dsend("micromoe::calibrate::dsend", C, H);
  Matrix gw("micromoe::calibrate::gw", T, K), dgw("micromoe::calibrate::dgw", T, K);
  I64 copy_row("micromoe::calibrate::copy_row", C);
  // Copies in a shuffled order (a stride coprime to C): the rows land scattered, as routed copies do.
  const std::int64_t stride = C % 7919 == 0 ? 1 : 7919;
  auto host_rows = Kokkos::create_mirror_view(copy_row);
  for (std::int64_t c = 0; c < C; ++c) host_rows(c) = (c * stride) % C;
  Kokkos::deep_copy(exec, copy_row, host_rows);
  moe::detail::init_uniform(exec, Flat(x.data(), x.size()), layer.seed, 21, 1.0f);
  moe::detail::init_uniform(exec, Flat(gw.data(), gw.size()), layer.seed, 22, 1.0f);
  return time_median(repeats, [&](const ExecSpace& e) {
    moe::detail::gather_rows(e, x, K, copy_row, send);
    moe::detail::combine_rows(e, send, copy_row, gw, y);
    moe::detail::scatter_output_grad(e, y, send, copy_row, gw, dsend, dgw);
    moe::detail::add_copy_grads(e, dsend, copy_row, K, dx);
  });
}

/// One expert's optimizer pass over its weights W1 and W2 (and their bf16 copy for bf16 experts).
double time_optimizer(const moe::LayerConfig& layer, int repeats) {
  const std::size_t n = static_cast<std::size_t>(layer.hidden) * moe::w1_columns(layer.activation, layer.ffn) +
                        static_cast<std::size_t>(layer.ffn) * layer.hidden;
  const ExecSpace exec;
  Kokkos::View<float*, MemSpace> w("micromoe::calibrate::w", n), g("micromoe::calibrate::g", n);
  Kokkos::View<float*, MemSpace> s1("micromoe::calibrate::s1", n), s2("micromoe::calibrate::s2", n);
  moe::detail::init_uniform(exec, Flat(w.data(), n), layer.seed, 31, 0.1f);
  moe::detail::init_uniform(exec, Flat(g.data(), n), layer.seed, 32, 0.1f);
  // bf16 experts: the pass also writes the weights' bf16 copy, as the layer's optimizer does.
  const bool bf16 = layer.precision == moe::Precision::bf16;
  Kokkos::View<std::uint16_t*, MemSpace> copy("micromoe::calibrate::w_bf16", bf16 ? n : 0);
  return time_median(repeats, [&](const ExecSpace& e) {
    moe::detail::optimizer_update(e, layer.optimizer, 0.1f, 0.001f, Flat(w.data(), n), Flat(g.data(), n),
                                  Flat(s1.data(), n), Flat(s2.data(), n), bf16 ? copy.data() : nullptr);
  });
}

}  // namespace

std::vector<std::int64_t> rows_grid(std::int64_t max_rows) {
  std::vector<std::int64_t> grid;
  for (double r = 1; r < static_cast<double>(max_rows); r *= std::sqrt(2.0)) {
    const auto n = static_cast<std::int64_t>(std::llround(r));
    if (grid.empty() || n > grid.back()) grid.push_back(n);
  }
  if (grid.empty() || grid.back() < max_rows) grid.push_back(std::max<std::int64_t>(max_rows, 1));
  return grid;
}

Calibration measure_calibration(const deck::RunConfig& resolved, const MeasureOptions& options) {
  const auto layer = train::layer_configs(resolved, strategy::StrategyKind::ep, resolved.parallel.gpus_per_node).at(0);
  Calibration c;
  c.device = device_name();
  c.date = utc_now();
  c.commit = git_revision();
  c.command_line = options.command_line;
  c.deck = deck::render_deck(resolved);
  c.hidden = layer.hidden;
  c.ffn = layer.ffn;
  c.experts = layer.experts;
  c.top_k = layer.top_k;
  c.activation = layer.activation;
  c.precision = layer.precision;
  c.expert_gemm = layer.expert_gemm;
  c.repeats = options.repeats;
  c.tokens = resolved.training.tokens_per_micro_batch;
  c.rows = rows_grid(options.max_rows);
  // The deck's slots per rank (E / ep_size), at most what keeps the largest point's rows in
  // kMaxCalibrationRows (device memory).
  const int deck_slots = std::max(1, layer.experts / std::max(1, resolved.parallel.ep_size));
  const auto fit = static_cast<int>(std::max<std::int64_t>(1, kMaxCalibrationRows / c.rows.back()));
  c.slots = options.slots > 0 ? options.slots : std::min(deck_slots, fit);
  c.sustain_seconds = options.sustain_seconds;
  c.ffn_seconds = time_ffn_grid(resolved, c.rows, c.slots, options.repeats, c.sustain_seconds);
  c.gate_seconds_per_token = time_gate(layer, c.tokens, options.repeats) / c.tokens;
  c.row_seconds_per_copy =
      time_row_kernels(layer, c.tokens, options.repeats) / (static_cast<double>(c.tokens) * layer.top_k);
  c.optimizer_seconds_per_slot = time_optimizer(layer, options.repeats);
  return c;
}

}  // namespace micromoe::simulate
