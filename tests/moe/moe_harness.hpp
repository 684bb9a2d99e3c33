// SPDX-License-Identifier: BSD-3-Clause
// Shared harness of the MoE layer tests: seeded global data (identical on every rank), the
// distributed layer on this rank's slice, the serial reference on the whole batch, and
// normwise comparisons.
//
// Exactness: gate inputs and gate weights are multiples of 1/16 with few bits, so the gate
// logits are exact in fp32 whatever the summation order: routing is identical in the layer and
// the reference. Expert weights and dy are arbitrary floats; outputs and gradients must then
// agree to fp32 rounding: normwise relative error max|a - b| / max(max|b|, 0.1) <= kTolerance
// (observed: ~3e-7; any routing or indexing bug gives O(1)).
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "core/error.hpp"
#include "moe/layer.hpp"
#include "reference.hpp"

namespace micromoe::strategy {
/// GoogleTest prints strategy parameters by name.
inline void PrintTo(StrategyKind kind, std::ostream* os) { *os << name_of(kind); }
}  // namespace micromoe::strategy

namespace micromoe::moe::testing {

using strategy::StrategyKind;

/// fp32 rounding level for these sizes (H <= 32, F <= 48, up to a few hundred tokens).
constexpr double kTolerance = 1e-5;

struct Case {
  StrategyKind strategy = StrategyKind::ep;
  int experts = 8;
  int top_k = 2;
  int hidden = 16;
  int ffn = 24;
  int tokens = 24;          ///< tokens on rank r: tokens + 3 * r (unless empty_rank / all_empty)
  int empty_rank = -1;      ///< this rank gets no tokens
  bool skew = false;        ///< hot experts (lower ids) via a bias feature
  bool one_expert = false;  ///< every token's first choice is expert 0
  Activation activation = Activation::gelu;
  bool renormalize = true;
  int ep_size = -1;  ///< -1: G/2 for G >= 2 (two replicas), 1 for G = 1
  int replace_interval = 50;
  int adaptive_min_replicas = 0;    ///< microep-adaptive's floor (0: auto)
  int adaptive_max_migrations = 0;  ///< microep-adaptive's copies per re-placement (0: G*S/2)
  double capacity_factor = 1.0;
  OptimizerConfig optimizer{};
  std::uint64_t seed = 7;
  Precision precision = Precision::fp32;
  bool grouped = false;                                     ///< grouped expert GEMMs
  WirePrecision wire_precision = WirePrecision::automatic;  ///< token rows on the wire
  double tolerance = kTolerance;  ///< against the fp32 reference (bf16 / tf32: their rounding)
  std::size_t migration_round_bytes = kMigrationRoundBytes;  ///< a migration's bytes per rank and round
};

/// A GoogleTest parameter name from a strategy name ("microep-adaptive" -> "microep_adaptive").
inline std::string test_name(std::string strategy) {
  std::replace(strategy.begin(), strategy.end(), '-', '_');
  return strategy;
}
inline std::string test_name(StrategyKind strategy) { return test_name(to_string(strategy)); }

inline int ranks() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}
inline int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline LayerConfig config_of(const Case& c) {
  LayerConfig cfg;
  cfg.hidden = c.hidden;
  cfg.ffn = c.ffn;
  cfg.experts = c.experts;
  cfg.top_k = c.top_k;
  cfg.activation = c.activation;
  cfg.renormalize = c.renormalize;
  cfg.strategy.kind = c.strategy;
  const int G = ranks();
  int p = c.ep_size > 0 ? c.ep_size : (G >= 2 ? G / 2 : 1);
  while (c.experts % p != 0 || G % p != 0) --p;
  cfg.strategy.ep_size = p;
  cfg.strategy.replace_interval = c.replace_interval;
  cfg.strategy.adaptive_min_replicas = c.adaptive_min_replicas;
  cfg.strategy.adaptive_max_migrations = c.adaptive_max_migrations;
  cfg.strategy.capacity_factor = c.capacity_factor;
  cfg.strategy.seed = 3;
  cfg.optimizer = c.optimizer;
  cfg.seed = c.seed;
  cfg.precision = c.precision;
  cfg.expert_gemm = c.grouped ? ExpertGemm::grouped : ExpertGemm::per_expert;
  cfg.wire_precision = c.wire_precision;
  cfg.migration_round_bytes = c.migration_round_bytes;
  // The GPU runs select NCCL at one rank: MICROMOE_TEST_BACKEND=nccl.
  if (const char* b = std::getenv("MICROMOE_TEST_BACKEND")) cfg.backend = comm::parse_backend(b);
  return cfg;
}

