// SPDX-License-Identifier: BSD-3-Clause
// Layout: root attributes (program, checkpoint_format_version, git_revision, ranks,
// deck_fingerprint, strategies, strategy_index, iteration, ...); /results/<strategy>: the
// report's groups so far (datasets only); /state/layer_<l>: every rank's state record and
// tensors, flat in rank order with <name>_offsets [R+1] (rank r's part: [offsets[r],
// offsets[r+1])), and peak_bytes (a measurement, not state).
#include "train/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <type_traits>

#include "comm/verdict.hpp"
#include "core/build_info.hpp"
#include "core/error.hpp"
#include "core/error_line.hpp"
#include "core/kokkos_compat.hpp"
#include "deck/deck_schema.hpp"
#include "report/hdf5_handles.hpp"
#include "report/report_data.hpp"
#include "train/trainer.hpp"
#include "workload/workload_kind.hpp"

namespace micromoe::train {

namespace h5 = report::h5;

namespace {

constexpr const char* kProgram = "MicroMoE checkpoint";

std::string build_value(const std::string& key) {
  for (const auto& [k, v] : build_info())
    if (k == key) return v;
  return "unknown";
}

template <class T>
hid_t h5_type() {
  return std::is_same<T, float>::value ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64;
}

/// Every rank's `local` on rank 0, in rank order, and offsets [R+1] (empty elsewhere).
template <class T>
void gather_ragged(const comm::Communicator& world, const std::vector<T>& local, std::vector<T>& all,
                   std::vector<std::int64_t>& offsets) {
  const MPI_Datatype type = std::is_same<T, float>::value ? MPI_FLOAT : MPI_INT64_T;
  const bool root = world.rank() == 0;
  const int n = static_cast<int>(std::min<std::size_t>(local.size(), INT_MAX));
  std::vector<int> counts(root ? static_cast<std::size_t>(world.size()) : 0), displs(counts.size());
  MICROMOE_CHECK_MPI(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world.get()));
  offsets.assign(root ? counts.size() + 1 : 0, 0);
  for (std::size_t r = 0; r < counts.size(); ++r) offsets[r + 1] = offsets[r] + counts[r];
  for (std::size_t r = 0; r < counts.size(); ++r)
    displs[r] = static_cast<int>(std::min<std::int64_t>(offsets[r], INT_MAX));
  all.assign(root ? static_cast<std::size_t>(offsets.back()) : 0, T{});
  MICROMOE_CHECK_MPI(
      MPI_Gatherv(local.data(), n, type, all.data(), counts.data(), displs.data(), type, 0, world.get()));
}

template <class T>
void write_flat(hid_t group, const std::string& name, const std::vector<T>& values) {
  auto space = h5::create_dataspace({static_cast<hsize_t>(values.size())});
  auto dataset = h5::create_dataset(group, name, h5_type<T>(), space.id());
  if (!values.empty())
    MICROMOE_CHECK_HDF5(H5Dwrite(dataset.id(), h5_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
}

/// Rank `rank`'s part of a ragged dataset written by write_ragged.
template <class T>
std::vector<T> read_part(hid_t group, const std::string& name, int rank) {
  const auto offsets = h5::read_dataset<std::int64_t>(group, name + "_offsets");
  if (offsets.size() < static_cast<std::size_t>(rank) + 2) throw std::invalid_argument(name + " lacks rank parts");
  const std::int64_t begin = offsets[static_cast<std::size_t>(rank)], end = offsets[static_cast<std::size_t>(rank) + 1];
  auto dataset = h5::open_dataset(group, name);
  auto space = h5::dataset_space(dataset.id());
  const auto extents = h5::extents(space.id());
  if (begin < 0 || end < begin || extents.size() != 1 || static_cast<hsize_t>(end) > extents[0])
    throw std::invalid_argument(name + " has offsets outside its values");
  std::vector<T> out(static_cast<std::size_t>(end - begin));
  if (out.empty()) return out;
  const hsize_t start = static_cast<hsize_t>(begin), count = out.size();
  MICROMOE_CHECK_HDF5(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, &start, nullptr, &count, nullptr));
  auto memory = h5::create_dataspace({count});
  MICROMOE_CHECK_HDF5(H5Dread(dataset.id(), h5_type<T>(), memory.id(), space.id(), H5P_DEFAULT, out.data()));
  return out;
}

const std::pair<moe::Tensor, const char*> kKinds[] = {
    {moe::Tensor::weights, "weights"}, {moe::Tensor::state1, "state1"}, {moe::Tensor::state2, "state2"}};

/// fsync of a file or directory: the rename publishes data that is on the disk.
void sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0 && !directory) throw Error("fsync of " + path + " failed: " + std::strerror(error));
}

