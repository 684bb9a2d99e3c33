// SPDX-License-Identifier: BSD-3-Clause
#include "workload/trace.hpp"

#include <fstream>

#include "core/error.hpp"
#include "core/file_kind.hpp"
#include "workload/trace_rows.hpp"

namespace micromoe::workload {

std::vector<std::int64_t> RoutingTrace::source_counts(int iteration, int layer, int micro_batch, int source) const {
  const auto first = data.begin() + static_cast<std::ptrdiff_t>(offset(iteration % iterations, layer % layers,
                                                                       micro_batch % micro_batches, source % sources));
  return std::vector<std::int64_t>(first, first + experts);
}

std::vector<std::int64_t> RoutingTrace::micro_batch_counts(int iteration, int layer, int micro_batch) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(experts), 0);
  // The reader checked that a micro-batch's counts sum within int64.
  for (int s = 0; s < sources; ++s) {
    const auto row = source_counts(iteration, layer, micro_batch, s);
    for (int e = 0; e < experts; ++e) out[static_cast<std::size_t>(e)] += row[static_cast<std::size_t>(e)];
  }
  return out;
}

std::vector<std::int64_t> RoutingTrace::rank_counts(int iteration, int layer, int micro_batch, int ranks,
                                                    int rank) const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(experts), 0);
  for (int s = 0; s < sources; ++s) {
    if (s % ranks != rank % sources) continue;
    const auto row = source_counts(iteration, layer, micro_batch, s);
    for (int e = 0; e < experts; ++e) out[static_cast<std::size_t>(e)] += row[static_cast<std::size_t>(e)];
  }
  return out;
}

RoutingTrace parse_trace(std::istream& in, const std::string& name, int experts) {
  // The first non-blank character says the format: JSON lines open with '{'.
  detail::LineReader lines(in, name);
  std::string text;
  while (lines.next(text)) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    lines.unread();
    return text[first] == '{' ? detail::parse_megatron(lines, experts) : detail::parse_csv(lines, experts);
  }
  return detail::parse_csv(lines, experts);  // empty: the CSV reader says so
}

RoutingTrace parse_trace_csv(std::istream& in, const std::string& name, int experts) {
  detail::LineReader lines(in, name);
  return detail::parse_csv(lines, experts);
}

RoutingTrace parse_trace_megatron(std::istream& in, const std::string& name, int experts) {
  detail::LineReader lines(in, name);
  return detail::parse_megatron(lines, experts);
}

RoutingTrace read_trace(const std::string& path, int experts) {
  // Only a regular file: a FIFO would block the open forever, a device (/dev/zero) never ends.
  if (const auto problem = regular_file_problem(path); !problem.empty())
    detail::trace_error(path, 0,
                        "cannot read: " + problem + "; fix: set workload.trace_file to a trace file (docs/trace.md)");
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::trace_error(path, 0, "cannot open the file");
  return parse_trace(in, path, experts);
}

void check_trace_top_k(const RoutingTrace& trace, int deck_top_k, const std::string& path) {
  if (trace.top_k > 0 && trace.top_k != deck_top_k)
    throw InputError("trace " + path + " records top_k = " + std::to_string(trace.top_k) +
                     " but the deck has model.top_k = " + std::to_string(deck_top_k) + "; fix: set model.top_k=" +
                     std::to_string(trace.top_k) + " (or remove the trace's top_k declaration to rescale it)");
}

}  // namespace micromoe::workload
