// SPDX-License-Identifier: BSD-3-Clause
#include "strategy/strategy.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "schedule/adaptive.hpp"
#include "schedule/eplb.hpp"
#include "schedule/rank_routes.hpp"
#include "schedule/rank_routing.hpp"
#include "schedule/routes.hpp"

namespace micromoe::strategy {

std::int64_t capacity_per_expert(double capacity_factor, std::int64_t copies_of_source, int experts) {
  const double c = capacity_factor * static_cast<double>(copies_of_source) / static_cast<double>(experts);
  auto cap = static_cast<std::int64_t>(c);
  if (static_cast<double>(cap) < c) ++cap;
  return cap;
}

namespace {

int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }

std::vector<std::int64_t> ones(int n) { return std::vector<std::int64_t>(static_cast<std::size_t>(n), 1); }

/// Standard EP routes: every source sends its copies of e to e's replica in its EP group.
void route_ep(const schedule::Placement& p, int ep_size, const schedule::CountMatrix& c,
              const std::vector<std::int64_t>* cap, schedule::Routing& out) {
  out.reset(c.sources, c.experts, p.gpus);
  for (int s = 0; s < c.sources; ++s)
    for (int e = 0; e < c.experts; ++e) {
      const std::size_t k = static_cast<std::size_t>(s) * c.experts + e;
      const std::int64_t n = cap ? std::min(c(s, e), (*cap)[static_cast<std::size_t>(s)]) : c(s, e);
      out.kept[k] = n;
      out.dropped += c(s, e) - n;
      int dst = -1;
      for (int g : p.replicas(e))
        if (g / ep_size == s / ep_size) dst = g;
      MICROMOE_REQUIRE(dst >= 0, "ep routing: expert has no replica in the source's EP group");
      out.add_leg(s, e, dst, n);
    }
  out.finish();
}

/// DeepSeek's routing over EPLB's physical replicas: the copies of (s, e) split evenly over the
/// expert's physical replicas (the first n mod d ones, counted from replica s mod d, get one
/// more); two replicas on one GPU make one leg with both shares.
void route_eplb(const std::vector<std::vector<int>>& replica_gpus, int gpus, const schedule::CountMatrix& c,
                schedule::Routing& out) {
  out.reset(c.sources, c.experts, gpus);
  for (int s = 0; s < c.sources; ++s)
    for (int e = 0; e < c.experts; ++e) {
      const auto& reps = replica_gpus[static_cast<std::size_t>(e)];  // ascending
      const auto d = static_cast<std::int64_t>(reps.size());
      const std::int64_t n = c(s, e);
      out.kept[static_cast<std::size_t>(s) * c.experts + e] = n;
      const std::int64_t q = n / d, r = n % d;
      std::int64_t leg = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        leg += q + ((k - s % d + d) % d < r ? 1 : 0);
        if (k + 1 == d || reps[static_cast<std::size_t>(k + 1)] != reps[static_cast<std::size_t>(k)]) {
          out.add_leg(s, e, reps[static_cast<std::size_t>(k)], leg);
          leg = 0;
        }
      }
    }
  out.finish();
}

/// Sum of loads since the last re-placement: the forecast of eplb and microep-adaptive.
class LoadHistory {
 public:
  void add(const std::vector<std::int64_t>& loads) {
    if (sum_.size() != loads.size()) sum_.assign(loads.size(), 0);
    for (std::size_t e = 0; e < loads.size(); ++e) sum_[e] += loads[e];
    ++iterations_;
  }
  int iterations() const { return iterations_; }
  void save(StateWriter& out) const {
    out.put(sum_);
    out.put(iterations_);
  }
  void load(StateReader& in) {
    sum_ = in.get_vector<std::int64_t>();
    iterations_ = in.get_int();
  }
  /// The forecast (+1 per expert so unseen experts keep a replica weight) and a reset.
  std::vector<std::int64_t> take() {
    std::vector<std::int64_t> f = sum_;
    for (auto& v : f) v += 1;
    std::fill(sum_.begin(), sum_.end(), 0);
    iterations_ = 0;
    return f;
  }

