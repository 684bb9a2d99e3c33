// SPDX-License-Identifier: BSD-3-Clause
// The table of deck keys. To add a key: add the RunConfig field, one entry here, and
// regenerate docs/deck.md (see docs/deck.md's first lines). An enumerated key's field has the
// domain's own enum type; its choices are that enum's name table (core/enum_names.hpp).
#include "deck/deck_schema.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <type_traits>

#include "core/nearest_name.hpp"
#include "core/parse_enum.hpp"
#include "deck/deck_limits.hpp"

namespace micromoe::deck {
namespace {

constexpr std::int64_t kMaxInt = 2147483647;  // int fields

template <class Section>
using SectionPtr = Section RunConfig::*;

// ---- binders: one per field type -------------------------------------------------------------

template <class Section, class Field>
KeySpec bind_field(const std::string& section, const std::string& name, SectionPtr<Section> sec, Field Section::*field,
                   KeyType type, DeckValue default_value, const std::string& doc) {
  KeySpec k;
  k.section = section;
  k.name = name;
  k.type = type;
  k.default_value = std::move(default_value);
  k.doc = doc;
  if constexpr (std::is_same_v<Field, bool>) {
    k.set = [sec, field](RunConfig& c, const DeckValue& v) { (c.*sec).*field = std::get<bool>(v); };
    k.get = [sec, field](const RunConfig& c) { return DeckValue((c.*sec).*field); };
  } else if constexpr (std::is_same_v<Field, double>) {
    k.set = [sec, field](RunConfig& c, const DeckValue& v) { (c.*sec).*field = std::get<double>(v); };
    k.get = [sec, field](const RunConfig& c) { return DeckValue((c.*sec).*field); };
  } else if constexpr (std::is_same_v<Field, std::string>) {
    k.set = [sec, field](RunConfig& c, const DeckValue& v) { (c.*sec).*field = std::get<std::string>(v); };
    k.get = [sec, field](const RunConfig& c) { return DeckValue((c.*sec).*field); };
  } else if constexpr (std::is_integral_v<Field>) {
    k.set = [sec, field](RunConfig& c, const DeckValue& v) {
      (c.*sec).*field = static_cast<Field>(std::get<std::int64_t>(v));
    };
    k.get = [sec, field](const RunConfig& c) { return DeckValue(static_cast<std::int64_t>((c.*sec).*field)); };
  } else {
    static_assert(std::is_enum_v<Field>, "unsupported deck field type");
  }
  return k;
}

template <class Section>
KeySpec int_key(const std::string& section, const std::string& name, SectionPtr<Section> sec, int Section::*field,
                std::int64_t def, std::int64_t lo, std::int64_t hi, const std::string& doc) {
  KeySpec k = bind_field(section, name, sec, field, KeyType::integer, DeckValue(def), doc);
  k.int_min = lo;
  k.int_max = hi;
  return k;
}

template <class Section>
KeySpec real_key(const std::string& section, const std::string& name, SectionPtr<Section> sec, double Section::*field,
                 double def, double lo, double hi, bool lo_open, bool hi_open, const std::string& doc) {
  KeySpec k = bind_field(section, name, sec, field, KeyType::real, DeckValue(def), doc);
  k.real_min = lo;
  k.real_max = hi;
  k.real_min_open = lo_open;
  k.real_max_open = hi_open;
  return k;
}

// Enumerations: the choices are the names of the enum's table (core/enum_names.hpp).
template <class Section, class Enum>
KeySpec enum_key(const std::string& section, const std::string& name, SectionPtr<Section> sec, Enum Section::*field,
                 Enum def, const std::string& doc) {
  KeySpec k;
  k.section = section;
  k.name = name;
  k.type = KeyType::enumeration;
  k.default_value = to_string(def);
  k.choices = enum_names<Enum>();
  k.doc = doc;
  k.set = [sec, field](RunConfig& c, const DeckValue& v) {
    (c.*sec).*field = parse_enum<Enum>(std::get<std::string>(v));
  };
  k.get = [sec, field](const RunConfig& c) { return DeckValue(to_string((c.*sec).*field)); };
  return k;
}

// A list of enum values (each name from the enum's table).
template <class Section, class Enum>
KeySpec enum_list_key(const std::string& section, const std::string& name, SectionPtr<Section> sec,
                      std::vector<Enum> Section::*field, const std::vector<Enum>& def, const std::string& doc) {
  KeySpec k;
  k.section = section;
  k.name = name;
  k.type = KeyType::string_list;
  std::vector<std::string> names;
  for (const auto value : def) names.push_back(to_string(value));
  k.default_value = names;
  k.choices = enum_names<Enum>();
  k.doc = doc;
  k.set = [sec, field](RunConfig& c, const DeckValue& v) {
    auto& values = (c.*sec).*field;
    values.clear();
    for (const auto& item : std::get<std::vector<std::string>>(v)) values.push_back(parse_enum<Enum>(item));
  };
  k.get = [sec, field](const RunConfig& c) {
    std::vector<std::string> out;
    for (const auto value : (c.*sec).*field) out.push_back(to_string(value));
    return DeckValue(out);
  };
  return k;
}

std::vector<KeySpec> build_schema() {
  using M = ModelConfig;
  using P = ParallelConfig;
  using W = WorkloadConfig;
  using T = TrainingConfig;
  using R = RunSection;
  const auto model = &RunConfig::model;
  const auto parallel = &RunConfig::parallel;
  const auto workload = &RunConfig::workload;
  const auto training = &RunConfig::training;
  const auto run = &RunConfig::run;
  const RunConfig d;  // the struct's defaults are the schema's defaults (a test checks both ways)
  std::vector<KeySpec> s;

  // [model]
  s.push_back(
      int_key("model", "hidden", model, &M::hidden, d.model.hidden, 1, 65536, "model width H (features per token)"));
  s.push_back(int_key("model", "ffn", model, &M::ffn, d.model.ffn, 1, 262144, "inner width of each expert's FFN"));
  s.push_back(int_key("model", "experts", model, &M::experts, d.model.experts, 1, 4096,
                      "experts per MoE layer E (must be a multiple of parallel.ep_size)"));
  s.push_back(int_key("model", "top_k", model, &M::top_k, d.model.top_k, 1, 64,
                      "experts each token is routed to (at most model.experts)"));
  s.push_back(int_key("model", "layers", model, &M::layers, d.model.layers, 1, 1024, "MoE layers in the stack"));
  s.push_back(enum_key("model", "activation", model, &M::activation, d.model.activation,
                       "expert activation (swiglu: gated, two input projections)"));
  s.push_back(bind_field("model", "renormalize", model, &M::renormalize, KeyType::boolean,
                         DeckValue(d.model.renormalize), "renormalise the top-k gate probabilities to sum to 1"));
  s.push_back(enum_key("model", "precision", model, &M::precision, d.model.precision,
                       "expert GEMM precision: fp32 exact; tf32 tensor-core math (CUDA builds only); bf16 "
                       "operands with fp32 accumulation (cuBLAS on GPUs, emulated on CPUs)"));
  s.push_back(enum_key("model", "expert_gemm", model, &M::expert_gemm, d.model.expert_gemm,
                       "expert GEMM launches: one per expert slot, or one grouped GEMM per stage for all slots "
                       "(cuBLAS grouped batched; pays when experts have few tokens)"));
  s.push_back(enum_key("model", "wire_precision", model, &M::wire_precision, d.model.wire_precision,
                       "token rows on the wire (dispatch, combine, their backward): auto = bf16 rows with "
                       "precision bf16 (half the bytes), fp32 rows otherwise; fp32 = always fp32 rows"));

  // [parallel]
  s.push_back(int_key("parallel", "ep_size", parallel, &P::ep_size, d.parallel.ep_size, 0, 1048576,
                      "GPUs (ranks) per EP group; must divide the rank count; 0 = ranks / microep_group"));
  s.push_back(int_key("parallel", "microep_group", parallel, &P::microep_group, d.parallel.microep_group, 0, 1048576,
                      "d: EP groups merged into one MicroEP group; must divide ranks / ep_size; 0 = automatic "
                      "(ranks / ep_size, or 2 when ep_size is 0 too and ranks is even, else 1)"));
  s.push_back(int_key("parallel", "gpus_per_node", parallel, &P::gpus_per_node, d.parallel.gpus_per_node, 0, 1024,
                      "ranks per node, for locality-aware scheduling; 0 = detect at run time"));
  s.push_back(enum_key("parallel", "placement", parallel, &P::placement, d.parallel.placement,
                       "microep expert placement: structured symmetric or shuffled random"));
  s.push_back(enum_key("parallel", "backend", parallel, &P::backend, d.parallel.backend,
                       "token-exchange and gradient-sync backend; nccl needs a CUDA build with NCCL and one "
                       "GPU per rank; mpi also lets ranks share a GPU"));
  s.push_back(real_key(
      "parallel", "capacity_factor", parallel, &P::capacity_factor, d.parallel.capacity_factor, 0.0, 64.0, true, false,
      "ep-capacity: expert capacity = factor * tokens * top_k / experts; tokens above it are dropped"));
  s.push_back(int_key("parallel", "eplb_redundant_slots", parallel, &P::eplb_redundant_slots,
                      d.parallel.eplb_redundant_slots, 0, 1024,
                      "eplb: extra expert slots per GPU holding replicas of hot experts"));
  s.push_back(int_key("parallel", "replace_interval", parallel, &P::replace_interval, d.parallel.replace_interval, 1,
                      kMaxInt, "K: iterations between re-placements of eplb and microep-adaptive"));
  s.push_back(int_key("parallel", "adaptive_min_replicas", parallel, &P::adaptive_min_replicas,
                      d.parallel.adaptive_min_replicas, 0, 1024,
                      "microep-adaptive: replicas every expert keeps (robustness to load shifts against balance); "
                      "0 = auto: ep's count d = G*S/E where the forecast's hot experts leave "
                      "the memory for it; "
                      "d = never worse than ep right after a shift, at the price of balance (docs/layer.md)"));

  // [workload]
  s.push_back(enum_key("workload", "kind", workload, &W::kind, d.workload.kind,
                       "synthetic: Zipf clusters with drift and bursts; trace: replay per-expert counts"));
  s.push_back(real_key("workload", "zipf_s", workload, &W::zipf_s, d.workload.zipf_s, 0.0, 10.0, false, false,
                       "Zipf exponent s of cluster popularity (0 = uniform)"));
  s.push_back(int_key("workload", "clusters", workload, &W::clusters, d.workload.clusters, 1, 1048576,
                      "token clusters whose popularity follows Zipf(s)"));
  s.push_back(
      real_key("workload", "drift", workload, &W::drift, d.workload.drift, 0.0, 1.0, false, false,
               "per-iteration drift: fraction of clusters that swap popularity rank with a neighbour (0 = static)"));
  s.push_back(real_key("workload", "burst_probability", workload, &W::burst_probability, d.workload.burst_probability,
                       0.0, 1.0, false, false, "probability per iteration that one cluster bursts"));
  s.push_back(real_key("workload", "burst_factor", workload, &W::burst_factor, d.workload.burst_factor, 1.0, 1000.0,
                       false, false, "popularity multiplier of the bursting cluster"));
  s.push_back(bind_field(
      "workload", "trace_file", workload, &W::trace_file, KeyType::string, DeckValue(d.workload.trace_file),
      "routing trace to replay (CSV of per-expert counts, optionally per source rank, or Megatron-LM router trace "
      "JSON lines; see docs/trace.md; relative to the current directory; needed when kind = trace)"));

  s.push_back(real_key("workload", "noise", workload, &W::noise, d.workload.noise, 0.0, 10.0, false, false,
                       "synthetic: standard deviation of a token around its cluster centre"));
  s.push_back(int_key("workload", "teacher_rank", workload, &W::teacher_rank, d.workload.teacher_rank, 1, 16,
                      "synthetic: rank of each expert of the fixed teacher MoE that supplies the targets"));

  // [training]
  s.push_back(int_key("training", "iterations", training, &T::iterations, d.training.iterations, 1, kMaxInt,
                      "training steps per strategy"));
  s.push_back(int_key("training", "warmup_iterations", training, &T::warmup_iterations, d.training.warmup_iterations, 0,
                      kMaxInt, "first iterations left out of the summary statistics (fewer than iterations)"));
  s.push_back(int_key("training", "micro_batches", training, &T::micro_batches, d.training.micro_batches, 1, 65536,
                      "micro-batches (gradient-accumulation steps) per iteration"));
  s.push_back(int_key("training", "tokens_per_micro_batch", training, &T::tokens_per_micro_batch,
                      d.training.tokens_per_micro_batch, 1, 16777216, "tokens per micro-batch on each rank"));
  s.push_back(
      enum_key("training", "optimizer", training, &T::optimizer, d.training.optimizer, "optimizer of all weights"));
  s.push_back(real_key("training", "learning_rate", training, &T::learning_rate, d.training.learning_rate, 0.0, 10.0,
                       true, false, "optimizer step size"));
  s.push_back(real_key("training", "momentum", training, &T::momentum, d.training.momentum, 0.0, 1.0, false, true,
                       "SGD momentum, or Adam's beta1"));
  {
    KeySpec k = bind_field("training", "seed", training, &T::seed, KeyType::integer,
                           DeckValue(static_cast<std::int64_t>(d.training.seed)),
                           "seed of weights and workload: same seed, same run (every strategy sees the same data)");
    k.int_min = 0;
    s.push_back(std::move(k));
  }

  // [run]
  s.push_back(enum_list_key("run", "strategies", run, &R::strategies, d.run.strategies,
                            "strategies to train side by side, in this order (each one once)"));
  s.push_back(bind_field("run", "report", run, &R::report, KeyType::string, DeckValue(d.run.report),
                         "HDF5 report path; relative paths are relative to the current working directory"));
  s.push_back(bind_field("run", "quiet", run, &R::quiet, KeyType::boolean, DeckValue(d.run.quiet),
                         "no per-iteration progress lines"));
  s.push_back(int_key("run", "dump_layer", run, &R::dump_layer, d.run.dump_layer, -1, kMaxInt,
                      "verification dump: layer to dump (-1 = off; set together with dump_micro_batch)"));
  s.push_back(int_key("run", "dump_micro_batch", run, &R::dump_micro_batch, d.run.dump_micro_batch, -1, kMaxInt,
                      "verification dump: micro-batch to dump (-1 = off; set together with dump_layer)"));

  // [cluster] (micromoe simulate)
  using C = ClusterConfig;
  const auto cluster = &RunConfig::cluster;
  s.push_back(int_key("cluster", "gpus_per_node", cluster, &C::gpus_per_node, d.cluster.gpus_per_node, 1, 1024,
                      "simulate: GPUs per node (the NVLink domain); consecutive ranks share a node"));
  s.push_back(real_key("cluster", "intra_node_bandwidth", cluster, &C::intra_node_bandwidth,
                       d.cluster.intra_node_bandwidth, 0.0, 1e6, true, false,
                       "simulate: all-to-all bandwidth per GPU inside a node, GB/s (NCCL bus bandwidth, NVLink)"));
  s.push_back(real_key("cluster", "intra_node_latency", cluster, &C::intra_node_latency, d.cluster.intra_node_latency,
                       0.0, 1e6, true, false, "simulate: fixed cost of one all-to-all inside a node, microseconds"));
  s.push_back(real_key("cluster", "inter_node_bandwidth", cluster, &C::inter_node_bandwidth,
                       d.cluster.inter_node_bandwidth, 0.0, 1e6, true, false,
                       "simulate: bandwidth per GPU across nodes (its NIC), GB/s"));
  s.push_back(real_key("cluster", "inter_node_latency", cluster, &C::inter_node_latency, d.cluster.inter_node_latency,
                       0.0, 1e6, true, false, "simulate: fixed cost of one all-to-all across nodes, microseconds"));
  s.push_back(real_key("cluster", "exchange_bytes", cluster, &C::exchange_bytes, d.cluster.exchange_bytes, 0.0, 64.0,
                       true, false, "simulate: bytes per element of a token row on the wire (bf16: 2, fp32: 4)"));
  s.push_back(bind_field("cluster", "calibration", cluster, &C::calibration, KeyType::string,
                         DeckValue(d.cluster.calibration),
                         "simulate: calibration file written by micromoe calibrate (required by simulate; "
                         "relative to the current working directory)"));
  s.push_back(bind_field("cluster", "fast_counts", cluster, &C::fast_counts, KeyType::boolean,
                         DeckValue(d.cluster.fast_counts),
                         "simulate: draw each rank's per-expert counts from binomials instead of token by token "
                         "(approximate, for thousands of ranks)"));
  s.push_back(int_key("run", "checkpoint_interval", run, &R::checkpoint_interval, d.run.checkpoint_interval, 0, kMaxInt,
                      "write a checkpoint every this many iterations (0 = off; SIGTERM writes one anyway)"));
  s.push_back(
      bind_field("run", "checkpoint", run, &R::checkpoint, KeyType::string, DeckValue(d.run.checkpoint),
                 "checkpoint path (\"\": the report's path with .h5 replaced by .ckpt.h5); see docs/restart.md"));
  s.push_back(enum_key("run", "memory_check", run, &R::memory_check, d.run.memory_check,
                       "a deck whose per-rank memory estimate exceeds what a rank has: error = refuse it (exit 2), "
                       "warn = say so and run, off = do not compare (docs/memory.md)"));
  return s;
}

std::string format_real(double v) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), v);
  std::string text(buf, result.ptr);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // keep it a TOML float
  return text;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace

