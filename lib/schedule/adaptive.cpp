// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/adaptive.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <string>

#include "schedule/solver.hpp"

namespace micromoe::schedule {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("adaptive: " + what); }

std::int64_t optimum(const Placement& p, const std::vector<std::int64_t>& loads) {
  SolverOptions o;
  o.locality = false;
  o.warm_start = false;
  o.dense_tokens = false;
  Solver solver(p, o);
  return solver.solve_loads(loads).max_load;
}

std::int64_t count_new_pairs(const Placement& from, const std::vector<int>& at, int G, int S) {
  std::int64_t m = 0;
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < S; ++j) {
      const int e = at[static_cast<std::size_t>(g) * S + j];
      if (e < 0) continue;
      const auto& reps = from.replicas(e);
      if (!std::binary_search(reps.begin(), reps.end(), g)) ++m;
    }
  return m;
}

// a/da < b/db, exactly.
bool less_per_replica(std::int64_t a, int da, std::int64_t b, int db) {
  return static_cast<__int128>(a) * db < static_cast<__int128>(b) * da;
}

}  // namespace

// ---- Forecast ----------------------------------------------------------------------------------

HedgedForecast::HedgedForecast(int experts, double recent_weight)
    : weight_(recent_weight),
      recent_(static_cast<std::size_t>(std::max(experts, 0)), 0.0),
      sum_(static_cast<std::size_t>(std::max(experts, 0)), 0.0) {
  if (!(recent_weight > 0.0 && recent_weight <= 1.0)) fail("forecast: recent_weight must be in (0, 1]");
}

void HedgedForecast::add(const std::vector<std::int64_t>& loads) {
  if (loads.size() != recent_.size()) fail("forecast: loads size differs from the expert count");
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  if (total <= 0) return;
  for (std::size_t e = 0; e < loads.size(); ++e) {
    const double share = static_cast<double>(loads[e]) / static_cast<double>(total);
    recent_[e] = observations_ == 0 ? share : (1.0 - weight_) * recent_[e] + weight_ * share;
    sum_[e] += share;
  }
  ++observations_;
}

void HedgedForecast::restart_recent(const std::vector<std::int64_t>& loads) {
  if (loads.size() != recent_.size()) fail("forecast: loads size differs from the expert count");
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  if (total <= 0) return;
  for (std::size_t e = 0; e < loads.size(); ++e)
    recent_[e] = static_cast<double>(loads[e]) / static_cast<double>(total);
}

std::vector<double> HedgedForecast::longrun() const {
  std::vector<double> m(sum_.size(), 0.0);
  if (observations_ > 0)
    for (std::size_t e = 0; e < m.size(); ++e) m[e] = sum_[e] / observations_;
  return m;
}

std::vector<std::int64_t> HedgedForecast::forecast(std::int64_t scale) const {
  const auto mean = longrun();
  std::vector<std::int64_t> f(recent_.size(), 1);
  for (std::size_t e = 0; e < f.size(); ++e)
    f[e] += static_cast<std::int64_t>(std::llround(static_cast<double>(scale) * std::max(recent_[e], mean[e])));
  return f;
}

// ---- Shift detector ----------------------------------------------------------------------------

bool ShiftDetector::observe(std::int64_t optimum_load, const std::vector<std::int64_t>& loads, int gpus,
                            int slots_per_gpu) {
  std::int64_t total = 0;
  for (auto l : loads) total += l;
  if (total <= 0 || optimum_load <= 0) return false;
  const double imbalance = static_cast<double>(optimum_load) * gpus / static_cast<double>(total);
  if (imbalance <= options_.threshold) return false;
  if (static_cast<double>(optimum_load) <=
      options_.margin * static_cast<double>(memory_bound(loads, gpus, slots_per_gpu)))
    return false;
  pending_ = true;
  ++shifts_;
  return true;
}

