// SPDX-License-Identifier: BSD-3-Clause
// `micromoe calibrate`: times the pieces of a deck's MoE layer step on this process's device
// (Kokkos' default execution space: CUDA on a GPU build, OpenMP here), each one fenced before
// and after, warm-up first, the median of the repeats kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deck/run_config.hpp"
#include "simulate/calibration.hpp"

namespace micromoe::simulate {

struct MeasureOptions {
  std::int64_t max_rows = 65536;  ///< largest rows-per-slot point of the grid
  int repeats = 5;                ///< timed repeats of every measurement (median kept)
  int slots = 0;                  ///< slots per FFN call; 0: the deck's slots per rank, memory permitting
  double sustain_seconds = 0.3;   ///< each FFN point back to back this long before and while timed; 0: burst timing
  std::string command_line;
};

/// The rows-per-slot grid: 1 .. max_rows, about sqrt(2) apart (rounded, distinct), max_rows last.
std::vector<std::int64_t> rows_grid(std::int64_t max_rows);

/// Measures the deck's layer (layer 0's shape, precision and expert GEMM launch) on this device.
Calibration measure_calibration(const deck::RunConfig& resolved, const MeasureOptions& options);

/// The device's name: the CUDA device's, or the CPU model and the execution space.
std::string device_name();

}  // namespace micromoe::simulate
