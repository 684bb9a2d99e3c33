// SPDX-License-Identifier: BSD-3-Clause
// What one Kokkos View of the Kokkos in use can hold, from its headers:
//  * Kokkos 3.x and 4.x (and 5.x built with KOKKOS_ENABLE_IMPL_VIEW_LEGACY) store a View's
//    runtime extents in ViewDimension as `RD < 3 ? size_t : unsigned` (RD = number of runtime
//    extents; impl/Kokkos_ViewMapping.hpp in 3.4.01): a View with three or more runtime extents
//    keeps each in 32 bits, and LayoutRight's size() multiplies them in 32-bit arithmetic, so
//    such a View of 2^32 elements or more gets a wrapped size (2^33 elements -> 0) and a short
//    allocation that its initialisation then overruns. Limit: every extent and the product of
//    the extents at most 2^32 - 1.
//  * Kokkos 5.x (mdspan-based View, View/Kokkos_ViewTraits.hpp: index_type = size_t) and Views
//    with at most two runtime extents: size_t extents; the allocation is at most PTRDIFF_MAX bytes.
#pragma once

#include <Kokkos_Macros.hpp>
#include <cstdint>
#include <limits>

namespace micromoe::budget {

#if KOKKOS_VERSION < 50000 || defined(KOKKOS_ENABLE_IMPL_VIEW_LEGACY)
inline constexpr bool kViewExtents32 = true;
#else
inline constexpr bool kViewExtents32 = false;
#endif

/// 2^32 - 1: the most elements (and the largest extent) of a View with 32-bit extents.
inline constexpr std::int64_t kMaxElements32 = 0xFFFFFFFFLL;
/// The most bytes of any allocation (pointer differences must hold it).
inline constexpr std::int64_t kMaxViewBytes = std::numeric_limits<std::ptrdiff_t>::max();
/// MPI counts and displacements are int, and so are Kokkos team league sizes.
inline constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();

/// The most elements of a View with `runtime_extents` runtime extents of `element_bytes` each.
constexpr std::int64_t max_view_elements(int runtime_extents, int element_bytes) {
  const std::int64_t by_bytes = kMaxViewBytes / (element_bytes > 0 ? element_bytes : 1);
  return kViewExtents32 && runtime_extents >= 3 && kMaxElements32 < by_bytes ? kMaxElements32 : by_bytes;
}

/// Why that limit holds, for error messages.
constexpr const char* view_limit_reason(int runtime_extents) {
  return kViewExtents32 && runtime_extents >= 3 ? "Kokkos < 5 keeps a 3-D View's extents in 32 bits"
                                                : "PTRDIFF_MAX bytes";
}

}  // namespace micromoe::budget