std::string layer_group(int l) { return "layer_" + std::to_string(l); }

}  // namespace

std::string checkpoint_path(const deck::RunConfig& config) {
  if (!config.run.checkpoint.empty()) return config.run.checkpoint;
  const std::string& report = config.run.report;
  const bool h5 = report.size() > 3 && report.compare(report.size() - 3, 3, ".h5") == 0;
  return (h5 ? report.substr(0, report.size() - 3) : report) + ".ckpt.h5";
}

std::vector<std::string> restart_fingerprint(const deck::RunConfig& config) {
  std::vector<std::string> lines;
  for (const auto& key : deck::deck_schema()) {
    const std::string q = key.qualified();
    if ((key.section == "run" && key.name != "strategies") || q == "workload.trace_file") continue;
    lines.push_back(q + " = " + deck::to_toml(key.get(config)));
  }
  return lines;
}

void write_checkpoint(const std::string& path, const deck::RunConfig& config, const comm::Communicator& world,
                      MoEStack& stack, const CheckpointPosition& position, const report::ReportStream* report) {
  const bool root = world.rank() == 0;
  const std::string temporary = path + ".tmp";
  std::string failure;  // rank 0's first error; the gathers go on so no rank waits alone
  const auto attempt = [&](const auto& step) {
    if (!root || !failure.empty()) return;
    try {
      step();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  };
  const h5::QuietErrors quiet;
  h5::File file;
  h5::Group state;
  attempt([&] {
    auto fapl = h5::modern_format_fapl();
    file = h5::create_file(temporary, fapl.id());
    const hid_t f = file.id();
    h5::write_attribute(f, "program", std::string(kProgram));
    h5::write_attribute(f, "checkpoint_format_version", kCheckpointFormatVersion);
    h5::write_attribute(f, "git_revision", build_value("git_revision"));
    h5::write_attribute(f, "micromoe_version", build_value("micromoe_version"));
    h5::write_attribute(f, "kokkos_execution_space", build_value("kokkos_execution_space"));
    h5::write_attribute(f, "ranks", std::int64_t{world.size()});
    h5::write_attribute(f, "deck_fingerprint", restart_fingerprint(config));
    std::vector<std::string> names;
    for (const auto kind : config.run.strategies) names.push_back(to_string(kind));
    h5::write_attribute(f, "strategies", names);
    h5::write_attribute(f, "strategy", names.at(static_cast<std::size_t>(position.strategy)));
    h5::write_attribute(f, "strategy_index", std::int64_t{position.strategy});
    h5::write_attribute(f, "iteration", std::int64_t{position.iteration});
    h5::write_attribute(f, "layers", std::int64_t{stack.layers()});
    h5::write_attribute(f, "written_at", report::utc_timestamp());
    auto results = h5::create_group(f, "results");
    for (const auto& g : report->groups()) {
      MICROMOE_CHECK_HDF5(
          H5Ocopy(report->file(), g.dims.name.c_str(), results.id(), g.dims.name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
      auto copy = h5::open_group(results.id(), g.dims.name);
      h5::write_attribute(copy.id(), "peak_memory_bytes", g.peak_memory_bytes);
    }
    state = h5::create_group(f, "state");
  });

  std::vector<std::int64_t> all_records, offsets;
  std::vector<float> all_values;
  for (int l = 0; l < stack.layers(); ++l) {
    const auto& layer = stack.layer(l);
    h5::Group group;
    attempt([&] { group = h5::create_group(state.id(), layer_group(l)); });
    gather_ragged(world, layer.save_state(), all_records, offsets);
    attempt([&] {
      write_flat(group.id(), "record", all_records);
      write_flat(group.id(), "record_offsets", offsets);
    });
    gather_ragged(world, std::vector<std::int64_t>{static_cast<std::int64_t>(layer.peak_bytes())}, all_records,
                  offsets);
    attempt([&] {
      write_flat(group.id(), "peak_bytes", all_records);
      write_flat(group.id(), "peak_bytes_offsets", offsets);
    });
    for (const auto& [which, kind] : kKinds) {
      const auto slots = layer.local_slots(which);
      const std::pair<const char*, std::vector<float>> parts[] = {
          {"gate", layer.local_gate(which)}, {"w1", slots.w1}, {"w2", slots.w2}};
      for (const auto& [part, values] : parts) {
        gather_ragged(world, values, all_values, offsets);
        const std::string name = std::string(part) + "_" + kind;
        attempt([&] {
          write_flat(group.id(), name, all_values);
          write_flat(group.id(), name + "_offsets", offsets);
        });
      }
    }
  }
  attempt([&] {
    state.reset();
    MICROMOE_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
    file.reset();
    sync_path(temporary, false);
    if (std::rename(temporary.c_str(), path.c_str()) != 0)
      throw Error("cannot rename " + temporary + " to it: " + std::strerror(errno));
    std::string directory = std::filesystem::path(path).parent_path().string();
    sync_path(directory.empty() ? "." : directory, true);
  });
  if (root && !failure.empty()) {
    state.reset();
    file.reset();
    std::remove(temporary.c_str());
  }
  comm::agree_on_root(world, [&] {
    if (!failure.empty()) throw Error("checkpoint " + path + ": not written: " + failure);
  });
}

CheckpointPosition check_checkpoint(const std::string& path, const deck::RunConfig& config,
                                    const comm::Communicator& world) {
  CheckpointPosition position;
  comm::agree_on_every_rank(world, [&] {
    const auto refuse = [&](const std::string& problem, const std::string& fix) {
      throw InputError("[run] restart: " + error_line(path, 200) + ": " + problem + "; fix: " + fix);
    };
    const char* same_deck = "restart with the deck, overrides and rank count of the run that wrote it";
    struct stat info {};
    if (path.empty() || ::stat(path.c_str(), &info) != 0)
      refuse(path.empty() ? "no file given" : std::strerror(errno),
             "give the checkpoint the run wrote (run.checkpoint)");
    if (!S_ISREG(info.st_mode)) refuse("is not a regular file", "give the checkpoint the run wrote (run.checkpoint)");
    const h5::QuietErrors quiet;
    if (H5Fis_hdf5(path.c_str()) <= 0)
      refuse("is not an HDF5 file", "give the checkpoint the run wrote (run.checkpoint)");
    h5::File file;
    try {
      file = h5::open_file_readonly(path);
    } catch (const Error&) {
      refuse("cannot be opened by HDF5", "give the checkpoint the run wrote (run.checkpoint)");
    }
    const hid_t f = file.id();
    if (!h5::has_attribute(f, "program") || h5::read_string_attribute(f, "program") != kProgram)
      refuse("is not a MicroMoE checkpoint (a report?)", "give the checkpoint the run wrote (run.checkpoint)");
    try {
      const std::int64_t version = h5::read_int_attribute(f, "checkpoint_format_version");
      if (version != kCheckpointFormatVersion)
        refuse("has checkpoint format version " + std::to_string(version) + ", this build reads " +
                   std::to_string(kCheckpointFormatVersion),
               "restart with the build that wrote it");
      const std::int64_t ranks = h5::read_int_attribute(f, "ranks");
      if (ranks != world.size())
        refuse("was written by " + std::to_string(ranks) + " ranks, this run has " + std::to_string(world.size()),
               "restart with " + std::to_string(ranks) + " ranks");
      const auto saved = h5::read_string_array_attribute(f, "deck_fingerprint");
      const auto mine = restart_fingerprint(config);
      const auto key_of = [](const std::string& line) { return line.substr(0, line.find(" = ")); };
      std::map<std::string, std::string> saved_lines;
      for (const auto& line : saved) saved_lines[key_of(line)] = line;
      for (const auto& line : mine) {
        const auto it = saved_lines.find(key_of(line));
        if (it == saved_lines.end())
          refuse("was written without the deck key " + key_of(line) + " (another build)", same_deck);
        if (it->second != line) refuse("was written for " + it->second + ", the deck has " + line, same_deck);
      }
      if (saved.size() != mine.size()) refuse("was written for other deck keys (another build)", same_deck);
      const std::int64_t strategy = h5::read_int_attribute(f, "strategy_index");
      const std::int64_t iteration = h5::read_int_attribute(f, "iteration");
      if (strategy < 0 || strategy >= static_cast<std::int64_t>(config.run.strategies.size()) || iteration < 0 ||
          iteration > config.training.iterations)
        refuse("holds an impossible position (strategy " + std::to_string(strategy) + ", iteration " +
                   std::to_string(iteration) + ")",
               "give the checkpoint the run wrote (run.checkpoint)");
      position.strategy = static_cast<int>(strategy);
      position.iteration = static_cast<int>(iteration);
    } catch (const InputError&) {
      throw;
    } catch (const Error& e) {
      refuse(std::string("is incomplete: ") + e.what(), "give the checkpoint the run wrote (run.checkpoint)");
    }
  });
  return position;
}

void restore_stack(const std::string& path, MoEStack& stack, const comm::Communicator& world) {
  const ExecSpace exec;
  comm::agree_on_every_rank(world, [&] {
    const h5::QuietErrors quiet;
    try {
      auto file = h5::open_file_readonly(path);
      auto state = h5::open_group(file.id(), "state");
      const int me = world.rank();
      for (int l = 0; l < stack.layers(); ++l) {
        auto group = h5::open_group(state.id(), layer_group(l));
        const auto record = read_part<std::int64_t>(group.id(), "record", me);
        moe::LocalTensors tensors[3];
        for (int k = 0; k < 3; ++k) {
          const std::string kind = kKinds[k].second;
          tensors[k].gate = read_part<float>(group.id(), "gate_" + kind, me);
          tensors[k].slots.w1 = read_part<float>(group.id(), "w1_" + kind, me);
          tensors[k].slots.w2 = read_part<float>(group.id(), "w2_" + kind, me);
        }
        const auto peak = read_part<std::int64_t>(group.id(), "peak_bytes", me);
        if (peak.size() != 1 || peak[0] < 0) throw std::invalid_argument("peak_bytes holds no byte count");
        stack.layer(l).restore_state(exec, record, tensors[0], tensors[1], tensors[2]);
        stack.layer(l).note_peak_bytes(static_cast<std::size_t>(peak[0]));
      }
      compat::fence(exec, "micromoe::restore_stack");
    } catch (const std::invalid_argument& e) {
      throw InputError("[run] restart: " + error_line(path, 200) + ": does not fit the run: " + e.what() +
                       "; fix: restart with the deck of the run that wrote it");
    } catch (const Error& e) {
      throw InputError("[run] restart: " + error_line(path, 200) + ": unreadable state: " + e.what() +
                       "; fix: give the checkpoint the run wrote (run.checkpoint)");
    }
  });
}

void restore_results(const std::string& path, const deck::RunConfig& config, int ranks, report::ReportStream& report) {
  const h5::QuietErrors quiet;
  auto file = h5::open_file_readonly(path);
  auto results = h5::open_group(file.id(), "results");
  for (const auto kind : config.run.strategies) {
    const std::string name = to_string(kind);
    if (!h5::has_link(results.id(), name)) break;  // the groups are the run's first strategies
    MICROMOE_CHECK_HDF5(H5Ocopy(results.id(), name.c_str(), report.file(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
    auto copy = h5::open_group(report.file(), name);
    const std::int64_t peak = h5::read_int_attribute(copy.id(), "peak_memory_bytes");
    MICROMOE_CHECK_HDF5(H5Adelete(copy.id(), "peak_memory_bytes"));  // the report writes it at the end
    report::StrategyResults dims;
    dims.name = name;
    dims.trace_replayed = config.workload.kind == workload::WorkloadKind::trace && Trainer::routes_by_trace(kind);
    dims.resize(0, config.model.layers, config.training.micro_batches, ranks, config.model.experts);
    report.adopt_strategy(dims, peak);
  }
}

}  // namespace micromoe::train
