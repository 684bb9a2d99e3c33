// SPDX-License-Identifier: BSD-3-Clause
// RAII owners of HDF5 identifiers (file, group, dataset, dataspace, attribute, datatype,
// property list). They are made only by the checking factories below, which throw
// micromoe::Error (via MICROMOE_CHECK_HDF5) naming the failing call; a handle closes its id
// exactly once, and is move-only.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace micromoe::report::h5 {

/// An owned hid_t closed by `Close` (H5Fclose, H5Gclose, ...).
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Handle() { reset(); }

  /// The raw id, for HDF5 calls; still owned by the handle.
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes the id now (errors on close are ignored: nothing useful can be done with them).
  void reset() noexcept {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }
  /// Takes ownership of a checked, valid id (use the factories instead).
  static Handle adopt(hid_t id) {
    Handle h;
    h.id_ = id;
    return h;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Dataspace = Handle<H5Sclose>;
using Attribute = Handle<H5Aclose>;
using Datatype = Handle<H5Tclose>;
using PropertyList = Handle<H5Pclose>;

// ---- factories: each checks the HDF5 call and throws micromoe::Error on failure ----

/// Creates (truncating) a file; `fapl` may be H5P_DEFAULT.
File create_file(const std::string& path, hid_t fapl = H5P_DEFAULT);
/// Opens an existing file read-only.
File open_file_readonly(const std::string& path);
/// A file-access property list asking for the HDF5 1.8+ object format (attributes of any size).
PropertyList modern_format_fapl();

Group create_group(hid_t location, const std::string& name);
Group open_group(hid_t location, const std::string& name);

/// A simple dataspace of the given extents (an empty `dims` is a scalar dataspace).
Dataspace create_dataspace(const std::vector<hsize_t>& dims);
/// The dataspace of a dataset or attribute.
Dataspace dataset_space(hid_t dataset);
Dataspace attribute_space(hid_t attribute);
/// Extents of a dataspace.
std::vector<hsize_t> extents(hid_t dataspace);

/// A variable-length UTF-8 string type.
Datatype vlen_string_type();
/// The stored type of a dataset or attribute.
Datatype dataset_type(hid_t dataset);
Datatype attribute_type(hid_t attribute);

Dataset create_dataset(hid_t location, const std::string& name, hid_t type, hid_t space, hid_t dcpl = H5P_DEFAULT);
Dataset open_dataset(hid_t location, const std::string& name);

Attribute create_attribute(hid_t location, const std::string& name, hid_t type, hid_t space);
Attribute open_attribute(hid_t location, const std::string& name);

/// Turns HDF5's automatic error-stack printing off for the guard's lifetime (our checks
/// report errors; the stack would only repeat them on stderr).
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t old_function_ = nullptr;
  void* old_data_ = nullptr;
};

// ---- typed helpers on top of the factories ----

/// The HDF5 native type of T (int64, double, int32, uint64).
template <class T>
hid_t native_type();
template <>
inline hid_t native_type<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
inline hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
inline hid_t native_type<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
inline hid_t native_type<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}

/// Writes `data` (row-major, size = product of dims) as a new dataset.
template <class T>
void write_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims,
                   const std::vector<T>& data);
/// Reads a whole numeric dataset (converted to T) and its extents.
template <class T>
std::vector<T> read_dataset(hid_t location, const std::string& name, std::vector<hsize_t>* dims = nullptr);

void write_attribute(hid_t location, const std::string& name, const std::string& value);
void write_attribute(hid_t location, const std::string& name, const std::vector<std::string>& values);
void write_attribute(hid_t location, const std::string& name, std::int64_t value);
void write_attribute(hid_t location, const std::string& name, double value);
/// Writes a vlen string array dataset.
void write_string_dataset(hid_t location, const std::string& name, const std::vector<std::string>& values);

std::string read_string_attribute(hid_t location, const std::string& name);
std::vector<std::string> read_string_array_attribute(hid_t location, const std::string& name);
std::int64_t read_int_attribute(hid_t location, const std::string& name);
double read_double_attribute(hid_t location, const std::string& name);
bool has_attribute(hid_t location, const std::string& name);
bool has_link(hid_t location, const std::string& name);

}  // namespace micromoe::report::h5
