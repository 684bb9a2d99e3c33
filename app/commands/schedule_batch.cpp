// SPDX-License-Identifier: BSD-3-Clause
#include "commands/schedule_batch.hpp"

#include <algorithm>
#include <sstream>

#include "commands/schedule_memory.hpp"
#include "core/error.hpp"
#include "schedule/memory_bound.hpp"

namespace micromoe::commands {

namespace {

constexpr BatchPlacement kAllPlacements[] = {BatchPlacement::ep, BatchPlacement::symmetric, BatchPlacement::random,
                                             BatchPlacement::adaptive, BatchPlacement::eplb};

/// The layer's strategy for a placement (the same code the MoE layer runs).
strategy::StrategyConfig strategy_config(BatchPlacement p, const BatchLayout& layout) {
  strategy::StrategyConfig c;
  c.ep_size = layout.ep_size;
  c.gpus_per_node = layout.gpus_per_node;
  c.replace_interval = layout.replace_interval;
  c.eplb_extra_slots = layout.eplb_extra_slots;
  c.seed = layout.seed;
  c.adaptive_search_iterations = layout.adaptive_search_iterations;
  switch (p) {
    case BatchPlacement::ep:
      c.kind = strategy::StrategyKind::ep;
      break;
    case BatchPlacement::symmetric:
      c.kind = strategy::StrategyKind::microep;
      c.placement = schedule::PlacementKind::symmetric;
      break;
    case BatchPlacement::random:
      c.kind = strategy::StrategyKind::microep;
      c.placement = schedule::PlacementKind::random;
      break;
    case BatchPlacement::adaptive:
      c.kind = strategy::StrategyKind::microep_adaptive;
      c.placement = schedule::PlacementKind::symmetric;
      break;
    case BatchPlacement::eplb:
      c.kind = strategy::StrategyKind::eplb;
      break;
  }
  return c;
}

/// EP's GPU loads as the ep strategy routes them (every copy to its expert's replica in the
/// source's EP group: GPU k*P + e/S for a source in group k), in O(G*E) instead of the
/// strategy's search over replicas; tested equal to Strategy::route.
void ep_gpu_loads(const schedule::CountMatrix& c, int ep_size, std::vector<std::int64_t>& gpu_load) {
  const int S = c.experts / ep_size;
  gpu_load.assign(static_cast<std::size_t>(c.sources), 0);
  for (int s = 0; s < c.sources; ++s) {
    const int group_first = s / ep_size * ep_size;
    for (int e = 0; e < c.experts; ++e) gpu_load[static_cast<std::size_t>(group_first + e / S)] += c(s, e);
  }
}

/// ep and eplb route without the solver: it runs beside them for their placement's optimum.
bool routes_without_solver(BatchPlacement p) { return p == BatchPlacement::ep || p == BatchPlacement::eplb; }

}  // namespace

const char* batch_placement_name(BatchPlacement p) {
  switch (p) {
    case BatchPlacement::ep:
      return "ep";
    case BatchPlacement::symmetric:
      return "symmetric";
    case BatchPlacement::random:
      return "random";
    case BatchPlacement::adaptive:
      return "adaptive";
    case BatchPlacement::eplb:
      return "eplb";
  }
  return "?";
}

std::vector<BatchPlacement> parse_batch_placements(const std::string& list) {
  std::vector<BatchPlacement> out;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) {
    bool found = false;
    for (BatchPlacement p : kAllPlacements)
      if (name == batch_placement_name(p)) {
        if (std::find(out.begin(), out.end(), p) != out.end())
          throw InputError("--placements names \"" + name + "\" twice");
        out.push_back(p);
        found = true;
      }
    if (!found)
      throw InputError("--placements: unknown placement \"" + name.substr(0, 40) +
                       "\" (known: ep, symmetric, random, adaptive, eplb)");
  }
  if (out.empty()) throw InputError("--placements names no placement (known: ep, symmetric, random, adaptive, eplb)");
  return out;
}

