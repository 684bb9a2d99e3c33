// SPDX-License-Identifier: BSD-3-Clause
// Megatron-LM's router trace (--moe-routing-trace-path; megatron/core/transformer/moe/
// router_trace.py): one JSON object per line and per (rank, step, block, layer, forward),
//   {"step": 0, "stage": "pre_dispatch", "block": "decoder", "layer": 3, "rank": 0,
//    "num_tokens": 128, "topk": 2, "top_indices": [[12, 45], ...], ...}
// read into per-source counts: source = rank, iteration = step, layer = the decoder layers in
// ascending order, micro_batch = the forward's index among the rank's records of that
// (step, layer). MTP records (block "mtp") are skipped. A small strict JSON reader: the records
// are flat, other fields are skipped (nesting at most kMaxDepth).
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "workload/trace_rows.hpp"

namespace micromoe::workload::detail {

namespace {

constexpr int kMaxDepth = 32;
constexpr int kMaxInferredExperts = 1 << 20;  // expert ids when the caller gives no model.experts

class JsonLine {
 public:
  JsonLine(const std::string& text, const std::string& name, std::int64_t line)
      : text_(text), name_(name), line_(line) {}

  [[noreturn]] void fail(const std::string& problem) const {
    trace_error(name_, line_, problem + " (at column " + std::to_string(pos_ + 1) + ")");
  }
  void space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool peek(char c) {
    space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool at_end() {
    space();
    return pos_ == text_.size();
  }
  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') {
        if (++pos_ >= text_.size()) break;
        if (text_[pos_] == 'u')
          pos_ += 4;  // \uXXXX: not needed for the fields read; kept out
        else
          out.push_back(text_[pos_]);
        ++pos_;
        continue;
      }
      out.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  /// A non-negative integer field value (digits only), range-checked like the CSV's fields.
  std::int64_t count(const char* field) {
    space();
    const std::size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E'))
      fail(std::string("field '") + field + "' is not an integer");
    return parse_count(text_.substr(start, pos_ - start), name_, line_, field);
  }
  int index(const char* field) {
    const std::int64_t v = count(field);
    if (v > kTraceMaxIndex)
      trace_error(name_, line_, std::string("field '") + field + "' is too large: " + std::to_string(v));
    return static_cast<int>(v);
  }
  /// Any JSON value, skipped (nesting bounded).
  void skip(int depth = 0) {
    if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth));
    space();
    if (pos_ >= text_.size()) fail("a value is missing");
    const char c = text_[pos_];
    if (c == '"') {
      string();
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++pos_;
      if (peek(close)) {
        ++pos_;
        return;
      }
      do {
        if (c == '{') {
          string();
          expect(':');
        }
        skip(depth + 1);
      } while (comma());
      expect(close);
    } else {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && std::string("+-.0123456789eEtruefalsn").find(text_[pos_]) != std::string::npos)
        ++pos_;
      if (pos_ == start) fail(std::string("unexpected '") + c + "'");
    }
  }
  bool comma() {
    if (!peek(',')) return false;
    ++pos_;
    return true;
  }

 private:
  const std::string& text_;
  const std::string& name_;
  std::int64_t line_;
  std::size_t pos_ = 0;
};

struct Record {
  int step = -1, layer = -1, rank = -1, topk = -1;
  std::int64_t num_tokens = -1;
  std::string block = "decoder";
  bool mtp = false;
  std::vector<std::int64_t> counts;  ///< copies per expert id
  std::int64_t tokens = 0;
};

