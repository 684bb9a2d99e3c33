// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule --batch`: batch results equal single calls, ep as EP routes it, adaptive and
// eplb re-placed by the layer's rule, summary statistics and the memory bound by hand, and one
// error line with exit 2 for every class of bad input (the single-call reader's limits too).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "commands/schedule_batch.hpp"
#include "commands/schedule_batch_output.hpp"
#include "commands/schedule_json.hpp"
#include "core/error.hpp"
#include "schedule/memory_bound.hpp"
#include "schedule/rng.hpp"
#include "strategy/strategy.hpp"

namespace ms = micromoe::commands;
namespace sc = micromoe::schedule;
namespace st = micromoe::strategy;
using nlohmann::json;

namespace {

/// Seeded skewed counts: a few hot experts, the rest light (G x E).
sc::CountMatrix seeded_counts(int G, int E, std::uint64_t seed) {
  sc::Rng rng(seed);
  sc::CountMatrix c(G, E);
  const int hot = static_cast<int>(rng.below(static_cast<std::uint64_t>(E)));
  for (int s = 0; s < G; ++s)
    for (int e = 0; e < E; ++e) c(s, e) = static_cast<std::int64_t>(rng.below(e == hot ? 400 : 40));
  return c;
}

json counts_json(const sc::CountMatrix& c) {
  json rows = json::array();
  for (int s = 0; s < c.sources; ++s) {
    json row = json::array();
    for (int e = 0; e < c.experts; ++e) row.push_back(c(s, e));
    rows.push_back(row);
  }
  return rows;
}

json single_call(const json& input) {
  ms::ScheduleCommandOptions o;
  o.input_path = "in.json";
  std::ostringstream out, err;
  const int rc = ms::run_schedule_command_text(input.dump(), o, out, err);
  EXPECT_EQ(rc, 0) << err.str();
  return rc == 0 ? json::parse(out.str()) : json();
}

struct BatchRun {
  int rc;
  std::string out, err;
};

BatchRun batch(const std::string& jsonl, ms::ScheduleBatchOptions o) {
  {
    std::ofstream f("batch_in.jsonl", std::ios::binary);
    f << jsonl;
  }
  if (o.input.empty()) o.input = "batch_in.jsonl";
  std::ostringstream out, err;
  const int rc = ms::run_schedule_batch(o, out, err);
  std::remove("batch_in.jsonl");
  return {rc, out.str(), err.str()};
}

ms::ScheduleBatchOptions options(int gpus, int ep, const std::string& placements) {
  ms::ScheduleBatchOptions o;
  o.layout.gpus = gpus;
  o.layout.ep_size = ep;
  o.placements = placements;
  return o;
}

}  // namespace

TEST(ScheduleBatch, ResultsEqualSingleCallsOnSeededInputs) {
  const int G = 8, E = 16, P = 4, S = E / P;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::string lines;
    std::vector<sc::CountMatrix> mbs;
    for (int i = 0; i < 5; ++i) {
      mbs.push_back(seeded_counts(G, E, seed * 100 + i));
      lines += json{{"counts", counts_json(mbs.back())}}.dump() + "\n";
    }
    ms::ScheduleBatchOptions o = options(G, P, "ep,symmetric,random");
    o.layout.seed = seed;
    const BatchRun r = batch(lines, o);
    ASSERT_EQ(r.rc, 0) << r.err;
    std::istringstream out(r.out);
    std::vector<json> results;
    for (std::string l; std::getline(out, l);) results.push_back(json::parse(l));
    ASSERT_EQ(results.size(), mbs.size() * 3 + 1) << "3 placements per micro-batch and the summary";
    for (std::size_t i = 0; i < mbs.size(); ++i) {
      for (int k = 0; k < 3; ++k) {
        const json& b = results[i * 3 + static_cast<std::size_t>(k)];
        const std::string kind = b["placement"];
        json in = {{"gpus", G}, {"placement_kind", kind}, {"experts", E}, {"counts", counts_json(mbs[i])}};
        if (kind == "ep") {
          in["ep_size"] = P;
        } else {
          in["slots_per_gpu"] = S;
          in["seed"] = seed;
        }
        const json one = single_call(in);
        EXPECT_EQ(b["iteration"], static_cast<int>(i));
        EXPECT_EQ(b["max_load"], one["max_load"]) << kind << " seed " << seed << " mb " << i;
        EXPECT_EQ(b["total_tokens"], one["total_tokens"]);
        EXPECT_DOUBLE_EQ(b["imbalance"].get<double>(), one["imbalance"].get<double>());
        EXPECT_EQ(b["optimum"], kind == "ep" ? one["placement_optimum"] : one["max_load"]);
        // The batch solver is warm-started, so among optimal plans it may pick another one; the
        // first micro-batch is a cold solve in both, and EP's loads are forced.
        if (i == 0 || kind == "ep") {
          EXPECT_EQ(b["gpu_load"], one["gpu_load"]) << kind;
        }
      }
    }
  }
}

