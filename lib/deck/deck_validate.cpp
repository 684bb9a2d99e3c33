// SPDX-License-Identifier: BSD-3-Clause
// validate / resolve_layout: the checks that involve several keys or the rank count.
#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "comm/backend.hpp"
#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/error_line.hpp"
#include "deck/deck.hpp"

namespace micromoe::deck {
namespace {

/// Divisors of n, ascending (at most the first 16). Trial division up to sqrt(n) only: n may be a
/// user's `--ranks` (a prime near 2^31 took seconds when every i <= n was tried).
std::string divisors(int n) {
  std::vector<int> small, large;  // i <= sqrt(n), and n / i
  for (int i = 1; static_cast<long long>(i) * i <= n; ++i)
    if (n % i == 0) {
      small.push_back(i);
      if (i != n / i) large.push_back(n / i);
    }
  small.insert(small.end(), large.rbegin(), large.rend());
  std::string out;
  for (std::size_t k = 0; k < small.size() && k < 16; ++k) out += (k ? ", " : "") + std::to_string(small[k]);
  return out;
}

class Checker {
 public:
  explicit Checker(const RunConfig& config) : where_("deck " + config.source + ": ") {}
  /// Throws "deck SOURCE: [section] key: problem; fix: fix" unless `ok`.
  void require(bool ok, const std::string& section, const std::string& key, const std::string& problem,
               const std::string& fix) const {
    if (!ok) throw InputError(error_line(where_ + "[" + section + "] " + key + ": " + problem + "; fix: " + fix));
  }

