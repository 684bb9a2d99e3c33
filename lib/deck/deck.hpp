// SPDX-License-Identifier: BSD-3-Clause
// Reading, checking and writing back TOML input decks (see docs/deck.md).
//
// Everything here is pure (no MPI, no Kokkos): every rank parses the same deck and reaches the
// same verdict. Every problem is a micromoe::InputError with a one-line message of the form
//   deck FILE:LINE: [section] key: problem; fix: what to change
// (no LINE for cross-field checks; "override 'TEXT': ..." for command-line overrides).
#pragma once

#include <string>
#include <vector>

#include "deck/run_config.hpp"

namespace micromoe::deck {

/// Reads the deck at `path`, then applies `overrides` ("section.key=value") in order.
/// Checks syntax, unknown sections/keys (naming the nearest valid one), types, ranges and
/// enum values; cross-field checks need the rank count: call validate() or resolve_layout().
RunConfig parse_deck(const std::string& path, const std::vector<std::string>& overrides = {});

/// parse_deck() on deck text; `name` stands for the file in messages.
RunConfig parse_deck_text(const std::string& text, const std::string& name,
                          const std::vector<std::string>& overrides = {});

/// Applies one command-line override "section.key=value" under the same rules as the deck.
/// Values are TOML values; strings and enum values may be written bare (model.activation=silu,
/// run.report=out/r.h5) and lists as comma-separated names (run.strategies=ep,microep).
void apply_override(RunConfig& config, const std::string& override_text);

/// Cross-field checks for a run on `ranks` ranks (layout divisibility, top_k <= experts, eplb
/// slots, dump indices, trace file, GPU-only choices, ...). Throws InputError saying what
/// would fix the problem.
void validate(const RunConfig& config, int ranks);

/// validate(), then returns the config with the automatic values (ep_size = 0,
/// microep_group = 0) replaced by the values the run uses on `ranks` ranks.
RunConfig resolve_layout(const RunConfig& config, int ranks);

/// The effective deck as TOML: every key of every section, defaults filled in. Parsing the text
/// gives back an equal RunConfig. With `comments`, each key is preceded by its doc and range.
std::string render_deck(const RunConfig& config, bool comments = true);

/// The reference of every deck key as Markdown: the content of docs/deck.md.
std::string deck_reference_markdown();

}  // namespace micromoe::deck