const std::vector<KeySpec>& deck_schema() {
  static const std::vector<KeySpec> schema = build_schema();
  return schema;
}

const std::vector<std::string>& deck_sections() {
  static const std::vector<std::string> sections = {"model", "parallel", "workload", "training", "run", "cluster"};
  return sections;
}

const KeySpec* find_key(const std::string& section, const std::string& name) {
  for (const auto& k : deck_schema())
    if (k.section == section && k.name == name) return &k;
  return nullptr;
}

std::string type_name(KeyType type) {
  switch (type) {
    case KeyType::integer:
      return "integer";
    case KeyType::real:
      return "float";
    case KeyType::boolean:
      return "bool";
    case KeyType::string:
      return "string";
    case KeyType::enumeration:
      return "enum";
    case KeyType::string_list:
      return "list of strings";
  }
  return "?";
}

std::string describe_range(const KeySpec& key) {
  switch (key.type) {
    case KeyType::integer: {
      const bool has_max = key.int_max != std::numeric_limits<std::int64_t>::max();
      return "[" + std::to_string(key.int_min) + ", " + (has_max ? std::to_string(key.int_max) + "]" : "inf)");
    }
    case KeyType::real:
      return std::string(key.real_min_open ? "(" : "[") + format_real(key.real_min) + ", " + format_real(key.real_max) +
             (key.real_max_open ? ")" : "]");
    case KeyType::boolean:
      return "true | false";
    case KeyType::string:
      return "any";
    case KeyType::enumeration:
      return join(key.choices, " | ");
    case KeyType::string_list:
      return key.choices.empty() ? "any strings" : "each of " + join(key.choices, " | ");
  }
  return "?";
}