/// Global data of a case, the same on every rank.
struct Data {
  std::vector<std::int64_t> first, count;  ///< token slice of every rank
  std::int64_t total = 0;
  std::vector<float> x, dy;
  HostTensors params;
};

inline Data make_data(const Case& c, int G, int step = 0) {
  Data d;
  for (int r = 0; r < G; ++r) {
    const std::int64_t n = (r == c.empty_rank || c.tokens == 0) ? 0 : c.tokens + 3 * r;
    d.first.push_back(d.total);
    d.count.push_back(n);
    d.total += n;
  }
  std::mt19937_64 rng(c.seed * 1000 + static_cast<std::uint64_t>(step));
  auto small = [&]() { return static_cast<float>(static_cast<int>(rng() % 17) - 8) / 16.0f; };  // exact
  auto real = [&]() { return (static_cast<float>(rng() >> 40) / 16777216.0f - 0.5f); };
  const int H = c.hidden, E = c.experts, F1 = w1_columns(c.activation, c.ffn);
  d.x.resize(static_cast<std::size_t>(d.total) * H);
  for (std::int64_t t = 0; t < d.total; ++t)
    for (int h = 0; h < H; ++h) d.x[t * H + h] = h == 0 ? 1.0f : small() * 0.5f;
  d.dy.resize(d.x.size());
  for (auto& v : d.dy) v = real();
  std::mt19937_64 prng(c.seed);  // parameters do not depend on the step
  auto psmall = [&]() { return static_cast<float>(static_cast<int>(prng() % 17) - 8) / 16.0f; };
  auto preal = [&]() { return (static_cast<float>(prng() >> 40) / 16777216.0f - 0.5f); };
  d.params.gate.resize(static_cast<std::size_t>(H) * E);
  for (int h = 0; h < H; ++h)
    for (int e = 0; e < E; ++e) {
      float v = psmall();
      if (h == 0) v = c.one_expert ? (e == 0 ? 4.0f : 0.0f) : c.skew ? -0.375f * static_cast<float>(e) : 0.0f;
      d.params.gate[static_cast<std::size_t>(h) * E + e] = v;
    }
  d.params.w1.resize(static_cast<std::size_t>(E) * H * F1);
  for (auto& v : d.params.w1) v = preal() / std::sqrt(static_cast<float>(H));
  d.params.w2.resize(static_cast<std::size_t>(E) * c.ffn * H);
  for (auto& v : d.params.w2) v = preal() / std::sqrt(static_cast<float>(c.ffn));
  return d;
}

inline std::vector<float> slice(const std::vector<float>& v, std::int64_t first, std::int64_t n, int width) {
  return std::vector<float>(v.begin() + first * width, v.begin() + (first + n) * width);
}

inline MoELayer::Matrix to_device(const std::vector<float>& v, std::int64_t rows, int width) {
  MoELayer::Matrix m("test::matrix", static_cast<std::size_t>(rows), static_cast<std::size_t>(width));
  auto h = Kokkos::create_mirror_view(m);
  std::copy(v.begin(), v.end(), h.data());
  Kokkos::deep_copy(m, h);
  return m;
}

inline std::vector<float> to_host(const MoELayer::Matrix& m) {
  auto h = Kokkos::create_mirror_view_and_copy(HostSpace(), m);
  return std::vector<float>(h.data(), h.data() + h.span());
}

