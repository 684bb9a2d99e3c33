// SPDX-License-Identifier: BSD-3-Clause
#include "core/checked_size.hpp"

#include <cstdio>

namespace micromoe {

std::string format_bytes(CheckedSize bytes) {
  if (bytes.overflowed()) return "more than 8 EiB";
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes.value());
  int u = 0;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    ++u;
  }
  char text[32];
  if (u == 0)
    std::snprintf(text, sizeof text, "%lld B", static_cast<long long>(bytes.value()));
  else
    std::snprintf(text, sizeof text, v < 1000.0 ? "%.3g %s" : "%.0f %s", v, units[u]);
  return text;
}

}  // namespace micromoe
