// SPDX-License-Identifier: BSD-3-Clause
// The report schema table: its rules, the per-rank record and its combination on rank 0, and
// docs/report.md generated from it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "report/rank_record.hpp"
#include "report/report_docs.hpp"
#include "report/report_schema.hpp"
#include "sample_results.hpp"

namespace micromoe::report {
namespace {

TEST(ReportSchema, DatasetsFollowTheRules) {
  std::set<std::string> names;
  for (const auto& d : report_datasets()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name << " is listed twice";
    EXPECT_EQ(d.name.find_first_of("/ "), std::string::npos) << d.name;
    EXPECT_FALSE(d.doc.empty()) << d.name;
    EXPECT_FALSE(d.unit.empty()) << d.name;
    ASSERT_FALSE(d.dims.empty()) << d.name;
    EXPECT_EQ(d.dims.front(), Dim::iteration) << d.name << ": truncation and the record need iteration first";
    for (std::size_t i = 0; i < d.dims.size(); ++i)
      EXPECT_EQ(std::count(d.dims.begin(), d.dims.end(), d.dims[i]), 1) << d.name << " repeats a dimension";
    const bool has_rank = std::find(d.dims.begin(), d.dims.end(), Dim::rank) != d.dims.end();
    // A per-rank dataset keeps each rank's value along its last dimension; the others have none.
    EXPECT_EQ(has_rank, d.combine == Combine::per_rank) << d.name;
    if (has_rank) EXPECT_EQ(d.dims.back(), Dim::rank) << d.name;
    EXPECT_EQ(report_datasets()[dataset_index(d.name)].name, d.name);
  }
  EXPECT_THROW(dataset_index("no_such_dataset"), Error);
  for (std::size_t d = 0; d < kDimCount; ++d) EXPECT_EQ(static_cast<std::size_t>(report_dims()[d].dim), d);
}

TEST(ReportSchema, AttributesHaveTheirDeclaredTypes) {
  const StrategyResults r = testing::sample_results("ep", 2.0);
  const StrategySummary s = summarize(r, 1, &r);
  std::set<std::string> names;
  for (const auto& a : report_group_attributes()) {
    EXPECT_TRUE(names.insert(a.name).second) << a.name << " is listed twice";
    EXPECT_FALSE(a.doc.empty()) << a.name;
    const AttributeValue v = a.get(r, s);
    EXPECT_EQ(std::holds_alternative<std::int64_t>(v), a.type == ElementType::int64) << a.name;
  }
}

TEST(ReportSchema, RunAttributesAreUniqueAndDocumented) {
  std::set<std::string> names;
  const RunInfo info = testing::sample_run_info();
  for (const auto& a : report_run_attributes()) {
    EXPECT_TRUE(names.insert(a.name).second) << a.name << " is listed twice";
    EXPECT_EQ(a.name.rfind("build.", 0), std::string::npos) << a.name << ": build.* names are build_info()'s";
    EXPECT_FALSE(a.doc.empty()) << a.name;
    // The documented type (from a default RunInfo) is the written one.
    EXPECT_EQ(a.get(info, {"ep"}).index(), a.get(RunInfo{}, {}).index()) << a.name;
  }
}

TEST(ReportSchema, ResultsAccessorsCheckNameAndType) {
  StrategyResults r = testing::sample_results("ep", 1.0);
  EXPECT_EQ(r.int64("loads").size(), 5u * 2 * 3 * 4);
  EXPECT_THROW(r.float64("loads"), Error);
  EXPECT_THROW(r.int64("lods"), Error);
  EXPECT_EQ(r.shape_problem(), "");
  r.datasets[dataset_index("loss")].int64.push_back(1);
  EXPECT_NE(r.shape_problem().find("loss"), std::string::npos);
}

/// What rank `rank` measures in the test below.
double measured(int rank, int cell) { return 100.0 * (rank + 1) + cell; }

TEST(RankRecord, CombinesAsTheSchemaSays) {
  const int ranks = 3, layers = 2, micro_batches = 2, experts = 3, iterations = 2;
  StrategyResults results;
  results.resize(iterations, layers, micro_batches, ranks, experts);
  RankRecord record(results);
  // Every value of a rank's record is distinct; rank 1 has the largest schedule time.
  std::vector<double> gathered;
  for (int r = 0; r < ranks; ++r) {
    record.clear();
    for (int i = 0; i < record.size(); ++i) record.data()[i] = measured(r, i);
    const auto schedule = record.field("schedule_us");
    record.at(schedule, {1, 0}) = r == 1 ? 1e6 : 1.0;
    record.at(record.field("loss"), {}) = 0.25;  // the same on every rank
    gathered.insert(gathered.end(), record.values().begin(), record.values().end());
  }
  combine_records(gathered, 1, results);

  const RankRecord layout(results);
  const auto value = [&](const char* dataset, int rank, int cell) {
    return measured(rank, static_cast<int>(layout.field(dataset).offset) + cell);
  };
  for (int l = 0; l < layers; ++l)
    for (int m = 0; m < micro_batches; ++m)
      for (int r = 0; r < ranks; ++r) {
        const int cell = l * micro_batches + m;
        EXPECT_EQ(results.int64("loads")[results.index(1, l, m, r)],
                  static_cast<std::int64_t>(value("loads", r, cell)));
        EXPECT_EQ(results.int64("loads")[results.index(0, l, m, r)], 0);  // another iteration
        EXPECT_EQ(results.int64("tokens_dropped")[results.index(1, l, m)],
                  static_cast<std::int64_t>(value("tokens_dropped", 0, cell)) +
                      static_cast<std::int64_t>(value("tokens_dropped", 1, cell)) +
                      static_cast<std::int64_t>(value("tokens_dropped", 2, cell)));
        for (int e = 0; e < experts; ++e)
          EXPECT_EQ(results.int64("expert_copies")[results.expert_index(1, l, m, e)],
                    static_cast<std::int64_t>(value("expert_copies", 0, cell * experts + e) +
                                              value("expert_copies", 1, cell * experts + e) +
                                              value("expert_copies", 2, cell * experts + e)));
      }
  EXPECT_EQ(results.float64("schedule_us")[results.index(1, 1, 0)], 1e6);
  EXPECT_EQ(results.float64("schedule_us")[results.index(1, 0, 0)], value("schedule_us", 2, 0));  // max: last rank
  for (std::size_t p = 0; p < kPhaseCount; ++p)
    for (int r = 0; r < ranks; ++r)
      EXPECT_EQ(results.float64("phase_times")[results.phase_index(1, static_cast<Phase>(p), r)],
                value("phase_times", r, static_cast<int>(p)));
  EXPECT_EQ(results.float64("loss")[1], 0.25);
  EXPECT_EQ(results.float64("step_time")[1], value("step_time", 2, 0));
  EXPECT_EQ(results.float64("tokens_per_second")[1], 0.0);  // derived: left to rank 0's caller
  EXPECT_EQ(results.float64("imbalance")[results.index(1, 0, 0)], 0.0);

  EXPECT_THROW(record.field("imbalance"), Error);  // derived: not in the record
  EXPECT_THROW(record.at(record.field("loads"), {0}), Error);
  EXPECT_THROW(record.at(record.field("loads"), {0, micro_batches}), Error);
  gathered.pop_back();
  EXPECT_THROW(combine_records(gathered, 1, results), Error);
}

TEST(ReportDocs, DocsReportMdIsGeneratedFromTheSchema) {
  const std::string path = std::string(MICROMOE_SOURCE_DIR) + "/docs/report.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& d : report_datasets())
    EXPECT_NE(text.str().find("| `" + d.name + "` |"), std::string::npos) << d.name << " not in " << path;
  for (const auto& a : report_group_attributes())
    EXPECT_NE(text.str().find("| `" + a.name + "` |"), std::string::npos) << a.name << " not in " << path;
  for (const auto& a : report_run_attributes())
    EXPECT_NE(text.str().find("| `" + a.name + "` |"), std::string::npos) << a.name << " not in " << path;
  EXPECT_EQ(text.str(), fill_report_doc(text.str()))
      << path << " is out of date; regenerate it: <build>/tests/report/micromoe_report_docs docs/report.md";
  EXPECT_THROW(fill_report_doc("no markers"), Error);
}

}  // namespace
}  // namespace micromoe::report
