// SPDX-License-Identifier: BSD-3-Clause
// Checkpoint and restart: a run of N iterations and the same run stopped (a stop request, as
// SIGTERM makes) at N/2 and restarted from its checkpoint give bit-identical reports (every
// dataset but the timings: step_time, tokens_per_second, phase_times, schedule_us) and
// bit-identical final checkpoints (weights, optimizer states, strategy state of every layer
// and rank; their peak memory is a measurement), for every strategy of the default deck (eplb and microep-adaptive
// re-place before and after the stop) and for a trace workload. A restart that does not fit the deck, or a file that is
// no checkpoint, is refused on every rank with nothing written.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <streambuf>

#include "comm/communicator.hpp"
#include "core/error.hpp"
#include "report/hdf5_handles.hpp"
#include "train/run_job.hpp"
#include "train/stop_request.hpp"
#include "train_test_decks.hpp"

namespace micromoe::train {
namespace {

namespace h5 = report::h5;

/// Rank 0's progress output: asks for a stop (as SIGTERM does) once `strategy` has completed
/// `iteration` iterations.
class StopAt : public std::streambuf {
 public:
  StopAt(const std::string& strategy, int iteration) {
    char prefix[64];
    std::snprintf(prefix, sizeof prefix, "%-17s iter %4d/", strategy.c_str(), iteration);
    trigger_ = prefix;
  }

 protected:
  int overflow(int c) override {
    if (c == '\n') {
      if (line_.rfind(trigger_, 0) == 0) set_stop_requested_for_testing(true);
      line_.clear();
    } else if (c != EOF) {
      line_.push_back(static_cast<char>(c));
    }
    return c;
  }

 private:
  std::string trigger_, line_;
};

/// A directory for this test and rank count, made by rank 0.
std::string test_directory(const comm::Communicator& world, const std::string& name) {
  const std::string dir =
      (std::filesystem::temp_directory_path() /
       ("micromoe_restart_" + name + "_np" + std::to_string(world.size()) + "_" + std::to_string(getppid())))
          .string();
  if (world.rank() == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  MPI_Barrier(world.get());
  return dir;
}

// Measurements, not state: the timings, and the layers' peak memory (buffers restart empty).
const std::set<std::string> kTimings = {"step_time",   "tokens_per_second", "phase_times",
                                        "schedule_us", "peak_bytes",        "peak_bytes_offsets"};

std::vector<std::string> children(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names);
  return names;
}

bool is_group(hid_t location, const std::string& name) {
  H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
  H5Oget_info_by_name3(location, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT);
#else
  H5Oget_info_by_name(location, name.c_str(), &info, H5P_DEFAULT);
#endif
  return info.type == H5O_TYPE_GROUP;
}

/// Raw bytes and extents of a dataset (any numeric type).
std::pair<std::vector<hsize_t>, std::vector<char>> raw(hid_t location, const std::string& name) {
  auto dataset = h5::open_dataset(location, name);
  auto space = h5::dataset_space(dataset.id());
  auto type = h5::dataset_type(dataset.id());
  const auto dims = h5::extents(space.id());
  std::size_t n = H5Tget_size(type.id());
  for (auto d : dims) n *= d;
  std::vector<char> bytes(n);
  if (n > 0) H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  return {dims, bytes};
}

/// Every dataset under `a` and `b` (recursively) but the timings: same names, extents, bytes.
/// Returns how many datasets were compared.
int expect_same_datasets(hid_t a, hid_t b, const std::string& where) {
  int compared = 0;
  const auto names = children(a);
  EXPECT_EQ(names, children(b)) << where;
  for (const auto& name : names) {
    if (kTimings.count(name) || name == "hosts") continue;
    if (is_group(a, name)) {
      auto ga = h5::open_group(a, name), gb = h5::open_group(b, name);
      compared += expect_same_datasets(ga.id(), gb.id(), where + "/" + name);
      continue;
    }
    const auto x = raw(a, name), y = raw(b, name);
    EXPECT_EQ(x.first, y.first) << where << "/" << name << ": extents";
    EXPECT_TRUE(x.second == y.second) << where << "/" << name << ": values differ";
    ++compared;
  }
  return compared;
}

deck::RunConfig deck_with(const std::vector<std::string>& base, const std::string& dir, const std::string& run) {
  auto overrides = base;
  overrides.push_back("run.report=" + dir + "/" + run + ".h5");
  overrides.push_back("run.checkpoint=" + dir + "/" + run + ".ckpt.h5");
  return testing::tiny_deck(overrides);
}

/// Runs the whole job (A), the job stopped after `stop_iteration` iterations of `stop_strategy`
/// (B), and B restarted from its checkpoint (C); expects A and C to agree bit for bit.
void expect_restart_equivalent(const std::string& name, std::vector<std::string> overrides,
                               const std::string& stop_strategy, int stop_iteration) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const std::string dir = test_directory(world, name);
  overrides.push_back("run.quiet=false");
  overrides.push_back("run.checkpoint_interval=" + std::to_string(testing::tiny_deck(overrides).training.iterations));
  std::ostringstream ignored;

