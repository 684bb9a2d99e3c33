// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: `micromoe schedule` JSON input through run_schedule_command_text, in both output
// formats and with --placement-only. Properties: the command never throws, and it answers a
// malformed input with exit code 2 (exit code 1 would be an internal error on user input).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>

#include "commands/schedule_json.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace micromoe;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const bool placement_only : {false, true}) {
    commands::ScheduleCommandOptions options;
    options.input_path = "fuzz.json";
    options.placement_only = placement_only;
    options.format = size % 2 == 0 ? "json" : "table";
    std::ostringstream out, err;
    int rc = 0;
    try {
      rc = commands::run_schedule_command_text(text, options, out, err);
    } catch (const std::exception& e) {
      fuzz::property_failed("run_schedule_command_text threw", e.what());
    }
    if (rc == 1) fuzz::property_failed("schedule: internal error (exit 1) on user input", err.str());
    if (rc != 0 && rc != 2) fuzz::property_failed("schedule: unexpected exit code", std::to_string(rc));
  }
  return 0;
}
