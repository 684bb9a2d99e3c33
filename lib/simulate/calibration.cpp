// SPDX-License-Identifier: BSD-3-Clause
#include "simulate/calibration.hpp"

#include <algorithm>
#include <exception>
#include <fstream>

#include "core/error.hpp"
#include "core/parse_enum.hpp"
#include "report/file_schema.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_writer.hpp"

namespace micromoe::simulate {

namespace {

constexpr const char* kFormat = "micromoe-calibration";
namespace h5 = report::h5;

void write_file(const std::string& path, const Calibration& c) {
  auto fapl = h5::modern_format_fapl();
  auto file = h5::create_file(path, fapl.id());
  const hid_t f = file.id();
  report::write_program_attributes(f, kFormat, kCalibrationFormatVersion);
  h5::write_attribute(f, "device", c.device);
  h5::write_attribute(f, "date", c.date);
  h5::write_attribute(f, "commit", c.commit);
  h5::write_attribute(f, "command_line", c.command_line);
  h5::write_attribute(f, "deck", c.deck);
  h5::write_attribute(f, "hidden", static_cast<std::int64_t>(c.hidden));
  h5::write_attribute(f, "ffn", static_cast<std::int64_t>(c.ffn));
  h5::write_attribute(f, "experts", static_cast<std::int64_t>(c.experts));
  h5::write_attribute(f, "top_k", static_cast<std::int64_t>(c.top_k));
  h5::write_attribute(f, "activation", to_string(c.activation));
  h5::write_attribute(f, "precision", to_string(c.precision));
  h5::write_attribute(f, "expert_gemm", to_string(c.expert_gemm));
  h5::write_attribute(f, "repeats", static_cast<std::int64_t>(c.repeats));
  h5::write_attribute(f, "tokens", static_cast<std::int64_t>(c.tokens));
  h5::write_attribute(f, "slots", static_cast<std::int64_t>(c.slots));
  h5::write_attribute(f, "sustain_seconds", c.sustain_seconds);
  h5::write_attribute(f, "gate_seconds_per_token", c.gate_seconds_per_token);
  h5::write_attribute(f, "row_seconds_per_copy", c.row_seconds_per_copy);
  h5::write_attribute(f, "optimizer_seconds_per_slot", c.optimizer_seconds_per_slot);
  const hsize_t n = c.rows.size();
  h5::write_dataset(f, "rows", {n}, c.rows);
  h5::write_dataset(f, "ffn_seconds", {n}, c.ffn_seconds);
  MICROMOE_CHECK_HDF5(H5Fflush(f, H5F_SCOPE_GLOBAL));
}

Calibration read_file(const std::string& path) {
  h5::QuietErrors quiet;
  auto file = h5::open_file_readonly(path);
  const hid_t f = file.id();
  if (!h5::has_attribute(f, "format") || h5::read_string_attribute(f, "format") != kFormat)
    throw InputError("[cluster] calibration: " + path + " is not a calibration file (format " + kFormat +
                     "); fix: write one with micromoe calibrate DECK --out FILE.h5");
  const auto version = h5::read_int_attribute(f, "format_version");
  if (version != kCalibrationFormatVersion)
    throw InputError("[cluster] calibration: " + path + " has format version " + std::to_string(version) +
                     ", this build reads " + std::to_string(kCalibrationFormatVersion) +
                     "; fix: measure it again with micromoe calibrate");
  Calibration c;
  c.device = h5::read_string_attribute(f, "device");
  c.date = h5::read_string_attribute(f, "date");
  c.commit = h5::read_string_attribute(f, "commit");
  c.command_line = h5::read_string_attribute(f, "command_line");
  c.deck = h5::read_string_attribute(f, "deck");
  const auto integer = [f](const char* name) { return static_cast<int>(h5::read_int_attribute(f, name)); };
  c.hidden = integer("hidden");
  c.ffn = integer("ffn");
  c.experts = integer("experts");
  c.top_k = integer("top_k");
  c.activation = parse_enum<moe::Activation>(h5::read_string_attribute(f, "activation"));
  c.precision = parse_enum<moe::Precision>(h5::read_string_attribute(f, "precision"));
  c.expert_gemm = parse_enum<moe::ExpertGemm>(h5::read_string_attribute(f, "expert_gemm"));
  c.repeats = integer("repeats");
  c.tokens = integer("tokens");
  c.slots = h5::has_attribute(f, "slots") ? integer("slots") : 1;  // the first H200 files timed one slot per call
  // Files before the sustained timing interleaved the grid's points (burst timing).
  c.sustain_seconds = h5::has_attribute(f, "sustain_seconds") ? h5::read_double_attribute(f, "sustain_seconds") : 0.0;
  c.gate_seconds_per_token = h5::read_double_attribute(f, "gate_seconds_per_token");
  c.row_seconds_per_copy = h5::read_double_attribute(f, "row_seconds_per_copy");
  c.optimizer_seconds_per_slot = h5::read_double_attribute(f, "optimizer_seconds_per_slot");
  c.rows = h5::read_dataset<std::int64_t>(f, "rows");
  c.ffn_seconds = h5::read_dataset<double>(f, "ffn_seconds");
  const bool ascending =
      std::is_sorted(c.rows.begin(), c.rows.end()) && std::adjacent_find(c.rows.begin(), c.rows.end()) == c.rows.end();
  if (c.rows.empty() || c.rows.size() != c.ffn_seconds.size() || c.rows.front() < 1 || !ascending)
    throw InputError("[cluster] calibration: " + path +
                     ": rows and ffn_seconds must be equally long, ascending and >= 1; fix: measure it again "
                     "with micromoe calibrate");
  return c;
}

}  // namespace

double Calibration::ffn_time(std::int64_t n) const {
  if (n <= 0 || rows.empty()) return 0.0;
  if (n <= rows.front()) return ffn_seconds.front();
  if (n >= rows.back()) return ffn_seconds.back() * static_cast<double>(n) / static_cast<double>(rows.back());
  const auto hi = static_cast<std::size_t>(std::upper_bound(rows.begin(), rows.end(), n) - rows.begin());
  const std::size_t lo = hi - 1;
  const double f = static_cast<double>(n - rows[lo]) / static_cast<double>(rows[hi] - rows[lo]);
  return ffn_seconds[lo] + f * (ffn_seconds[hi] - ffn_seconds[lo]);
}

void write_calibration(const std::string& path, const Calibration& calibration) {
  report::write_file_atomically(path, [&](const std::string& temporary) { write_file(temporary, calibration); });
}

Calibration read_calibration(const std::string& path) {
  if (path.empty())
    throw InputError(
        "[cluster] calibration: no calibration file given; fix: cluster.calibration=FILE.h5 (written by micromoe "
        "calibrate, or inputs/calibration/*.h5)");
  if (!std::ifstream(path).good())
    throw InputError("[cluster] calibration: cannot read " + path +
                     "; fix: give an existing file written by micromoe calibrate");
  try {
    return read_file(path);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError("[cluster] calibration: " + path + " is not a readable calibration file (" + e.what() +
                     "); fix: write one with micromoe calibrate DECK --out FILE.h5");
  }
}

void check_matches(const Calibration& c, const deck::RunConfig& resolved) {
  const auto& m = resolved.model;
  const auto shape = [](int h, int f, moe::Activation a, moe::Precision p, moe::ExpertGemm g) {
    return "hidden " + std::to_string(h) + ", ffn " + std::to_string(f) + ", " + to_string(a) + ", " + to_string(p) +
           ", " + to_string(g);
  };
  if (c.hidden != m.hidden || c.ffn != m.ffn || c.activation != m.activation || c.precision != m.precision ||
      c.expert_gemm != m.expert_gemm)
    throw InputError("[cluster] calibration: measured for " +
                     shape(c.hidden, c.ffn, c.activation, c.precision, c.expert_gemm) + ", the deck's layer is " +
                     shape(m.hidden, m.ffn, m.activation, m.precision, m.expert_gemm) +
                     "; fix: micromoe calibrate this deck, or give the calibration of this layer");
}

}  // namespace micromoe::simulate