TEST(ScheduleBatch, EpAsRoutedNeverMovesLoadBetweenEpGroups) {
  const int G = 8, E = 16, P = 2;
  ms::BatchLayout layout;
  layout.gpus = G;
  layout.experts = E;
  layout.ep_size = P;
  ms::BatchRunner runner(layout, {ms::BatchPlacement::ep});
  st::StrategyConfig config;
  config.kind = st::StrategyKind::ep;
  config.ep_size = P;
  auto ep = st::make_strategy(config, G, E);
  sc::Routing routing;
  std::vector<ms::BatchResult> results;
  bool strictly_worse_seen = false;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    ms::MicroBatch mb;
    mb.iteration = static_cast<int>(seed);
    mb.counts = seeded_counts(G, E, seed);
    runner.route(mb, results);
    const ms::BatchResult& r = results[0];
    for (int k = 0; k < G / P; ++k) {  // every EP group computes exactly its own sources' copies
      std::int64_t computed = 0, sent = 0;
      for (int g = k * P; g < (k + 1) * P; ++g) computed += r.gpu_load[static_cast<std::size_t>(g)];
      for (int s = k * P; s < (k + 1) * P; ++s)
        for (int e = 0; e < E; ++e) sent += mb.counts(s, e);
      EXPECT_EQ(computed, sent) << "seed " << seed << " group " << k;
    }
    ep->route(mb.counts, routing);  // the layer's ep routing
    EXPECT_EQ(r.gpu_load, routing.gpu_load) << "seed " << seed;
    EXPECT_GE(r.max_load, r.optimum);
    strictly_worse_seen |= r.max_load > r.optimum;
  }
  EXPECT_TRUE(strictly_worse_seen) << "the solver's optimum must not be what ep reports";
  // The single call agrees: one hot source, the solver could halve it; EP cannot.
  const json one = single_call(
      {{"gpus", 2}, {"placement_kind", "ep"}, {"ep_size", 1}, {"experts", 2}, {"counts", {{10, 0}, {0, 0}}}});
  EXPECT_EQ(one["max_load"], 10);
  EXPECT_EQ(one["lower_bound"], 10);
  EXPECT_EQ(one["placement_optimum"], 5);
  EXPECT_EQ(one["gpu_load"], json({10, 0}));
  EXPECT_EQ(one["cross_gpu_tokens"], 0);
}

/// Drives a strategy as the MoE layer does: route_rank per micro-batch, end_iteration with the
/// iteration's summed loads; returns the loads and whether each micro-batch followed a change.
void expect_layer_rule(ms::BatchPlacement placement, st::StrategyKind kind) {
  const int G = 8, E = 16, K = 2, M = 2, iterations = 7;
  ms::BatchLayout layout;
  layout.gpus = G;
  layout.experts = E;
  layout.ep_size = 4;
  layout.replace_interval = K;
  layout.seed = 3;
  ms::BatchRunner runner(layout, {placement});
  st::StrategyConfig config;
  config.kind = kind;
  config.ep_size = 4;
  config.replace_interval = K;
  config.seed = 3;
  auto layer = st::make_strategy(config, G, E);
  sc::RankRouting rr;
  std::vector<ms::BatchResult> results;
  int replacements = 0;
  bool changed = false;
  for (int i = 0; i < iterations; ++i) {
    const std::int64_t shifts_before = layer->shifts_detected();
    std::vector<std::int64_t> loads(static_cast<std::size_t>(E), 0);
    for (int m = 0; m < M; ++m) {
      ms::MicroBatch mb;
      mb.iteration = i;
      mb.micro_batch = m;
      mb.counts = seeded_counts(G, E, static_cast<std::uint64_t>(i * M + m + 1));
      runner.route(mb, results);
      layer->route_rank(mb.counts, 0, rr);
      EXPECT_EQ(results[0].gpu_load, rr.gpu_load) << "iteration " << i << " micro-batch " << m;
      EXPECT_EQ(results[0].replaced, m == 0 && changed) << "iteration " << i;
      if (results[0].replaced) {
        EXPECT_EQ(results[0].migrations, layer->last_migrations());
      }
      const auto l = mb.counts.expert_loads();
      for (int e = 0; e < E; ++e) loads[static_cast<std::size_t>(e)] += l[static_cast<std::size_t>(e)];
    }
    changed = layer->end_iteration(loads);
    if (changed) {
      ++replacements;
      // Every K iterations, or early after an iteration with a detected load shift (adaptive).
      EXPECT_TRUE((i + 1) % K == 0 || layer->shifts_detected() > shifts_before) << "iteration " << i;
    }
  }
  EXPECT_GE(replacements, 1) << "the skewed loads must move some expert";
}

