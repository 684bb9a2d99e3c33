// SPDX-License-Identifier: BSD-3-Clause
#include "report/hdf5_handles.hpp"

#include <numeric>

#include "core/error.hpp"

namespace micromoe::report::h5 {

File create_file(const std::string& path, hid_t fapl) {
  return File::adopt(MICROMOE_CHECK_HDF5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl)));
}

File open_file_readonly(const std::string& path) {
  return File::adopt(MICROMOE_CHECK_HDF5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)));
}

PropertyList modern_format_fapl() {
  auto fapl = PropertyList::adopt(MICROMOE_CHECK_HDF5(H5Pcreate(H5P_FILE_ACCESS)));
  MICROMOE_CHECK_HDF5(H5Pset_libver_bounds(fapl.id(), H5F_LIBVER_V18, H5F_LIBVER_LATEST));
  return fapl;
}

Group create_group(hid_t location, const std::string& name) {
  return Group::adopt(MICROMOE_CHECK_HDF5(H5Gcreate2(location, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
}

Group open_group(hid_t location, const std::string& name) {
  return Group::adopt(MICROMOE_CHECK_HDF5(H5Gopen2(location, name.c_str(), H5P_DEFAULT)));
}

Dataspace create_dataspace(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return Dataspace::adopt(MICROMOE_CHECK_HDF5(H5Screate(H5S_SCALAR)));
  return Dataspace::adopt(MICROMOE_CHECK_HDF5(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
}

Dataspace dataset_space(hid_t dataset) { return Dataspace::adopt(MICROMOE_CHECK_HDF5(H5Dget_space(dataset))); }
Dataspace attribute_space(hid_t attribute) { return Dataspace::adopt(MICROMOE_CHECK_HDF5(H5Aget_space(attribute))); }

std::vector<hsize_t> extents(hid_t dataspace) {
  const int rank = MICROMOE_CHECK_HDF5(H5Sget_simple_extent_ndims(dataspace));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) MICROMOE_CHECK_HDF5(H5Sget_simple_extent_dims(dataspace, dims.data(), nullptr));
  return dims;
}

Datatype vlen_string_type() {
  auto type = Datatype::adopt(MICROMOE_CHECK_HDF5(H5Tcopy(H5T_C_S1)));
  MICROMOE_CHECK_HDF5(H5Tset_size(type.id(), H5T_VARIABLE));
  MICROMOE_CHECK_HDF5(H5Tset_cset(type.id(), H5T_CSET_UTF8));
  return type;
}

Datatype dataset_type(hid_t dataset) { return Datatype::adopt(MICROMOE_CHECK_HDF5(H5Dget_type(dataset))); }
Datatype attribute_type(hid_t attribute) { return Datatype::adopt(MICROMOE_CHECK_HDF5(H5Aget_type(attribute))); }

Dataset create_dataset(hid_t location, const std::string& name, hid_t type, hid_t space, hid_t dcpl) {
  return Dataset::adopt(
      MICROMOE_CHECK_HDF5(H5Dcreate2(location, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)));
}

Dataset open_dataset(hid_t location, const std::string& name) {
  return Dataset::adopt(MICROMOE_CHECK_HDF5(H5Dopen2(location, name.c_str(), H5P_DEFAULT)));
}

Attribute create_attribute(hid_t location, const std::string& name, hid_t type, hid_t space) {
  return Attribute::adopt(
      MICROMOE_CHECK_HDF5(H5Acreate2(location, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT)));
}

Attribute open_attribute(hid_t location, const std::string& name) {
  return Attribute::adopt(MICROMOE_CHECK_HDF5(H5Aopen(location, name.c_str(), H5P_DEFAULT)));
}

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &old_function_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, old_function_, old_data_); }

template <class T>
void write_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims,
                   const std::vector<T>& data) {
  const hsize_t count = std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
  MICROMOE_REQUIRE(count == data.size(), "dataset " + name + ": " + std::to_string(data.size()) + " values for " +
                                             std::to_string(count) + " elements");
  auto space = create_dataspace(dims);
  // Large arrays are chunked per leading index and compressed when the deflate filter exists.
  auto dcpl = PropertyList::adopt(MICROMOE_CHECK_HDF5(H5Pcreate(H5P_DATASET_CREATE)));
  if (count >= 65536 && dims.size() >= 2 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    MICROMOE_CHECK_HDF5(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()));
    MICROMOE_CHECK_HDF5(H5Pset_deflate(dcpl.id(), 4));
  }
  auto dataset = create_dataset(location, name, native_type<T>(), space.id(), dcpl.id());
  if (count > 0)
    MICROMOE_CHECK_HDF5(H5Dwrite(dataset.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
}

template <class T>
std::vector<T> read_dataset(hid_t location, const std::string& name, std::vector<hsize_t>* dims) {
  auto dataset = open_dataset(location, name);
  auto space = dataset_space(dataset.id());
  const auto shape = extents(space.id());
  const hsize_t count = std::accumulate(shape.begin(), shape.end(), hsize_t{1}, std::multiplies<>());
  std::vector<T> data(count);
  if (count > 0)
    MICROMOE_CHECK_HDF5(H5Dread(dataset.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()));
  if (dims) *dims = shape;
  return data;
}

template void write_dataset<std::int64_t>(hid_t, const std::string&, const std::vector<hsize_t>&,
                                          const std::vector<std::int64_t>&);
template void write_dataset<double>(hid_t, const std::string&, const std::vector<hsize_t>&, const std::vector<double>&);
template std::vector<std::int64_t> read_dataset<std::int64_t>(hid_t, const std::string&, std::vector<hsize_t>*);
template std::vector<double> read_dataset<double>(hid_t, const std::string&, std::vector<hsize_t>*);

void write_attribute(hid_t location, const std::string& name, const std::string& value) {
  auto type = vlen_string_type();
  auto space = create_dataspace({});
  auto attribute = create_attribute(location, name, type.id(), space.id());
  const char* text = value.c_str();
  MICROMOE_CHECK_HDF5(H5Awrite(attribute.id(), type.id(), &text));
}

void write_attribute(hid_t location, const std::string& name, const std::vector<std::string>& values) {
  auto type = vlen_string_type();
  auto space = create_dataspace({values.size()});
  auto attribute = create_attribute(location, name, type.id(), space.id());
  std::vector<const char*> texts;
  for (const auto& v : values) texts.push_back(v.c_str());
  if (!texts.empty()) MICROMOE_CHECK_HDF5(H5Awrite(attribute.id(), type.id(), texts.data()));
}

void write_attribute(hid_t location, const std::string& name, std::int64_t value) {
  auto space = create_dataspace({});
  auto attribute = create_attribute(location, name, H5T_NATIVE_INT64, space.id());
  MICROMOE_CHECK_HDF5(H5Awrite(attribute.id(), H5T_NATIVE_INT64, &value));
}

void write_attribute(hid_t location, const std::string& name, double value) {
  auto space = create_dataspace({});
  auto attribute = create_attribute(location, name, H5T_NATIVE_DOUBLE, space.id());
  MICROMOE_CHECK_HDF5(H5Awrite(attribute.id(), H5T_NATIVE_DOUBLE, &value));
}

void write_string_dataset(hid_t location, const std::string& name, const std::vector<std::string>& values) {
  auto type = vlen_string_type();
  auto space = create_dataspace({values.size()});
  auto dataset = create_dataset(location, name, type.id(), space.id());
  std::vector<const char*> texts;
  for (const auto& v : values) texts.push_back(v.c_str());
  if (!texts.empty())
    MICROMOE_CHECK_HDF5(H5Dwrite(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()));
}

std::vector<std::string> read_string_array_attribute(hid_t location, const std::string& name) {
  auto attribute = open_attribute(location, name);
  auto space = attribute_space(attribute.id());
  const auto dims = extents(space.id());
  const hsize_t count = dims.empty() ? 1 : dims[0];
  auto type = vlen_string_type();
  std::vector<char*> texts(count, nullptr);
  if (count > 0) MICROMOE_CHECK_HDF5(H5Aread(attribute.id(), type.id(), texts.data()));
  std::vector<std::string> out;
  for (char* t : texts) {
    out.emplace_back(t ? t : "");
    if (t) H5free_memory(t);
  }
  return out;
}

std::string read_string_attribute(hid_t location, const std::string& name) {
  auto values = read_string_array_attribute(location, name);
  MICROMOE_REQUIRE(values.size() == 1, "attribute " + name + " is not a single string");
  return values.front();
}

std::int64_t read_int_attribute(hid_t location, const std::string& name) {
  auto attribute = open_attribute(location, name);
  std::int64_t value = 0;
  MICROMOE_CHECK_HDF5(H5Aread(attribute.id(), H5T_NATIVE_INT64, &value));
  return value;
}

double read_double_attribute(hid_t location, const std::string& name) {
  auto attribute = open_attribute(location, name);
  double value = 0;
  MICROMOE_CHECK_HDF5(H5Aread(attribute.id(), H5T_NATIVE_DOUBLE, &value));
  return value;
}

bool has_attribute(hid_t location, const std::string& name) {
  return MICROMOE_CHECK_HDF5(H5Aexists(location, name.c_str())) > 0;
}

bool has_link(hid_t location, const std::string& name) {
  return MICROMOE_CHECK_HDF5(H5Lexists(location, name.c_str(), H5P_DEFAULT)) > 0;
}

}  // namespace micromoe::report::h5
