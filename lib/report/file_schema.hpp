// SPDX-License-Identifier: BSD-3-Clause
// Schema tables of the report kinds besides the training report (`micromoe emulate`'s and
// `micromoe simulate`'s): one row per dataset or attribute (name, symbolic shape, unit, type,
// one-line doc) with the getter of its value, so that the writer, the generated tables of
// docs/report.md and the round-trip tests come from the same rows. Also the HDF5 writing that
// every file kind shares: the root attributes, the numbered build.<key> attributes, a dataset
// with its unit.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "report/report_schema.hpp"

namespace micromoe::report {

/// A dataset's data or an attribute's value.
using FileValue = std::variant<std::int64_t, double, std::string, std::vector<std::string>, std::vector<std::int64_t>,
                               std::vector<double>>;

/// An attribute's type in the docs.
enum class AttributeType { int64, float64, string, strings };
/// "int64", "float64", "string", "string[]"
const char* type_name(AttributeType type);

/// One dataset of a group, from a `Source` (a strategy's results).
template <class Source>
struct FileDataset {
  std::string name;
  std::vector<std::string> dims;  ///< symbols, outermost first: {"I", "M", "R"}
  std::string unit;               ///< the "unit" attribute ("1" for ratios)
  ElementType type = ElementType::float64;
  std::string doc;  ///< one line
  std::function<FileValue(const Source&)> get;
};

/// One attribute of a group, from a `Source`.
template <class Source>
struct FileAttribute {
  std::string name;
  AttributeType type = AttributeType::float64;
  std::string unit;  ///< "-" for counts and names
  std::string doc;   ///< one line
  std::function<FileValue(const Source&)> get;
};

/// The extent of every dimension symbol of a group ("I" -> iterations, ...).
using DimSizes = std::map<std::string, hsize_t>;

/// Root attributes: `format` (left out when empty: the training report has none),
/// `format_version`, `program` = "MicroMoE".
void write_program_attributes(hid_t file, const std::string& format, std::int64_t version);
/// build.<key> = value for every build_info() entry; a repeated key gets a numbered name
/// (build.<key>.2, ...) instead of failing the report.
void write_build_attributes(hid_t group, const std::vector<std::pair<std::string, std::string>>& build_info);
/// A dataset of `dims` (symbols, sized by `sizes`) with its "unit" attribute; micromoe::Error
/// when the data's type is not `type` or its size not the product of the extents.
void write_unit_dataset(hid_t group, const std::string& name, const std::vector<std::string>& dims,
                        const DimSizes& sizes, ElementType type, const std::string& unit, const FileValue& data);
/// An attribute; micromoe::Error when the value's type is not `type`.
void write_typed_attribute(hid_t location, const std::string& name, AttributeType type, const FileValue& value);

template <class Source>
void write_datasets(hid_t group, const std::vector<FileDataset<Source>>& rows, const Source& source,
                    const DimSizes& sizes) {
  for (const auto& d : rows) write_unit_dataset(group, d.name, d.dims, sizes, d.type, d.unit, d.get(source));
}

template <class Source>
void write_attributes(hid_t location, const std::vector<FileAttribute<Source>>& rows, const Source& source) {
  for (const auto& a : rows) write_typed_attribute(location, a.name, a.type, a.get(source));
}

/// One row of a generated Markdown table.
struct DocRow {
  std::string name, type, shape, unit, doc;
};
/// "| dataset | type | shape | unit | meaning |" rows.
std::string datasets_markdown(const std::vector<DocRow>& rows);
/// "| attribute | type | unit | meaning |" rows.
std::string attributes_markdown(const std::vector<DocRow>& rows);

template <class Source>
std::string datasets_markdown(const std::vector<FileDataset<Source>>& rows) {
  std::vector<DocRow> doc;
  for (const auto& d : rows) {
    std::string shape;
    for (const auto& s : d.dims) shape += "[" + s + "]";
    doc.push_back({d.name, type_name(d.type), shape, d.unit, d.doc});
  }
  return datasets_markdown(doc);
}

template <class Source>
std::string attributes_markdown(const std::vector<FileAttribute<Source>>& rows) {
  std::vector<DocRow> doc;
  for (const auto& a : rows) doc.push_back({a.name, type_name(a.type), "", a.unit, a.doc});
  return attributes_markdown(doc);
}

}  // namespace micromoe::report
