// SPDX-License-Identifier: BSD-3-Clause
// The generated part of docs/report.md: its tables of dimensions, /run attributes, datasets and
// group attributes, made from the schema tables (report_schema.hpp) and placed between marker
// comments, so the prose around them stays hand-written Markdown. tests/report checks that the file is current.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace micromoe::report {

/// The generated sections, as (name, Markdown): "dimensions", "run_attributes", "datasets",
/// "group_attributes".
std::vector<std::pair<std::string, std::string>> report_doc_sections();

/// `markdown` with the lines between each "<!-- BEGIN GENERATED NAME ... -->" line and its
/// "<!-- END GENERATED NAME -->" replaced by the section NAME. micromoe::Error when a section's
/// markers are missing or out of order.
std::string fill_report_doc(const std::string& markdown);
/// The same for any sections (the emulation and simulation reports' tables have their own).
std::string fill_generated_sections(const std::string& markdown,
                                    const std::vector<std::pair<std::string, std::string>>& sections);

}  // namespace micromoe::report