Record parse_record(const std::string& text, const std::string& name, std::int64_t line, int experts) {
  JsonLine json(text, name, line);
  Record r;
  bool have_indices = false;
  std::set<std::string> keys;
  json.expect('{');
  if (!json.peek('}')) do {
      const std::string key = json.string();
      if (!keys.insert(key).second) trace_error(name, line, "the field '" + key + "' appears twice");
      json.expect(':');
      if (key == "step")
        r.step = json.index("step");
      else if (key == "layer")
        r.layer = json.index("layer");
      else if (key == "rank")
        r.rank = json.index("rank");
      else if (key == "topk")
        r.topk = json.index("topk");
      else if (key == "num_tokens")
        r.num_tokens = json.count("num_tokens");
      else if (key == "block")
        r.block = json.string();
      else if (key == "mtp_idx")
        json.skip(), r.mtp = true;
      else if (key == "top_indices") {
        have_indices = true;
        json.expect('[');
        if (!json.peek(']')) do {
            json.expect('[');
            std::int64_t k = 0;
            if (!json.peek(']')) do {
                const int e = json.index("top_indices");
                if (experts > 0 && e >= experts)
                  trace_error(name, line,
                              "expert " + std::to_string(e) + " but the model has " + std::to_string(experts) +
                                  " experts (model.experts)");
                if (experts <= 0 && e >= kMaxInferredExperts)
                  trace_error(name, line,
                              "expert " + std::to_string(e) + " is past the largest id read without model.experts");
                if (static_cast<std::size_t>(e) >= r.counts.size()) r.counts.resize(static_cast<std::size_t>(e) + 1, 0);
                ++r.counts[static_cast<std::size_t>(e)];
                ++k;
              } while (json.comma());
            json.expect(']');
            if (r.topk >= 0 && k != r.topk)
              trace_error(name, line,
                          "token " + std::to_string(r.tokens) + " has " + std::to_string(k) + " experts but topk is " +
                              std::to_string(r.topk));
            ++r.tokens;
          } while (json.comma());
        json.expect(']');
      } else {
        json.skip();
      }
    } while (json.comma());
  json.expect('}');
  if (!json.at_end()) json.fail("text after the record");
  if (r.block == "mtp") r.mtp = true;
  if (r.mtp) return r;
  for (const auto& [value, field] : {std::pair<int, const char*>{r.step, "step"}, {r.layer, "layer"}, {r.rank, "rank"}})
    if (value < 0) trace_error(name, line, std::string("record without '") + field + "'");
  if (!have_indices) trace_error(name, line, "record without 'top_indices'");
  std::int64_t copies = 0;
  for (const auto c : r.counts) copies += c;  // at most the line's length: no overflow
  if (r.topk >= 0 && copies != r.tokens * r.topk)
    trace_error(name, line,
                std::to_string(r.tokens) + " tokens with " + std::to_string(copies) + " expert choices but topk is " +
                    std::to_string(r.topk));
  if (r.num_tokens >= 0 && r.num_tokens != r.tokens)
    trace_error(name, line,
                "num_tokens is " + std::to_string(r.num_tokens) + " but top_indices has " + std::to_string(r.tokens) +
                    " tokens");
  return r;
}

}  // namespace

RoutingTrace parse_megatron(LineReader& lines, int experts) {
  const std::string& name = lines.name();
  // Raw keys first: layers and ranks are renumbered densely once all are known.
  std::map<std::array<int, 3>, int> forwards;      // (rank, step, layer) -> records so far
  std::map<std::array<int, 5>, std::int64_t> raw;  // (step, layer, micro_batch, rank, expert)
  std::map<std::array<int, 5>, std::int64_t> first_line;
  std::set<int> layers, ranks;
  int top_k = 0;
  std::int64_t top_k_line = 0;
  std::string text;
  while (lines.next(text)) {
    const std::int64_t line = lines.line();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    const Record r = parse_record(text, name, line, experts);
    if (r.mtp) continue;
    if (r.topk > 0) {
      if (top_k > 0 && r.topk != top_k)
        trace_error(name, line,
                    "topk " + std::to_string(r.topk) + " differs from topk " + std::to_string(top_k) + " on line " +
                        std::to_string(top_k_line));
      if (top_k == 0) top_k = r.topk, top_k_line = line;
    }
    int& micro_batch = forwards[{r.rank, r.step, r.layer}];
    if (micro_batch > kTraceMaxIndex - 1) trace_error(name, line, "too many records for one (rank, step, layer)");
    layers.insert(r.layer);
    ranks.insert(r.rank);
    for (std::size_t e = 0; e < r.counts.size(); ++e)
      if (r.counts[e] > 0) {
        raw[{r.step, r.layer, micro_batch, r.rank, static_cast<int>(e)}] = r.counts[e];
        first_line.emplace(std::array<int, 5>{r.step, r.layer, micro_batch, r.rank, static_cast<int>(e)}, line);
      }
    ++micro_batch;
  }
  const auto dense = [](const std::set<int>& values) {
    std::map<int, int> out;
    for (const int v : values) out.emplace(v, static_cast<int>(out.size()));
    return out;
  };
  const auto layer_of = dense(layers), source_of = dense(ranks);
  TraceRows rows(name, experts);
  for (const auto& [key, n] : raw)
    rows.insert({key[0], layer_of.at(key[1]), key[2], source_of.at(key[3]), key[4]}, n, first_line.at(key));
  if (rows.empty()) trace_error(name, 0, "no routing records (decoder records with top_indices)");
  return rows.build(/*per_source=*/true, top_k);
}

}  // namespace micromoe::workload::detail