  const auto a = deck_with(overrides, dir, "A");
  EXPECT_FALSE(run_job(a, "A", world, ignored).truncated);

  StopAt stopper(stop_strategy, stop_iteration);
  std::ostream stopping(&stopper);
  const auto b = deck_with(overrides, dir, "B");
  const auto stopped = run_job(b, "B", world, world.rank() == 0 ? stopping : ignored);
  set_stop_requested_for_testing(false);
  EXPECT_TRUE(stopped.truncated);

  const auto c = deck_with(overrides, dir, "C");
  EXPECT_FALSE(run_job(c, "C", world, ignored, dir + "/B.ckpt.h5").truncated);

  if (world.rank() == 0) {
    const h5::QuietErrors quiet;
    auto ra = h5::open_file_readonly(dir + "/A.h5"), rc = h5::open_file_readonly(dir + "/C.h5");
    int compared = 0;
    for (const auto& group : children(ra.id())) {
      if (group == "run") continue;
      auto ga = h5::open_group(ra.id(), group), gc = h5::open_group(rc.id(), group);
      compared += expect_same_datasets(ga.id(), gc.id(), "report " + group);
      EXPECT_EQ(h5::read_int_attribute(ga.id(), "iterations_completed"),
                h5::read_int_attribute(gc.id(), "iterations_completed"));
      EXPECT_EQ(h5::read_int_attribute(ga.id(), "tokens_dropped_total"),
                h5::read_int_attribute(gc.id(), "tokens_dropped_total"));
    }
    EXPECT_GE(compared, 6) << "loads, expert_copies, imbalance, bytes_sent, tokens_dropped, loss";
    EXPECT_EQ(children(ra.id()), children(rc.id()));
    auto ca = h5::open_file_readonly(dir + "/A.ckpt.h5"), cc = h5::open_file_readonly(dir + "/C.ckpt.h5");
    for (const char* attribute : {"strategy_index", "iteration"})
      EXPECT_EQ(h5::read_int_attribute(ca.id(), attribute), h5::read_int_attribute(cc.id(), attribute));
    auto sa = h5::open_group(ca.id(), "state"), sc = h5::open_group(cc.id(), "state");
    EXPECT_GT(expect_same_datasets(sa.id(), sc.id(), "checkpoint state"), 0);
    // The stopped report holds the iterations before the stop, whole and marked truncated.
    auto rb = h5::open_file_readonly(dir + "/B.h5");
    auto run = h5::open_group(rb.id(), "run");
    EXPECT_EQ(h5::read_int_attribute(run.id(), "truncated"), 1);
    EXPECT_EQ(h5::read_int_attribute(run.id(), "iterations_completed"), stop_iteration);
    EXPECT_FALSE(std::filesystem::exists(dir + "/C.h5.tmp") || std::filesystem::exists(dir + "/C.ckpt.h5.tmp"));
  }
  MPI_Barrier(world.get());
  if (world.rank() == 0 && !::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

// Re-placing strategies re-place every 2 iterations: before and after the stop at 3 of 6.
const std::vector<std::string> kSixIterations = {"training.iterations=6", "parallel.replace_interval=2"};

TEST(Restart, EveryStrategyStoppedMidRunContinuesBitIdentically) {
  // Stopped inside the third strategy: the first two come from the checkpoint's results.
  expect_restart_equivalent("all", kSixIterations, "eplb", 3);
}

TEST(Restart, MicroEpAdaptiveStoppedAfterAReplacement) {
  auto o = kSixIterations;
  o.push_back("run.strategies=microep-adaptive");
  expect_restart_equivalent("adaptive", o, "microep-adaptive", 3);
}

TEST(Restart, MicroEpSolverWarmStartSurvives) {
  auto o = kSixIterations;
  o.push_back("run.strategies=microep,balanced");
  expect_restart_equivalent("microep", o, "microep", 3);
}

TEST(Restart, TraceWorkloadResumesAtItsPosition) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const std::string dir = test_directory(world, "trace_file");
  const std::string trace = dir + "/trace.csv";
  if (world.rank() == 0) {  // 4 iterations x 3 layers x 2 micro-batches of skewed counts
    std::ofstream csv(trace);
    csv << "iteration,layer,micro_batch,expert,tokens\n";
    const int copies = world.size() * 16 * 2, shares[4] = {8, 4, 2, 2};
    for (int i = 0; i < 4; ++i)
      for (int l = 0; l < 3; ++l)
        for (int m = 0; m < 2; ++m)
          for (int e = 0; e < 4; ++e)
            csv << i << "," << l << "," << m << "," << e << "," << copies * shares[(e + i + l + m) % 4] / 16 << "\n";
  }
  MPI_Barrier(world.get());
  auto o = kSixIterations;
  o.insert(o.end(), {"workload.kind=trace", "workload.trace_file=" + trace, "run.strategies=ep,microep-adaptive"});
  expect_restart_equivalent("trace", o, "ep", 3);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(Restart, ACheckpointOfAnotherDeckOrNoCheckpointIsRefusedOnEveryRank) {
  const comm::Communicator world(MPI_COMM_WORLD);
  const std::string dir = test_directory(world, "refused");
  std::ostringstream out;
  const std::vector<std::string> one = {"run.strategies=ep", "training.iterations=2", "run.checkpoint_interval=2"};
  run_job(deck_with(one, dir, "A"), "A", world, out);

  const auto refused = [&](std::vector<std::string> overrides, const std::string& file, const std::string& names) {
    const auto deck = deck_with(overrides, dir, "R");
    try {
      run_job(deck, "R", world, out, file);
      ADD_FAILURE() << "restart from " << file << " accepted";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("[run] restart: "), std::string::npos) << message;
      EXPECT_NE(message.find(names), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    }
    MPI_Barrier(world.get());
    EXPECT_FALSE(std::filesystem::exists(dir + "/R.h5") || std::filesystem::exists(dir + "/R.h5.tmp"))
        << "nothing written";
  };
  auto seed = one;
  seed.push_back("training.seed=7");
  refused(seed, dir + "/A.ckpt.h5", "training.seed = 7");
  auto hidden = one;
  hidden.push_back("model.hidden=16");
  refused(hidden, dir + "/A.ckpt.h5", "model.hidden = 16");
  refused(one, dir + "/A.h5", "is not a MicroMoE checkpoint");
  refused(one, dir + "/missing.ckpt.h5", "No such file");
  refused(one, dir, "is not a regular file");
  MPI_Barrier(world.get());
  if (world.rank() == 0 && !::testing::Test::HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace micromoe::train
