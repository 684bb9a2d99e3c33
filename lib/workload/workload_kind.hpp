// SPDX-License-Identifier: BSD-3-Clause
// Where a run's tokens and their imbalance come from.
#pragma once

#include "core/enum_names.hpp"

namespace micromoe::workload {

/// synthetic: Zipf clusters with drift and bursts (synthetic.hpp); trace: replayed per-expert
/// counts (trace.hpp).
enum class WorkloadKind { synthetic, trace };

constexpr NameTable<2> name_table(WorkloadKind) { return {"workload kind", {"synthetic", "trace"}}; }

}  // namespace micromoe::workload