 private:
  std::vector<std::int64_t> sum_;
  int iterations_ = 0;
};

std::int64_t count_migrations(const schedule::Placement& from, const schedule::Placement& to) {
  std::int64_t m = 0;
  for (int g = 0; g < to.gpus; ++g)
    for (int j = 0; j < to.slots_per_gpu; ++j) {
      const int e = to.expert(g, j);
      if (e < 0) continue;
      const auto& reps = from.replicas(e);
      if (!std::binary_search(reps.begin(), reps.end(), g)) ++m;
    }
  return m;
}

class EpStrategy : public Strategy {
 public:
  /// kind: ep, ep-capacity or balanced.
  EpStrategy(StrategyKind kind, int gpus, int experts, int ep_size, double factor)
      : kind_(kind),
        ep_size_(ep_size),
        capacity_(kind == StrategyKind::ep_capacity),
        factor_(factor),
        balanced_(kind == StrategyKind::balanced) {
    placement_ = schedule::make_ep_placement(gpus, experts, ep_size);
  }
  StrategyKind kind() const override { return kind_; }
  bool exact() const override { return !capacity_ && !balanced_; }
  bool forced_balance() const override { return balanced_; }
  void route(const schedule::CountMatrix& c, schedule::Routing& out) override {
    if (!capacity_) return route_ep(placement_, ep_size_, c, nullptr, out);
    std::vector<std::int64_t> cap(static_cast<std::size_t>(c.sources));
    for (int s = 0; s < c.sources; ++s) {
      std::int64_t copies = 0;
      for (int e = 0; e < c.experts; ++e) copies += c(s, e);
      cap[static_cast<std::size_t>(s)] = capacity_per_expert(factor_, copies, c.experts);
    }
    route_ep(placement_, ep_size_, c, &cap, out);
  }

 private:
  StrategyKind kind_;
  int ep_size_;
  bool capacity_;
  double factor_;
  bool balanced_;
};

/// DeepSeek's EPLB (schedule/eplb.hpp): G * (E/P + extra) physical replicas, re-balanced every
/// K iterations from the load history; hierarchical over nodes when the expert groups allow.
class EplbStrategy : public Strategy {
 public:
  EplbStrategy(int gpus, int experts, int ep_size, int extra, int interval, int groups, int gpus_per_node)
      : gpus_(gpus),
        experts_(experts),
        replicas_(gpus * (experts / ep_size + extra)),
        groups_(groups),
        nodes_(gpus_per_node > 0 && gpus % gpus_per_node == 0 ? gpus / gpus_per_node : 1),
        interval_(interval) {
    adopt(place(ones(experts)));
  }
  StrategyKind kind() const override { return StrategyKind::eplb; }
  void route(const schedule::CountMatrix& c, schedule::Routing& out) override {
    route_eplb(replica_gpus_, placement_.gpus, c, out);
  }
  bool end_iteration(const std::vector<std::int64_t>& loads) override {
    history_.add(loads);
    if (history_.iterations() < interval_) return false;
    auto next = place(history_.take());
    if (next.placement == placement_ && next.replica_gpus == replica_gpus_) return false;
    last_migrations_ = count_migrations(placement_, next.placement);
    adopt(std::move(next));
    return true;
  }
  void save_state(StateWriter& out) const override {
    Strategy::save_state(out);
    out.put(static_cast<std::int64_t>(replica_gpus_.size()));
    for (const auto& gpus : replica_gpus_) out.put(gpus);
    history_.save(out);
  }
  void load_state(StateReader& in) override {
    Strategy::load_state(in);
    const std::int64_t experts = in.get();
    if (experts != experts_) throw std::invalid_argument("eplb state: another expert count");
    replica_gpus_.assign(static_cast<std::size_t>(experts), {});
    for (auto& gpus : replica_gpus_) gpus = in.get_vector<int>();
    history_.load(in);
  }

