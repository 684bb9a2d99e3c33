// SPDX-License-Identifier: BSD-3-Clause
#include "report/report_docs.hpp"

#include "core/error.hpp"
#include "core/phase.hpp"
#include "report/report_data.hpp"
#include "report/report_schema.hpp"

namespace micromoe::report {

namespace {

std::string shape(const DatasetSpec& spec) {
  std::string text;
  for (const Dim d : spec.dims) text += std::string("[") + dim_spec(d).symbol + "]";
  return text;
}

std::string dimensions_table() {
  std::string out = "| symbol | name in `dims` | meaning |\n| --- | --- | --- |\n";
  for (const auto& d : report_dims()) {
    std::string doc = d.doc;
    if (d.dim == Dim::phase) {
      doc += "; P = " + std::to_string(kPhaseCount) + ", in this order (lib/core/phase.hpp):";
      for (std::size_t p = 0; p < kPhaseCount; ++p) doc += std::string(p ? ", `" : " `") + kPhaseNames[p] + "`";
    }
    out += std::string("| ") + d.symbol + " | `" + d.name + "` | " + doc + " |\n";
  }
  return out;
}

std::string datasets_table() {
  std::string out =
      "| dataset | type | shape | unit | ranks combine | meaning |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& d : report_datasets())
    out += "| `" + d.name + "` | " + type_name(d.type) + " | " + shape(d) + " | " + d.unit + " | " +
           combine_name(d.combine) + " | " + d.doc + " |\n";
  return out;
}

std::string attributes_table() {
  std::string out = "| attribute | type | unit | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& a : report_group_attributes())
    out += "| `" + a.name + "` | " + type_name(a.type) + " | " + a.unit + " | " + a.doc + " |\n";
  return out;
}

std::string run_attributes_table() {
  const RunInfo example;  // the types come from the values themselves
  const std::vector<std::string> strategies;
  std::string out = "| attribute | type | meaning |\n| --- | --- | --- |\n";
  for (const auto& a : report_run_attributes())
    out += "| `" + a.name + "` | " + type_name(a.get(example, strategies)) + " | " + a.doc + " |\n";
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> report_doc_sections() {
  return {{"dimensions", dimensions_table()},
          {"run_attributes", run_attributes_table()},
          {"datasets", datasets_table()},
          {"group_attributes", attributes_table()}};
}

std::string fill_report_doc(const std::string& markdown) {
  return fill_generated_sections(markdown, report_doc_sections());
}

std::string fill_generated_sections(const std::string& markdown,
                                    const std::vector<std::pair<std::string, std::string>>& sections) {
  std::string out = markdown;
  for (const auto& [name, text] : sections) {
    const std::string begin = "<!-- BEGIN GENERATED " + name + " ";
    const std::string end = "<!-- END GENERATED " + name + " -->";
    const auto b = out.find(begin);
    const auto close = b == std::string::npos ? b : out.find("-->", b);  // the begin comment may span lines
    const auto first = close == std::string::npos ? close : out.find('\n', close);
    const auto last = first == std::string::npos ? first : out.find(end, first);
    if (last == std::string::npos) throw Error("report docs: no '" + begin + "...-->' line followed by '" + end + "'");
    out.replace(first + 1, last - (first + 1), text);
  }
  return out;
}

}  // namespace micromoe::report
