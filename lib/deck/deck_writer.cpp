// SPDX-License-Identifier: BSD-3-Clause
// render_deck (the effective deck as TOML) and deck_reference_markdown (docs/deck.md).
#include "deck/deck.hpp"
#include "deck/deck_limits.hpp"
#include "deck/deck_schema.hpp"

namespace micromoe::deck {

std::string render_deck(const RunConfig& config, bool comments) {
  std::string out;
  if (comments) out += "# MicroMoE effective deck: every key, defaults filled in (docs/deck.md).\n";
  for (const auto& section : deck_sections()) {
    out += (out.empty() ? "" : "\n") + std::string("[") + section + "]\n";
    for (const auto& key : deck_schema()) {
      if (key.section != section) continue;
      if (comments) out += "# " + key.doc + " (" + type_name(key.type) + ", " + describe_range(key) + ")\n";
      out += key.name + " = " + to_toml(key.get(config)) + "\n";
    }
  }
  return out;
}

std::string deck_reference_markdown() {
  std::string out =
      "<!-- SPDX-License-Identifier: BSD-3-Clause -->\n"
      "<!-- Generated from lib/deck/deck_schema.cpp by deck_reference_markdown(); do not edit by hand.\n"
      "     Regenerate: build/tests/deck/micromoe_deck_docs > docs/deck.md (test_deck checks it). -->\n"
      "# Input decks\n\n"
      "A deck is a TOML file with the sections `[model]`, `[parallel]`, `[workload]`, `[training]` and `[run]`.\n"
      "Every key is optional (its default is used) unless marked required. `micromoe check DECK.toml` prints the\n"
      "effective deck - every key with the value actually used - and the same text is stored in the report\n"
      "(`/run` attribute `deck`).\n\n"
      "Rules, the same for the deck and for command-line overrides:\n\n"
      "* unknown sections and keys are errors that name the nearest valid one;\n"
      "* a value of the wrong type, out of range, or not one of an enum's values is an error that says what to write;\n"
      "* integers are accepted where floats are expected, not the other way round;\n"
      "* sizes are checked before anything is parsed (lib/deck/deck_limits.hpp): a deck of at most " +
      std::to_string(kMaxDeckBytes >> 10) + " KiB, an override of at most " + std::to_string(kMaxOverrideBytes) +
      " bytes, strings of at most " + std::to_string(kMaxStringBytes) + " bytes of UTF-8, lists of at most " +
      std::to_string(kMaxListItems) + " items, at most " + std::to_string(kMaxTomlDots) +
      " dots outside strings; non-ASCII characters only inside strings and comments (docs/fuzzing.md);\n"
      "* cross-field checks run once the rank count is known: `ep_size` must divide the ranks, `experts` must be a\n"
      "  multiple of `ep_size`, `microep_group` (d) must divide ranks / `ep_size`, `top_k` <= `experts`, eplb's\n"
      "  redundant slots must fit (at most one replica of an expert per GPU), `warmup_iterations` < `iterations`,\n"
      "  `dump_layer` / `dump_micro_batch` set together and inside the model, `trace_file` set when `kind = "
      "\"trace\"`,\n"
      "  `report` not empty, `tokens_per_micro_batch` * `top_k` * ranks below 2^31, and GPU-only choices\n"
      "  (`tf32`, `nccl`) need a CUDA build.\n\n"
      "Every error is one line: `deck FILE:LINE: [section] key: problem; fix: what to change` (no line for\n"
      "cross-field checks; `override 'TEXT': ...` for overrides), and every rank reaches the same verdict.\n\n"
      "## Command-line overrides\n\n"
      "`micromoe run DECK.toml section.key=value ...` sets keys after the deck is read, in order. Values are TOML\n"
      "values (`training.iterations=10`, `run.quiet=true`, `workload.zipf_s=1.2`); strings and enum values may be\n"
      "written bare (`model.activation=silu`, `run.report=out/r.h5`) and lists as comma-separated names\n"
      "(`run.strategies=ep,microep`) or as TOML arrays (`run.strategies=[\"ep\",\"microep\"]`).\n\n"
      "## Layout\n\n"
      "The ranks form ranks / `ep_size` EP groups of `ep_size` GPUs; each EP group holds every expert once\n"
      "(`experts / ep_size` slots per GPU). MicroEP merges `microep_group` = d EP groups into one MicroEP group of\n"
      "d * `ep_size` GPUs in which every expert has d replicas. `ep_size = 0` means ranks / d; `microep_group = 0`\n"
      "means all EP groups (ranks / `ep_size`), or, when both are 0, d = 2 on an even rank count and 1 otherwise.\n";
  for (const auto& section : deck_sections()) {
    out += "\n## [" + section +
           "]\n\n| key | type | default | range / values | meaning |\n| --- | --- | --- | --- | --- |\n";
    for (const auto& key : deck_schema()) {
      if (key.section != section) continue;
      std::string range = describe_range(key);
      for (std::size_t pos = 0; (pos = range.find('|', pos)) != std::string::npos; pos += 2)
        range.replace(pos, 1, "\\|");
      out += "| `" + key.name + "` | " + type_name(key.type) + " | " +
             (key.required ? std::string("required") : "`" + to_toml(key.default_value) + "`") + " | " + range + " | " +
             key.doc + " |\n";
    }
  }
  return out;
}

}  // namespace micromoe::deck
