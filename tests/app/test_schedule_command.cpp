// SPDX-License-Identifier: BSD-3-Clause
// `micromoe schedule`: JSON in, JSON/table out, one-line errors for malformed input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands/schedule_json.hpp"

namespace ms = micromoe::commands;
using nlohmann::json;

namespace {

struct Result {
  int rc;
  std::string out, err;
};

Result run(const std::string& text, bool placement_only = false, const std::string& format = "json") {
  ms::ScheduleCommandOptions o;
  o.input_path = "in.json";
  o.placement_only = placement_only;
  o.format = format;
  std::ostringstream out, err;
  const int rc = ms::run_schedule_command_text(text, o, out, err);
  return {rc, out.str(), err.str()};
}

void expect_error(const std::string& text, const std::string& needle, bool placement_only = false) {
  const Result r = run(text, placement_only);
  EXPECT_NE(r.rc, 0) << text;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty()) << text;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "error should mention \"" << needle << "\": " << r.err;
}

const char* kExplicit = R"({"gpus": 4, "gpus_per_node": 2,
  "placement": [[0, 1], [0, 2], [3, 1], [3, 2]],
  "counts": [[40, 0, 3, 1], [5, 5, 5, 5], [0, 9, 0, 20], [1, 1, 1, 1]]})";

}  // namespace

TEST(Command, ExplicitPlacementJson) {
  const Result r = run(kExplicit);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json o = json::parse(r.out);
  const std::int64_t total = 40 + 3 + 1 + 20 + 9 + 20 + 4;
  EXPECT_EQ(o["total_tokens"], total);
  EXPECT_EQ(o["max_load"], (total + 3) / 4);
  EXPECT_EQ(o["lower_bound"], o["max_load"]);
  EXPECT_NEAR(o["imbalance"].get<double>(), o["max_load"].get<double>() * 4 / total, 1e-12);
  std::int64_t plan_sum = 0, route_sum = 0, cross = 0;
  for (const auto& x : o["plan"]) {
    EXPECT_GT(x["tokens"].get<std::int64_t>(), 0);
    plan_sum += x["tokens"].get<std::int64_t>();
  }
  for (const auto& x : o["routes"]) {
    EXPECT_GT(x["tokens"].get<std::int64_t>(), 0);
    route_sum += x["tokens"].get<std::int64_t>();
    if (x["src"] != x["dst"]) cross += x["tokens"].get<std::int64_t>();
  }
  EXPECT_EQ(plan_sum, total);
  EXPECT_EQ(route_sum, total);
  EXPECT_EQ(o["cross_gpu_tokens"], cross);
  EXPECT_TRUE(o["solve_us"].is_number());
  EXPECT_TRUE(o.contains("cross_node_tokens"));
  // Deterministic output apart from the timing.
  json again = json::parse(run(kExplicit).out);
  json first = o;
  first.erase("solve_us");
  again.erase("solve_us");
  EXPECT_EQ(first, again);
}

TEST(Command, ExpertInDifferentSlotsIsAccepted) {
  // Expert 0 in slot 0 on GPU 0 and slot 1 on GPU 1 (and expert 1 the other way round).
  const Result r = run(R"({"gpus": 2, "placement": [[0, 1], [1, 0]], "counts": [[5, 1], [0, 0]]})");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json o = json::parse(r.out);
  EXPECT_EQ(o["max_load"], 3);  // 6 copies on 2 GPUs: both experts can use either GPU
  std::int64_t ep_sum = 0;
  for (const auto& x : o["plan"]) ep_sum += x["tokens"].get<std::int64_t>();
  EXPECT_EQ(ep_sum, 6);
}

TEST(Command, KindsTableAndPlacementOnly) {
  const std::string sym = R"({"gpus": 8, "gpus_per_node": 4, "placement_kind": "symmetric", "experts": 16,
    "slots_per_gpu": 4, "seed": 3, "counts": [[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],
    [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],
    [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],
    [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16],
    [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]]})";
  Result r = run(sym);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["placement"].size(), 8u);
  r = run(sym, false, "table");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("max load"), std::string::npos);
  EXPECT_NE(r.out.find("imbalance"), std::string::npos);
  r = run(R"({"gpus": 8, "placement_kind": "ep", "experts": 16, "ep_size": 4})", true);
  ASSERT_EQ(r.rc, 0) << r.err;
  const json o = json::parse(r.out);
  EXPECT_EQ(o["slots_per_gpu"], 4);
  EXPECT_EQ(o["replicas"][5], json({1, 5}));
  EXPECT_TRUE(o["expected_zipf_imbalance"].contains("1.0"));
  EXPECT_GE(o["adversarial_zipf_imbalance"]["1.0"].get<double>(), 1.0);
  r = run(R"({"gpus": 8, "placement_kind": "random", "experts": 16, "slots_per_gpu": 4, "seed": 9})", true, "table");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("gpu 7:"), std::string::npos);
}

