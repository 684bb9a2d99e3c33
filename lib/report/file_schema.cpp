// SPDX-License-Identifier: BSD-3-Clause
#include "report/file_schema.hpp"

#include <set>
#include <type_traits>

#include "core/error.hpp"
#include "report/hdf5_handles.hpp"

namespace micromoe::report {

namespace {

bool holds(AttributeType type, const FileValue& v) {
  switch (type) {
    case AttributeType::int64:
      return std::holds_alternative<std::int64_t>(v);
    case AttributeType::float64:
      return std::holds_alternative<double>(v);
    case AttributeType::string:
      return std::holds_alternative<std::string>(v);
    case AttributeType::strings:
      return std::holds_alternative<std::vector<std::string>>(v);
  }
  return false;
}

std::string markdown_row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const auto& c : cells) out += " " + c + " |";
  return out + "\n";
}

}  // namespace

const char* type_name(AttributeType type) {
  switch (type) {
    case AttributeType::int64:
      return "int64";
    case AttributeType::float64:
      return "float64";
    case AttributeType::string:
      return "string";
    case AttributeType::strings:
      return "string[]";
  }
  return "?";
}

void write_program_attributes(hid_t file, const std::string& format, std::int64_t version) {
  if (!format.empty()) h5::write_attribute(file, "format", format);
  h5::write_attribute(file, "format_version", version);
  h5::write_attribute(file, "program", std::string("MicroMoE"));
}

void write_build_attributes(hid_t group, const std::vector<std::pair<std::string, std::string>>& build_info) {
  std::set<std::string> names;
  for (const auto& [key, value] : build_info) {
    std::string name = "build." + key;
    for (int n = 2; !names.insert(name).second; ++n) name = "build." + key + "." + std::to_string(n);
    h5::write_attribute(group, name, value);
  }
}

void write_unit_dataset(hid_t group, const std::string& name, const std::vector<std::string>& dims,
                        const DimSizes& sizes, ElementType type, const std::string& unit, const FileValue& data) {
  std::vector<hsize_t> extents;
  hsize_t cells = 1;
  for (const auto& symbol : dims) {
    const auto it = sizes.find(symbol);
    if (it == sizes.end()) throw Error("report dataset " + name + ": no extent for dimension " + symbol);
    extents.push_back(it->second);
    cells *= it->second;
  }
  const auto write = [&](const auto& values) {
    if (values.size() != cells)
      throw Error("report dataset " + name + ": " + std::to_string(values.size()) + " values for " +
                  std::to_string(cells) + " cells");
    h5::write_dataset(group, name, extents, values);
  };
  if (type == ElementType::int64 && std::holds_alternative<std::vector<std::int64_t>>(data))
    write(std::get<std::vector<std::int64_t>>(data));
  else if (type == ElementType::float64 && std::holds_alternative<std::vector<double>>(data))
    write(std::get<std::vector<double>>(data));
  else
    throw Error("report dataset " + name + ": its data is not " + type_name(type));
  auto dataset = h5::open_dataset(group, name);
  h5::write_attribute(dataset.id(), "unit", unit);
}

void write_typed_attribute(hid_t location, const std::string& name, AttributeType type, const FileValue& value) {
  if (!holds(type, value)) throw Error("report attribute " + name + ": its value is not " + type_name(type));
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::vector<std::int64_t>> || std::is_same_v<V, std::vector<double>>)
          throw Error("report attribute " + name + ": numeric arrays are datasets");
        else
          h5::write_attribute(location, name, v);
      },
      value);
}

std::string datasets_markdown(const std::vector<DocRow>& rows) {
  std::string out = "| dataset | type | shape | unit | meaning |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& r : rows) out += markdown_row({"`" + r.name + "`", r.type, r.shape, r.unit, r.doc});
  return out;
}

std::string attributes_markdown(const std::vector<DocRow>& rows) {
  std::string out = "| attribute | type | unit | meaning |\n| --- | --- | --- | --- |\n";
  for (const auto& r : rows) out += markdown_row({"`" + r.name + "`", r.type, r.unit, r.doc});
  return out;
}

}  // namespace micromoe::report
