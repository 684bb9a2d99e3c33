// SPDX-License-Identifier: BSD-3-Clause
// The CSV trace reader: `iteration,layer,micro_batch[,source],expert,tokens`, comment lines,
// an optional `# top_k = K` declaration (docs/trace.md).
#include <string>
#include <vector>

#include "workload/trace_rows.hpp"

namespace micromoe::workload::detail {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// Every comma separates: "a,b," has three fields, the last empty (a trailing comma is an error).
std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t comma = text.find(','); comma != std::string::npos; comma = text.find(',', start)) {
    fields.push_back(trim(text.substr(start, comma - start)));
    start = comma + 1;
  }
  fields.push_back(trim(text.substr(start)));
  return fields;
}

/// `# top_k = K` (spaces optional): K, or 0 when the comment is something else.
int top_k_declaration(const std::string& comment, const std::string& name, std::int64_t line) {
  const std::string body = trim(comment.substr(1));
  if (body.rfind("top_k", 0) != 0) return 0;
  const std::string rest = body.substr(5);
  if (!rest.empty() && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '=') return 0;  // "# top_kind ..."
  const std::string value = trim(rest);
  if (value.empty() || value[0] != '=') trace_error(name, line, "expected '# top_k = K', found '" + comment + "'");
  const int k = parse_index(trim(value.substr(1)), name, line, "top_k");
  if (k < 1) trace_error(name, line, "top_k must be at least 1");
  return k;
}

const std::vector<std::string> kTotalsHeader = {"iteration", "layer", "micro_batch", "expert", "tokens"};
const std::vector<std::string> kSourceHeader = {"iteration", "layer", "micro_batch", "source", "expert", "tokens"};

}  // namespace

RoutingTrace parse_csv(LineReader& lines, int experts) {
  const std::string& name = lines.name();
  TraceRows rows(name, experts);
  bool header_seen = false, per_source = false;
  int top_k = 0;
  std::string text;
  while (lines.next(text)) {
    const std::int64_t line = lines.line();
    text = trim(text);
    if (text.empty()) continue;
    if (text[0] == '#') {
      if (const int k = top_k_declaration(text, name, line); k > 0) {
        if (top_k > 0 && k != top_k)
          trace_error(name, line, "a second top_k (" + std::to_string(k) + ") differs from " + std::to_string(top_k));
        top_k = k;
      }
      continue;
    }
    const auto fields = split_fields(text);
    if (!header_seen) {
      if (fields == kSourceHeader)
        per_source = true;
      else if (fields != kTotalsHeader)
        trace_error(name, line,
                    "expected the header 'iteration,layer,micro_batch,expert,tokens' or "
                    "'iteration,layer,micro_batch,source,expert,tokens'");
      header_seen = true;
      continue;
    }
    const std::size_t expected = per_source ? 6 : 5;
    if (fields.size() != expected)
      trace_error(name, line,
                  "expected " + std::to_string(expected) + " fields, found " + std::to_string(fields.size()) +
                      (text.back() == ',' ? " (a trailing comma?)" : ""));
    const int i = parse_index(fields[0], name, line, "iteration");
    const int l = parse_index(fields[1], name, line, "layer");
    const int m = parse_index(fields[2], name, line, "micro_batch");
    const int s = per_source ? parse_index(fields[3], name, line, "source") : 0;
    const int e = parse_index(fields[expected - 2], name, line, "expert");
    const std::int64_t n = parse_count(fields[expected - 1], name, line, "tokens");
    rows.insert({i, l, m, s, e}, n, line);
  }
  if (!header_seen) trace_error(name, 0, "empty file (no header)");
  return rows.build(per_source, top_k);
}

}  // namespace micromoe::workload::detail
