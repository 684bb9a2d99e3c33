// SPDX-License-Identifier: BSD-3-Clause
#include "commands/schedule_json.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>

#include "commands/json_guard.hpp"
#include "commands/schedule_memory.hpp"
#include "core/file_kind.hpp"
#include "schedule/placement.hpp"
#include "schedule/routes.hpp"
#include "schedule/solver.hpp"
#include "strategy/strategy.hpp"

namespace micromoe::commands {

namespace {

using nlohmann::json;
using schedule::adversarial_zipf_imbalance;
using schedule::build_routes;
using schedule::CountMatrix;
using schedule::Density;
using schedule::expected_zipf_imbalance;
using schedule::make_ep_placement;
using schedule::make_random_placement;
using schedule::make_symmetric_placement;
using schedule::max_induced_density;
using schedule::Placement;
using schedule::Plan;
using schedule::RouteLeg;
using schedule::Routing;
using schedule::Solver;
using schedule::SolverOptions;

/// A user-input problem; becomes the one-line error.
struct InputProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::int64_t kMaxCount = std::int64_t{1} << 40;
constexpr std::int64_t kMaxTotal = std::int64_t{1} << 52;
constexpr int kMaxGpus = 1 << 16;
constexpr int kMaxExperts = 1 << 16;
constexpr std::int64_t kMaxCells = std::int64_t{1} << 26;

std::int64_t get_int(const json& j, const std::string& what, std::int64_t lo, std::int64_t hi) {
  if (!j.is_number_integer()) throw InputProblem(what + " must be an integer, got " + brief_json(j));
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
    throw InputProblem(what + " = " + brief_json(j) + " is out of range [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]");
  const auto v = j.get<std::int64_t>();
  if (v < lo || v > hi)
    throw InputProblem(what + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "]");
  return v;
}

const json* find(const json& root, const char* key) {
  const auto it = root.find(key);
  return it == root.end() ? nullptr : &*it;
}

struct Input {
  int gpus = 0;
  int gpus_per_node = 0;
  Placement placement;
  std::string placement_kind = "explicit";
  int ep_size = 0;  ///< placement_kind "ep": tokens stay in their EP group, as EP routes them
  bool has_counts = false;
  CountMatrix counts;
  std::vector<std::int64_t> weights;
};

Input parse(const json& root, bool placement_only) {
  if (!root.is_object()) throw InputProblem("the input must be a JSON object, got " + std::string(root.type_name()));
  static const std::set<std::string> known = {"gpus",    "gpus_per_node",   "placement", "placement_kind",
                                              "experts", "slots_per_gpu",   "ep_size",   "seed",
                                              "counts",  "capacity_weights"};
  for (auto it = root.begin(); it != root.end(); ++it)
    if (!known.count(it.key())) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw InputProblem("unknown key \"" + it.key() + "\" (known keys: " + list + ")");
    }
  Input in;
  const json* g = find(root, "gpus");
  if (!g) throw InputProblem("missing key \"gpus\"");
  in.gpus = static_cast<int>(get_int(*g, "\"gpus\"", 1, kMaxGpus));
  if (const json* n = find(root, "gpus_per_node"))
    in.gpus_per_node = static_cast<int>(get_int(*n, "\"gpus_per_node\"", 1, kMaxGpus));
  else
    in.gpus_per_node = in.gpus;

  // Counts (parsed first: an explicit placement may take E from them).
  const json* counts = find(root, "counts");
  int experts_from_counts = -1;
  if (counts) {
    if (!counts->is_array()) throw InputProblem("\"counts\" must be an array of " + std::to_string(in.gpus) + " rows");
    if (static_cast<int>(counts->size()) != in.gpus)
      throw InputProblem("\"counts\" has " + std::to_string(counts->size()) + " rows, expected one per GPU (" +
                         std::to_string(in.gpus) + ")");
    for (std::size_t s = 0; s < counts->size(); ++s) {
      const json& row = (*counts)[s];
      if (!row.is_array())
        throw InputProblem("\"counts\"[" + std::to_string(s) + "] must be an array of per-expert counts");
      if (s == 0) experts_from_counts = static_cast<int>(row.size());
      if (static_cast<int>(row.size()) != experts_from_counts)
        throw InputProblem("\"counts\"[" + std::to_string(s) + "] has " + std::to_string(row.size()) +
                           " entries, but row 0 has " + std::to_string(experts_from_counts));
    }
    if (experts_from_counts < 1 || experts_from_counts > kMaxExperts)
      throw InputProblem("\"counts\" rows must have between 1 and " + std::to_string(kMaxExperts) + " entries");
    if (static_cast<std::int64_t>(in.gpus) * experts_from_counts > kMaxCells)
      throw InputProblem("\"counts\" is too large");
  } else if (!placement_only) {
    throw InputProblem("missing key \"counts\" (needed unless --placement-only)");
  }

