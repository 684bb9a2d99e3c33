// SPDX-License-Identifier: BSD-3-Clause
// Kokkos profiling regions: what Kokkos Tools (space-time-stack, nvtx-connector) and Nsight
// Systems show around the kernels. A region costs one check when no tool is loaded.
#pragma once

#include <Kokkos_Core.hpp>
#include <array>
#include <string>

#include "core/phase.hpp"

namespace micromoe {

/// Pushes `name` on construction, pops it on destruction.
class ProfilingRegion {
 public:
  explicit ProfilingRegion(const std::string& name) { Kokkos::Profiling::pushRegion(name); }
  ~ProfilingRegion() { Kokkos::Profiling::popRegion(); }
  ProfilingRegion(const ProfilingRegion&) = delete;
  ProfilingRegion& operator=(const ProfilingRegion&) = delete;
};

/// The region name of a phase: "micromoe::" + phase_name(p) ("micromoe::gate", ...). Built once,
/// so pushing a region allocates nothing.
inline const std::string& phase_region_name(Phase p) {
  static const std::array<std::string, kPhaseCount> names = [] {
    std::array<std::string, kPhaseCount> n;
    for (std::size_t i = 0; i < kPhaseCount; ++i) n[i] = std::string("micromoe::") + kPhaseNames[i];
    return n;
  }();
  return names[static_cast<std::size_t>(p)];
}

}  // namespace micromoe
