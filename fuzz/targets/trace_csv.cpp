// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: a routing trace of either format (CSV, with or without a source column and a
// `# top_k` line, or Megatron-LM router-trace JSON lines) through workload::parse_trace, then
// its first micro-batch through the replay a run does (replay_routing on 2 ranks; the cap's
// summary over the whole trace only for small traces, so one input's time stays bounded). Properties: bad input throws
// InputError with a message; no other exception, crash or hang.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "fuzz_check.hpp"
#include "workload/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace micromoe;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  constexpr int kExperts = 128;  // the widest of the shipped traces (switch128-*)
  try {
    const workload::RoutingTrace trace = workload::parse_trace(in, "fuzz", kExperts);
    (void)workload::replay_routing(trace, 0, 0, 0, /*ranks=*/2, /*rank=*/1, /*tokens=*/16, /*top_k=*/2);
    if (trace.data.size() <= (std::size_t{1} << 16)) (void)workload::cap_summary(trace, 2, 16, 2);
  } catch (const InputError& e) {
    if (std::string(e.what()).empty()) fuzz::property_failed("error message is empty", "");
  } catch (const std::exception& e) {
    fuzz::property_failed("the trace reader threw something other than InputError", e.what());
  }
  return 0;
}