  // Placement.
  const json* pl = find(root, "placement");
  const json* kind = find(root, "placement_kind");
  if (pl && kind) throw InputProblem("give either \"placement\" or \"placement_kind\", not both");
  if (!pl && !kind) throw InputProblem("missing key \"placement\" (or \"placement_kind\")");
  const json* jexperts = find(root, "experts");
  const json* jslots = find(root, "slots_per_gpu");
  const json* jep = find(root, "ep_size");
  const json* jseed = find(root, "seed");
  int experts = -1;
  if (jexperts) experts = static_cast<int>(get_int(*jexperts, "\"experts\"", 1, kMaxExperts));
  if (experts >= 0 && experts_from_counts >= 0 && experts != experts_from_counts)
    throw InputProblem("\"experts\" = " + std::to_string(experts) + " but \"counts\" rows have " +
                       std::to_string(experts_from_counts) + " entries");
  if (experts < 0) experts = experts_from_counts;
  try {
    if (pl) {
      if (jep || jseed) throw InputProblem("\"ep_size\" and \"seed\" only apply with \"placement_kind\"");
      if (!pl->is_array())
        throw InputProblem("\"placement\" must be an array of " + std::to_string(in.gpus) + " per-GPU lists");
      if (static_cast<int>(pl->size()) != in.gpus)
        throw InputProblem("\"placement\" has " + std::to_string(pl->size()) +
                           " GPU lists, expected \"gpus\" = " + std::to_string(in.gpus));
      int S = -1, max_id = -1;
      std::vector<int> at;
      for (std::size_t gi = 0; gi < pl->size(); ++gi) {
        const json& row = (*pl)[gi];
        if (!row.is_array())
          throw InputProblem("\"placement\"[" + std::to_string(gi) + "] must be an array of expert ids");
        if (S < 0) S = static_cast<int>(row.size());
        if (static_cast<int>(row.size()) != S)
          throw InputProblem("\"placement\"[" + std::to_string(gi) + "] has " + std::to_string(row.size()) +
                             " slots, but GPU 0 has " + std::to_string(S) +
                             " (every GPU has the same number of slots)");
        for (std::size_t j = 0; j < row.size(); ++j) {
          const std::string what = "\"placement\"[" + std::to_string(gi) + "][" + std::to_string(j) + "]";
          const int e = row[j].is_null() ? -1 : static_cast<int>(get_int(row[j], what, -1, kMaxExperts - 1));
          max_id = std::max(max_id, e);
          at.push_back(e);
        }
      }
      if (S < 1) throw InputProblem("\"placement\" lists must hold at least one slot");
      if (jslots && get_int(*jslots, "\"slots_per_gpu\"", 1, kMaxExperts) != S)
        throw InputProblem("\"slots_per_gpu\" = " + brief_json(*jslots) + " but the placement lists have " +
                           std::to_string(S));
      if (experts < 0) experts = max_id + 1;
      if (experts < 1) throw InputProblem("the placement holds no expert");
      in.placement = Placement(in.gpus, S, experts, std::move(at));
    } else {
      if (!kind->is_string())
        throw InputProblem("\"placement_kind\" must be a string: \"symmetric\", \"random\" or \"ep\"");
      in.placement_kind = kind->get<std::string>();
      if (experts < 0) throw InputProblem("\"placement_kind\" needs \"experts\" (or \"counts\")");
      const std::uint64_t seed = jseed ? static_cast<std::uint64_t>(get_int(*jseed, "\"seed\"", 0, INT64_MAX)) : 0;
      if (in.placement_kind == "ep") {
        if (!jep) throw InputProblem("\"placement_kind\": \"ep\" needs \"ep_size\"");
        const int P = static_cast<int>(get_int(*jep, "\"ep_size\"", 1, kMaxGpus));
        in.placement = make_ep_placement(in.gpus, experts, P);
        in.ep_size = P;
        if (jslots && get_int(*jslots, "\"slots_per_gpu\"", 1, kMaxExperts) != in.placement.slots_per_gpu)
          throw InputProblem("\"slots_per_gpu\" = " + brief_json(*jslots) + " but ep with ep_size " +
                             std::to_string(P) + " has " + std::to_string(in.placement.slots_per_gpu) +
                             " slots per GPU (experts / ep_size)");
      } else if (in.placement_kind == "symmetric" || in.placement_kind == "random") {
        if (!jslots) throw InputProblem("\"placement_kind\": \"" + in.placement_kind + "\" needs \"slots_per_gpu\"");
        if (jep) throw InputProblem("\"ep_size\" only applies to \"placement_kind\": \"ep\"");
        const int S = static_cast<int>(get_int(*jslots, "\"slots_per_gpu\"", 1, kMaxExperts));
        if (static_cast<std::int64_t>(S) * in.gpus > kMaxCells) throw InputProblem("gpus * slots_per_gpu is too large");
        if (static_cast<std::int64_t>(in.gpus) * in.gpus * S > (std::int64_t{1} << 33))
          throw InputProblem(
              "gpus^2 * slots_per_gpu is too large for the \"placement_kind\" builders; give \"placement\" explicitly");
        if (in.gpus > 4096)
          throw InputProblem("\"placement_kind\" builders support at most 4096 GPUs; give \"placement\" explicitly");
        in.placement = in.placement_kind == "symmetric" ? make_symmetric_placement(in.gpus, S, experts, seed)
                                                        : make_random_placement(in.gpus, S, experts, seed);
      } else {
        throw InputProblem("\"placement_kind\" = \"" + in.placement_kind +
                           "\" is not one of \"symmetric\", \"random\", \"ep\"");
      }
    }
  } catch (const std::invalid_argument& e) {
    throw InputProblem(e.what());
  }
  // The solver's GPU graph has sum over experts of d_e * (d_e - 1) arcs: O(G^2) for an expert
  // on every GPU. Refused up front rather than dying in the allocator.
  if (const auto problem = solve_memory_problem(in.placement); !problem.empty()) throw InputProblem(problem);