 private:
  // From the current placement (none yet at construction): experts that stay on a GPU keep their slot.
  schedule::EplbPlacement place(const std::vector<std::int64_t>& forecast) const {
    return schedule::make_eplb_placement(schedule::eplb_rebalance_experts(forecast, replicas_, groups_, nodes_, gpus_),
                                         gpus_, experts_, placement_.gpus > 0 ? &placement_ : nullptr);
  }
  void adopt(schedule::EplbPlacement p) {
    placement_ = std::move(p.placement);
    replica_gpus_ = std::move(p.replica_gpus);
  }

  int gpus_, experts_, replicas_, groups_, nodes_, interval_;
  std::vector<std::vector<int>> replica_gpus_;
  LoadHistory history_;
};

class MicroEpStrategy : public Strategy {
 public:
  MicroEpStrategy(const StrategyConfig& cfg, int gpus, int experts, int ep_size, bool adaptive)
      : cfg_(cfg),
        adaptive_(adaptive),
        forecast_(experts, cfg.adaptive_recent_weight),
        detector_(schedule::ShiftOptions{cfg.adaptive_shift_threshold, 1.05}) {
    placement_ = schedule::make_shuffled_placement(cfg.placement, gpus, experts / ep_size, experts, cfg.seed);
    gpus_per_node_ = cfg.gpus_per_node > 0 ? cfg.gpus_per_node : gpus;
    solver_ = make_solver();
  }
  StrategyKind kind() const override { return adaptive_ ? StrategyKind::microep_adaptive : StrategyKind::microep; }
  void route(const schedule::CountMatrix& c, schedule::Routing& out) override {
    solver_->solve(c, plan_);
    schedule::build_routes(placement_, c, plan_, gpus_per_node_, out);
    watch(c);
  }
  void route_rank(const schedule::CountMatrix& c, int gpu, schedule::RankRouting& out) override {
    solver_->solve(c, plan_);
    const auto& sums = solver_->node_counts();  // summed by the solve: not summed again
    schedule::build_rank_routes(placement_, c, plan_, gpus_per_node_, gpu, out, sums.empty() ? nullptr : sums.data());
    watch(c);
  }
  std::int64_t shifts_detected() const override { return detector_.shifts(); }
  /// Re-places every K iterations, or after an iteration with a detected shift (its recent
  /// forecast then restarts from this iteration), from the hedged forecast; keeps the current
  /// placement when the new one raises the forecast's exact optimum (an early one: unless it
  /// lowers it).
  bool end_iteration(const std::vector<std::int64_t>& loads) override {
    if (!adaptive_) return false;
    forecast_.add(loads);
    ++since_replacement_;
    const bool shift = detector_.pending();
    detector_.clear();
    if (shift) forecast_.restart_recent(loads);
    const bool scheduled = since_replacement_ >= cfg_.replace_interval;
    if (!scheduled && !shift) return false;
    since_replacement_ = 0;
    schedule::ReplacementOptions opt;
    opt.adaptive.seed = cfg_.seed;
    opt.adaptive.search_iterations = cfg_.adaptive_search_iterations;
    const auto forecast = forecast_.forecast();
    opt.adaptive.floors = schedule::adaptive_floors(placement_.gpus, placement_.slots_per_gpu, forecast,
                                                    cfg_.adaptive_min_replicas, schedule::HedgedForecast::kScale);
    opt.max_migrations = cfg_.adaptive_max_migrations > 0 ? cfg_.adaptive_max_migrations
                                                          : std::max(1, placement_.gpus * placement_.slots_per_gpu / 2);
    auto next = schedule::make_bounded_replacement(placement_, forecast, opt);
    // An early (shift) re-placement must lower the forecast's optimum; a scheduled one may keep it.
    if (next.placement == placement_ || next.forecast_max_load > next.current_max_load ||
        (!scheduled && next.forecast_max_load == next.current_max_load))
      return false;
    last_migrations_ = count_migrations(placement_, next.placement);
    placement_ = std::move(next.placement);
    solver_ = make_solver();
    return true;
  }
  void save_state(StateWriter& out) const override {
    Strategy::save_state(out);
    forecast_.save(out);
    detector_.save(out);
    out.put(since_replacement_);
    solver_->save_warm_state(out);
  }
  void load_state(StateReader& in) override {
    Strategy::load_state(in);
    forecast_.load(in);
    detector_.load(in);
    since_replacement_ = in.get_int();
    solver_ = make_solver();  // for the restored placement
    solver_->load_warm_state(in);
  }