TEST(Command, MalformedInputGetsOneLineError) {
  expect_error("{\"gpus\": 2,", "not valid JSON");
  expect_error("[1, 2]", "JSON object");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [2]], "bogus": 1})", "unknown key \"bogus\"");
  expect_error(R"({"placement": [[0], [0]], "counts": [[1], [2]]})", "missing key \"gpus\"");
  expect_error(R"({"gpus": 0, "placement": [], "counts": []})", "\"gpus\"");
  expect_error(R"({"gpus": 2.5, "placement": [[0], [0]], "counts": [[1], [2]]})", "integer");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]]})", "missing key \"counts\"");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [2], [3]]})", "3 rows");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1, 2], [3]]})", "\"counts\"[1] has 1 entries");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [-2]]})", "negative");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], ["x"]]})", "\"counts\"[1][0]");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [1e30]]})", "integer");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [99999999999999999999]]})", "counts");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1, 1], [2, 2]]})", "expert 1 has no replica");
  expect_error(R"({"gpus": 2, "placement": [[0, 0], [1, 1]], "counts": [[1, 1], [2, 2]]})", "twice");
  expect_error(R"({"gpus": 2, "placement": [[0, 1], [1]], "counts": [[1, 1], [2, 2]]})", "slots");
  expect_error(R"({"gpus": 2, "placement": [[0], [0], [0]], "counts": [[1], [2]]})", "GPU lists");
  expect_error(R"({"gpus": 2, "placement": [[0], [7]], "counts": [[1], [2]]})", "out of range");
  expect_error(R"({"gpus": 2, "placement": "x", "counts": [[1], [2]]})", "\"placement\" must be");
  expect_error(
      R"({"gpus": 2, "placement_kind": "magic", "experts": 2, "slots_per_gpu": 1, "counts": [[1, 1], [2, 2]]})",
      "magic");
  expect_error(R"({"gpus": 2, "placement_kind": "ep", "experts": 2, "counts": [[1, 1], [2, 2]]})", "ep_size");
  expect_error(R"({"gpus": 2, "placement_kind": "ep", "experts": 3, "ep_size": 2, "counts": [[1, 1, 1], [2, 2, 2]]})",
               "does not divide");
  expect_error(R"({"gpus": 2, "placement_kind": "symmetric", "experts": 3, "counts": [[1, 1, 1], [2, 2, 2]]})",
               "slots_per_gpu");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "placement_kind": "ep", "counts": [[1], [2]]})", "not both");
  expect_error(R"({"gpus": 2, "gpus_per_node": 0, "placement": [[0], [0]], "counts": [[1], [2]]})", "gpus_per_node");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [2]], "capacity_weights": [1]})",
               "capacity_weights");
  expect_error(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[1], [2]], "experts": 3})", "\"experts\"");
  const Result r = run(kExplicit, false, "xml");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("--format"), std::string::npos);
}

TEST(Command, ReadsFilesAndReportsMissingOnes) {
  ms::ScheduleCommandOptions o;
  o.input_path = "/nonexistent/dir/in.json";
  std::ostringstream out, err;
  EXPECT_NE(ms::run_schedule_command(o, out, err), 0);
  EXPECT_NE(err.str().find("cannot open"), std::string::npos);
  const std::string path = ::testing::TempDir() + "micromoe_schedule_in.json";
  {
    std::ofstream f(path);
    f << kExplicit;
  }
  o.input_path = path;
  std::ostringstream out2, err2;
  EXPECT_EQ(ms::run_schedule_command(o, out2, err2), 0) << err2.str();
  EXPECT_TRUE(json::accept(out2.str()));
  std::remove(path.c_str());
}

TEST(Command, CapacityWeightsAccepted) {
  const Result r = run(R"({"gpus": 2, "placement": [[0], [0]], "counts": [[30], [0]], "capacity_weights": [2, 1]})");
  ASSERT_EQ(r.rc, 0) << r.err;
  const json o = json::parse(r.out);
  EXPECT_EQ(o["gpu_load"], json({20, 10}));
  EXPECT_EQ(o["weighted_objective"], 20);
}

TEST(Command, NeverCrashesOnMutatedInput) {
  // Seeded byte-level mutations of valid inputs: every outcome is exit 0 with JSON on stdout, or
  // a non-zero exit with exactly one "error: " line; nothing throws out of the command.
  const std::string seeds[] = {
      kExplicit,
      R"({"gpus": 4, "placement_kind": "symmetric", "experts": 8, "slots_per_gpu": 4, "seed": 2,
          "counts": [[1,2,3,4,5,6,7,8],[8,7,6,5,4,3,2,1],[0,0,0,0,9,9,9,9],[5,5,5,5,5,5,5,5]]})",
      R"({"gpus": 4, "placement_kind": "ep", "experts": 4, "ep_size": 2, "gpus_per_node": 2,
          "counts": [[1,2,3,4],[4,3,2,1],[9,0,0,9],[0,0,0,0]], "capacity_weights": [1, 2, 3, 4]})"};
  const char alphabet[] = "0123456789-[]{},:\" ne.x";
  std::uint64_t state = 12345;
  auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>(state >> 33);
  };
  int ok = 0, rejected = 0;
  for (int t = 0; t < 3000; ++t) {
    std::string text = seeds[t % 3];
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int k = 0; k < edits; ++k) {
      const std::size_t pos = next() % text.size();
      switch (next() % 3) {
        case 0:
          text[pos] = alphabet[next() % (sizeof(alphabet) - 1)];
          break;
        case 1:
          text.erase(pos, 1 + next() % 4);
          break;
        default:
          text.insert(pos, 1, alphabet[next() % (sizeof(alphabet) - 1)]);
          break;
      }
      if (text.empty()) text = "{";
    }
    Result r;
    ASSERT_NO_THROW(r = run(text, t % 5 == 0)) << text;
    if (r.rc == 0) {
      ASSERT_TRUE(json::accept(r.out)) << text;
      ++ok;
    } else {
      ASSERT_EQ(r.err.rfind("error: ", 0), 0u) << text << "\n" << r.err;
      ASSERT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
      ++rejected;
    }
  }
  std::printf("[ info ] 3000 mutated inputs: %d accepted, %d rejected with one-line errors\n", ok, rejected);
}