  if (counts) {
    in.has_counts = true;
    in.counts = CountMatrix(in.gpus, experts);
    std::int64_t total = 0;
    for (int s = 0; s < in.gpus; ++s)
      for (int e = 0; e < experts; ++e) {
        const json& v = (*counts)[static_cast<std::size_t>(s)][static_cast<std::size_t>(e)];
        const std::string what = "\"counts\"[" + std::to_string(s) + "][" + std::to_string(e) + "]";
        if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0)
          throw InputProblem(what + " = " + brief_json(v) + " is negative (counts are token numbers)");
        const std::int64_t c = get_int(v, what, 0, kMaxCount);
        in.counts(s, e) = c;
        total += c;
        if (total > kMaxTotal) throw InputProblem("\"counts\" sum to more than 2^52 tokens");
      }
  }
  if (const json* w = find(root, "capacity_weights")) {
    if (!w->is_array() || static_cast<int>(w->size()) != in.gpus)
      throw InputProblem("\"capacity_weights\" must be an array of " + std::to_string(in.gpus) + " positive integers");
    for (std::size_t gi = 0; gi < w->size(); ++gi)
      in.weights.push_back(
          get_int((*w)[gi], "\"capacity_weights\"[" + std::to_string(gi) + "]", 1, std::int64_t{1} << 20));
  }
  return in;
}

