// SPDX-License-Identifier: BSD-3-Clause
#include "commands/schedule_batch_input.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "commands/json_guard.hpp"
#include "core/error.hpp"
#include "core/file_kind.hpp"

namespace micromoe::commands {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxCount = std::int64_t{1} << 40;
constexpr std::int64_t kMaxTotal = std::int64_t{1} << 52;
constexpr std::int64_t kMaxIndex = std::int64_t{1} << 30;

/// One line of at most kMaxJsonBytes; false at the end of the input.
bool read_line(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  auto* buf = in.rdbuf();
  bool any = false;
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) return any;
    any = true;
    if (c == '\n') return true;
    if (line.size() >= kMaxJsonBytes) {
      too_long = true;
      return true;
    }
    line.push_back(static_cast<char>(c));
  }
}

class JsonLinesSource final : public MicroBatchSource {
 public:
  JsonLinesSource(std::istream& in, std::string name, BatchLayout& layout)
      : in_(in), name_(std::move(name)), layout_(layout) {}

  bool next(MicroBatch& mb) override {
    std::string line;
    for (;;) {
      bool too_long = false;
      if (!read_line(in_, line, too_long)) return false;
      ++line_;
      if (too_long) fail("the line is longer than " + std::to_string(kMaxJsonBytes) + " bytes (256 MiB)");
      if (line.find_first_not_of(" \t\r") != std::string::npos) break;
    }
    if (const auto problem = json_text_problem(line); !problem.empty()) fail("refused: " + problem);
    json root;
    try {
      root = json::parse(line);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number overflow
      std::string msg = e.what();
      fail("not valid JSON: " + msg.substr(0, 160));
    }
    parse(root, mb);
    ++ordinal_;
    return true;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(name_ + ":" + std::to_string(line_) + ": " + problem);
  }

  std::int64_t integer(const json& j, const std::string& what, std::int64_t lo, std::int64_t hi) const {
    if (!j.is_number_integer()) fail(what + " must be an integer, got " + brief_json(j));
    if (j.is_number_unsigned() ? j.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)
                               : (j.get<std::int64_t>() < lo || j.get<std::int64_t>() > hi))
      fail(what + " = " + brief_json(j) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return j.get<std::int64_t>();
  }

