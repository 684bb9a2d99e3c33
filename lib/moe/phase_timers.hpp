// SPDX-License-Identifier: BSD-3-Clause
// The layer's phases: each one a Kokkos profiling region ("micromoe::gate", ...), and, when
// phase timing is on, timed to a fence of the execution space so GPU work counts in the phase
// that launched it. With timing off no fence is issued for timing: the phases stay visible to
// profiling tools, the timers stay zero.
#pragma once

#include <Kokkos_Core.hpp>
#include <array>
#include <numeric>

#include "core/kokkos_compat.hpp"
#include "core/kokkos_types.hpp"
#include "core/phase.hpp"
#include "core/profiling_region.hpp"

namespace micromoe::moe {

/// Accumulated seconds per phase.
class PhaseTimers {
 public:
  double seconds(Phase p) const { return seconds_[static_cast<std::size_t>(p)]; }
  double total() const { return std::accumulate(seconds_.begin(), seconds_.end(), 0.0); }
  void reset() { seconds_.fill(0.0); }
  void add(Phase p, double s) { seconds_[static_cast<std::size_t>(p)] += s; }

 private:
  std::array<double, kPhaseCount> seconds_{};
};

/// One phase after another: start(p) opens p's region (and clock), end() closes the open one
/// (fence and time only when `timed`). The destructor closes an open region without timing it
/// (an exception left the phase).
class PhaseClock {
 public:
  PhaseClock(const ExecSpace& exec, PhaseTimers& timers, bool timed) : exec_(exec), timers_(timers), timed_(timed) {}
  PhaseClock(const ExecSpace& exec, PhaseTimers& timers, bool timed, Phase first) : PhaseClock(exec, timers, timed) {
    start(first);
  }
  ~PhaseClock() {
    if (open_) Kokkos::Profiling::popRegion();
  }
  PhaseClock(const PhaseClock&) = delete;
  PhaseClock& operator=(const PhaseClock&) = delete;

  void start(Phase p) {
    if (open_) end();
    phase_ = p;
    open_ = true;
    Kokkos::Profiling::pushRegion(phase_region_name(p));
    if (timed_) timer_.reset();
  }
  /// Closes the open phase and opens `p`.
  void next(Phase p) { start(p); }
  void end() {
    if (!open_) return;
    if (timed_) {
      compat::fence(exec_, phase_region_name(phase_));
      timers_.add(phase_, timer_.seconds());
    }
    Kokkos::Profiling::popRegion();
    open_ = false;
  }

 private:
  const ExecSpace& exec_;
  PhaseTimers& timers_;
  bool timed_;
  bool open_ = false;
  Phase phase_ = Phase::gate;
  Kokkos::Timer timer_;
};

}  // namespace micromoe::moe