 private:
  std::string where_;
};

}  // namespace

RunConfig resolve_layout(const RunConfig& config, int ranks) {
  const Checker check(config);
  RunConfig r = config;
  auto& p = r.parallel;
  const auto& m = r.model;
  const auto& t = r.training;
  const std::string ranks_text = std::to_string(ranks) + " rank" + (ranks == 1 ? "" : "s");
  if (ranks < 1) throw InputError(error_line("deck " + config.source + ": a run needs at least one rank"));

  // ---- layout: ep_size x (ranks / ep_size), MicroEP groups of d EP groups ----
  if (p.ep_size == 0 && p.microep_group == 0) {
    p.microep_group = ranks % 2 == 0 ? 2 : 1;
    p.ep_size = ranks / p.microep_group;
  } else if (p.ep_size == 0) {
    check.require(ranks % p.microep_group == 0, "parallel", "microep_group",
                  std::to_string(p.microep_group) + " does not divide the " + ranks_text +
                      " (ep_size = 0 means ranks / microep_group)",
                  "set microep_group to one of " + divisors(ranks) + ", or set ep_size");
    p.ep_size = ranks / p.microep_group;
  }
  check.require(
      ranks % p.ep_size == 0, "parallel", "ep_size", std::to_string(p.ep_size) + " does not divide the " + ranks_text,
      "set ep_size to one of " + divisors(ranks) + ", or run on a multiple of " + std::to_string(p.ep_size) + " ranks");
  const int dp = ranks / p.ep_size;  // EP groups (data-parallel degree)
  if (p.microep_group == 0) p.microep_group = dp;
  check.require(
      dp % p.microep_group == 0, "parallel", "microep_group",
      "d = " + std::to_string(p.microep_group) + " does not divide ranks / ep_size = " + std::to_string(dp) +
          " (EP groups on " + ranks_text + ")",
      "set microep_group to a divisor of " + std::to_string(dp) + " (" + divisors(dp) + "), or run on more ranks");
  check.require(m.experts % p.ep_size == 0, "model", "experts",
                std::to_string(m.experts) +
                    " experts cannot be split evenly over ep_size = " + std::to_string(p.ep_size) + " GPUs",
                "use a multiple of " + std::to_string(p.ep_size) + " experts, or set parallel.ep_size to one of " +
                    divisors(m.experts) + " that divides the rank count");
  check.require(m.top_k <= m.experts, "model", "top_k",
                std::to_string(m.top_k) + " is more than the " + std::to_string(m.experts) + " experts",
                "set top_k to at most " + std::to_string(m.experts));
  check.require(p.gpus_per_node == 0 || ranks < p.gpus_per_node || ranks % p.gpus_per_node == 0, "parallel",
                "gpus_per_node",
                std::to_string(p.gpus_per_node) + " does not divide the " + ranks_text + " into whole nodes",
                "set gpus_per_node to one of " + divisors(ranks) + ", or 0 to detect it");

  // ---- strategies ----
  const auto& s = r.run.strategies;
  check.require(!s.empty(), "run", "strategies", "the list is empty",
                "list at least one strategy, e.g. strategies = [\"ep\", \"microep\"]");
  std::set<strategy::StrategyKind> unique(s.begin(), s.end());
  for (std::size_t i = 0; i < s.size(); ++i)
    check.require(std::count(s.begin(), s.end(), s[i]) == 1, "run", "strategies",
                  "\"" + to_string(s[i]) + "\" is listed more than once", "list each strategy once");
  const bool eplb = unique.count(strategy::StrategyKind::eplb) > 0;
  if (eplb && p.ep_size > 1) {
    // An expert has at most one replica per GPU of its EP group: ep_size * extra <= experts * (ep_size - 1).
    // (With ep_size = 1 one GPU holds every expert: eplb has nothing to replicate and ignores the slots.)
    const long long extra_total = static_cast<long long>(p.ep_size) * p.eplb_redundant_slots;
    const long long room = static_cast<long long>(m.experts) * (p.ep_size - 1);
    check.require(extra_total <= room, "parallel", "eplb_redundant_slots",
                  std::to_string(p.eplb_redundant_slots) + " extra slots per GPU make " + std::to_string(extra_total) +
                      " replicas, more than the " + std::to_string(room) + " that " + std::to_string(m.experts) +
                      " experts on ep_size = " + std::to_string(p.ep_size) + " GPUs can hold (one per GPU)",
                  "set eplb_redundant_slots to at most " + std::to_string(room / p.ep_size));
  }

  // ---- workload and training ----
  check.require(r.workload.kind != workload::WorkloadKind::trace || !r.workload.trace_file.empty(), "workload",
                "trace_file", "kind = \"trace\" needs a trace file",
                "set trace_file = \"path/to/counts.h5\" (or .csv), or kind = \"synthetic\"");
  check.require(t.warmup_iterations < t.iterations, "training", "warmup_iterations",
                std::to_string(t.warmup_iterations) + " warm-up iterations leave none of the " +
                    std::to_string(t.iterations) + " iterations to measure",
                "set warmup_iterations to at most " + std::to_string(t.iterations - 1) + " or raise iterations");

  const long long copies = static_cast<long long>(t.tokens_per_micro_batch) * m.top_k * ranks;
  check.require(copies <= 2147483647LL, "training", "tokens_per_micro_batch",
                std::to_string(t.tokens_per_micro_batch) + " tokens x top_k " + std::to_string(m.top_k) + " x " +
                    ranks_text + " route " + std::to_string(copies) +
                    " copies per micro-batch, more than 32-bit counts hold",
                "use at most " + std::to_string(2147483647LL / (static_cast<long long>(m.top_k) * ranks)) +
                    " tokens per micro-batch");
  check.require(!r.run.report.empty(), "run", "report", "the report path is empty",
                "set report = \"micromoe_report.h5\" or another path");

  // ---- verification dump ----
  check.require((r.run.dump_layer < 0) == (r.run.dump_micro_batch < 0), "run",
                r.run.dump_layer < 0 ? "dump_layer" : "dump_micro_batch",
                "the verification dump needs both dump_layer and dump_micro_batch",
                "set both to >= 0, or both to -1 (off)");
  check.require(
      r.run.dump_layer < m.layers, "run", "dump_layer",
      std::to_string(r.run.dump_layer) + " is not a layer of the " + std::to_string(m.layers) + "-layer model",
      "use 0 .. " + std::to_string(m.layers - 1) + ", or -1 (off)");
  check.require(r.run.dump_micro_batch < t.micro_batches, "run", "dump_micro_batch",
                std::to_string(r.run.dump_micro_batch) + " is not one of the " + std::to_string(t.micro_batches) +
                    " micro-batches",
                "use 0 .. " + std::to_string(t.micro_batches - 1) + ", or -1 (off)");

  // ---- what this build can do ----
  check.require(m.precision != moe::Precision::tf32 || MICROMOE_ENABLE_CUDA, "model", "precision",
                "\"tf32\" is GPU-only and this is a CPU build",
                "use precision = \"fp32\" or \"bf16\", or build with -DMICROMOE_ENABLE_CUDA=ON");
  check.require(comm::backend_available(p.backend), "parallel", "backend",
                "\"" + to_string(p.backend) + "\" is not available in this build",
                "use backend = \"mpi\", or build with -DMICROMOE_ENABLE_NCCL=ON");
  return r;
}

void validate(const RunConfig& config, int ranks) { (void)resolve_layout(config, ranks); }

}  // namespace micromoe::deck