  void parse(const json& root, MicroBatch& mb) {
    if (!root.is_object()) fail("each line must be a JSON object, got " + std::string(root.type_name()));
    const json* counts = nullptr;
    mb.iteration = static_cast<int>(ordinal_);
    mb.layer = 0;
    mb.micro_batch = 0;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string& key = it.key();
      if (key == "counts")
        counts = &it.value();
      else if (key == "iteration")
        mb.iteration = static_cast<int>(integer(it.value(), "\"iteration\"", 0, kMaxIndex));
      else if (key == "layer")
        mb.layer = static_cast<int>(integer(it.value(), "\"layer\"", 0, kMaxIndex));
      else if (key == "micro_batch")
        mb.micro_batch = static_cast<int>(integer(it.value(), "\"micro_batch\"", 0, kMaxIndex));
      else if (key == "gpus") {
        if (integer(it.value(), "\"gpus\"", 1, kMaxIndex) != layout_.gpus)
          fail("\"gpus\" = " + brief_json(it.value()) + " but --gpus is " + std::to_string(layout_.gpus));
      } else if (key == "experts") {
        const auto e = integer(it.value(), "\"experts\"", 1, kMaxIndex);
        if (layout_.experts > 0 && e != layout_.experts)
          fail("\"experts\" = " + brief_json(it.value()) + " but the micro-batches have " +
               std::to_string(layout_.experts));
      } else {
        fail("unknown key \"" + key.substr(0, 40) +
             "\" (known keys: counts, iteration, layer, micro_batch, gpus, experts)");
      }
    }
    if (!counts) fail("missing key \"counts\" (G rows of E token counts)");
    const int G = layout_.gpus;
    if (!counts->is_array() || static_cast<int>(counts->size()) != G)
      fail("\"counts\" must be an array of " + std::to_string(G) + " rows (one per GPU, --gpus), got " +
           brief_json(*counts));
    for (int s = 0; s < G; ++s) {
      const json& row = (*counts)[static_cast<std::size_t>(s)];
      if (!row.is_array() || row.empty())
        fail("\"counts\"[" + std::to_string(s) + "] must be a non-empty array of per-expert counts");
      if (layout_.experts == 0) {
        if (static_cast<std::int64_t>(row.size()) * G > (std::int64_t{1} << 26))
          fail("\"counts\" is too large (gpus x experts above 2^26)");
        layout_.experts = static_cast<int>(row.size());
      }
      if (static_cast<int>(row.size()) != layout_.experts)
        fail("\"counts\"[" + std::to_string(s) + "] has " + std::to_string(row.size()) + " entries, expected " +
             std::to_string(layout_.experts) + " experts");
    }
    const int E = layout_.experts;
    if (mb.counts.sources != G || mb.counts.experts != E) mb.counts = schedule::CountMatrix(G, E);
    std::int64_t total = 0;
    for (int s = 0; s < G; ++s) {
      const json& row = (*counts)[static_cast<std::size_t>(s)];
      for (int e = 0; e < E; ++e) {
        const json& v = row[static_cast<std::size_t>(e)];
        const std::int64_t c =
            v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= 0 &&
                    v.get<std::int64_t>() <= kMaxCount
                ? v.get<std::int64_t>()
                : integer(v, "\"counts\"[" + std::to_string(s) + "][" + std::to_string(e) + "]", 0, kMaxCount);
        mb.counts(s, e) = c;
        total += c;
        if (total > kMaxTotal) fail("\"counts\" sum to more than 2^52 tokens");
      }
    }
  }

  std::istream& in_;
  std::string name_;
  BatchLayout& layout_;
  int line_ = 0;
  std::int64_t ordinal_ = 0;
};

/// Owns the file a JsonLinesSource reads.
class JsonLinesFile final : public MicroBatchSource {
 public:
  JsonLinesFile(const std::string& path, BatchLayout& layout) : file_(path, std::ios::binary) {
    if (!file_) throw InputError("schedule --batch: cannot open \"" + path + "\"");
    source_ = json_lines_source(file_, path, layout);
  }
  bool next(MicroBatch& mb) override { return source_->next(mb); }

 private:
  std::ifstream file_;
  std::unique_ptr<MicroBatchSource> source_;
};

}  // namespace

std::unique_ptr<MicroBatchSource> json_lines_source(std::istream& in, const std::string& name, BatchLayout& layout) {
  return std::make_unique<JsonLinesSource>(in, name, layout);
}

std::unique_ptr<MicroBatchSource> open_batch_input(const std::string& path, BatchLayout& layout) {
  if (path == "-") return json_lines_source(std::cin, "standard input", layout);
  // Only a regular file: a FIFO would block the open forever, a device never ends.
  if (const auto problem = regular_file_problem(path); !problem.empty())
    throw InputError("schedule --batch: cannot read \"" + path + "\": " + problem);
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw InputError("schedule --batch: cannot open \"" + path + "\"");
  char c = 0;
  while (probe.get(c) && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
  }
  if (!probe) throw InputError("schedule --batch: \"" + path + "\" is empty (no micro-batches)");
  // A Megatron-LM router trace is JSON lines too: its records carry "top_indices".
  std::string first_line(1, c);
  std::string rest;
  std::getline(probe, rest);
  first_line += rest;
  const bool megatron_trace = first_line.find("\"top_indices\"") != std::string::npos;
  if ((c == '{' || c == '[') && !megatron_trace) return std::make_unique<JsonLinesFile>(path, layout);
  return trace_source(path, layout);
}

}  // namespace micromoe::commands