std::string to_toml(const DeckValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* r = std::get_if<double>(&value)) return format_real(*r);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&value)) return quote(*s);
  const auto& list = std::get<std::vector<std::string>>(value);
  std::vector<std::string> quoted;
  for (const auto& item : list) quoted.push_back(quote(item));
  return "[" + join(quoted, ", ") + "]";
}

namespace {

/// Why `text` cannot be a deck string: a NUL would cut a name or path short where the C library
/// sees it (the report's name was truncated silently).
std::string nul_problem(const std::string& text) {
  const auto at = text.find('\0');
  if (at == std::string::npos) return {};
  return "contains a NUL character at byte " + std::to_string(at) + "; fix: remove it";
}

/// Why `text` is not UTF-8 (TOML text is; a deck string must render back to valid TOML), or empty.
std::string utf8_problem(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      length = 1;
      code = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      code = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      code = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      code = c & 0x07u;
    }
    bool ok = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0u) == 0x80u;
      code = (code << 6) | (next & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8 either.
    const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok) ok = code >= least[length] && (code < 0xD800 || code > 0xDFFF) && code <= 0x10FFFF;
    if (!ok) return "is not valid UTF-8 (byte " + std::to_string(i) + "); fix: write the text in UTF-8";
    i += length;
  }
  return {};
}