/// max|a - b| / max(max|b|, 0.1): normwise relative error, absolute below a norm of 0.1 (the
/// inputs are O(1), so tensors that are mathematically zero hold rounding noise of ~1e-7);
/// infinity on a size mismatch or a NaN.
inline double rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (std::isnan(d)) return INFINITY;
    diff = std::max(diff, d);
    norm = std::max(norm, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(norm, 0.1);
}

/// Expert `e`'s block of a by-expert tensor.
inline std::vector<float> expert_block(const std::vector<float>& v, int e, std::size_t n) {
  return std::vector<float>(v.begin() + static_cast<std::ptrdiff_t>(e * n),
                            v.begin() + static_cast<std::ptrdiff_t>((e + 1) * n));
}

/// Compares every slot this rank holds (every replica) and its gate tensor with the reference.
inline void expect_tensors_match(const MoELayer& layer, Tensor which, const HostTensors& ref, double tol,
                                 const std::string& what) {
  const auto& cfg = layer.config();
  const int H = cfg.hidden, F = cfg.ffn, F1 = w1_columns(cfg.activation, F);
  const std::size_t n1 = static_cast<std::size_t>(H) * F1, n2 = static_cast<std::size_t>(F) * H;
  EXPECT_LE(rel_error(layer.local_gate(which), ref.gate), tol) << what << ": gate";
  const HostSlots s = layer.local_slots(which);
  const auto& p = layer.placement();
  for (int j = 0; j < p.slots_per_gpu; ++j) {
    const int e = p.expert(layer.rank(), j);
    if (e < 0) continue;
    const std::vector<float> a1(s.w1.begin() + static_cast<std::ptrdiff_t>(j * n1),
                                s.w1.begin() + static_cast<std::ptrdiff_t>((j + 1) * n1));
    const std::vector<float> a2(s.w2.begin() + static_cast<std::ptrdiff_t>(j * n2),
                                s.w2.begin() + static_cast<std::ptrdiff_t>((j + 1) * n2));
    const auto r1 = expert_block(ref.w1, e, n1), r2 = expert_block(ref.w2, e, n2);
    // Experts without tokens have exactly zero gradients: compare absolutely there.
    const bool zero1 = std::all_of(r1.begin(), r1.end(), [](float v) { return v == 0.0f; });
    const bool zero2 = std::all_of(r2.begin(), r2.end(), [](float v) { return v == 0.0f; });
    if (zero1)
      EXPECT_TRUE(std::all_of(a1.begin(), a1.end(), [](float v) { return v == 0.0f; }))
          << what << ": w1 of idle expert " << e;
    else
      EXPECT_LE(rel_error(a1, r1), tol) << what << ": w1 of expert " << e << " in slot " << j;
    if (zero2)
      EXPECT_TRUE(std::all_of(a2.begin(), a2.end(), [](float v) { return v == 0.0f; }))
          << what << ": w2 of idle expert " << e;
    else
      EXPECT_LE(rel_error(a2, r2), tol) << what << ": w2 of expert " << e << " in slot " << j;
  }
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

/// The reference's keep mask of ep-capacity: per source rank, copies of an expert beyond
/// ceil(factor * copies / E) (in copy order) are dropped.
inline std::vector<char> capacity_mask(const Data& d, const std::vector<int>& choices, int k, int E, double factor) {
  std::vector<char> keep(choices.size(), 1);
  for (std::size_t r = 0; r < d.first.size(); ++r) {
    const std::int64_t copies = d.count[r] * k;
    const double cd = factor * static_cast<double>(copies) / E;
    auto cap = static_cast<std::int64_t>(cd);
    if (static_cast<double>(cap) < cd) ++cap;
    std::vector<std::int64_t> seen(static_cast<std::size_t>(E), 0);
    for (std::int64_t c = d.first[r] * k; c < (d.first[r] + d.count[r]) * k; ++c)
      if (seen[static_cast<std::size_t>(choices[c])]++ >= cap) keep[c] = 0;
  }
  return keep;
}

struct Outcome {
  std::vector<float> y, dx;
  std::vector<int> choices;  ///< this rank's
  MicroBatchStats stats;
  bool grouped_fell_back = false;  ///< grouped GEMMs were asked for and ran per expert
};

inline Outcome run_once(MoELayer& layer, const Case& c, const Data& d) {
  const ExecSpace exec;
  const int r = layer.rank(), H = c.hidden;
  const auto x = to_device(slice(d.x, d.first[r], d.count[r], H), d.count[r], H);
  const auto dy = to_device(slice(d.dy, d.first[r], d.count[r], H), d.count[r], H);
  Outcome o;
  o.y = to_host(layer.forward(exec, x));
  o.stats = layer.last_stats();
  o.choices = layer.last_choices();
  o.dx = to_host(layer.backward(exec, dy));
  o.grouped_fell_back = layer.grouped_gemm_fell_back();
  layer.sync_gradients(exec);
  return o;
}

/// Forced experts of balanced, for the whole batch.
inline std::vector<int> balanced_choices(const Data& d, int k, int E) {
  std::vector<int> f;
  for (std::size_t r = 0; r < d.first.size(); ++r)
    for (std::int64_t t = 0; t < d.count[r]; ++t)
      for (int i = 0; i < k; ++i) f.push_back(static_cast<int>((t * k + i + static_cast<std::int64_t>(r)) % E));
  return f;
}

inline Outcome check_case(const Case& c) {
  const int G = ranks(), r = rank(), H = c.hidden, k = c.top_k;
  const Data d = make_data(c, G);
  const LayerConfig cfg = config_of(c);
  comm::Communicator world(MPI_COMM_WORLD);
  MoELayer layer(cfg, world);
  layer.set_parameters(ExecSpace(), d.params);
  const Outcome o = run_once(layer, c, d);

  ReferenceMoE ref(cfg);
  ref.params = d.params;
  std::vector<char> keep;
  std::vector<int> forced;
  if (c.strategy == StrategyKind::balanced) forced = balanced_choices(d, k, c.experts);
  std::vector<float> y = ref.forward(d.x, d.total, nullptr, forced.empty() ? nullptr : &forced);
  if (c.strategy == StrategyKind::ep_capacity) {
    keep = capacity_mask(d, ref.choices(), k, c.experts, c.capacity_factor);
    y = ref.forward(d.x, d.total, &keep);
    const auto dropped = std::count(keep.begin(), keep.end(), 0);
    EXPECT_EQ(o.stats.tokens_dropped, dropped);
  }
  const std::vector<float> dx = ref.backward(d.dy);
  const std::string what = to_string(c.strategy) + (c.skew ? " skewed" : " uniform") + " G=" + std::to_string(G);

  const std::vector<int> ref_choices(ref.choices().begin() + d.first[r] * k,
                                     ref.choices().begin() + (d.first[r] + d.count[r]) * k);
  EXPECT_EQ(o.choices, ref_choices) << what << ": routing differs from the reference";
  EXPECT_LE(rel_error(o.y, slice(y, d.first[r], d.count[r], H)), c.tolerance) << what << ": y";
  EXPECT_LE(rel_error(o.dx, slice(dx, d.first[r], d.count[r], H)), c.tolerance) << what << ": dx";
  expect_tensors_match(layer, Tensor::gradients, ref.gradients(), c.tolerance, what + ": gradients");

  // Statistics are consistent with the batch.
  std::int64_t load = 0;
  for (auto v : o.stats.gpu_load) load += v;
  EXPECT_EQ(load + o.stats.tokens_dropped, d.total * k) << what;
  EXPECT_EQ(o.stats.gpu_load[static_cast<std::size_t>(r)], o.stats.rows_received) << what;
  if (c.strategy == StrategyKind::microep || c.strategy == StrategyKind::microep_adaptive)
    EXPECT_EQ(o.stats.max_load, o.stats.lower_bound) << what << ": not optimal";
  EXPECT_GT(layer.peak_bytes(), 0u);
  return o;
}

}  // namespace micromoe::moe::testing