TEST(ScheduleBatch, AdaptiveReplacementMatchesTheLayersRule) {
  expect_layer_rule(ms::BatchPlacement::adaptive, st::StrategyKind::microep_adaptive);
}

TEST(ScheduleBatch, EplbReplacementMatchesTheLayersRule) {
  expect_layer_rule(ms::BatchPlacement::eplb, st::StrategyKind::eplb);
}

TEST(ScheduleBatch, SummaryMatchesAHandComputation) {
  // Ten micro-batches of 40 tokens on 4 GPUs (mean 10): max loads 10..19, so imbalances
  // 1.0..1.9; optimum = 10 + i/2; memory bound 10 except 12.5 once.
  std::vector<ms::BatchResult> rs;
  for (int i = 0; i < 10; ++i) {
    ms::BatchResult r;
    r.total_tokens = 40;
    r.gpu_load = {10 + i, 10, 10, 10 - i};
    r.max_load = 10 + i;
    r.optimum = 10 + i / 2;
    r.memory_bound = i == 3 ? 12.5 : 10.0;
    r.replaced = i % 4 == 1;
    r.migrations = r.replaced ? 3 : 0;
    rs.push_back(r);
  }
  std::swap(rs[2], rs[7]);  // order must not matter
  const ms::BatchSummary s = ms::summarize("x", rs);
  EXPECT_EQ(s.micro_batches, 10);
  EXPECT_NEAR(s.mean, 1.45, 1e-12);  // (1.0 + ... + 1.9) / 10
  EXPECT_NEAR(s.p90, 1.8, 1e-12);    // nearest rank: the 9th smallest of ten
  EXPECT_NEAR(s.max, 1.9, 1e-12);
  EXPECT_NEAR(s.optimum_mean, (10 + 10 + 11 + 11 + 12 + 12 + 13 + 13 + 14 + 14) / 100.0, 1e-12);
  EXPECT_NEAR(s.optimum_max, 1.4, 1e-12);
  EXPECT_NEAR(s.memory_bound_mean, (9 * 1.0 + 1.25) / 10, 1e-12);
  EXPECT_NEAR(s.memory_bound_max, 1.25, 1e-12);
  EXPECT_EQ(s.replacements, 3);  // i = 1, 5, 9
  EXPECT_EQ(s.migrations, 9);
  std::vector<ms::BatchResult> one(rs.begin(), rs.begin() + 1);
  EXPECT_DOUBLE_EQ(ms::summarize("x", one).p90, one[0].imbalance());
}

TEST(ScheduleBatch, MemoryBoundByHand) {
  sc::MemoryBound bound;  // the one definition the batch output shares with the report
  // Mean 11/4 = 2.75 copies, so some GPU holds ceil(11/4) = 3; the hot expert on 3 GPUs: ceil(8/3) = 3.
  EXPECT_EQ(bound({8, 1, 1, 1}, 4, 2), 3);
  // One expert on at most G = 2 GPUs: 10/2 = 5 however much memory.
  EXPECT_EQ(bound({10, 0}, 2, 2), 5);
  // No spare replica: the hottest expert alone on its GPU.
  EXPECT_EQ(bound({9, 1, 1, 1}, 4, 1), 9);
  // The one spare replica goes to the expert with the largest ceil(L/r): max(12/2, 8) = 8 > ceil(20/3).
  EXPECT_EQ(bound({12, 8}, 3, 1), 8);
  // Odd loads: ceil, not the fractional 7/2 = 3.5.
  EXPECT_EQ(bound({7, 1}, 2, 1), 7);
  EXPECT_EQ(bound({7, 1}, 4, 1), 3);  // r = {3, 1}: ceil(7/3) = 3 > ceil(8/4) = 2
  EXPECT_THROW(bound({1, 1, 1}, 2, 1), std::invalid_argument);
}

