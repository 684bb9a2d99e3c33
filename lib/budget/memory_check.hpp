// SPDX-License-Identifier: BSD-3-Clause
// What `run` and `check` do when the memory estimate of a deck exceeds what a rank has
// (deck key run.memory_check; docs/memory.md).
#pragma once

#include "core/enum_names.hpp"

namespace micromoe::budget {

/// error: refuse the deck (exit 2 on every rank); warn: one warning line, then run anyway;
/// off: no comparison (the estimate is still printed).
enum class MemoryCheck { off, warn, error };
constexpr NameTable<3> name_table(MemoryCheck) { return {"memory check", {"off", "warn", "error"}}; }

}  // namespace micromoe::budget