std::vector<int> adaptive_floors(int gpus, int slots_per_gpu, const std::vector<std::int64_t>& forecast,
                                 int min_replicas, std::int64_t share_scale) {
  const int G = gpus, S = slots_per_gpu, E = static_cast<int>(forecast.size());
  const std::int64_t slots = static_cast<std::int64_t>(G) * S;
  if (G < 1 || S < 1 || E < 1 || slots < E) fail("floors: need G, S, E >= 1 and G*S >= E");
  if (min_replicas < 0) fail("floors: min_replicas must be >= 0 (0: auto)");
  if (min_replicas > 0) return std::vector<int>(static_cast<std::size_t>(E), replica_floor(G, S, E, min_replicas));
  const int d = replica_floor(G, S, E, static_cast<int>(std::min<std::int64_t>(G, slots / E)));
  std::vector<int> floors(static_cast<std::size_t>(E), 1);
  std::int64_t total = 0;
  for (auto f : forecast) {
    if (f < 0) fail("floors: a negative forecast load");
    total += f;
  }
  if (share_scale > 0) total = share_scale;
  if (d <= 1 || total <= 0) return floors;
  std::vector<int> r(static_cast<std::size_t>(E));
  std::int64_t spare = slots;
  for (int e = 0; e < E; ++e) {
    // Twice the replicas that bring the forecast load per replica to the mean: the headroom
    // measured best (docs/PERFORMANCE.md): less starves the hot experts of noisy streams.
    const auto need = static_cast<std::int64_t>(
        (static_cast<__int128>(forecast[static_cast<std::size_t>(e)]) * 2 * G + total - 1) / total);
    r[static_cast<std::size_t>(e)] = static_cast<int>(std::min<std::int64_t>(G, std::max<std::int64_t>(1, need)));
    spare -= r[static_cast<std::size_t>(e)];
  }
  if (spare < 0) return floors;  // balance first: the hot experts need all the memory
  std::vector<int> order(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) order[static_cast<std::size_t>(e)] = e;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return forecast[static_cast<std::size_t>(a)] > forecast[static_cast<std::size_t>(b)];
  });
  // Raised up to ep's count d. (Until the slot packing could split an expert over slot indices,
  // floors of d left it no room where d >= 3 and the cap was d - 1.)
  const int cap = d;
  for (int level = 2; level <= cap && spare > 0; ++level)
    for (int e : order) {
      if (spare == 0) break;
      if (r[static_cast<std::size_t>(e)] < level) {
        ++r[static_cast<std::size_t>(e)];
        --spare;
      }
    }
  for (int e = 0; e < E; ++e) floors[static_cast<std::size_t>(e)] = std::min(r[static_cast<std::size_t>(e)], cap);
  return floors;
}

int adaptive_floor(int gpus, int slots_per_gpu, int experts, int min_replicas) {
  return min_replicas > 0 ? replica_floor(gpus, slots_per_gpu, experts, min_replicas) : 1;
}

// ---- Bounded re-placement ----------------------------------------------------------------------

