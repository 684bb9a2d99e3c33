// SPDX-License-Identifier: BSD-3-Clause
// The trace adapter of batch mode: the only file that calls the trace reader (lib/workload), so
// a change of its formats (a per-source column) is a change here alone.
//
// A study needs G source rows. A per-source trace (CSV `source` column, Megatron JSON lines)
// gives source s what rank s of G replays in a run (RoutingTrace::rank_counts: the sources
// t with t mod G == s mod S). A trace of totals records each expert's count summed over all
// ranks: expert e's L tokens are split evenly, floor(L / G) per source, and its L mod G
// remaining tokens go one each to sources e, e+1, ... (mod G), so no source is favoured.
#include <memory>
#include <vector>

#include "commands/schedule_batch_input.hpp"
#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::commands {

namespace {

void split_evenly(const std::vector<std::int64_t>& totals, schedule::CountMatrix& counts) {
  const int G = counts.sources;
  for (int e = 0; e < counts.experts; ++e) {
    const std::int64_t L = totals[static_cast<std::size_t>(e)];
    const std::int64_t q = L / G;
    const int r = static_cast<int>(L % G), first = e % G;
    for (int s = 0; s < G; ++s) counts(s, e) = q;
    for (int k = 0; k < r; ++k) ++counts((first + k) % G, e);
  }
}

class TraceSource final : public MicroBatchSource {
 public:
  TraceSource(const std::string& path, const BatchLayout& layout)
      : trace_(workload::read_trace(path, layout.experts)), gpus_(layout.gpus) {}

  bool next(MicroBatch& mb) override {
    if (i_ >= trace_.iterations) return false;
    const int E = trace_.experts, G = gpus_;
    if (mb.counts.sources != G || mb.counts.experts != E) mb.counts = schedule::CountMatrix(G, E);
    if (trace_.per_source) {
      for (int s = 0; s < G; ++s) {
        const auto row = trace_.rank_counts(i_, l_, m_, G, s);
        for (int e = 0; e < E; ++e) mb.counts(s, e) = row[static_cast<std::size_t>(e)];
      }
    } else {
      const auto totals = trace_.micro_batch_counts(i_, l_, m_);
      split_evenly(totals, mb.counts);
    }
    mb.iteration = i_;
    mb.layer = l_;
    mb.micro_batch = m_;
    if (++m_ == trace_.micro_batches) {
      m_ = 0;
      if (++l_ == trace_.layers) {
        l_ = 0;
        ++i_;
      }
    }
    return true;
  }

 private:
  workload::RoutingTrace trace_;
  int gpus_;
  int i_ = 0, l_ = 0, m_ = 0;
};

}  // namespace

std::unique_ptr<MicroBatchSource> trace_source(const std::string& path, const BatchLayout& layout) {
  if (layout.experts < 1)
    throw InputError("schedule --batch " + path +
                     ": a CSV trace needs --experts (the trace names only the experts "
                     "with tokens)");
  return std::make_unique<TraceSource>(path, layout);
}

}  // namespace micromoe::commands