/// One placement on one MoE layer: its strategy, and its reusable buffers.
struct BatchRunner::Lane {
  std::unique_ptr<strategy::Strategy> strategy;
  schedule::RankRouting routing;             // rank 0's part: the layer's path; gpu_load is the group's
  std::unique_ptr<schedule::Solver> solver;  // ep, eplb: the optimum of their current placement
  schedule::Plan plan;
  schedule::MemoryBound bound;
  std::vector<std::int64_t> iteration_loads;
  bool routed = false;  // in the current iteration
  bool replaced = false;
  std::int64_t migrations = 0;

  void new_solver() {
    schedule::SolverOptions options;
    options.dense_tokens = false;  // only the objective is read
    solver = std::make_unique<schedule::Solver>(strategy->placement(), options);
  }
};

BatchRunner::BatchRunner(const BatchLayout& layout, std::vector<BatchPlacement> placements)
    : layout_(layout), placements_(std::move(placements)) {
  if (layout_.gpus < 1 || layout_.experts < 1) throw InputError("batch: need --gpus >= 1 and at least one expert");
  strategy::StrategyConfig config;
  config.ep_size = layout_.ep_size;
  ep_size_ = strategy::resolve_ep_size(config, layout_.gpus, layout_.experts);
  // Sizes checked before any placement is built: the builders' G^2 S work, and the solver's
  // GPU graph, sum over experts of d_e (d_e - 1) arcs (schedule_memory.hpp's 2 GiB limit).
  const std::int64_t G = layout_.gpus, E = layout_.experts, S = E / ep_size_, d = G / ep_size_;
  if (G * G * S > (std::int64_t{1} << 33))
    throw InputError("batch: gpus^2 x slots per GPU = " + std::to_string(G * G * S) +
                     " is too large for the placement builders (limit 2^33); use a larger --ep");
  for (BatchPlacement p : placements_) {
    const std::int64_t slots = G * memory_slots(p);
    const std::int64_t arcs = p == BatchPlacement::eplb ? slots * G : E * d * (d - 1);  // eplb: d_e <= G
    const std::int64_t bytes = 8 * arcs + 16 * G * E + 96 * slots;
    if (bytes > kMaxSolveBytes)
      throw InputError(std::string("batch: placement ") + batch_placement_name(p) + " would need about " +
                       std::to_string(bytes >> 20) + " MiB to solve, more than the limit of " +
                       std::to_string(kMaxSolveBytes >> 20) + " MiB; use a larger --ep (fewer replicas per expert)");
  }
  lanes_.resize(placements_.size());
  lane(0, 0);  // builds every placement of layer 0 now: size errors surface before any input
  for (std::size_t k = 1; k < placements_.size(); ++k) lane(k, 0);
}

BatchRunner::~BatchRunner() = default;

int BatchRunner::memory_slots(BatchPlacement p) const {
  return layout_.experts / ep_size_ + (p == BatchPlacement::eplb ? layout_.eplb_extra_slots : 0);
}

BatchRunner::Lane& BatchRunner::lane(std::size_t k, int layer) {
  auto& slot = lanes_[k][layer];
  if (!slot) {
    slot = std::make_unique<Lane>();
    slot->strategy = strategy::make_strategy(strategy_config(placements_[k], layout_), layout_.gpus, layout_.experts);
    if (routes_without_solver(placements_[k])) slot->new_solver();
    slot->iteration_loads.assign(static_cast<std::size_t>(layout_.experts), 0);
  }
  return *slot;
}

