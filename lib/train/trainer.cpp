// SPDX-License-Identifier: BSD-3-Clause
#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "comm/verdict.hpp"
#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "moe/dump.hpp"
#include "report/rank_record.hpp"
#include "schedule/adaptive.hpp"
#include "train/layer_configs.hpp"
#include "train/moe_stack.hpp"
#include "train/stop_request.hpp"
#include "workload/synthetic.hpp"
#include "workload/teacher.hpp"

namespace micromoe::train {

namespace {

int detect_gpus_per_node(MPI_Comm comm) {
  MPI_Comm node = MPI_COMM_NULL;
  MICROMOE_CHECK_MPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  int size = 1;
  MICROMOE_CHECK_MPI(MPI_Comm_size(node, &size));
  MICROMOE_CHECK_MPI(MPI_Comm_free(&node));
  int smallest = size;  // nodes may differ; the scheduler needs one value everywhere
  MICROMOE_CHECK_MPI(MPI_Allreduce(&size, &smallest, 1, MPI_INT, MPI_MIN, comm));
  return smallest;
}

/// diff = h - target, scaled into dh; returns the local sum of squared differences.
double loss_gradient(const ExecSpace& exec, const RowMatrix<float>& h, const RowMatrix<float>& target,
                     const RowMatrix<float>& dh, float scale) {
  double sum = 0;
  Kokkos::parallel_reduce(
      "micromoe::Trainer::loss_gradient",
      Kokkos::MDRangePolicy<ExecSpace, Kokkos::Rank<2>>(exec, {0, 0}, {h.extent(0), h.extent(1)}),
      KOKKOS_LAMBDA(const int t, const int d, double& acc) {
        const float diff = h(t, d) - target(t, d);
        dh(t, d) = diff * scale;
        acc += static_cast<double>(diff) * diff;
      },
      sum);
  return sum;
}

}  // namespace

std::string dump_path(const std::string& report, const std::string& strategy) {
  const bool h5 = report.size() > 3 && report.compare(report.size() - 3, 3, ".h5") == 0;
  return (h5 ? report.substr(0, report.size() - 3) : report) + "_dump_" + strategy + ".h5";
}

namespace {

/// Ranks of one MicroEP group.
int group_size(const deck::RunConfig& c) { return c.parallel.ep_size * c.parallel.microep_group; }

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Trainer::Trainer(const deck::RunConfig& config, const comm::Communicator& world)
    : config_(config),
      world_(world),
      group_(world.split(world.rank() / group_size(config), world.rank())),
      data_parallel_(world.split(world.rank() % group_size(config), world.rank())),
      nccl_(comm::share_nccl(config.parallel.backend, group_, &data_parallel_)) {
  const auto& p = config_.parallel;
  MICROMOE_REQUIRE(world.size() % group_size(config) == 0, "ranks must be a multiple of the MicroEP group size");
  gpus_per_node_ = p.gpus_per_node > 0 ? p.gpus_per_node : detect_gpus_per_node(world.get());
  // Every rank reads the trace (node-local paths differ between nodes); one rank's failure is
  // every rank's error, before any collective of the training can wait on it.
  if (config_.workload.kind == workload::WorkloadKind::trace)
    comm::agree_on_every_rank(world, [&] {
      trace_ = std::make_unique<workload::RoutingTrace>(
          workload::read_trace(config_.workload.trace_file, config_.model.experts));
      workload::check_trace_top_k(*trace_, config_.model.top_k, config_.workload.trace_file);
    });
}

StrategyRun Trainer::train(strategy::StrategyKind strategy, ProgressPrinter& progress, const TrainOptions& options) {
  const auto& c = config_;
  const int R = world_.size(), me = world_.rank();
  const int L = c.model.layers, M = c.training.micro_batches, T = c.training.tokens_per_micro_batch;
  const int H = c.model.hidden, I = c.training.iterations;
  const ExecSpace exec;

  MoEStack stack(layer_configs(c, strategy, gpus_per_node_), group_, &data_parallel_, nccl_);
  workload::SyntheticWorkload data(synthetic_config(c));
  const workload::TeacherMoE teacher(H, c.model.experts, c.workload.teacher_rank, c.training.seed ^ 0x7eac4e5ULL);

  if (options.restore) options.restore(stack);

  StrategyRun run;
  auto& res = run.results;  // rank 0 keeps the iterations here unless options.append takes them
  res.name = to_string(strategy);
  const int E = c.model.experts;
  res.resize(0, L, M, R, E);             // grows by one iteration at a time: nothing reserved for `iterations`
  report::StrategyResults window = res;  // rank 0: this iteration's results

  RowMatrix<float> x("micromoe::Trainer::x", T, H), target("micromoe::Trainer::target", T, H);
  RowMatrix<float> dh("micromoe::Trainer::dh", T, H);
  Kokkos::View<int*, MemSpace> cluster("micromoe::Trainer::cluster", T);
  const float grad_scale = 1.0f / (static_cast<float>(R) * static_cast<float>(T) * static_cast<float>(M));
  const double tokens_per_iteration = static_cast<double>(R) * T * M;

  // Per-iteration rank-local measurements, laid out by the report schema and gathered to rank 0.
  // The group's drops and per-expert copies are counted once, by the group's first rank.
  report::RankRecord record(res);
  const auto step_time = record.field("step_time"), loss = record.field("loss");
  const auto phase_times = record.field("phase_times"), bytes_sent = record.field("bytes_sent");
  const auto schedule_us = record.field("schedule_us"), loads = record.field("loads");
  const auto tokens_dropped = record.field("tokens_dropped"), expert_copies = record.field("expert_copies");
  const auto migrated_bytes = record.field("migrated_bytes");
  const auto schedule_bound = record.field("schedule_bound"), memory_bound = record.field("memory_bound");
  const auto migrations = record.field("migrations");
  std::vector<double> gathered(me == 0 ? static_cast<std::size_t>(record.size()) * R : 0);

  // Trace replay: each layer's routing of the micro-batch, set before the forward.
  const int K = c.model.top_k;
  std::vector<Kokkos::View<int**, TokenLayout, MemSpace>> replay;
  const bool forced_balance = strategy == strategy::StrategyKind::balanced;
  res.trace_replayed = replays_trace(strategy);
  if (trace_)
    for (int l = 0; l < L; ++l) replay.emplace_back("micromoe::Trainer::trace_choices", T, K);
  const auto set_trace_choices = [&](int it, int mb) {
    for (int l = 0; l < L; ++l) {
      const auto choices = workload::replay_routing(*trace_, it, l, mb, R, me, T, K);
      auto host = Kokkos::create_mirror_view(replay[static_cast<std::size_t>(l)]);
      for (int t = 0; t < T; ++t)
        for (int i = 0; i < K; ++i) host(t, i) = choices[static_cast<std::size_t>(t) * K + i];
      Kokkos::deep_copy(exec, replay[static_cast<std::size_t>(l)], host);
      exec.fence();  // host is a temporary
      stack.layer(l).set_next_choices(replay[static_cast<std::size_t>(l)]);
    }
  };

  int completed = options.first_iteration;
  for (int it = options.first_iteration; it < I; ++it) {
    for (int l = 0; l < L; ++l) stack.layer(l).reset_timers();
    record.clear();
    double squared_error = 0;
    compat::fence(exec, "micromoe::Trainer::iteration_start");
    MICROMOE_CHECK_MPI(MPI_Barrier(world_.get()));
    const double start = now_seconds();

    for (int mb = 0; mb < M; ++mb) {
      data.generate(exec, it, mb, me, x, cluster);
      teacher.targets(exec, x, cluster, target);
      std::vector<double> schedule_before(static_cast<std::size_t>(L));
      for (int l = 0; l < L; ++l) schedule_before[l] = stack.layer(l).timers().seconds(moe::Phase::schedule);
      // balanced keeps its forced uniform routing under a trace: the ideal the others compare with.
      if (trace_ && !forced_balance) set_trace_choices(it, mb);
      const auto h = stack.forward(exec, x);
      for (int l = 0; l < L; ++l) {
        const auto& s = stack.layer(l).last_stats();
        record.at(schedule_us, {l, mb}) =
            1e6 * (stack.layer(l).timers().seconds(moe::Phase::schedule) - schedule_before[l]);
        record.at(loads, {l, mb}) = static_cast<double>(s.gpu_load[static_cast<std::size_t>(group_.rank())]);
        record.at(tokens_dropped, {l, mb}) = group_.rank() == 0 ? static_cast<double>(s.tokens_dropped) : 0.0;
        for (int e = 0; e < E; ++e)
          record.at(expert_copies, {l, mb, e}) =
              group_.rank() == 0 ? static_cast<double>(s.expert_copies[static_cast<std::size_t>(e)]) : 0.0;
        // The bounds of the micro-batch: the same on every rank of the group.
        const double mean = static_cast<double>(s.total_copies) / static_cast<double>(s.gpu_load.size());
        record.at(schedule_bound, {l, mb}) = mean > 0 ? static_cast<double>(s.lower_bound) / mean : 0.0;
        record.at(memory_bound, {l, mb}) = schedule::memory_bound_imbalance(
            s.expert_copies, static_cast<int>(s.gpu_load.size()), stack.layer(l).placement().slots_per_gpu);
      }
      squared_error += loss_gradient(exec, h, target, dh, grad_scale);
      stack.backward(exec, dh);
      // After the backward: its two exchanges count too (what the wire carries per micro-batch).
      for (int l = 0; l < L; ++l)
        record.at(bytes_sent, {l, mb}) = static_cast<double>(stack.layer(l).last_stats().bytes_sent);
      if (c.dump_enabled() && it == 0 && mb == c.run.dump_micro_batch) {
        const auto& t = stack.tensors(c.run.dump_layer);
        moe::write_layer_dump(exec, stack.layer(c.run.dump_layer), dump_path(c.run.report, res.name), t.x, t.y, t.dy,
                              t.dx, {c.run.dump_layer, it, mb});
      }
    }
    std::int64_t moved_before = 0, moved_after = 0;
    for (int l = 0; l < L; ++l) moved_before += stack.layer(l).migrations();
    stack.step(exec);
    for (int l = 0; l < L; ++l) moved_after += stack.layer(l).migrations();
    record.at(migrations, {}) = group_.rank() == 0 ? static_cast<double>(moved_after - moved_before) : 0.0;
    compat::fence(exec, "micromoe::Trainer::iteration_end");
    record.at(step_time, {}) = now_seconds() - start;
    for (int l = 0; l < L; ++l)
      for (int p = 0; p < moe::phase_count; ++p) {
        const auto phase = static_cast<moe::Phase>(p);
        record.at(phase_times, {p}) += stack.layer(l).timers().seconds(phase);
      }
    for (int l = 0; l < L; ++l) record.at(migrated_bytes, {l}) = static_cast<double>(stack.layer(l).migrated_bytes());

    double total_squared_error = 0;
    MICROMOE_CHECK_MPI(MPI_Allreduce(&squared_error, &total_squared_error, 1, MPI_DOUBLE, MPI_SUM, world_.get()));
    record.at(loss, {}) = 0.5 * total_squared_error / tokens_per_iteration;  // the same on every rank
    MICROMOE_CHECK_MPI(MPI_Gather(record.data(), record.size(), MPI_DOUBLE, gathered.data(), record.size(), MPI_DOUBLE,
                                  0, world_.get()));
    bool append_failed = false;
    if (me == 0) {
      window.resize(1, L, M, R, E);
      report::combine_records(gathered, 0, window);
      const double step = window.float64("step_time")[0];
      auto& tokens_per_second = window.float64("tokens_per_second")[0];
      tokens_per_second = step > 0 ? tokens_per_iteration / step : 0.0;
      window.compute_imbalance();
      double iteration_imbalance = 1.0;  // worst layer and micro-batch, over all ranks
      for (int l = 0; l < L; ++l)
        for (int mb = 0; mb < M; ++mb)
          iteration_imbalance = std::max(iteration_imbalance, window.load_imbalance(0, l, mb));
      progress.iteration({res.name, it, I, window.float64("loss")[0], step, tokens_per_second, iteration_imbalance});
      if (options.append)
        append_failed = !options.append(window);
      else
        res.append(window);
    }
    completed = it + 1;
    const bool stop = stop_requested(world_.get(), append_failed);
    if (options.checkpoint && !append_failed &&
        ((options.checkpoint_interval > 0 && completed % options.checkpoint_interval == 0) || (stop && completed < I)))
      options.checkpoint(stack, completed);
    if (stop) {
      run.truncated = completed < I;
      break;
    }
  }
  run.iterations_completed = completed;

  std::int64_t peak = 0, max_peak = 0;
  for (int l = 0; l < L; ++l) peak += static_cast<std::int64_t>(stack.layer(l).peak_bytes());
  MICROMOE_CHECK_MPI(MPI_Reduce(&peak, &max_peak, 1, MPI_INT64_T, MPI_MAX, 0, world_.get()));
  if (me == 0) res.peak_memory_bytes = max_peak;
  return run;
}

}  // namespace micromoe::train
