// SPDX-License-Identifier: BSD-3-Clause
// A calibration: what one device takes for the pieces of an MoE layer step, measured by
// `micromoe calibrate` (measure_calibration.hpp) and read by `micromoe simulate`. Plain host
// data and its HDF5 file (docs/simulate.md, "The calibration file").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deck/run_config.hpp"
#include "moe/layer_config.hpp"

namespace micromoe::simulate {

inline constexpr std::int64_t kCalibrationFormatVersion = 1;

struct Calibration {
  // Where and how it was measured.
  std::string device;        ///< the GPU's name, or the CPU's model and execution space
  std::string date;          ///< ISO 8601 UTC
  std::string commit;        ///< git revision of the build
  std::string command_line;  ///< as typed
  std::string deck;          ///< the effective deck it was measured for
  // The layer shape and precision it is valid for (checked against a simulated deck).
  int hidden = 0, ffn = 0, experts = 0, top_k = 0;
  moe::Activation activation = moe::Activation::gelu;
  moe::Precision precision = moe::Precision::fp32;
  moe::ExpertGemm expert_gemm = moe::ExpertGemm::per_expert;
  // What was measured (medians of `repeats` fenced timings after warm-up).
  int repeats = 0;
  int tokens = 0;                         ///< tokens of the gate / row-kernel measurements
  int slots = 1;                          ///< slots per timed FFN call (ffn_seconds is per slot)
  double sustain_seconds = 0;             ///< FFN calls back to back per point (0: interleaved bursts)
  std::vector<std::int64_t> rows;         ///< rows-per-slot grid, ascending, rows[0] >= 1
  std::vector<double> ffn_seconds;        ///< one slot's share of a call of `slots` slots of rows[i] rows each
  double gate_seconds_per_token = 0;      ///< gate GEMM + top-k select + gate backward, per token
  double row_seconds_per_copy = 0;        ///< gather + combine + their backward kernels, per routed copy
  double optimizer_seconds_per_slot = 0;  ///< one expert's optimizer pass (weights, gradients, state)

  /// Forward + backward of one slot with `rows` rows: 0 for 0 rows; piecewise linear between
  /// grid points; rows[0]'s time below it; proportional to rows above the last point.
  double ffn_time(std::int64_t rows) const;
};

/// Writes the calibration atomically (PATH.tmp, then renamed).
void write_calibration(const std::string& path, const Calibration& calibration);
/// Reads a calibration file; InputError naming the path when it is missing, unreadable or not
/// a calibration file of this format version.
Calibration read_calibration(const std::string& path);
/// InputError when the calibration was measured for another layer shape or precision than the
/// deck's (hidden, ffn, activation, precision, expert_gemm), naming both.
void check_matches(const Calibration& calibration, const deck::RunConfig& resolved);

}  // namespace micromoe::simulate