void BatchRunner::route(const MicroBatch& mb, std::vector<BatchResult>& results) {
  const auto& c = mb.counts;
  if (c.sources != layout_.gpus || c.experts != layout_.experts)
    throw InputError("batch: micro-batch counts are " + std::to_string(c.sources) + " x " + std::to_string(c.experts) +
                     ", expected gpus x experts = " + std::to_string(layout_.gpus) + " x " +
                     std::to_string(layout_.experts));
  if (mb.iteration < iteration_)
    throw InputError("batch: micro-batches must come in iteration order, got iteration " +
                     std::to_string(mb.iteration) + " after " + std::to_string(iteration_));
  if (mb.layer < 0) throw InputError("batch: layer must be >= 0, got " + std::to_string(mb.layer));
  if (mb.iteration > iteration_) {
    // The iteration ended: every lane that ran in it sees its loads (the layer's end_iteration).
    for (auto& layers : lanes_)
      for (auto& [layer, ln] : layers) {
        if (!ln->routed) continue;
        if (ln->strategy->end_iteration(ln->iteration_loads)) {
          ln->replaced = true;
          ln->migrations = ln->strategy->last_migrations();
          if (ln->solver) ln->new_solver();
        }
        std::fill(ln->iteration_loads.begin(), ln->iteration_loads.end(), 0);
        ln->routed = false;
      }
    iteration_ = mb.iteration;
  }
  loads_.assign(static_cast<std::size_t>(c.experts), 0);
  std::int64_t total = 0;
  for (int s = 0; s < c.sources; ++s)
    for (int e = 0; e < c.experts; ++e) loads_[static_cast<std::size_t>(e)] += c(s, e);
  for (auto l : loads_) total += l;

  results.resize(placements_.size());
  for (std::size_t k = 0; k < placements_.size(); ++k) {
    Lane& ln = lane(k, mb.layer);
    BatchResult& r = results[k];
    if (placements_[k] == BatchPlacement::ep) {
      ep_gpu_loads(c, ep_size_, r.gpu_load);
    } else {
      ln.strategy->route_rank(c, 0, ln.routing);
      r.gpu_load = ln.routing.gpu_load;
    }
    r.iteration = mb.iteration;
    r.layer = mb.layer;
    r.micro_batch = mb.micro_batch;
    r.total_tokens = total;
    r.max_load = r.gpu_load.empty() ? 0 : *std::max_element(r.gpu_load.begin(), r.gpu_load.end());
    if (ln.solver) {
      ln.solver->solve_loads(loads_, ln.plan);
      r.optimum = ln.plan.objective;
    } else {
      r.optimum = ln.routing.lower_bound;
    }
    r.memory_bound = static_cast<double>(ln.bound(loads_, layout_.gpus, memory_slots(placements_[k])));
    r.replaced = ln.replaced;
    r.migrations = ln.replaced ? ln.migrations : 0;
    ln.replaced = false;
    ln.routed = true;
    for (std::size_t e = 0; e < loads_.size(); ++e) ln.iteration_loads[e] += loads_[e];
  }
}

BatchSummary summarize(const std::string& placement, const std::vector<BatchResult>& results) {
  BatchSummary s;
  s.placement = placement;
  s.micro_batches = static_cast<std::int64_t>(results.size());
  if (results.empty()) return s;
  std::vector<double> imbalance;
  imbalance.reserve(results.size());
  double sum = 0, opt_sum = 0, bound_sum = 0;
  s.max = s.optimum_max = s.memory_bound_max = 0;
  for (const auto& r : results) {
    imbalance.push_back(r.imbalance());
    sum += r.imbalance();
    opt_sum += r.optimum_imbalance();
    bound_sum += r.memory_bound_imbalance();
    s.max = std::max(s.max, r.imbalance());
    s.optimum_max = std::max(s.optimum_max, r.optimum_imbalance());
    s.memory_bound_max = std::max(s.memory_bound_max, r.memory_bound_imbalance());
    if (r.replaced) {
      ++s.replacements;
      s.migrations += r.migrations;
    }
  }
  const auto n = static_cast<double>(results.size());
  s.mean = sum / n;
  s.optimum_mean = opt_sum / n;
  s.memory_bound_mean = bound_sum / n;
  const std::size_t rank = (9 * results.size() + 9) / 10;  // nearest rank ceil(0.9 n), 1-based, exact
  std::nth_element(imbalance.begin(), imbalance.begin() + static_cast<std::ptrdiff_t>(rank - 1), imbalance.end());
  s.p90 = imbalance[rank - 1];
  return s;
}

}  // namespace micromoe::commands
