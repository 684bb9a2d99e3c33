// SPDX-License-Identifier: BSD-3-Clause
// `micromoe calibrate DECK [--out FILE.h5] [overrides]`: time the deck's layer pieces (expert
// FFN over a rows-per-slot grid, gate, row kernels, optimizer) on this device and write the
// calibration file that `micromoe simulate` reads (simulate::measure_calibration, docs/simulate.md).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "commands/command.hpp"
#include "commands/deck_input.hpp"
#include "commands/one_process.hpp"
#include "core/error.hpp"
#include "deck/deck.hpp"
#include "report/report_writer.hpp"
#include "simulate/measure_calibration.hpp"

namespace micromoe::commands {

namespace {

class CalibrateCommand final : public Command {
 public:
  void declare(CLI::App& cli) override {
    sub_ = cli.add_subcommand(
        "calibrate", "Measure the deck's layer pieces on this device for micromoe simulate (docs/simulate.md)");
    sub_->add_option("deck", deck_.path, "Input deck (TOML); its [model] section is measured")
        ->required()
        ->check(CLI::ExistingFile);
    sub_->add_option("overrides", deck_.overrides, "section.key=value overrides");
    sub_->add_option("--out", out_, "Calibration file to write (HDF5)")->capture_default_str();
    sub_->add_option("--max-rows", max_rows_, "Largest rows-per-slot point of the FFN grid")->capture_default_str();
    sub_->add_option("--repeats", repeats_, "Timed repeats per point (the median is kept)")->capture_default_str();
    sub_->add_option("--slots", slots_, "Slots per timed FFN call (0: the deck's slots per rank, memory permitting)")
        ->capture_default_str();
    sub_->add_option("--sustain-ms", sustain_ms_,
                     "Milliseconds each FFN point runs back to back before and while timed (0: interleaved bursts)")
        ->capture_default_str();
  }

  bool chosen() const override { return sub_->parsed(); }

  int run(const Invocation& job) override {
    require_one_process(job, "calibrate", "it measures this one device");
    if (max_rows_ < 1 || max_rows_ > (std::int64_t{1} << 24))
      throw InputError("--max-rows " + std::to_string(max_rows_) + ": must be in [1, 16777216]; fix: e.g. 65536");
    if (slots_ < 0 || slots_ > 1024)
      throw InputError("--slots " + std::to_string(slots_) + ": must be in [0, 1024]; fix: e.g. 0 (the deck's)");
    if (repeats_ < 1 || repeats_ > 1000)
      throw InputError("--repeats " + std::to_string(repeats_) + ": must be in [1, 1000]; fix: e.g. 5");
    if (!(sustain_ms_ >= 0 && sustain_ms_ <= 60000))
      throw InputError("--sustain-ms " + std::to_string(sustain_ms_) + ": must be in [0, 60000]; fix: e.g. 300");
    const auto resolved = deck_.read(job.world, layout_ranks());
    report::check_report_path(out_);
    return run_one_process([&] {
      simulate::MeasureOptions options;
      options.max_rows = max_rows_;
      options.repeats = repeats_;
      options.slots = slots_;
      options.sustain_seconds = sustain_ms_ * 1e-3;
      options.command_line = job.command_line;
      const auto c = simulate::measure_calibration(resolved, options);
      simulate::write_calibration(out_, c);
      print(c);
    });
  }

 private:
  // Only the layer shape is measured; the layout is resolved for one MicroEP group of the deck.
  int layout_ranks() const {
    try {
      const auto parsed = deck::parse_deck(deck_.path, deck_.overrides);
      return std::max(1, parsed.parallel.ep_size) * std::max(1, parsed.parallel.microep_group);
    } catch (const std::exception&) {
      return 1;  // deck_.read reports the problem
    }
  }

  void print(const simulate::Calibration& c) const {
    std::printf("calibration of %s (%s, %s), hidden %d ffn %d, %s -> %s\n", c.device.c_str(),
                to_string(c.precision).c_str(), to_string(c.expert_gemm).c_str(), c.hidden, c.ffn, c.date.c_str(),
                out_.c_str());
    const std::string timing =
        c.sustain_seconds > 0 ? "each point sustained " + std::to_string(std::lround(c.sustain_seconds * 1e3)) + " ms"
                              : std::string("points interleaved (bursts)");
    std::printf("%d slots per timed call, %s; per slot:\n", c.slots, timing.c_str());
    std::printf("| rows per slot | FFN fwd+bwd (ms) | us per row |\n| ---: | ---: | ---: |\n");
    for (std::size_t i = 0; i < c.rows.size(); ++i)
      std::printf("| %lld | %.4f | %.4f |\n", static_cast<long long>(c.rows[i]), c.ffn_seconds[i] * 1e3,
                  c.ffn_seconds[i] * 1e6 / static_cast<double>(c.rows[i]));
    std::printf("gate %.4f us/token, row kernels %.4f us/copy, optimizer %.4f ms/slot\n",
                c.gate_seconds_per_token * 1e6, c.row_seconds_per_copy * 1e6, c.optimizer_seconds_per_slot * 1e3);
  }

  CLI::App* sub_ = nullptr;
  DeckInput deck_;
  std::string out_ = "calibration.h5";
  std::int64_t max_rows_ = 65536;
  int repeats_ = 5;
  int slots_ = 0;
  double sustain_ms_ = 300;
};

}  // namespace

std::unique_ptr<Command> make_calibrate_command() { return std::make_unique<CalibrateCommand>(); }

}  // namespace micromoe::commands
