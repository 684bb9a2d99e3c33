// SPDX-License-Identifier: BSD-3-Clause
// Edit distance and "did you mean" suggestions for deck keys and enum values.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace micromoe {

/// Levenshtein distance (insertions, deletions, substitutions), case-sensitive.
std::size_t edit_distance(const std::string& a, const std::string& b);

/// The candidate nearest to `word` (ties: the first listed); empty when there are none.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace micromoe