json placement_json(const Placement& p) {
  json rows = json::array();
  for (int g = 0; g < p.gpus; ++g) {
    json row = json::array();
    for (int j = 0; j < p.slots_per_gpu; ++j) row.push_back(p.expert(g, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

/// The fields both outputs start with: the group's shape and where the placement came from.
json layout_json(const Input& in) {
  const Placement& p = in.placement;
  json o;
  o["gpus"] = p.gpus;
  o["gpus_per_node"] = in.gpus_per_node;
  o["experts"] = p.experts;
  o["slots_per_gpu"] = p.slots_per_gpu;
  o["placement_kind"] = in.placement_kind;
  return o;
}

/// One route leg: `tokens` of source `src`'s copies of `expert` computed on GPU `dst`.
struct FlatLeg {
  int src = 0, expert = 0, dst = 0;
  std::int64_t tokens = 0;
};

/// Routes as the output lists them (source, expert, then leg order) and their volumes.
struct FlatRoutes {
  std::vector<FlatLeg> legs;
  std::int64_t cross_gpu = 0, cross_node = 0;
  void add(const FlatLeg& l, int gpus_per_node) {
    legs.push_back(l);
    if (l.dst != l.src) cross_gpu += l.tokens;
    if (l.dst / gpus_per_node != l.src / gpus_per_node) cross_node += l.tokens;
  }
  std::vector<std::int64_t> send_counts(int src, int gpus) const {
    std::vector<std::int64_t> v(static_cast<std::size_t>(gpus), 0);
    for (const FlatLeg& l : legs)
      if (l.src == src) v[static_cast<std::size_t>(l.dst)] += l.tokens;
    return v;
  }
};

/// A routing as the output lists it.
FlatRoutes flatten(const Routing& routing, const Input& in) {
  FlatRoutes f;
  for (int s = 0; s < in.gpus; ++s)
    for (int e = 0; e < in.placement.experts; ++e)
      for (const RouteLeg& l : routing.legs_of(s, e)) f.add({s, e, l.gpu, l.tokens}, in.gpus_per_node);
  return f;
}

FlatRoutes flat_routes(const Input& in, const Plan& plan) {
  return flatten(build_routes(in.placement, in.counts, plan, in.gpus_per_node), in);
}

/// EP's routing by the ep strategy (the layer's code): every copy to its expert's replica in the
/// source's EP group.
Routing ep_routing(const Input& in) {
  strategy::StrategyConfig config;
  config.kind = strategy::StrategyKind::ep;
  config.ep_size = in.ep_size;
  const auto ep = strategy::make_strategy(config, in.gpus, in.placement.experts);
  Routing r;
  ep->route(in.counts, r);
  return r;
}

FlatRoutes ep_routes(const Input& in) { return flatten(ep_routing(in), in); }

/// The plan EP's routing makes (its only plan: objective and lower bound are its own level).
Plan ep_routed_plan(const Input& in, const Plan& optimal) {
  const Routing r = ep_routing(in);
  const Placement& p = in.placement;
  Plan plan = optimal;  // shape and buffers; every number is rewritten below
  std::fill(plan.tokens.begin(), plan.tokens.end(), 0);
  plan.slot_tokens.assign(static_cast<std::size_t>(p.gpus) * p.slots_per_gpu, 0);
  for (int s = 0; s < in.gpus; ++s)
    for (int e = 0; e < p.experts; ++e) {
      for (const RouteLeg& l : r.legs_of(s, e)) {
        plan.tokens[static_cast<std::size_t>(e) * p.gpus + l.gpu] += l.tokens;
        plan.slot_tokens[static_cast<std::size_t>(l.gpu) * p.slots_per_gpu + p.slot_on(l.gpu, e)] += l.tokens;
      }
    }
  plan.gpu_load = r.gpu_load;
  plan.max_load = *std::max_element(plan.gpu_load.begin(), plan.gpu_load.end());
  plan.objective = plan.max_load;
  if (!in.weights.empty()) {
    const std::int64_t wmax = *std::max_element(in.weights.begin(), in.weights.end());
    plan.objective = 0;
    for (int g = 0; g < p.gpus; ++g) {
      const auto w = in.weights[static_cast<std::size_t>(g)];
      const auto level = static_cast<std::int64_t>(
          (static_cast<__int128>(plan.gpu_load[static_cast<std::size_t>(g)]) * wmax + w - 1) / w);
      plan.objective = std::max(plan.objective, level);
    }
  }
  plan.lower_bound = plan.objective;
  return plan;
}

int run_parsed(const json& root, const ScheduleCommandOptions& options, std::ostream& out) {
  const Input in = parse(root, options.placement_only);
  const Placement& p = in.placement;
  const bool table = options.format == "table";

  if (options.placement_only) {
    json o = layout_json(in);
    o["placement"] = placement_json(p);
    json reps = json::array();
    for (int e = 0; e < p.experts; ++e) reps.push_back(p.replicas(e));
    o["replicas"] = reps;
    json zipf = json::object();
    for (double s : {0.5, 1.0, 1.5, 2.0}) zipf[fixed(s, 1)] = expected_zipf_imbalance(p, s, p.gpus > 256 ? 8 : 32);
    o["expected_zipf_imbalance"] = zipf;
    json adv = json::object();
    if (p.gpus <= 256)
      for (double s : {0.5, 1.0, 1.5, 2.0})
        adv[fixed(s, 1)] = adversarial_zipf_imbalance(p, s, 2, p.gpus > 64 ? 60 : 200);
    o["adversarial_zipf_imbalance"] = adv;
    if (in.has_counts) {
      const Density d = max_induced_density(p, in.counts.expert_loads());
      o["max_induced_density"] = {{"num", d.num}, {"den", d.den}, {"value", d.value()}};
    }
    if (!table) {
      out << o.dump(2) << '\n';
      return 0;
    }
    out << "placement (" << in.placement_kind << "): " << p.gpus << " GPUs x " << p.slots_per_gpu << " slots, "
        << p.experts << " experts\n";
    out << p.to_string();
    out << "expected imbalance under Zipf(s), random popularity ranking:";
    for (auto it = zipf.begin(); it != zipf.end(); ++it)
      out << "  s=" << it.key() << ": " << fixed(it.value().get<double>(), 4);
    out << '\n';
    if (!adv.empty()) {
      out << "worst ranking found (adversarial) imbalance under Zipf(s):";
      for (auto it = adv.begin(); it != adv.end(); ++it)
        out << "  s=" << it.key() << ": " << fixed(it.value().get<double>(), 4);
      out << '\n';
    }
    if (in.has_counts)
      out << "max induced density for the counts: " << fixed(o["max_induced_density"]["value"].get<double>(), 3)
          << '\n';
    return 0;
  }

  SolverOptions so;
  so.capacity_weights = in.weights;
  so.gpus_per_node = in.gpus_per_node;
  Solver solver(p, so);
  const auto t0 = std::chrono::steady_clock::now();
  const Plan optimal = solver.solve(in.counts);
  const auto t1 = std::chrono::steady_clock::now();
  const double solve_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  // EP moves no load between its groups' copies of an expert: its plan is its routing (the
  // layer's code), and the solver's optimum for its placement is reported beside it.
  const bool ep_routed = in.ep_size > 0;
  const Plan plan = ep_routed ? ep_routed_plan(in, optimal) : optimal;
  const FlatRoutes routes = ep_routed ? ep_routes(in) : flat_routes(in, plan);
  const double mean = p.gpus ? static_cast<double>(plan.total_tokens) / p.gpus : 0.0;

  if (!table) {
    json o = layout_json(in);
    if (in.placement_kind != "explicit") o["placement"] = placement_json(p);
    o["total_tokens"] = plan.total_tokens;
    o["max_load"] = plan.max_load;
    o["lower_bound"] = plan.lower_bound;
    if (!in.weights.empty()) o["weighted_objective"] = plan.objective;
    if (ep_routed) o["placement_optimum"] = optimal.objective;
    o["mean_load"] = mean;
    o["imbalance"] = plan.imbalance();
    o["gpu_load"] = plan.gpu_load;
    json pj = json::array();
    for (int e = 0; e < p.experts; ++e)
      for (int g : p.replicas(e))
        if (plan.at(e, g) > 0) pj.push_back({{"expert", e}, {"gpu", g}, {"tokens", plan.at(e, g)}});
    o["plan"] = std::move(pj);
    json rj = json::array();
    for (const FlatLeg& l : routes.legs)
      rj.push_back({{"src", l.src}, {"expert", l.expert}, {"dst", l.dst}, {"tokens", l.tokens}});
    o["routes"] = std::move(rj);
    o["cross_gpu_tokens"] = routes.cross_gpu;
    o["cross_node_tokens"] = routes.cross_node;
    o["solve_us"] = solve_us;
    out << o.dump(2) << '\n';
    return 0;
  }

  out << "MicroEP schedule: " << p.gpus << " GPUs (" << in.gpus_per_node << " per node), " << p.experts << " experts, "
      << p.slots_per_gpu << " slots per GPU, placement " << in.placement_kind << "\n";
  out << "tokens " << plan.total_tokens << "   max load " << plan.max_load << "   lower bound " << plan.lower_bound
      << "   mean " << fixed(mean, 1) << "   imbalance " << fixed(plan.imbalance(), 4) << "   solve "
      << fixed(solve_us, 1) << " us\n";
  if (ep_routed)
    out << "(ep as EP routes it: no load moves between EP groups; the placement's optimum is " << optimal.objective
        << ")\n";
  const auto pct = [&](std::int64_t v) {
    return plan.total_tokens ? fixed(100.0 * static_cast<double>(v) / static_cast<double>(plan.total_tokens), 1)
                             : std::string("0.0");
  };
  out << "cross-GPU tokens " << routes.cross_gpu << " (" << pct(routes.cross_gpu) << "%)   cross-node tokens "
      << routes.cross_node << " (" << pct(routes.cross_node) << "%)\n\n";
  out << std::setw(5) << "gpu" << std::setw(12) << "load"
      << "   slot expert:tokens\n";
  for (int g = 0; g < p.gpus; ++g) {
    out << std::setw(5) << g << std::setw(12) << plan.gpu_load[static_cast<std::size_t>(g)] << "  ";
    for (int j = 0; j < p.slots_per_gpu; ++j) {
      const int e = p.expert(g, j);
      if (e < 0)
        out << "  -";
      else
        out << "  " << e << ':' << plan.at(e, g);
    }
    out << '\n';
  }
  if (p.gpus <= 32) {
    out << "\ntokens sent (row: source GPU, column: destination GPU)\n" << std::setw(5) << "";
    for (int g = 0; g < p.gpus; ++g) out << std::setw(9) << g;
    out << '\n';
    for (int s = 0; s < p.gpus; ++s) {
      out << std::setw(5) << s;
      for (auto v : routes.send_counts(s, p.gpus)) out << std::setw(9) << v;
      out << '\n';
    }
  }
  return 0;
}

}  // namespace

bool read_bounded(std::istream& in, std::string& text, std::size_t limit) {
  text.clear();
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    if (text.size() + static_cast<std::size_t>(in.gcount()) > limit) return false;
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return true;
}

int run_schedule_command_text(const std::string& text, const ScheduleCommandOptions& options, std::ostream& out,
                              std::ostream& err) {
  const std::string source =
      options.input_path.empty() ? "input" : (options.input_path == "-" ? "standard input" : options.input_path);
  try {
    if (options.format != "json" && options.format != "table") {
      err << "error: --format must be json or table, got \"" << options.format << "\"\n";
      return 2;
    }
    if (const auto problem = json_text_problem(text); !problem.empty()) {
      err << "error: " << source << " is refused: " << problem << '\n';
      return 2;
    }
    json root;
    try {
      root = json::parse(text);           // strict: bytes after the value are an error
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number overflow
      std::string msg = e.what();
      if (msg.size() > 200) msg = msg.substr(0, 200) + "...";  // it may quote a 100 KB token
      std::replace(msg.begin(), msg.end(), '\n', ' ');
      err << "error: " << source << " is not valid JSON: " << msg << '\n';
      return 2;
    }
    return run_parsed(root, options, out);
  } catch (const InputProblem& e) {
    err << "error: " << source << ": " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    err << "error: schedule failed: " << e.what() << '\n';
    return 1;
  } catch (...) {
    err << "error: schedule failed with an unknown exception\n";
    return 1;
  }
}

int run_schedule_command(const ScheduleCommandOptions& options, std::ostream& out, std::ostream& err) {
  try {
    std::string text;
    if (options.input_path == "-") {
      if (!read_bounded(std::cin, text)) {
        err << "error: standard input is refused: more than " << kMaxJsonBytes << " bytes (256 MiB)\n";
        return 2;
      }
    } else {
      // Only a regular file: a FIFO would block the open forever, a device never ends.
      if (const auto problem = regular_file_problem(options.input_path); !problem.empty()) {
        err << "error: cannot open input file \"" << options.input_path << "\": " << problem << "\n";
        return 2;
      }
      std::ifstream f(options.input_path, std::ios::binary);
      if (!f) {
        err << "error: cannot open input file \"" << options.input_path << "\"\n";
        return 2;
      }
      if (!read_bounded(f, text)) {
        err << "error: input file \"" << options.input_path << "\" is refused: more than " << kMaxJsonBytes
            << " bytes (256 MiB)\n";
        return 2;
      }
      if (f.bad()) {
        err << "error: cannot read input file \"" << options.input_path << "\"\n";
        return 2;
      }
    }
    return run_schedule_command_text(text, options, out, err);
  } catch (const std::exception& e) {
    err << "error: schedule failed: " << e.what() << '\n';
    return 1;
  } catch (...) {
    err << "error: schedule failed with an unknown exception\n";
    return 1;
  }
}

}  // namespace micromoe::commands
