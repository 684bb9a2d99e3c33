// SPDX-License-Identifier: BSD-3-Clause
// Shared by the trace readers (internal): bounded line reading, strict integer fields, and the
// sparse rows a reader collects before they become a dense RoutingTrace, every limit checked
// before any arithmetic.
#pragma once

#include <array>
#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <utility>

#include "workload/trace.hpp"

namespace micromoe::workload::detail {

[[noreturn]] void trace_error(const std::string& name, std::int64_t line, const std::string& problem);

/// The lines of a trace, counted, each read whole up to kTraceMaxLineBytes (a longer line and a
/// NUL byte are refused, naming the line); a trailing '\r' (CRLF files) is removed.
class LineReader {
 public:
  LineReader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}
  /// The next line into `text`; false at the end of the stream.
  bool next(std::string& text);
  /// The next call to next() returns the last line again (one line of look-ahead).
  void unread() { unread_ = true; }
  std::int64_t line() const { return line_; }
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_, last_;
  std::int64_t line_ = 0;
  bool unread_ = false;
};

/// The two formats, read from a LineReader (parse_trace dispatches between them).
RoutingTrace parse_csv(LineReader& lines, int experts);
RoutingTrace parse_megatron(LineReader& lines, int experts);

/// A non-negative decimal integer (digits only, at most 2^63 - 1), else an error naming `field`.
std::int64_t parse_count(const std::string& text, const std::string& name, std::int64_t line, const char* field);

/// As parse_count, at most kTraceMaxIndex.
int parse_index(const std::string& text, const std::string& name, std::int64_t line, const char* field);

/// The rows of a trace being read: (iteration, layer, micro_batch, source, expert) -> tokens.
class TraceRows {
 public:
  using Key = std::array<int, 5>;
  TraceRows(std::string name, int experts) : name_(std::move(name)), experts_(experts) {}

  /// A new row; an error when the key was seen (duplicate) or the expert is out of range.
  void insert(const Key& key, std::int64_t tokens, std::int64_t line);
  /// Adds to a row (Megatron: one copy per token choice); the sum is checked against int64.
  void add(const Key& key, std::int64_t tokens, std::int64_t line);
  bool empty() const { return rows_.empty(); }

  /// The dense trace; `sources` 0 takes the largest source + 1. Checks the cell count against
  /// kTraceMaxCells and each micro-batch's sum against 2^63 - 1.
  RoutingTrace build(bool per_source, int top_k) const;

 private:
  void check_expert(int expert, std::int64_t line) const;
  std::string name_;
  int experts_;
  std::map<Key, std::int64_t> rows_;
};

}  // namespace micromoe::workload::detail