 private:
  /// microep-adaptive: the shift detector sees every micro-batch's proven optimum.
  void watch(const schedule::CountMatrix& c) {
    if (adaptive_) detector_.observe(plan_.lower_bound, c.expert_loads(), placement_.gpus, placement_.slots_per_gpu);
  }

  /// The solver keeps tokens on their node among the optimal plans (not only in the routes).
  std::unique_ptr<schedule::Solver> make_solver() const {
    schedule::SolverOptions options;
    options.gpus_per_node = gpus_per_node_;
    return std::make_unique<schedule::Solver>(placement_, options);
  }

  StrategyConfig cfg_;
  bool adaptive_;
  int gpus_per_node_ = 1;
  std::unique_ptr<schedule::Solver> solver_;
  schedule::Plan plan_;
  schedule::HedgedForecast forecast_;
  schedule::ShiftDetector detector_;
  int since_replacement_ = 0;
};

}  // namespace

void Strategy::route_rank(const schedule::CountMatrix& counts, int gpu, schedule::RankRouting& out) {
  route(counts, whole_);
  schedule::slice_routing(whole_, placement_, gpu, out);
}

void Strategy::save_state(StateWriter& out) const {
  out.put(placement_.gpus);
  out.put(placement_.slots_per_gpu);
  out.put(placement_.experts);
  out.put(placement_.expert_at);
  out.put(last_migrations_);
}

void Strategy::load_state(StateReader& in) {
  const int gpus = in.get_int(), slots = in.get_int(), experts = in.get_int();
  auto expert_at = in.get_vector<int>();
  if (gpus != placement_.gpus || experts != placement_.experts)
    throw std::invalid_argument("strategy state: another group size or expert count");
  placement_ = schedule::Placement(gpus, slots, experts, std::move(expert_at));  // validates
  last_migrations_ = in.get();
}

int resolve_ep_size(const StrategyConfig& config, int gpus, int experts) {
  const int p = config.ep_size > 0 ? config.ep_size : gcd(gpus, experts);
  if (gpus % p != 0 || experts % p != 0)
    throw InputError("strategy ep_size " + std::to_string(p) + " must divide the group size " + std::to_string(gpus) +
                     " and the expert count " + std::to_string(experts));
  return p;
}

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& config, int gpus, int experts) {
  if (gpus < 1 || experts < 1) throw InputError("strategy: need at least one GPU and one expert");
  const int p = resolve_ep_size(config, gpus, experts);
  if (config.replace_interval < 1) throw InputError("strategy replace_interval must be >= 1");
  const auto kind = config.kind;
  try {
    switch (kind) {
      case StrategyKind::ep:
      case StrategyKind::balanced:
        return std::make_unique<EpStrategy>(kind, gpus, experts, p, 1.0);
      case StrategyKind::ep_capacity:
        if (!(config.capacity_factor > 0.0)) throw InputError("strategy capacity_factor must be > 0");
        return std::make_unique<EpStrategy>(kind, gpus, experts, p, config.capacity_factor);
      case StrategyKind::eplb:
        if (config.eplb_extra_slots < 1) throw InputError("strategy eplb_extra_slots must be >= 1");
        if (config.eplb_groups < 1) throw InputError("strategy eplb_groups must be >= 1");
        return std::make_unique<EplbStrategy>(gpus, experts, p, config.eplb_extra_slots, config.replace_interval,
                                              config.eplb_groups, config.gpus_per_node);
      case StrategyKind::microep:
      case StrategyKind::microep_adaptive:
        return std::make_unique<MicroEpStrategy>(config, gpus, experts, p, kind == StrategyKind::microep_adaptive);
    }
  } catch (const std::invalid_argument& e) {
    throw InputError("strategy '" + to_string(kind) + "': " + e.what());
  }
  throw InputError("unknown strategy kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace micromoe::strategy
