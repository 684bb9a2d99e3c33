// SPDX-License-Identifier: BSD-3-Clause
#include "workload/trace_rows.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/error.hpp"

namespace micromoe::workload::detail {

void trace_error(const std::string& name, std::int64_t line, const std::string& problem) {
  throw InputError("trace " + name + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + problem);
}

bool LineReader::next(std::string& text) {
  if (unread_) {
    unread_ = false;
    text = last_;
    return true;
  }
  text.clear();
  auto* buffer = in_.rdbuf();
  if (buffer == nullptr) return false;
  bool any = false;
  ++line_;
  for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
    any = true;
    if (c == '\n') break;
    if (c == '\0') trace_error(name_, line_, "a NUL byte (binary data, not a trace)");
    if (text.size() >= kTraceMaxLineBytes)
      trace_error(name_, line_, "line longer than " + std::to_string(kTraceMaxLineBytes) + " bytes");
    text.push_back(static_cast<char>(c));
  }
  if (!any) {
    --line_;
    return false;
  }
  if (!text.empty() && text.back() == '\r') text.pop_back();
  last_ = text;
  return true;
}

std::int64_t parse_count(const std::string& text, const std::string& name, std::int64_t line, const char* field) {
  const std::string shown = text.size() > 40 ? text.substr(0, 40) + "..." : text;
  if (text.empty()) trace_error(name, line, std::string("field '") + field + "' is empty");
  if (text[0] == '-' && text.size() > 1 && std::all_of(text.begin() + 1, text.end(), ::isdigit))
    trace_error(name, line, std::string("field '") + field + "' is negative: " + shown);
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9')
      trace_error(name, line, std::string("field '") + field + "' is not an integer: '" + shown + "'");
    const int digit = c - '0';
    if (value > (std::numeric_limits<std::int64_t>::max() - digit) / 10)
      trace_error(name, line, std::string("field '") + field + "' is too large (past 2^63 - 1): " + shown);
    value = value * 10 + digit;
  }
  return value;
}

int parse_index(const std::string& text, const std::string& name, std::int64_t line, const char* field) {
  const std::int64_t value = parse_count(text, name, line, field);
  if (value > kTraceMaxIndex)
    trace_error(name, line,
                std::string("field '") + field + "' is too large: " + text + " (at most " +
                    std::to_string(kTraceMaxIndex) + ")");
  return static_cast<int>(value);
}

void TraceRows::check_expert(int expert, std::int64_t line) const {
  if (experts_ > 0 && expert >= experts_)
    trace_error(name_, line,
                "expert " + std::to_string(expert) + " but the model has " + std::to_string(experts_) +
                    " experts (model.experts)");
}

void TraceRows::insert(const Key& key, std::int64_t tokens, std::int64_t line) {
  check_expert(key[4], line);
  if (!rows_.emplace(key, tokens).second)
    trace_error(name_, line, "duplicate row for this iteration/layer/micro_batch/source/expert");
}

void TraceRows::add(const Key& key, std::int64_t tokens, std::int64_t line) {
  check_expert(key[4], line);
  auto& n = rows_[key];
  if (n > std::numeric_limits<std::int64_t>::max() - tokens) trace_error(name_, line, "a count past 2^63 - 1");
  n += tokens;
}

RoutingTrace TraceRows::build(bool per_source, int top_k) const {
  if (rows_.empty()) trace_error(name_, 0, "no data rows");
  std::array<std::int64_t, 5> extent{};  // largest index + 1 per column; each index <= 2^30 - 1
  for (const auto& [key, n] : rows_)
    for (std::size_t c = 0; c < key.size(); ++c)
      extent[c] = std::max<std::int64_t>(extent[c], key[c] + std::int64_t{1});
  if (experts_ > 0) extent[4] = experts_;
  // The dense trace's size, multiplied with a check at each step (each factor < 2^30).
  std::int64_t cells = 1;
  for (const auto n : extent) {
    if (cells > kTraceMaxCells / n)
      trace_error(name_, 0,
                  "too large: iterations x layers x micro_batches x sources x experts = " + std::to_string(extent[0]) +
                      " x " + std::to_string(extent[1]) + " x " + std::to_string(extent[2]) + " x " +
                      std::to_string(extent[3]) + " x " + std::to_string(extent[4]) + " cells, more than " +
                      std::to_string(kTraceMaxCells));
    cells *= n;
  }
  // Each micro-batch's counts are summed when they are rescaled: refuse a sum past int64 now,
  // on every rank alike, rather than mid-training.
  std::map<std::array<int, 3>, __int128> sums;
  for (const auto& [key, n] : rows_) {
    auto& sum = sums[{key[0], key[1], key[2]}];
    sum += n;
    if (sum > std::numeric_limits<std::int64_t>::max())
      trace_error(name_, 0,
                  "the tokens of iteration " + std::to_string(key[0]) + ", layer " + std::to_string(key[1]) +
                      ", micro_batch " + std::to_string(key[2]) + " add up to more than 2^63 - 1");
  }
  RoutingTrace trace;
  trace.iterations = static_cast<int>(extent[0]);
  trace.layers = static_cast<int>(extent[1]);
  trace.micro_batches = static_cast<int>(extent[2]);
  trace.sources = static_cast<int>(extent[3]);
  trace.experts = static_cast<int>(extent[4]);
  trace.per_source = per_source;
  trace.top_k = top_k;
  trace.data.assign(static_cast<std::size_t>(cells), 0);
  for (const auto& [key, n] : rows_) trace.data[trace.offset(key[0], key[1], key[2], key[3]) + key[4]] = n;
  return trace;
}

}  // namespace micromoe::workload::detail
