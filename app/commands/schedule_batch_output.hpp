// SPDX-License-Identifier: BSD-3-Clause
// What `micromoe schedule --batch` writes: one JSON line per micro-batch and placement, or one
// HDF5 file (a group per placement), and the summary (docs/schedule.md lists every field).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <iosfwd>
#include <string>
#include <vector>

#include "commands/schedule_batch.hpp"

namespace micromoe::commands {

/// Every placement's results, in micro-batch order.
struct BatchResults {
  BatchLayout layout;
  std::vector<BatchPlacement> placements;
  std::vector<int> memory_slots;                  ///< [placement] slot indices per GPU of its memory
  std::vector<std::vector<BatchResult>> results;  ///< [placement][micro-batch]
};

/// One result as a JSON line (no newline).
std::string result_json_line(const char* placement, const BatchResult& r);

/// The summary object: {"micro_batches", "gpus", "experts", "ep_size", ..., "placements": {name: {...}}}.
nlohmann::json summary_json(const BatchResults& all);

/// Writes the JSON lines of every result (micro-batch-major, placements in order) to `out`.
void write_result_lines(const BatchResults& all, std::ostream& out);

/// Writes one HDF5 file at `path` (created new): attributes of the layout on the root, a group
/// per placement with a dataset per result field ([micro-batches], gpu_load [micro-batches x G])
/// and the summary as the group's attributes. Throws micromoe::Error on an HDF5 failure.
void write_results_hdf5(const BatchResults& all, const std::string& path);

}  // namespace micromoe::commands