TEST(ScheduleBatch, WritesJsonLinesAndHdf5FilesWhole) {
  const std::string line = json{{"counts", {{1, 2, 3, 4}, {4, 3, 2, 1}}}}.dump() + "\n";
  ms::ScheduleBatchOptions o = options(2, 2, "ep,symmetric");
  o.out = "batch_out.jsonl";
  BatchRun r = batch(line + line + line, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json summary = json::parse(r.out);
  EXPECT_EQ(summary["micro_batches"], 3);
  EXPECT_EQ(summary["placements"]["ep"]["micro_batches"], 3);
  std::ifstream f("batch_out.jsonl");
  int n = 0;
  for (std::string l; std::getline(f, l); ++n) EXPECT_EQ(json::parse(l)["total_tokens"], 20);
  EXPECT_EQ(n, 6);
  std::remove("batch_out.jsonl");
  o.out = "batch_out.h5";
  r = batch(line, o);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::ifstream h5("batch_out.h5", std::ios::binary);
  char magic[8] = {};
  h5.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "HDF");
  std::remove("batch_out.h5");
}

TEST(ScheduleBatch, EveryBadInputExitsTwoWithOneLine) {
  const std::string good = json{{"counts", {{1, 2, 3, 4}, {4, 3, 2, 1}}}}.dump() + "\n";
  const std::string deep = "{\"counts\": " + std::string(200000, '[') + "\n";
  struct Case {
    std::string input, needle;
    ms::ScheduleBatchOptions o;
  };
  const auto o2 = options(2, 2, "ep,symmetric,random,adaptive,eplb");
  auto with = [&](auto edit) {
    ms::ScheduleBatchOptions o = o2;
    edit(o);
    return o;
  };
  const std::vector<Case> cases = {
      {"{\"counts\": [[1,2,3,4],[4,3,2,1]]\n", "not valid JSON", o2},
      {"{\"counts\": [[1,2,3,4],[4,3,2,1]]} x\n", "not valid JSON", o2},
      {std::string("{\"counts\": [[1,2,3,4],[4,3,2,1]]}\0\n", 36), "NUL byte", o2},
      {deep, "deeper than 8", o2},
      {"{\"counts\": [[1,2,3,4],[4,3,2,1]], \"colour\": 1}\n", "unknown key \"colour\"", o2},
      {"{\"counts\": [[1,2,3,4]]}\n", "one per GPU", o2},
      {good + "{\"counts\": [[1,2,3],[4,3,2]]}\n", "expected 4 experts", o2},
      {"{\"counts\": [[1,-2,3,4],[4,3,2,1]]}\n", "out of range", o2},
      {"{\"counts\": [[1,1e400,3,4],[4,3,2,1]]}\n", "not valid JSON", o2},
      {"{\"counts\": [[1,2.5,3,4],[4,3,2,1]]}\n", "must be an integer", o2},
      {"{\"counts\": [[1,99999999999999999,3,4],[4,3,2,1]]}\n", "out of range", o2},
      {"{\"counts\": [[1,2,3,4],[4,3,2,1]], \"iteration\": 5}\n{\"counts\": [[1,2,3,4],[4,3,2,1]], \"iteration\": 4}\n",
       "iteration order", o2},
      {"{\"iteration\": 1}\n", "missing key \"counts\"", o2},
      {"[1, 2]\n", "must be a JSON object", o2},
      {"\n\n", "is empty", o2},
      {good, "unknown placement \"balanced\"", with([](auto& o) { o.placements = "ep,balanced"; })},
      {good, "twice", with([](auto& o) { o.placements = "ep,ep"; })},
      {good, "--batch needs --gpus", with([](auto& o) { o.layout.gpus = 0; })},
      {good, "must end in .jsonl", with([](auto& o) { o.out = "out.csv"; })},
      {good, "must divide", with([](auto& o) { o.layout.ep_size = 3; })},
      {good, "--replace-interval", with([](auto& o) { o.layout.replace_interval = 0; })},
      {good, "cannot create --out", with([](auto& o) { o.out = "no_such_dir/out.jsonl"; })},
      {"iteration,layer,micro_batch,expert,tokens\n0,0,0,1,5\n", "needs --experts", o2},
      {"iteration,layer,micro_batch,expert,tokens\n0,0,0,9,5\n", "trace", with([](auto& o) { o.layout.experts = 4; })},
  };
  for (const auto& c : cases) {
    ms::ScheduleBatchOptions o = c.o;
    const bool to_file = o.out.empty();
    if (to_file) o.out = "bad_out.jsonl";  // and nothing may be left there
    if (c.needle == "must end in .jsonl" || c.needle == "cannot create --out") o.out = c.o.out;
    const BatchRun r = batch(c.input, o);
    EXPECT_EQ(r.rc, 2) << c.needle << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.needle;
    ASSERT_FALSE(r.err.empty()) << c.needle;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_LT(r.err.size(), 400u) << r.err.substr(0, 400);
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << "should mention \"" << c.needle << "\": " << r.err;
    EXPECT_FALSE(std::ifstream("bad_out.jsonl").good()) << c.needle << ": an output file was left";
  }
}

