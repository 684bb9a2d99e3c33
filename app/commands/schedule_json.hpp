// SPDX-License-Identifier: BSD-3-Clause
// The JSON front end of `micromoe schedule`: read a placement and routing counts from a JSON
// file, print the exact plan and its routes (JSON or a table) with the scheduler library
// (lib/schedule). The input and output formats are in docs/schedule.md.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

namespace micromoe::commands {

struct ScheduleCommandOptions {
  std::string input_path;       ///< JSON input file ("-" reads standard input)
  bool placement_only = false;  ///< print the placement and its quality measures; counts optional
  std::string format = "json";  ///< "json" or "table"
};

/// Runs the command. Returns the process exit code: 0 success; 2 malformed input or options
/// (one line "error: ..." on `err` naming the problem); 1 an unreadable file or an internal
/// error. Never throws.
int run_schedule_command(const ScheduleCommandOptions& options, std::ostream& out, std::ostream& err);

/// Reads all of `in` into `text`; false (text incomplete) when it holds more than `limit` bytes.
bool read_bounded(std::istream& in, std::string& text, std::size_t limit = std::size_t{256} << 20);

/// Same, with the JSON text given directly (used by tests; `source_name` appears in errors).
int run_schedule_command_text(const std::string& json_text, const ScheduleCommandOptions& options, std::ostream& out,
                              std::ostream& err);

}  // namespace micromoe::commands
