// SPDX-License-Identifier: BSD-3-Clause
// The trace adapter of batch mode: the only file that calls the trace reader (lib/workload), so
// a change of its formats (a per-source column) is a change here alone.
//
// The CSV trace records each expert's count summed over all ranks. A study needs G source rows:
// expert e's L tokens are split evenly, floor(L / G) per source, and its L mod G remaining
// tokens go one each to sources e, e+1, ... (mod G), so no source is favoured across experts.
#include <memory>

#include "commands/schedule_batch_input.hpp"
#include "core/error.hpp"
#include "workload/trace.hpp"

namespace micromoe::commands {

namespace {

class TraceSource final : public MicroBatchSource {
 public:
  TraceSource(const std::string& path, const BatchLayout& layout)
      : trace_(workload::read_trace_csv(path, layout.experts)), gpus_(layout.gpus) {}

  bool next(MicroBatch& mb) override {
    if (i_ >= trace_.iterations) return false;
    const int E = trace_.experts, G = gpus_;
    if (mb.counts.sources != G || mb.counts.experts != E) mb.counts = schedule::CountMatrix(G, E);
    for (int e = 0; e < E; ++e) {
      const std::int64_t L = trace_.at(i_, l_, m_, e);
      const std::int64_t q = L / G;
      const int r = static_cast<int>(L % G), first = e % G;
      for (int s = 0; s < G; ++s) mb.counts(s, e) = q;
      for (int k = 0; k < r; ++k) ++mb.counts((first + k) % G, e);
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