TEST(ScheduleBatch, SingleCallReaderLimits) {
  ms::ScheduleCommandOptions o;
  o.input_path = "in.json";
  const auto expect_refused = [&](const std::string& text, const std::string& needle) {
    std::ostringstream out, err;
    EXPECT_EQ(ms::run_schedule_command_text(text, o, out, err), 2) << needle;
    EXPECT_TRUE(out.str().empty());
    EXPECT_EQ(err.str().find('\n'), err.str().size() - 1) << err.str().substr(0, 400);
    EXPECT_LT(err.str().size(), 400u) << err.str().substr(0, 400);
    EXPECT_NE(err.str().find(needle), std::string::npos) << err.str().substr(0, 400);
  };
  const std::string ok =
      R"({"gpus": 2, "placement_kind": "ep", "ep_size": 1, "experts": 2, "counts": [[1, 2], [3, 4]]})";
  expect_refused(std::string(200000, '['), "deeper than 8");
  expect_refused(ok + std::string(1, '\0'), "NUL byte");
  expect_refused(ok + " {}", "not valid JSON");
  expect_refused(R"({"gpus": 2, "placement_kind": "ep", "ep_size": 1, "experts": 2, "counts": [[1, 1e400], [3, 4]]})",
                 "not valid JSON");
  expect_refused(R"({"gpus": [)" + std::string(100000, '7') + "]}", "not valid JSON");
  expect_refused(R"({"gpus": [1, 2, 3]})", "an array of 3 values");
  expect_refused(R"({"gpus": ")" + std::string(100000, 'x') + "\"}", "must be an integer");
  // One expert on all 65,536 GPUs: G^2 solver arcs (34 GB) are refused, not allocated.
  std::string placement = "[", counts = "[";
  for (int g = 0; g < 65536; ++g) {
    placement += g ? ",[0]" : "[0]";
    counts += g ? ",[1]" : "[1]";
  }
  expect_refused(R"({"gpus": 65536, "placement": )" + placement + "], \"counts\": " + counts + "]}", "MiB to solve");
}

