// SPDX-License-Identifier: BSD-3-Clause
// Fuzz target: a CSV routing trace through read_trace_csv (it takes a path: the input goes to a
// temporary file first), then the counts of its first micro-batch through trace_routing.
// Properties: bad input throws InputError (its line is bounded where main prints it, so only
// "not empty" is asserted here); no other exception, crash or hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/error.hpp"
#include "fuzz_check.hpp"
#include "workload/trace.hpp"

namespace {

/// One temporary file per process, rewritten for every input.
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string name = std::string(dir && *dir ? dir : "/tmp") + "/micromoe_fuzz_trace_XXXXXX";
    const int fd = mkstemp(name.data());
    if (fd < 0) micromoe::fuzz::property_failed("cannot create a temporary file", name);
    close(fd);
    std::atexit([] { std::remove(scratch_path().c_str()); });
    return name;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace micromoe;
  const std::string& path = scratch_path();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0)
    fuzz::property_failed("cannot write the temporary file", path);
  constexpr int kExperts = 128;  // the widest of the shipped traces (switch128-*)
  try {
    const workload::RoutingTrace trace = workload::read_trace_csv(path, kExperts);
    const auto counts = trace.micro_batch_counts(0, 0, 0);
    (void)workload::trace_routing(counts, /*ranks=*/2, /*rank=*/1, /*tokens=*/16, /*top_k=*/2);
  } catch (const InputError& e) {
    if (std::string(e.what()).empty()) fuzz::property_failed("error message is empty", "");
  } catch (const std::exception& e) {
    fuzz::property_failed("the trace reader threw something other than InputError", e.what());
  }
  return 0;
}