Replacement make_bounded_replacement(const Placement& current, const std::vector<std::int64_t>& forecast,
                                     const ReplacementOptions& options) {
  const int G = current.gpus, S = current.slots_per_gpu, E = current.experts;
  if (forecast.size() != static_cast<std::size_t>(E)) fail("re-placement: forecast size differs from the experts");
  Replacement out;
  out.current_max_load = optimum(current, forecast);
  AdaptivePlacement fresh = make_adaptive_placement(G, S, forecast, &current, options.adaptive);
  if (options.max_migrations <= 0 || fresh.migrations <= options.max_migrations) {
    out.placement = std::move(fresh.placement);
    out.migrations = fresh.migrations;
    out.forecast_max_load = fresh.forecast_max_load;
    out.fresh = true;
    return out;
  }
  // Single-copy moves from the current placement, any position to any expert (an expert's
  // slot index may differ between its GPUs).
  std::vector<int> floor(static_cast<std::size_t>(E), replica_floor(G, S, E, options.adaptive.min_replicas));
  if (!options.adaptive.floors.empty())
    for (int e = 0; e < E; ++e)
      floor[static_cast<std::size_t>(e)] =
          std::max(1, std::min(G, options.adaptive.floors[static_cast<std::size_t>(e)]));
  const auto& L = forecast;
  std::vector<int> at = current.expert_at;
  std::vector<int> d(static_cast<std::size_t>(E), 0);
  std::vector<char> holds(static_cast<std::size_t>(G) * E, 0);  // holds[g * E + e]
  for (int g = 0; g < G; ++g)
    for (int j = 0; j < S; ++j) {
      const int e = at[static_cast<std::size_t>(g) * S + j];
      if (e < 0) continue;
      ++d[static_cast<std::size_t>(e)];
      holds[static_cast<std::size_t>(g) * E + e] = 1;
    }
  auto per_replica_less = [&](int a, int da, int b, int db) {  // L_a / da < L_b / db
    return less_per_replica(L[static_cast<std::size_t>(a)], da, L[static_cast<std::size_t>(b)], db);
  };
  std::vector<double> share(static_cast<std::size_t>(G));
  std::vector<int> receivers(static_cast<std::size_t>(E));
  std::int64_t moved = 0;
  // A move adds at most one new pair; the step cap only guards against moves that undo others.
  for (std::int64_t step = 0; moved < options.max_migrations && step < 4 * options.max_migrations + G * S; ++step) {
    std::fill(share.begin(), share.end(), 0.0);
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < S; ++j) {
        const int e = at[static_cast<std::size_t>(g) * S + j];
        if (e >= 0)
          share[static_cast<std::size_t>(g)] +=
              static_cast<double>(L[static_cast<std::size_t>(e)]) / d[static_cast<std::size_t>(e)];
      }
    // Receivers by descending forecast load per replica (ties: lower id); the first with a
    // position to take gets it.
    std::iota(receivers.begin(), receivers.end(), 0);
    std::stable_sort(receivers.begin(), receivers.end(), [&](int a, int b) {
      return per_replica_less(b, d[static_cast<std::size_t>(b)], a, d[static_cast<std::size_t>(a)]);
    });
    int pick = -1, receiver = -1;
    for (const int b : receivers) {
      const int db = d[static_cast<std::size_t>(b)];
      if (db >= G) continue;
      // The position: an empty one, else a copy of the donor with the smallest load per
      // remaining replica above its floor, where the move lowers the pair's largest load per
      // replica; on a GPU without b, the least forecast share first.
      int donor = -2;  // -1: an empty position
      for (int g = 0; g < G; ++g) {
        if (holds[static_cast<std::size_t>(g) * E + b]) continue;
        for (int j = 0; j < S; ++j) {
          const std::size_t x = static_cast<std::size_t>(g) * S + j;
          const int a = at[x];
          bool better;
          if (a < 0) {
            better = donor != -1 || share[static_cast<std::size_t>(g)] < share[pick / S];
          } else {
            const int da = d[static_cast<std::size_t>(a)];
            if (da <= floor[static_cast<std::size_t>(a)] || !per_replica_less(a, da - 1, b, db)) continue;
            if (donor == -1) continue;
            better = donor < 0 || per_replica_less(a, da - 1, donor, d[static_cast<std::size_t>(donor)] - 1) ||
                     (a == donor && share[static_cast<std::size_t>(g)] < share[pick / S]);
          }
          if (better) {
            donor = a;
            pick = static_cast<int>(x);
          }
        }
      }
      if (donor != -2) {
        receiver = b;
        if (donor >= 0) {
          --d[static_cast<std::size_t>(donor)];
          holds[static_cast<std::size_t>(pick / S) * E + donor] = 0;
        }
        break;
      }
    }
    if (receiver < 0) break;
    ++d[static_cast<std::size_t>(receiver)];
    holds[static_cast<std::size_t>(pick / S) * E + receiver] = 1;
    at[static_cast<std::size_t>(pick)] = receiver;
    moved = count_new_pairs(current, at, G, S);
  }
  out.placement = Placement(G, S, E, std::move(at));
  out.migrations = moved;
  out.forecast_max_load = optimum(out.placement, forecast);
  return out;
}

namespace {

std::vector<std::int64_t> bits_of(const std::vector<double>& values) {
  std::vector<std::int64_t> bits(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&bits[i], &values[i], sizeof(double));
  return bits;
}

std::vector<double> doubles_of(const std::vector<std::int64_t>& bits) {
  std::vector<double> values(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) std::memcpy(&values[i], &bits[i], sizeof(double));
  return values;
}

}  // namespace

void HedgedForecast::save(StateWriter& out) const {
  out.put(observations_);
  out.put(bits_of(recent_));
  out.put(bits_of(sum_));
}

void HedgedForecast::load(StateReader& in) {
  const int observations = in.get_int();
  auto recent = doubles_of(in.get_vector<std::int64_t>());
  auto sum = doubles_of(in.get_vector<std::int64_t>());
  if (!recent.empty() && recent.size() != recent_.size())
    throw std::invalid_argument("adaptive forecast state: another expert count");
  observations_ = observations;
  recent_ = std::move(recent);
  sum_ = std::move(sum);
}

}  // namespace micromoe::schedule
