// SPDX-License-Identifier: BSD-3-Clause
// The micro-batches of `micromoe schedule --batch`: JSON lines (one micro-batch's counts per
// line) or a routing trace (schedule_trace_input.cpp, the one file that knows the trace reader).
#pragma once

#include <iosfwd>
#include <memory>
#include <string>

#include "commands/schedule_batch.hpp"

namespace micromoe::commands {

/// Yields micro-batches in input order.
class MicroBatchSource {
 public:
  virtual ~MicroBatchSource() = default;
  /// The next micro-batch into `mb` (its buffers reused); false at the end. Throws InputError
  /// naming the file, line and problem.
  virtual bool next(MicroBatch& mb) = 0;
};

/// JSON lines from `in` (named `name` in errors). Every non-blank line is an object:
/// "counts" (G rows of E integers, required), optional "iteration", "layer", "micro_batch"
/// (integers >= 0; iteration defaults to the line's micro-batch ordinal), optional "gpus" and
/// "experts" (must match). layout.experts == 0 takes E from the first line (and sets it).
std::unique_ptr<MicroBatchSource> json_lines_source(std::istream& in, const std::string& name, BatchLayout& layout);

/// A CSV routing trace (docs/trace.md) as micro-batches in (iteration, layer, micro_batch)
/// order; needs layout.experts. Its per-expert counts are split over the G sources (see there).
std::unique_ptr<MicroBatchSource> trace_source(const std::string& path, const BatchLayout& layout);

/// Opens `path` ("-": standard input, JSON lines): JSON lines when its first non-blank byte is
/// '{' or '[', else a trace CSV. Throws InputError when it cannot be read.
std::unique_ptr<MicroBatchSource> open_batch_input(const std::string& path, BatchLayout& layout);

}  // namespace micromoe::commands
