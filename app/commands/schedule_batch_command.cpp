// SPDX-License-Identifier: BSD-3-Clause
// run_schedule_batch: options checked, micro-batches read and routed, results written whole at
// the end (to a temporary file renamed into place), so bad input leaves no partial output.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/schedule_batch.hpp"
#include "commands/schedule_batch_input.hpp"
#include "commands/schedule_batch_output.hpp"
#include "core/error.hpp"

namespace micromoe::commands {

namespace {

constexpr int kMaxBatchGpus = 4096;  // the symmetric builder's limit

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_options(const ScheduleBatchOptions& o) {
  const BatchLayout& l = o.layout;
  if (l.gpus < 1 || l.gpus > kMaxBatchGpus)
    throw InputError("--batch needs --gpus in [1, " + std::to_string(kMaxBatchGpus) + "], got " +
                     std::to_string(l.gpus));
  if (l.experts < 0 || l.experts > (1 << 16)) throw InputError("--experts must be in [1, 65536]");
  if (static_cast<std::int64_t>(l.gpus) * l.experts > (std::int64_t{1} << 26))
    throw InputError("--gpus x --experts is above 2^26 counts per micro-batch");
  if (l.ep_size < 0) throw InputError("--ep must be >= 1");
  if (l.gpus_per_node < 0) throw InputError("--gpus-per-node must be >= 1");
  if (l.replace_interval < 1) throw InputError("--replace-interval must be >= 1");
  if (l.eplb_extra_slots < 1) throw InputError("--eplb-extra-slots must be >= 1");
  if (!o.out.empty() && !ends_with(o.out, ".jsonl") && !ends_with(o.out, ".h5"))
    throw InputError("--out \"" + o.out.substr(0, 80) + "\" must end in .jsonl (JSON lines) or .h5 (HDF5)");
}

/// Removes a temporary output unless released (every exit but success).
struct TemporaryFile {
  std::string path;
  bool keep = false;
  ~TemporaryFile() {
    if (!keep && !path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

int run_schedule_batch(const ScheduleBatchOptions& options, std::ostream& out, std::ostream& err) {
  TemporaryFile tmp;
  try {
    check_options(options);
    BatchResults all;
    all.layout = options.layout;
    all.placements = parse_batch_placements(options.placements);
    auto source = open_batch_input(options.input, all.layout);
    std::unique_ptr<BatchRunner> runner;
    MicroBatch mb;
    std::vector<BatchResult> step;
    all.results.resize(all.placements.size());
    while (source->next(mb)) {
      if (!runner) {  // E is known now (JSON lines may take it from their first line)
        runner = std::make_unique<BatchRunner>(all.layout, all.placements);
        all.layout.ep_size = runner->ep_size();
        for (auto p : all.placements) all.memory_slots.push_back(runner->memory_slots(p));
      }
      runner->route(mb, step);
      for (std::size_t k = 0; k < step.size(); ++k) all.results[k].push_back(step[k]);
    }
    if (!runner) throw InputError("schedule --batch " + options.input + ": no micro-batches in the input");

    const nlohmann::json summary = summary_json(all);
    if (options.out.empty()) {
      std::ostringstream lines;
      write_result_lines(all, lines);
      out << lines.str() << nlohmann::json{{"summary", summary}}.dump() << '\n' << std::flush;
      return 0;
    }
    tmp.path = options.out + ".tmp" + std::to_string(::getpid());
    if (!std::ofstream(tmp.path, std::ios::binary | std::ios::trunc))
      throw InputError("cannot create --out file \"" + options.out.substr(0, 200) +
                       "\" (its directory must exist and be writable)");
    if (ends_with(options.out, ".h5")) {
      write_results_hdf5(all, tmp.path);
    } else {
      std::ofstream f(tmp.path, std::ios::binary | std::ios::trunc);
      write_result_lines(all, f);
      f.close();
      if (!f) throw Error("writing \"" + tmp.path + "\" failed");
    }
    if (std::rename(tmp.path.c_str(), options.out.c_str()) != 0)
      throw InputError("cannot write --out file \"" + options.out + "\"");
    tmp.keep = true;
    out << summary.dump(2) << '\n' << std::flush;
    return 0;
  } catch (const InputError& e) {
    err << "error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    err << "error: schedule --batch failed: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace micromoe::commands