TEST(ScheduleBatch, TraceMicroBatchesSplitOverSourcesInOrder) {
  // 2 iterations x 2 layers x 1 micro-batch, 4 experts; expert 1 of (0, 1, 0) has 7 tokens.
  {
    std::ofstream f("batch_trace.csv");
    f << "iteration,layer,micro_batch,expert,tokens\n0,0,0,0,8\n0,1,0,1,7\n1,0,0,3,4\n1,1,0,2,1\n";
  }
  ms::ScheduleBatchOptions o = options(4, 2, "ep");
  o.input = "batch_trace.csv";
  o.layout.experts = 4;
  std::ostringstream out, err;
  ASSERT_EQ(ms::run_schedule_batch(o, out, err), 0) << err.str();
  std::remove("batch_trace.csv");
  std::istringstream lines(out.str());
  std::vector<json> rs;
  for (std::string l; std::getline(lines, l);) rs.push_back(json::parse(l));
  ASSERT_EQ(rs.size(), 5u);  // four micro-batches and the summary
  const std::vector<std::vector<int>> order = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  const std::vector<int> totals = {8, 7, 4, 1};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(rs[i]["iteration"], order[i][0]);
    EXPECT_EQ(rs[i]["layer"], order[i][1]);
    EXPECT_EQ(rs[i]["total_tokens"], totals[i]);
  }
  // EP with P = 2, S = 2: expert 1 lives on GPUs 0 and 2. Its 7 tokens split 1 per source and
  // the 3 left to sources 1, 2, 3 (from source e = 1 on): [1, 2, 2, 2], so group {0, 1} sends 3
  // to GPU 0 and group {2, 3} sends 4 to GPU 2.
  EXPECT_EQ(rs[1]["gpu_load"], json({3, 0, 4, 0}));
  // Expert 0's 8 tokens: 2 per source, on GPUs 0 and 2 (4 each).
  EXPECT_EQ(rs[0]["gpu_load"], json({4, 0, 4, 0}));
}

TEST(ScheduleBatch, SizesBeyondTheMemoryLimitAreRefusedBeforeAnyAllocation) {
  const auto refusal = [](int gpus, int experts, int ep, ms::BatchPlacement p) {
    ms::BatchLayout layout;
    layout.gpus = gpus;
    layout.experts = experts;
    layout.ep_size = ep;
    try {
      ms::BatchRunner runner(layout, {p});
    } catch (const micromoe::InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // 4,096 replicas of each of 64 experts: 64 x 4096 x 4095 solver arcs, about 8 GiB.
  EXPECT_NE(refusal(4096, 64, 1, ms::BatchPlacement::symmetric).find("MiB to solve"), std::string::npos);
  // 4096^2 x 1024 slots: beyond the placement builders.
  EXPECT_NE(refusal(4096, 1024, 1, ms::BatchPlacement::ep).find("placement builders"), std::string::npos);
  EXPECT_EQ(refusal(64, 256, 8, ms::BatchPlacement::symmetric), "");
}

TEST(ScheduleBatch, PerSourceTracesGiveEachSourceItsOwnRowInBothFormats) {
  // Two sources send expert 1 five and three tokens. With G = 4 > 2 sources, source row s
  // replays trace source s mod 2 (as rank s does in a run): rows [5, 3, 5, 3]. EP with P = 2,
  // S = 2 keeps expert 1 on GPUs 0 and 2; group {0, 1} sends 8 to GPU 0, group {2, 3} 8 to GPU 2.
  {
    std::ofstream f("batch_per_source.csv");
    f << "iteration,layer,micro_batch,source,expert,tokens\n0,0,0,0,1,5\n0,0,0,1,1,3\n";
  }
  {
    std::ofstream f("batch_per_source.jsonl");
    f << R"({"step":0,"stage":"pre_dispatch","block":"decoder","layer":0,"rank":0,"num_tokens":5,"topk":1,)"
      << R"("top_indices":[[1],[1],[1],[1],[1]]})"
      << "\n"
      << R"({"step":0,"stage":"pre_dispatch","block":"decoder","layer":0,"rank":1,"num_tokens":3,"topk":1,)"
      << R"("top_indices":[[1],[1],[1]]})"
      << "\n";
  }
  std::vector<json> firsts;
  for (const char* input : {"batch_per_source.csv", "batch_per_source.jsonl"}) {
    ms::ScheduleBatchOptions o = options(4, 2, "ep");
    o.input = input;
    o.layout.experts = 4;
    std::ostringstream out, err;
    ASSERT_EQ(ms::run_schedule_batch(o, out, err), 0) << input << ": " << err.str();
    std::istringstream lines(out.str());
    std::string first;
    std::getline(lines, first);
    firsts.push_back(json::parse(first));
    std::remove(input);
  }
  EXPECT_EQ(firsts[0]["total_tokens"], 16);
  EXPECT_EQ(firsts[0]["gpu_load"], json({8, 0, 8, 0}));
  EXPECT_EQ(firsts[0]["gpu_load"], firsts[1]["gpu_load"]);
  EXPECT_EQ(firsts[0]["total_tokens"], firsts[1]["total_tokens"]);
}
