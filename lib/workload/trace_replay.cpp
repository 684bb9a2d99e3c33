// SPDX-License-Identifier: BSD-3-Clause
// Trace counts -> routing: rescaling to the run's copies, the one-copy-per-token cap with a
// proportional redistribution of its excess, and the per-rank routing (docs/trace.md).
#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::workload {

namespace {

/// Adds `amount` to the experts `free` in proportion to `weight` (uniformly when the weights
/// sum to 0), by the largest remainder in exact integers; ties go to the lower expert id.
void spread(std::int64_t amount, const std::vector<std::size_t>& free, const std::vector<std::int64_t>& weight,
            std::vector<std::int64_t>& out) {
  __int128 total_weight = 0;
  for (const auto e : free) total_weight += weight[e];
  const bool uniform = total_weight == 0;
  if (uniform) total_weight = static_cast<__int128>(free.size());
  std::vector<std::pair<__int128, std::size_t>> remainder;
  remainder.reserve(free.size());
  std::int64_t given = 0;
  for (const auto e : free) {
    const __int128 scaled = static_cast<__int128>(amount) * (uniform ? 1 : weight[e]);
    const auto share = static_cast<std::int64_t>(scaled / total_weight);
    out[e] += share;
    given += share;
    remainder.emplace_back(scaled % total_weight, e);
  }
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t j = 0; given < amount; ++j, ++given) ++out[remainder[j].second];  // fewer than free.size() left
}

}  // namespace

std::vector<std::int64_t> rescale_counts(const std::vector<std::int64_t>& counts, std::int64_t total, std::int64_t cap,
                                         CapEffect* effect) {
  const auto n = counts.size();
  MICROMOE_REQUIRE(n > 0 && total >= 0 && cap >= 0, "trace routing: no experts or a negative total");
  MICROMOE_REQUIRE(static_cast<__int128>(n) * cap >= total, "trace routing: not enough experts for top_k");
  // The sum in 128 bits: counts near 2^63 must be refused, not wrap into a negative sum.
  __int128 wide_sum = 0;
  for (const auto c : counts) {
    if (c < 0) throw InputError("trace routing: a negative token count (" + std::to_string(c) + ")");
    wide_sum += c;
  }
  if (wide_sum > std::numeric_limits<std::int64_t>::max())
    throw InputError("trace routing: the token counts of one micro-batch add up to more than 2^63 - 1");
  // Largest remainder in exact integer arithmetic (a zero trace row becomes uniform).
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  std::vector<std::int64_t> out(n, 0);
  spread(total, all, counts, out);
  // Cap: one copy per token per expert. The excess goes to the experts below the cap in
  // proportion to their trace counts; whatever that pushes past the cap goes round again. Each
  // round caps at least one more expert or ends, so at most n rounds.
  std::int64_t excess = 0;
  for (auto& c : out)
    if (c > cap) excess += c - cap, c = cap;
  const std::int64_t moved = excess;
  while (excess > 0) {
    std::vector<std::size_t> free;
    for (std::size_t e = 0; e < n; ++e)
      if (out[e] < cap) free.push_back(e);
    MICROMOE_REQUIRE(!free.empty(), "trace routing: the counts exceed what the experts can take");
    spread(excess, free, counts, out);
    excess = 0;
    for (auto& c : out)
      if (c > cap) excess += c - cap, c = cap;
  }
  if (effect != nullptr) {
    effect->moved = moved;
    // The copies moved off the capped experts are exactly the shares that changed.
    effect->tv_distance = total > 0 ? static_cast<double>(moved) / static_cast<double>(total) : 0.0;
  }
  return out;
}

std::vector<int> trace_routing(const std::vector<std::int64_t>& counts, int ranks, int rank, int tokens, int top_k) {
  const std::int64_t per_rank = static_cast<std::int64_t>(tokens) * top_k;
  const auto global = rescale_counts(counts, per_rank * ranks, static_cast<std::int64_t>(tokens) * ranks);
  // The global copies, expert by expert; copy j belongs to rank j mod ranks, so every rank
  // gets exactly tokens * top_k copies and an expert at most ceil(count / ranks) <= tokens.
  std::vector<int> mine;
  mine.reserve(static_cast<std::size_t>(per_rank));
  std::int64_t j = 0;
  for (std::size_t e = 0; e < global.size(); ++e) {
    const std::int64_t first = (rank - j % ranks + ranks) % ranks;  // first local copy of e
    for (std::int64_t c = first; c < global[e]; c += ranks) mine.push_back(static_cast<int>(e));
    j += global[e];
  }
  // Copy i -> token i mod tokens, slot i / tokens: a token's experts are distinct and ascending.
  std::vector<int> routing(static_cast<std::size_t>(per_rank));
  for (std::int64_t i = 0; i < per_rank; ++i)
    routing[static_cast<std::size_t>((i % tokens) * top_k + i / tokens)] = mine[static_cast<std::size_t>(i)];
  return routing;
}

std::vector<int> replay_routing(const RoutingTrace& trace, int iteration, int layer, int micro_batch, int ranks,
                                int rank, int tokens, int top_k) {
  if (!trace.per_source)
    return trace_routing(trace.micro_batch_counts(iteration, layer, micro_batch), ranks, rank, tokens, top_k);
  // The rank's own counts, routed on the rank alone.
  return trace_routing(trace.rank_counts(iteration, layer, micro_batch, ranks, rank), 1, 0, tokens, top_k);
}

CapSummary cap_summary(const RoutingTrace& trace, int ranks, int tokens, int top_k) {
  CapSummary summary;
  const std::int64_t copies = static_cast<std::int64_t>(tokens) * top_k;
  const auto note = [&](const std::vector<std::int64_t>& counts, std::int64_t total, std::int64_t cap) {
    CapEffect effect;
    rescale_counts(counts, total, cap, &effect);
    ++summary.rows;
    if (effect.moved > 0) ++summary.rows_capped;
    summary.max_tv_distance = std::max(summary.max_tv_distance, effect.tv_distance);
  };
  for (int i = 0; i < trace.iterations; ++i)
    for (int l = 0; l < trace.layers; ++l)
      for (int m = 0; m < trace.micro_batches; ++m) {
        if (!trace.per_source) {
          note(trace.micro_batch_counts(i, l, m), copies * ranks, static_cast<std::int64_t>(tokens) * ranks);
          continue;
        }
        for (int r = 0; r < std::min(ranks, trace.sources); ++r)  // ranks r and r + sources replay alike
          note(trace.rank_counts(i, l, m, ranks, r), copies, tokens);
      }
  return summary;
}

}  // namespace micromoe::workload
