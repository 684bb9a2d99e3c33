// SPDX-License-Identifier: BSD-3-Clause
#include "workload/trace.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <tuple>

#include "core/error.hpp"
#include "core/file_kind.hpp"

namespace micromoe::workload {

namespace {

[[noreturn]] void trace_error(const std::string& path, int line, const std::string& problem) {
  throw InputError("trace " + path + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + problem);
}

std::int64_t parse_field(const std::string& text, const std::string& path, int line, const char* name) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    trace_error(path, line, std::string("field '") + name + "' is not an integer: '" + text + "'");
  if (value < 0) trace_error(path, line, std::string("field '") + name + "' is negative: " + text);
  return value;
}

/// An index field: it must fit an int with room for the count (index + 1), never wrap.
int parse_index(const std::string& text, const std::string& path, int line, const char* name) {
  const std::int64_t value = parse_field(text, path, line, name);
  if (value >= std::numeric_limits<int>::max())
    trace_error(path, line, std::string("field '") + name + "' is too large: " + text);
  return static_cast<int>(value);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::int64_t> RoutingTrace::micro_batch_counts(int iteration, int layer, int micro_batch) const {
  const int i = iteration % iterations, l = layer % layers, m = micro_batch % micro_batches;
  std::vector<std::int64_t> out(static_cast<std::size_t>(experts));
  for (int e = 0; e < experts; ++e) out[static_cast<std::size_t>(e)] = at(i, l, m, e);
  return out;
}

RoutingTrace read_trace_csv(const std::string& path, int experts) {
  // Only a regular file: a FIFO would block the open forever, a device (/dev/zero) never ends.
  if (const auto problem = regular_file_problem(path); !problem.empty())
    trace_error(path, 0, "cannot read: " + problem + "; fix: set workload.trace_file to a CSV trace (docs/trace.md)");
  std::ifstream in(path);
  if (!in) trace_error(path, 0, "cannot open the file");
  std::string text;
  int line = 0;
  bool header_seen = false;
  std::map<std::tuple<int, int, int, int>, std::int64_t> rows;
  int iterations = 0, layers = 0, micro_batches = 0;
  while (std::getline(in, text)) {
    ++line;
    text = trim(text);
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(text);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(trim(f));
    if (!header_seen) {
      if (fields != std::vector<std::string>{"iteration", "layer", "micro_batch", "expert", "tokens"})
        trace_error(path, line, "expected the header 'iteration,layer,micro_batch,expert,tokens'");
      header_seen = true;
      continue;
    }
    if (fields.size() != 5) trace_error(path, line, "expected 5 fields, found " + std::to_string(fields.size()));
    const auto i = parse_index(fields[0], path, line, "iteration");
    const auto l = parse_index(fields[1], path, line, "layer");
    const auto m = parse_index(fields[2], path, line, "micro_batch");
    const auto e = parse_field(fields[3], path, line, "expert");
    const auto n = parse_field(fields[4], path, line, "tokens");
    if (e >= experts)
      trace_error(
          path, line,
          "expert " + std::to_string(e) + " but the model has " + std::to_string(experts) + " experts (model.experts)");
    if (!rows.emplace(std::make_tuple(i, l, m, static_cast<int>(e)), n).second)
      trace_error(path, line, "duplicate row for this iteration/layer/micro_batch/expert");
    iterations = std::max(iterations, i + 1);
    layers = std::max(layers, l + 1);
    micro_batches = std::max(micro_batches, m + 1);
  }
  if (!header_seen) trace_error(path, 0, "empty file (no header)");
  if (rows.empty()) trace_error(path, 0, "no data rows");
  // Each micro-batch's counts are summed when they are rescaled: refuse a sum past int64 now,
  // on every rank alike, rather than mid-training.
  std::map<std::tuple<int, int, int>, __int128> micro_batch_sums;
  for (const auto& [key, n] : rows) {
    auto& sum = micro_batch_sums[std::make_tuple(std::get<0>(key), std::get<1>(key), std::get<2>(key))];
    sum += n;
    if (sum > std::numeric_limits<std::int64_t>::max())
      trace_error(path, 0,
                  "the tokens of iteration " + std::to_string(std::get<0>(key)) + ", layer " +
                      std::to_string(std::get<1>(key)) + ", micro_batch " + std::to_string(std::get<2>(key)) +
                      " add up to more than 2^63 - 1");
  }
  RoutingTrace trace{iterations, layers, micro_batches, experts, {}};
  trace.data.assign(static_cast<std::size_t>(iterations) * layers * micro_batches * experts, 0);
  for (const auto& [key, n] : rows)
    trace.at(std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key)) = n;
  return trace;
}

std::vector<std::int64_t> rescale_counts(const std::vector<std::int64_t>& counts, std::int64_t total,
                                         std::int64_t cap) {
  const auto n = counts.size();
  MICROMOE_REQUIRE(static_cast<std::int64_t>(n) * cap >= total, "trace routing: not enough experts for top_k");
  // The sum in 128 bits: counts near 2^63 must be refused, not wrap into a negative sum.
  __int128 wide_sum = 0;
  for (const auto c : counts) {
    if (c < 0) throw InputError("trace routing: a negative token count (" + std::to_string(c) + ")");
    wide_sum += c;
  }
  if (wide_sum > std::numeric_limits<std::int64_t>::max())
    throw InputError("trace routing: the token counts of one micro-batch add up to more than 2^63 - 1");
  const auto sum = static_cast<std::int64_t>(wide_sum);
  std::vector<std::int64_t> out(n, 0);
  // Largest remainder in exact integer arithmetic (a zero trace row becomes uniform).
  std::vector<std::pair<std::int64_t, std::size_t>> remainder(n);
  std::int64_t assigned = 0;
  for (std::size_t e = 0; e < n; ++e) {
    const __int128 scaled = sum > 0 ? static_cast<__int128>(counts[e]) * total : total;
    const std::int64_t denominator = sum > 0 ? sum : static_cast<std::int64_t>(n);
    out[e] = static_cast<std::int64_t>(scaled / denominator);
    remainder[e] = {static_cast<std::int64_t>(scaled % denominator), e};
    assigned += out[e];
  }
  std::stable_sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  // Each loop below ends after at most n (then 2n) steps whatever the input: no loop here can
  // outlast a SIGTERM.
  MICROMOE_REQUIRE(assigned <= total && total - assigned <= static_cast<std::int64_t>(n),
                   "trace routing: largest-remainder rounding left more than one copy per expert");
  for (std::size_t j = 0; assigned < total; ++j, ++assigned) ++out[remainder[j].second];
  // Cap: one copy per token per expert; the excess goes to experts below the cap, in id order.
  std::int64_t excess = 0;
  for (auto& c : out)
    if (c > cap) excess += c - cap, c = cap;
  for (std::size_t e = 0; excess > 0 && e < n; ++e)
    if (out[e] < cap) {
      const std::int64_t add = std::min(excess, cap - out[e]);
      out[e] += add;
      excess -= add;
    }
  MICROMOE_REQUIRE(excess == 0, "trace routing: the counts exceed what the experts can take");
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

}  // namespace micromoe::workload
