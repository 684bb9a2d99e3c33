// SPDX-License-Identifier: BSD-3-Clause
// Every difference between the Kokkos releases MicroMoE supports, in one place:
// 3.4.01 (tested, from Debian's trilinos source) and 4.x / 5.x (what Spack users get).
#pragma once

#include <Kokkos_Core.hpp>
#include <utility>

#include <string>

#ifndef KOKKOS_VERSION
#error "Kokkos_Core.hpp did not define KOKKOS_VERSION"
#endif

namespace micromoe::compat {

// Math functions moved from Kokkos::Experimental into Kokkos in 3.7.
#if KOKKOS_VERSION >= 30700
using Kokkos::erf;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::log;
using Kokkos::sqrt;
using Kokkos::tanh;
#else
using Kokkos::Experimental::erf;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::log;
using Kokkos::Experimental::sqrt;
using Kokkos::Experimental::tanh;
#endif

/// Fences an execution-space instance; the label reaches Kokkos' profiling tools where the
/// release supports labelled fences (3.6+).
template <class Exec>
void fence(const Exec& exec, const std::string& label) {
#if KOKKOS_VERSION >= 30600
  exec.fence(label);
#else
  (void)label;
  exec.fence();
#endif
}

/// "major.minor.patch" of the Kokkos the code was compiled against.
inline std::string kokkos_version_string() {
  constexpr int v = KOKKOS_VERSION;
  // 3.x/4.x encode MMmmpp (30401); 5.x keeps the same scheme (50202).
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

}  // namespace micromoe::compat