/// At most the first 64 bytes of a value echoed in a message (then "..."), so the problem and its
/// fix stay on the bounded line.
std::string excerpt(const std::string& text) { return text.size() <= 64 ? text : text.substr(0, 64) + "..."; }

/// Why `text` is too long for a deck string (a path or a name), or empty.
std::string length_problem(const std::string& text) {
  if (text.size() <= kMaxStringBytes) return {};
  return "a string of " + std::to_string(text.size()) + " bytes, more than the " + std::to_string(kMaxStringBytes) +
         " a deck string may have; fix: shorten it";
}

}  // namespace

std::string range_problem(const KeySpec& key, const DeckValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    if (auto problem = length_problem(*text); !problem.empty()) return problem;
    if (auto problem = nul_problem(*text); !problem.empty()) return problem;
    if (auto problem = utf8_problem(*text); !problem.empty()) return problem;
  }
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    if (list->size() > kMaxListItems)
      return "a list of " + std::to_string(list->size()) + " items, more than the " + std::to_string(kMaxListItems) +
             " a deck list may have; fix: list each name once";
    for (const auto& item : *list) {
      if (auto problem = length_problem(item); !problem.empty()) return problem;
      if (auto problem = nul_problem(item); !problem.empty()) return problem;
      if (auto problem = utf8_problem(item); !problem.empty()) return problem;
    }
  }
  const std::string fix_range = "; fix: use a value in " + describe_range(key);
  switch (key.type) {
    case KeyType::integer: {
      const auto v = std::get<std::int64_t>(value);
      if (v < key.int_min)
        return std::to_string(v) + " is below the minimum " + std::to_string(key.int_min) + fix_range;
      if (v > key.int_max)
        return std::to_string(v) + " is above the maximum " + std::to_string(key.int_max) + fix_range;
      return {};
    }
    case KeyType::real: {
      const auto v = std::get<double>(value);
      if (std::isnan(v) || std::isinf(v)) return format_real(v) + " is not a finite number" + fix_range;
      if (v < key.real_min || (key.real_min_open && v == key.real_min))
        return format_real(v) + " is below the " + (key.real_min_open ? "exclusive " : "") + "minimum " +
               format_real(key.real_min) + fix_range;
      if (v > key.real_max || (key.real_max_open && v == key.real_max))
        return format_real(v) + " is above the " + (key.real_max_open ? "exclusive " : "") + "maximum " +
               format_real(key.real_max) + fix_range;
      return {};
    }
    case KeyType::enumeration: {
      const auto& v = std::get<std::string>(value);
      if (std::find(key.choices.begin(), key.choices.end(), v) != key.choices.end()) return {};
      return quote(excerpt(v)) + " is not one of " + join(key.choices, ", ") + "; fix: did you mean " +
             quote(nearest_name(v, key.choices)) + "?";
    }
    case KeyType::string_list: {
      if (key.choices.empty()) return {};
      for (const auto& v : std::get<std::vector<std::string>>(value))
        if (std::find(key.choices.begin(), key.choices.end(), v) == key.choices.end())
          return quote(excerpt(v)) + " is not one of " + join(key.choices, ", ") + "; fix: did you mean " +
                 quote(nearest_name(v, key.choices)) + "?";
      return {};
    }
    default:
      return {};
  }
}

}  // namespace micromoe::deck
