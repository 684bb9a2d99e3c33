// SPDX-License-Identifier: BSD-3-Clause
#include "schedule/solver.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <utility>

namespace micromoe::schedule {

namespace {

/// acc[e] += row[e] over n entries; ORs every entry into `any` (a negative count sets the sign
/// bit). Restrict-qualified so the loop vectorises: the count pass is memory-bound at large G x E.
void add_counts(std::int64_t* __restrict acc, const std::int64_t* __restrict row, int n, std::int64_t& any) {
  std::int64_t bits = 0;
  for (int e = 0; e < n; ++e) {
    acc[e] += row[e];
    bits |= row[e];
  }
  any |= bits;
}

/// A two-replica expert's load change, split evenly (the first replica takes the odd unit) and
/// without branches; a replica that would go below zero passes its shortfall to the other.
/// Applies the changes to xa, xb and returns them.
inline std::pair<std::int64_t, std::int64_t> split_pair_change(std::int64_t& xa, std::int64_t& xb, std::int64_t delta) {
  const std::int64_t half = delta / 2;  // rounds toward zero
  std::int64_t ca = delta - half, cb = half;
  const std::int64_t short_a = std::max<std::int64_t>(-(xa + ca), 0);  // > 0 only when shrinking below 0
  const std::int64_t short_b = std::max<std::int64_t>(-(xb + cb), 0);
  ca += short_a - short_b;
  cb += short_b - short_a;
  xa += ca;
  xb += cb;
  return {ca, cb};
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {  // b > 0, a >= 0
  return a <= 0 ? 0 : (a + b - 1) / b;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0, any sign of a
  std::int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

// Both solve() overloads take the whole G x E counts (the locality tiers read them).
void require_count_shape(const CountMatrix& counts, int gpus, int experts) {
  if (counts.experts != experts)
    throw std::invalid_argument("counts: " + std::to_string(counts.experts) + " experts, the placement has " +
                                std::to_string(experts));
  if (counts.sources != gpus)
    throw std::invalid_argument("counts: " + std::to_string(counts.sources) + " source rows, expected one per GPU (" +
                                std::to_string(gpus) + ")");
  if (counts.data.size() != static_cast<std::size_t>(gpus) * experts)
    throw std::invalid_argument("counts: data has " + std::to_string(counts.data.size()) + " entries, expected " +
                                std::to_string(static_cast<std::size_t>(gpus) * experts));
}

}  // namespace

// ---- CountMatrix ---------------------------------------------------------------------------

std::vector<std::int64_t> CountMatrix::expert_loads() const {
  std::vector<std::int64_t> loads(static_cast<std::size_t>(experts), 0);
  for (int s = 0; s < sources; ++s) {
    const std::int64_t* row = data.data() + static_cast<std::size_t>(s) * experts;
    for (int e = 0; e < experts; ++e) loads[static_cast<std::size_t>(e)] += row[e];
  }
  return loads;
}

void CountMatrix::validate() const {
  if (sources < 0 || experts < 0) throw std::invalid_argument("counts: negative shape");
  if (data.size() != static_cast<std::size_t>(sources) * static_cast<std::size_t>(experts))
    throw std::invalid_argument(
        "counts: data has " + std::to_string(data.size()) +
        " entries, expected sources*experts = " + std::to_string(static_cast<std::size_t>(sources) * experts));
  for (std::size_t i = 0; i < data.size(); ++i)
    if (data[i] < 0)
      throw std::invalid_argument("counts: negative count " + std::to_string(data[i]) + " at source " +
                                  std::to_string(i / static_cast<std::size_t>(experts)) + ", expert " +
                                  std::to_string(i % static_cast<std::size_t>(experts)));
}

double Plan::imbalance() const {
  if (total_tokens <= 0 || gpus <= 0) return 1.0;
  return static_cast<double>(max_load) * gpus / static_cast<double>(total_tokens);
}

// ---- Solver --------------------------------------------------------------------------------

Solver::Solver(Placement placement, SolverOptions options)
    : placement_(std::move(placement)), options_(std::move(options)) {
  placement_.reindex();
  G_ = placement_.gpus;
  S_ = placement_.slots_per_gpu;
  E_ = placement_.experts;
  w_.assign(static_cast<std::size_t>(G_), 1);
  if (!options_.capacity_weights.empty()) {
    if (options_.capacity_weights.size() != static_cast<std::size_t>(G_))
      throw std::invalid_argument("solver: capacity_weights has " + std::to_string(options_.capacity_weights.size()) +
                                  " entries, expected one per GPU (" + std::to_string(G_) + ")");
    for (int g = 0; g < G_; ++g) {
      const std::int64_t w = options_.capacity_weights[static_cast<std::size_t>(g)];
      if (w < 1 || w > (std::int64_t{1} << 20))
        throw std::invalid_argument("solver: capacity weight of GPU " + std::to_string(g) + " is " + std::to_string(w) +
                                    ", must be in [1, 2^20]");
      w_[static_cast<std::size_t>(g)] = w;
    }
    wmax_ = *std::max_element(w_.begin(), w_.end());
    weighted_ = std::any_of(w_.begin(), w_.end(), [&](std::int64_t w) { return w != wmax_; });
    if (!weighted_) {
      std::fill(w_.begin(), w_.end(), 1);
      wmax_ = 1;
    }
  }
  if (options_.gpus_per_node < 0)
    throw std::invalid_argument("solver: gpus_per_node must be >= 0, got " + std::to_string(options_.gpus_per_node));
  gpus_per_node_ = options_.gpus_per_node > 0 ? options_.gpus_per_node : G_;
  if (node_aware()) node_counts_.assign(static_cast<std::size_t>((G_ + gpus_per_node_ - 1) / gpus_per_node_) * E_, 0);
  slot_expert_ = placement_.expert_at;
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id.fetch_add(1);
  token_index_.resize(static_cast<std::size_t>(G_) * S_);
  for (int g = 0; g < G_; ++g)
    for (int j = 0; j < S_; ++j) {
      const int e = slot_expert_[static_cast<std::size_t>(g) * S_ + j];
      token_index_[static_cast<std::size_t>(g) * S_ + j] = e < 0 ? -1 : static_cast<std::int64_t>(e) * G_ + g;
    }
  rep_begin_.assign(static_cast<std::size_t>(E_) + 1, 0);
  for (int e = 0; e < E_; ++e) {
    for (int g : placement_.replicas(e)) {
      rep_gpu_.push_back(g);
      rep_x_.push_back(static_cast<std::int64_t>(g) * S_ + placement_.slot_on(g, e));
    }
    rep_begin_[static_cast<std::size_t>(e) + 1] = static_cast<int>(rep_gpu_.size());
  }
  all_gpus_.resize(static_cast<std::size_t>(G_));
  for (int g = 0; g < G_; ++g) all_gpus_[static_cast<std::size_t>(g)] = g;
  uniform_d_ = placement_.uniform_replicas();
  gpu_shift_ = (G_ & (G_ - 1)) == 0 ? __builtin_ctz(static_cast<unsigned>(G_)) : -1;
  replica_count_.resize(static_cast<std::size_t>(E_));
  for (int e = 0; e < E_; ++e) replica_count_[static_cast<std::size_t>(e)] = placement_.replica_count(e);
  arc_begin_.assign(static_cast<std::size_t>(G_) + 1, 0);
  for (int g = 0; g < G_; ++g) {
    for (int j = 0; j < S_; ++j) {
      const int e = slot_expert_[static_cast<std::size_t>(g) * S_ + j];
      if (e < 0) continue;
      for (int h : placement_.replicas(e)) {
        if (h == g) continue;
        arc_slot_.push_back(j);
        arc_to_.push_back(h);
        arc_to_slot_.push_back(placement_.slot_on(h, e));
      }
    }
    arc_begin_[static_cast<std::size_t>(g) + 1] = static_cast<int>(arc_slot_.size());
  }
  const auto GS = static_cast<std::size_t>(G_) * S_;
  if (G_ <= kMaskGpus) {  // the other replicas of every (gpu, slot)'s expert, as a GPU bit mask
    nb_mask_.assign(GS, 0);
    for (int g = 0; g < G_; ++g)
      for (int j = 0; j < S_; ++j) {
        const int e = slot_expert_[static_cast<std::size_t>(g) * S_ + j];
        if (e < 0) continue;
        for (int h : placement_.replicas(e))
          if (h != g) nb_mask_[static_cast<std::size_t>(g) * S_ + j] |= std::uint64_t{1} << h;
      }
  }
  loads_.assign(static_cast<std::size_t>(E_), 0);
  prev_loads_.assign(static_cast<std::size_t>(E_), 0);
  x_.assign(GS, 0);
  local_.assign(GS, 0);
  gpu_load_.assign(static_cast<std::size_t>(G_), 0);
  capv_.assign(static_cast<std::size_t>(G_), 0);
  level_.assign(static_cast<std::size_t>(G_), -1);
  it_.assign(static_cast<std::size_t>(G_), 0);
  queue_.reserve(static_cast<std::size_t>(G_));
  mark_.assign(static_cast<std::size_t>(G_), 0);
}

void Solver::reset() {
  critical_gpus_.clear();
  history_.clear();
  history_next_ = 0;
  have_prev_ = false;
}

void Solver::save_warm_state(StateWriter& out) const {
  out.put(critical_gpus_);
  out.put(static_cast<std::int64_t>(history_.size()));
  for (const auto& set : history_) {
    out.put(set.gpus);
    out.put(set.experts);
  }
  out.put(static_cast<std::int64_t>(history_next_));
  out.put(prev_loads_);
  out.put(x_);
  out.put(gpu_load_);
  out.put(have_prev_ ? 1 : 0);
}

void Solver::load_warm_state(StateReader& in) {
  const auto in_range = [](const std::vector<int>& v, int n) {
    return std::all_of(v.begin(), v.end(), [n](int i) { return i >= 0 && i < n; });
  };
  auto critical = in.get_vector<int>();
  const std::int64_t sets = in.get();
  if (!in_range(critical, G_) || sets < 0 || sets > static_cast<std::int64_t>(kHistory))
    throw std::invalid_argument("solver warm state does not fit the placement");
  std::vector<CriticalSet> history(static_cast<std::size_t>(sets));
  for (auto& set : history) {
    set.gpus = in.get_vector<int>();
    set.experts = in.get_vector<int>();
    if (!in_range(set.gpus, G_) || !in_range(set.experts, E_))
      throw std::invalid_argument("solver warm state does not fit the placement");
  }
  const std::int64_t next = in.get();
  auto prev = in.get_vector<std::int64_t>();
  auto x = in.get_vector<std::int64_t>();
  auto gpu_load = in.get_vector<std::int64_t>();
  const std::int64_t have_prev = in.get();
  if (next < 0 || next >= static_cast<std::int64_t>(kHistory) || prev.size() != prev_loads_.size() ||
      x.size() != x_.size() || gpu_load.size() != gpu_load_.size())
    throw std::invalid_argument("solver warm state does not fit the placement");
  critical_gpus_ = std::move(critical);
  history_ = std::move(history);
  history_next_ = static_cast<std::size_t>(next);
  prev_loads_ = std::move(prev);
  x_ = std::move(x);
  gpu_load_ = std::move(gpu_load);
  have_prev_ = have_prev != 0;
}

std::int64_t Solver::cap(int g, std::int64_t level) const {
  if (!weighted_) return level;
  return static_cast<std::int64_t>(static_cast<__int128>(level) * w_[static_cast<std::size_t>(g)] / wmax_);
}

std::int64_t Solver::set_bound(const std::vector<int>& gpus, std::int64_t load) const {
  if (load <= 0 || gpus.empty()) return 0;
  const auto n = static_cast<std::int64_t>(gpus.size());
  if (!weighted_) return ceil_div(load, n);
  __int128 W = 0;
  for (int g : gpus) W += w_[static_cast<std::size_t>(g)];
  auto lo = static_cast<std::int64_t>((static_cast<__int128>(load) * wmax_ + W - 1) / W);
  auto hi = static_cast<std::int64_t>((static_cast<__int128>(load + n) * wmax_ + W - 1) / W);
  auto ok = [&](std::int64_t T) {
    __int128 sum = 0;
    for (int g : gpus) sum += cap(g, T);
    return sum >= load;
  };
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (ok(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

std::int64_t Solver::expert_bound(int e, std::int64_t load) const {
  if (!weighted_) return ceil_div(load, placement_.replica_count(e));
  return set_bound(placement_.replicas(e), load);
}

void Solver::remember_critical(const std::vector<int>& gpus) {
  CriticalSet c;
  c.gpus = gpus;
  for (int g : gpus) mark_[static_cast<std::size_t>(g)] = 1;
  for (int e = 0; e < E_; ++e) {
    bool inside = true;
    for (int k = rep_begin_[static_cast<std::size_t>(e)]; k < rep_begin_[static_cast<std::size_t>(e) + 1]; ++k)
      if (!mark_[static_cast<std::size_t>(rep_gpu_[static_cast<std::size_t>(k)])]) {
        inside = false;
        break;
      }
    if (inside) c.experts.push_back(e);
  }
  for (int g : gpus) mark_[static_cast<std::size_t>(g)] = 0;
  if (history_.size() < kHistory) {
    history_.push_back(std::move(c));
  } else {
    history_[history_next_] = std::move(c);
    history_next_ = (history_next_ + 1) % kHistory;
  }
}

Plan Solver::solve(const CountMatrix& counts) {
  Plan out;
  solve(counts, out);
  return out;
}

void Solver::solve(const CountMatrix& counts, Plan& out) {
  require_count_shape(counts, G_, E_);
  std::fill(loads_.begin(), loads_.end(), 0);
  std::int64_t any_negative = 0;
  const bool by_node = node_aware();
  if (by_node) std::fill(node_counts_.begin(), node_counts_.end(), 0);
  if (by_node) {
    // The per-node totals c_n[e] (for the node-aware initial plan and build_rank_routes) in the
    // one pass over the counts, then the loads from them (nodes x E, not G x E).
    for (int s = 0; s < G_; ++s)
      add_counts(node_counts_.data() + static_cast<std::size_t>(s / gpus_per_node_) * E_,
                 counts.data.data() + static_cast<std::size_t>(s) * E_, E_, any_negative);
    std::int64_t unused = 0;
    for (std::size_t n = 0; n * static_cast<std::size_t>(E_) < node_counts_.size(); ++n)
      add_counts(loads_.data(), node_counts_.data() + n * E_, E_, unused);
  } else {
    for (int s = 0; s < G_; ++s)
      add_counts(loads_.data(), counts.data.data() + static_cast<std::size_t>(s) * E_, E_, any_negative);
  }
  if (any_negative < 0) counts.validate();  // throws naming the entry
  run(options_.locality ? counts.data.data() : nullptr, loads_.data(), out);
}

void Solver::solve(const CountMatrix& counts, const std::vector<std::int64_t>& node_sums, Plan& out) {
  require_count_shape(counts, G_, E_);
  const bool by_node = node_aware();
  const std::size_t rows = by_node ? node_counts_.size() / static_cast<std::size_t>(E_) : 1;
  if (node_sums.size() != rows * static_cast<std::size_t>(E_))
    throw std::invalid_argument("node sums: " + std::to_string(node_sums.size()) + " entries, expected " +
                                std::to_string(rows * static_cast<std::size_t>(E_)));
  std::fill(loads_.begin(), loads_.end(), 0);
  std::int64_t any_negative = 0;
  for (std::size_t n = 0; n < rows; ++n) add_counts(loads_.data(), node_sums.data() + n * E_, E_, any_negative);
  if (any_negative < 0) throw std::invalid_argument("node sums: a negative entry");
  if (by_node) std::copy(node_sums.begin(), node_sums.end(), node_counts_.begin());
  run(options_.locality ? counts.data.data() : nullptr, loads_.data(), out);
}

Plan Solver::solve_loads(const std::vector<std::int64_t>& loads) {
  Plan out;
  solve_loads(loads, out);
  return out;
}

void Solver::solve_loads(const std::vector<std::int64_t>& loads, Plan& out) {
  if (loads.size() != static_cast<std::size_t>(E_))
    throw std::invalid_argument("loads: " + std::to_string(loads.size()) + " entries, the placement has " +
                                std::to_string(E_) + " experts");
  std::int64_t any_negative = 0;
  for (int e = 0; e < E_; ++e) {
    const std::int64_t l = loads[static_cast<std::size_t>(e)];
    any_negative |= l;
    loads_[static_cast<std::size_t>(e)] = l;
  }
  if (any_negative < 0)
    for (int e = 0; e < E_; ++e)
      if (loads[static_cast<std::size_t>(e)] < 0)
        throw std::invalid_argument("loads: negative load for expert " + std::to_string(e));
  run(nullptr, loads.data(), out);
}

void Solver::run(const std::int64_t* counts, const std::int64_t* loads, Plan& out) {
  const auto GS = static_cast<std::size_t>(G_) * S_;
  augment_count_ = 0;

  const bool warm_plan = options_.warm_start && !counts && have_prev_;

  // The total and the expert with the largest load per replica (no division).
  std::int64_t total = 0;
  int top = -1;
  std::int64_t top_load = 0, top_d = 1;
  const int* rep_begin = rep_begin_.data();
  const std::int64_t* rep_x = rep_x_.data();
  if (uniform_d_ > 0) {
    // Every expert has d replicas: the largest load decides (a max, no dependent chain); its
    // index is looked up only when it sets the bound. Read from the caller's copy: loads_ was
    // just stored, element by element, and wide loads of it would wait for those stores.
    std::int64_t mx = 0;
    for (int e = 0; e < E_; ++e) {
      const std::int64_t l = loads[e];
      total += l;
      mx = std::max(mx, l);
    }
    top_load = mx;
    top_d = uniform_d_;
  } else {
    for (int e = 0; e < E_; ++e) {
      const std::int64_t l = loads_[static_cast<std::size_t>(e)];
      total += l;
      const std::int64_t d = rep_begin[e + 1] - rep_begin[e];
      if (l * top_d > top_load * d) {
        top = e;
        top_load = l;
        top_d = d;
      }
    }
  }

  // Lower bounds: global, per expert, previous critical set.
  std::int64_t T = weighted_         ? set_bound(all_gpus_, total)
                   : gpu_shift_ >= 0 ? (total + G_ - 1) >> gpu_shift_  // no division for 2^k GPUs
                                     : ceil_div(total, G_);
  int crit_kind = 0;  // 0 all GPUs, 1 an expert's replica set, 2 the previous critical set, 3 a new set
  int crit_expert = -1;
  if (!weighted_) {
    if (top_load > T * top_d) {  // ceil(top_load / top_d) > T, without dividing
      T = ceil_div(top_load, top_d);
      crit_kind = 1;
      if (top < 0)  // uniform d: the first expert with the largest load
        for (top = 0; loads_[static_cast<std::size_t>(top)] != top_load;) ++top;
      crit_expert = top;
    }
  } else {
    for (int e = 0; e < E_; ++e) {
      const std::int64_t b = expert_bound(e, loads_[static_cast<std::size_t>(e)]);
      if (b > T) {
        T = b;
        crit_kind = 1;
        crit_expert = e;
      }
    }
  }
  const std::int64_t simple_bound = T;
  int crit_hist = -1;
  if (options_.warm_start) {
    // Densest sets of recent calls: their density under the new loads is usually the answer.
    for (std::size_t h = 0; h < history_.size(); ++h) {
      std::int64_t l = 0;
      for (int e : history_[h].experts) l += loads_[static_cast<std::size_t>(e)];
      // Divide only when the set beats T (unweighted: ceil(l / n) > T iff l > T * n).
      if (!weighted_ && static_cast<__int128>(l) <= static_cast<__int128>(T) * history_[h].gpus.size()) continue;
      const std::int64_t b = set_bound(history_[h].gpus, l);
      if (b > T) {
        T = b;
        crit_kind = 2;
        crit_hist = static_cast<int>(h);
      }
    }
  }
  for (int g = 0; g < G_; ++g) capv_[static_cast<std::size_t>(g)] = cap(g, T);

  // Warm loads-only start: the previous plan, each expert's load change poured into (or taken
  // out of) its replicas so that their room under T stays as even as possible.
  if (warm_plan) {
    std::int64_t* x = x_.data();
    std::int64_t* gl = gpu_load_.data();
    if (uniform_d_ == 2) split_pair_changes();
    for (int e = uniform_d_ == 2 ? E_ : 0; e < E_; ++e) {
      const auto ei = static_cast<std::size_t>(e);
      const std::int64_t delta = loads_[ei] - prev_loads_[ei];
      prev_loads_[ei] = loads_[ei];
      if (delta == 0) continue;
      const int b = rep_begin[e], n = rep_begin[e + 1] - b;
      if (n == 2) {
        // The common case, branch-free and independent of the GPU loads (so consecutive experts
        // do not wait on each other): split the change evenly, within what each replica holds.
        split_pair_change(x[rep_x[b]], x[rep_x[b + 1]], delta);
        continue;
      }
      // Any d: the same even split (q each, the remainder one by one), then any shortfall of a
      // replica that would go below zero taken from the others.
      const std::int64_t q = (n & (n - 1)) == 0 ? (delta >= 0 ? delta >> __builtin_ctz(static_cast<unsigned>(n))
                                                              : -((-delta) >> __builtin_ctz(static_cast<unsigned>(n))))
                                                : delta / n;
      const std::int64_t r = delta - q * n;
      const std::int64_t sgn = r > 0 ? 1 : (r < 0 ? -1 : 0);
      const std::int64_t r_abs = r * sgn;
      std::int64_t short_total = 0;
      for (int k = 0; k < n; ++k) {
        const std::int64_t c = q + (k < r_abs ? sgn : 0);
        std::int64_t& xv = x[rep_x[b + k]];
        const std::int64_t nv = xv + c;
        const std::int64_t shortfall = nv < 0 ? -nv : 0;
        short_total += shortfall;
        xv = nv + shortfall;
      }
      for (int k = 0; k < n && short_total > 0; ++k) {
        std::int64_t& xv = x[rep_x[b + k]];
        const std::int64_t t = std::min(short_total, xv);
        xv -= t;
        short_total -= t;
      }
    }
    // Any d: GPU loads as row sums of the updated plan.
    for (int g = 0; g < (uniform_d_ == 2 ? 0 : G_); ++g) {
      const std::int64_t* xg = x + static_cast<std::size_t>(g) * S_;
      std::int64_t l = 0;
      for (int j = 0; j < S_; ++j) l += xg[j];
      gl[g] = l;
    }
  }

  // Local tokens of every (gpu, slot): what its own GPU holds for the expert there.
  bool any_local = false;
  if (counts) {
    for (int g = 0; g < G_; ++g)
      for (int j = 0; j < S_; ++j) {
        const std::size_t gj = static_cast<std::size_t>(g) * S_ + j;
        const int e = slot_expert_[gj];
        const std::int64_t c = e >= 0 ? counts[static_cast<std::size_t>(g) * E_ + e] : 0;
        local_[gj] = c;
        any_local |= c > 0;
      }
  }

  // Cold initial plan: local tokens stay, the rest is water-filled into the replicas' room.
  if (!warm_plan) {
    std::fill(gpu_load_.begin(), gpu_load_.end(), 0);
    for (int g = 0; g < G_; ++g) {
      std::int64_t l = 0;
      for (int j = 0; j < S_; ++j) {
        const std::size_t gj = static_cast<std::size_t>(g) * S_ + j;
        const std::int64_t c = counts ? local_[gj] : 0;
        x_[gj] = c;
        l += c;
      }
      gpu_load_[static_cast<std::size_t>(g)] = l;
    }
    {
      std::vector<std::pair<std::int64_t, int>> sl;  // (slack, replica), sorted by slack desc, gpu asc
      for (int e = 0; e < E_; ++e) {
        const auto& reps = placement_.replicas(e);
        const std::int64_t* rx = rep_x_.data() + rep_begin_[static_cast<std::size_t>(e)];  // x index per replica
        std::int64_t rem = loads_[static_cast<std::size_t>(e)];
        if (counts)
          for (std::size_t k = 0; k < reps.size(); ++k) rem -= local_[static_cast<std::size_t>(rx[k])];
        if (counts && rem > 0 && node_aware()) {
          // Tokens from a node go first to the expert's replicas on that node, within their room.
          for (std::size_t k0 = 0; k0 < reps.size() && rem > 0;) {
            const int n = reps[k0] / gpus_per_node_;
            std::size_t k1 = k0;
            std::int64_t demand = node_counts_[static_cast<std::size_t>(n) * E_ + e];
            while (k1 < reps.size() && reps[k1] / gpus_per_node_ == n)
              demand -= local_[static_cast<std::size_t>(rx[k1++])];
            for (std::size_t k = k0; k < k1 && demand > 0 && rem > 0; ++k) {
              const auto g = static_cast<std::size_t>(reps[k]);
              const std::int64_t t = std::min(std::min(demand, rem), capv_[g] - gpu_load_[g]);
              if (t <= 0) continue;
              x_[static_cast<std::size_t>(rx[k])] += t;
              gpu_load_[g] += t;
              demand -= t;
              rem -= t;
            }
            k0 = k1;
          }
        }
        if (rem <= 0) continue;
        if (reps.size() == 1) {
          const int g = reps[0];
          x_[static_cast<std::size_t>(rx[0])] += rem;
          gpu_load_[static_cast<std::size_t>(g)] += rem;
          continue;
        }
        if (reps.size() == 2) {  // the common case, without sorting or division
          int a = reps[0], b = reps[1];
          std::int64_t xa = rx[0], xb = rx[1];
          std::int64_t sa = capv_[static_cast<std::size_t>(a)] - gpu_load_[static_cast<std::size_t>(a)];
          std::int64_t sb = capv_[static_cast<std::size_t>(b)] - gpu_load_[static_cast<std::size_t>(b)];
          if (sb > sa) {
            std::swap(a, b);
            std::swap(xa, xb);
            std::swap(sa, sb);
          }
          std::int64_t ga = std::min(rem, sa - sb), gb = 0;
          const std::int64_t rest = rem - ga;
          ga += rest - (rest >> 1);
          gb += rest >> 1;
          x_[static_cast<std::size_t>(xa)] += ga;
          gpu_load_[static_cast<std::size_t>(a)] += ga;
          x_[static_cast<std::size_t>(xb)] += gb;
          gpu_load_[static_cast<std::size_t>(b)] += gb;
          continue;
        }
        sl.clear();
        for (std::size_t k = 0; k < reps.size(); ++k)  // second: the replica's index
          sl.emplace_back(capv_[static_cast<std::size_t>(reps[k])] - gpu_load_[static_cast<std::size_t>(reps[k])],
                          static_cast<int>(k));
        std::sort(sl.begin(), sl.end(), [](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : a.second < b.second;  // replicas ascend with the gpu
        });
        // Find k receivers and level lambda: give s_i - lambda to the k largest slacks.
        const int d = static_cast<int>(sl.size());
        std::int64_t prefix = 0;
        int k = 1;
        std::int64_t lambda = 0;
        for (k = 1; k <= d; ++k) {
          prefix += sl[static_cast<std::size_t>(k - 1)].first;
          lambda = floor_div(prefix - rem, k);
          if (k == d || lambda >= sl[static_cast<std::size_t>(k)].first) break;
        }
        std::int64_t over = prefix - static_cast<std::int64_t>(k) * lambda - rem;  // in [0, k)
        for (int i = 0; i < k; ++i) {
          std::int64_t give = sl[static_cast<std::size_t>(i)].first - lambda;
          if (over > 0) {
            --give;
            --over;
          }
          const int r = sl[static_cast<std::size_t>(i)].second;
          x_[static_cast<std::size_t>(rx[r])] += give;
          gpu_load_[static_cast<std::size_t>(reps[static_cast<std::size_t>(r)])] += give;
        }
      }
    }

  }  // cold initial plan

  // Balance: max-flow at level T; on failure jump T to the density of the blocked set.
  int rounds = 0;
  std::vector<int> new_crit;
  for (;;) {
    if (++rounds > 1)
      for (int g = 0; g < G_; ++g) capv_[static_cast<std::size_t>(g)] = cap(g, T);
    if (options_.locality && any_local) {
      if (gpus_per_node_ > 1 && gpus_per_node_ < G_) max_flow(T, 2);  // non-local tokens, inside nodes
      max_flow(T, 1);                                                 // non-local tokens, anywhere
    }
    if (!any_local) {
      relieve_one_hop();
      if (!relieve_two_hop()) break;  // no excess left: feasible at T
    }
    if (!any_local && G_ <= kMaskGpus ? max_flow_masks() : max_flow(T, 0)) break;
    new_crit.clear();
    std::int64_t l = 0;
    for (int g = 0; g < G_; ++g)
      if (level_[static_cast<std::size_t>(g)] >= 0) {
        new_crit.push_back(g);
        l += gpu_load_[static_cast<std::size_t>(g)];
      }
    const std::int64_t b = set_bound(new_crit, l);
    if (b <= T) throw std::logic_error("solver: density jump did not increase the level (internal error)");
    T = b;
    crit_kind = 3;
  }
  // The set that proves T (for critical_set()), remembered for the next calls when new.
  if (crit_kind == 3) {
    critical_gpus_ = new_crit;
    if (options_.warm_start) remember_critical(new_crit);
  } else if (crit_kind == 2) {
    critical_gpus_ = history_[static_cast<std::size_t>(crit_hist)].gpus;
  } else if (crit_kind == 1) {
    critical_gpus_ = placement_.replicas(crit_expert);
  } else {
    critical_gpus_.clear();  // all GPUs: the global bound
  }

  if (!warm_plan) std::copy(loads_.begin(), loads_.end(), prev_loads_.begin());
  have_prev_ = true;

  // Output. A Plan reused with the same solver keeps its nonzero positions: overwrite only.
  const auto EG = options_.dense_tokens ? static_cast<std::size_t>(E_) * G_ : 0;
  const bool same_layout = out.layout_id_ == id_ && out.tokens.size() == EG && out.gpus == G_ && out.experts == E_;
  if (!same_layout) {
    if (!options_.dense_tokens) {
      out.tokens.clear();
    } else if (out.tokens.size() != EG || out.gpus != G_ || out.experts != E_) {
      out.tokens.assign(EG, 0);
    } else {
      for (std::size_t i : out.written_) out.tokens[i] = 0;
    }
    out.written_.clear();
    if (options_.dense_tokens)
      for (std::size_t gj = 0; gj < GS; ++gj)
        if (token_index_[gj] >= 0) out.written_.push_back(static_cast<std::size_t>(token_index_[gj]));
    out.layout_id_ = id_;
  }
  out.gpus = G_;
  out.experts = E_;
  out.slots_per_gpu = S_;
  out.slot_tokens.resize(GS);
  out.gpu_load.resize(static_cast<std::size_t>(G_));
  std::int64_t maxl = 0, objective = 0;
  std::int64_t* tokens = out.tokens.data();
  const bool dense = options_.dense_tokens;
  for (int g = 0; g < G_; ++g) {
    std::int64_t l = 0;
    for (int j = 0; j < S_; ++j) {
      const std::size_t gj = static_cast<std::size_t>(g) * S_ + j;
      const std::int64_t v = x_[gj];
      out.slot_tokens[gj] = v;
      l += v;
      const std::int64_t idx = token_index_[gj];
      if (dense && idx >= 0) tokens[idx] = v;
    }
    out.gpu_load[static_cast<std::size_t>(g)] = l;
    maxl = std::max(maxl, l);
    const std::int64_t tg =
        weighted_ ? static_cast<std::int64_t>((static_cast<__int128>(l) * wmax_ + w_[static_cast<std::size_t>(g)] - 1) /
                                              w_[static_cast<std::size_t>(g)])
                  : l;
    objective = std::max(objective, tg);
  }
  out.total_tokens = total;
  out.max_load = maxl;
  out.objective = objective;
  out.lower_bound = T;
  out.simple_bound = simple_bound;
  out.flow_rounds = rounds;
  out.augmentations = static_cast<int>(augment_count_);
  if (objective != T) throw std::logic_error("solver: plan objective differs from the proven bound (internal error)");
}

// Length-1 augmenting paths, found without a BFS: every overloaded GPU hands tokens of its
// slots straight to another replica with room. Cheap, and after a warm start most of the excess
// goes this way; max_flow then finds the longer paths.
void Solver::relieve_one_hop() {
  std::int64_t* x = x_.data();
  std::int64_t* gl = gpu_load_.data();
  const std::int64_t* cp = capv_.data();
  for (int g = 0; g < G_; ++g) {
    std::int64_t excess = gl[g] - cp[g];
    if (excess <= 0) continue;
    for (int a = arc_begin_[static_cast<std::size_t>(g)]; a < arc_begin_[static_cast<std::size_t>(g) + 1] && excess > 0;
         ++a) {
      const int h = arc_to_[static_cast<std::size_t>(a)];
      const std::int64_t room = cp[h] - gl[h];
      if (room <= 0) continue;
      const std::size_t gj = static_cast<std::size_t>(g) * S_ + arc_slot_[static_cast<std::size_t>(a)];
      const std::int64_t t = std::min(excess, std::min(room, x[gj]));
      if (t <= 0) continue;
      x[gj] -= t;
      x[static_cast<std::size_t>(h) * S_ + arc_to_slot_[static_cast<std::size_t>(a)]] += t;
      gl[g] -= t;
      gl[h] += t;
      excess -= t;
      ++augment_count_;
    }
  }
}

// Length-2 augmenting paths g -> h -> k, also without a BFS (after the one-hop pass).
bool Solver::relieve_two_hop() {
  std::int64_t* x = x_.data();
  std::int64_t* gl = gpu_load_.data();
  const std::int64_t* cp = capv_.data();
  const int* ab = arc_begin_.data();
  const int* at = arc_to_.data();
  const int* as = arc_slot_.data();
  const int* ts = arc_to_slot_.data();
  bool left = false;
  for (int g = 0; g < G_; ++g) {
    std::int64_t excess = gl[g] - cp[g];
    if (excess <= 0) continue;
    for (int a = ab[g]; a < ab[g + 1] && excess > 0; ++a) {
      const std::size_t gj = static_cast<std::size_t>(g) * S_ + as[a];
      if (x[gj] <= 0) continue;
      const int h = at[a];
      const std::size_t hj_in = static_cast<std::size_t>(h) * S_ + ts[a];
      for (int b = ab[h]; b < ab[h + 1] && excess > 0 && x[gj] > 0; ++b) {
        const int k = at[b];
        const std::int64_t room = cp[k] - gl[k];
        if (room <= 0 || k == g) continue;
        const std::size_t hj = static_cast<std::size_t>(h) * S_ + as[b];
        const std::int64_t t = std::min(std::min(excess, room), std::min(x[gj], x[hj]));
        if (t <= 0) continue;
        x[gj] -= t;
        x[hj_in] += t;
        x[hj] -= t;
        x[static_cast<std::size_t>(k) * S_ + ts[b]] += t;
        gl[g] -= t;
        gl[k] += t;
        excess -= t;
        ++augment_count_;
      }
    }
    left = left || excess > 0;
  }
  return left;
}

// The warm update when every expert has two replicas (the common case): each expert's load
// change split evenly over its replicas, within what each holds. One loop without branches, so
// consecutive experts do not wait on each other.
void Solver::split_pair_changes() {
  std::int64_t* x = x_.data();
  std::int64_t* prev = prev_loads_.data();
  const std::int64_t* loads = loads_.data();
  const std::int64_t* rep_x = rep_x_.data();
  const int* rep_gpu = rep_gpu_.data();
  std::int64_t* gl = gpu_load_.data();
  for (int e = 0; e < E_; ++e) {
    const std::int64_t delta = loads[e] - prev[e];
    prev[e] = loads[e];
    const auto [ca, cb] = split_pair_change(x[rep_x[2 * e]], x[rep_x[2 * e + 1]], delta);
    gl[rep_gpu[2 * e]] += ca;  // scalar adds: the stores forward (a vector row sum of x would stall)
    gl[rep_gpu[2 * e + 1]] += cb;
  }
}

// The residual arcs out of GPU g: the other replicas of every slot of g that computes tokens.
std::uint64_t Solver::adjacency(int g) const {
  const std::int64_t* xg = x_.data() + static_cast<std::size_t>(g) * S_;
  const std::uint64_t* nb = nb_mask_.data() + static_cast<std::size_t>(g) * S_;
  std::uint64_t a = 0;
  for (int j = 0; j < S_; ++j) a |= xg[j] > 0 ? nb[j] : 0;
  return a;
}

// Max-flow for G <= 64 (no locality tiers): shortest augmenting paths from all overloaded GPUs
// at once (Edmonds-Karp on the super-source network), with the BFS on GPU bit masks. After the
// relief passes only one or two paths are usually left, and a mask BFS costs a few operations
// per layer where Dinic's setup walks every arc. Same contract as max_flow: true when no GPU is
// above capacity, else level_[g] >= 0 marks the GPUs reachable from the excess (blocked set).
bool Solver::max_flow_masks() {
  std::int64_t* x = x_.data();
  std::int64_t* gl = gpu_load_.data();
  const std::int64_t* cp = capv_.data();
  std::uint64_t over = 0, under = 0;
  for (int g = 0; g < G_; ++g) {
    over |= static_cast<std::uint64_t>(gl[g] > cp[g]) << g;
    under |= static_cast<std::uint64_t>(gl[g] < cp[g]) << g;
  }
  if (over == 0) return true;
  std::uint64_t adj[kMaskGpus], known = 0;  // arcs of GPU g, computed when first needed
  const auto arcs = [&](int g) {
    if (!(known >> g & 1)) {
      adj[g] = adjacency(g);
      known |= std::uint64_t{1} << g;
    }
    return adj[g];
  };
  std::uint64_t layer[kMaskGpus];
  int path_gpu[kMaskGpus], path_slot[kMaskGpus];
  for (;;) {
    // BFS by layers until a layer meets a GPU with room.
    std::uint64_t seen = over;
    layer[0] = over;
    int k = 0;
    while ((layer[k] & under) == 0) {
      std::uint64_t next = 0;
      for (std::uint64_t f = layer[k]; f; f &= f - 1) next |= arcs(__builtin_ctzll(f));
      next &= ~seen;
      if (next == 0) {  // blocked: `seen` is the set that proves a higher level
        for (int g = 0; g < G_; ++g) level_[static_cast<std::size_t>(g)] = (seen >> g & 1) ? 0 : -1;
        return false;
      }
      seen |= next;
      layer[++k] = next;
    }
    // Walk back from the lowest sink of the last layer through the lowest predecessors.
    const int sink = __builtin_ctzll(layer[k] & under);
    int cur = sink;
    std::int64_t amount = cp[sink] - gl[sink];
    for (int i = k - 1; i >= 0; --i) {
      std::uint64_t f = layer[i];
      while (!(arcs(__builtin_ctzll(f)) >> cur & 1)) f &= f - 1;
      const int g = __builtin_ctzll(f);
      const std::size_t gs = static_cast<std::size_t>(g) * S_;
      int j = 0;
      while (x[gs + j] <= 0 || !(nb_mask_[gs + j] >> cur & 1)) ++j;
      path_gpu[i] = g;
      path_slot[i] = j;
      amount = std::min(amount, x[gs + j]);
      cur = g;
    }
    amount = std::min(amount, gl[cur] - cp[cur]);
    int to = sink;
    known &= ~(std::uint64_t{1} << sink);
    for (int i = k - 1; i >= 0; --i) {
      const int g = path_gpu[i], j = path_slot[i];
      known &= ~(std::uint64_t{1} << g);
      x[static_cast<std::size_t>(g) * S_ + j] -= amount;
      x[static_cast<std::size_t>(to) * S_ +
        placement_.slot_on(to, slot_expert_[static_cast<std::size_t>(g) * S_ + j])] += amount;
      to = g;
    }
    gl[cur] -= amount;
    gl[sink] += amount;
    ++augment_count_;
    if (gl[cur] <= cp[cur]) over &= ~(std::uint64_t{1} << cur);
    if (gl[sink] >= cp[sink]) under &= ~(std::uint64_t{1} << sink);
    if (over == 0) return true;
  }
}

// Dinic on the GPU graph, multi-source (load > cap) multi-sink (load < cap). Returns true when
// no GPU is above its capacity. On false, level_[g] >= 0 marks the GPUs reachable from the
// remaining excess in the residual graph (the blocked set).
bool Solver::max_flow(std::int64_t /*level*/, int mode) {
  const bool restricted = mode > 0;
  const bool same_node = mode > 1;
  for (;;) {
    std::fill(level_.begin(), level_.end(), -1);
    queue_.clear();
    for (int g = 0; g < G_; ++g)
      if (gpu_load_[static_cast<std::size_t>(g)] > capv_[static_cast<std::size_t>(g)]) {
        level_[static_cast<std::size_t>(g)] = 0;
        queue_.push_back(g);
      }
    if (queue_.empty()) return true;
    const std::size_t sources = queue_.size();
    int sink_level = -1;
    for (std::size_t qi = 0; qi < queue_.size(); ++qi) {
      const int g = queue_[qi];
      const int lg = level_[static_cast<std::size_t>(g)];
      if (sink_level >= 0 && lg >= sink_level) break;
      const std::int64_t* xg = x_.data() + static_cast<std::size_t>(g) * S_;
      const std::int64_t* cg = local_.data() + static_cast<std::size_t>(g) * S_;
      for (int a = arc_begin_[static_cast<std::size_t>(g)]; a < arc_begin_[static_cast<std::size_t>(g) + 1]; ++a) {
        const int h = arc_to_[static_cast<std::size_t>(a)];
        if (level_[static_cast<std::size_t>(h)] >= 0) continue;
        const int j = arc_slot_[static_cast<std::size_t>(a)];
        const std::int64_t avail = restricted ? xg[j] - cg[j] : xg[j];
        if (avail <= 0) continue;
        if (same_node && g / gpus_per_node_ != h / gpus_per_node_) continue;
        level_[static_cast<std::size_t>(h)] = lg + 1;
        queue_.push_back(h);
        if (sink_level < 0 && gpu_load_[static_cast<std::size_t>(h)] < capv_[static_cast<std::size_t>(h)])
          sink_level = lg + 1;
      }
    }
    if (sink_level < 0) return false;
    for (int g = 0; g < G_; ++g) it_[static_cast<std::size_t>(g)] = arc_begin_[static_cast<std::size_t>(g)];
    bool pushed = false;
    for (std::size_t si = 0; si < sources; ++si) {
      const int g = queue_[si];
      while (gpu_load_[static_cast<std::size_t>(g)] > capv_[static_cast<std::size_t>(g)]) {
        const std::int64_t f =
            dfs(g, gpu_load_[static_cast<std::size_t>(g)] - capv_[static_cast<std::size_t>(g)], mode);
        if (f == 0) break;
        gpu_load_[static_cast<std::size_t>(g)] -= f;
        ++augment_count_;
        pushed = true;
      }
    }
    if (!pushed) throw std::logic_error("solver: Dinic phase pushed nothing (internal error)");
  }
}

std::int64_t Solver::dfs(int g, std::int64_t f, int mode) {
  const bool restricted = mode > 0;
  const auto gi = static_cast<std::size_t>(g);
  const int lg = level_[gi];
  if (lg > 0 && gpu_load_[gi] < capv_[gi]) {
    const std::int64_t push = std::min(f, capv_[gi] - gpu_load_[gi]);
    gpu_load_[gi] += push;
    return push;
  }
  const int end = arc_begin_[gi + 1];
  std::int64_t pushed = 0;  // several branches per call: fewer walks from the root
  for (int& a = it_[gi]; a < end; ++a) {
    const int h = arc_to_[static_cast<std::size_t>(a)];
    if (level_[static_cast<std::size_t>(h)] != lg + 1) continue;
    const int j = arc_slot_[static_cast<std::size_t>(a)];
    const std::size_t gj = gi * S_ + j;
    const std::int64_t avail = restricted ? x_[gj] - local_[gj] : x_[gj];
    if (mode > 1 && g / gpus_per_node_ != h / gpus_per_node_) continue;
    if (avail <= 0) continue;
    const std::int64_t d = dfs(h, std::min(f - pushed, avail), mode);
    if (d > 0) {
      x_[gj] -= d;
      x_[static_cast<std::size_t>(h) * S_ + arc_to_slot_[static_cast<std::size_t>(a)]] += d;
      pushed += d;
      if (pushed == f) return pushed;  // keep the arc: it may have capacity left
    }
  }
  return pushed;
}

}  // namespace micromoe::schedule
