// SPDX-License-Identifier: BSD-3-Clause
// A flat int64 record of a component's host state (placements, load histories, warm starts),
// written and read back in the same order: what a checkpoint stores per rank and layer.
// Header-only and free of the rest of the library, so lib/schedule can use it too.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace micromoe {

class StateWriter {
 public:
  void put(std::int64_t value) { data_.push_back(value); }
  /// The length, then the elements.
  template <class T>
  void put(const std::vector<T>& values) {
    put(static_cast<std::int64_t>(values.size()));
    for (const T& v : values) put(static_cast<std::int64_t>(v));
  }
  const std::vector<std::int64_t>& data() const { return data_; }

 private:
  std::vector<std::int64_t> data_;
};

/// Reads what a StateWriter wrote; a record that ends early or holds an impossible length is
/// a corrupt checkpoint (std::invalid_argument), never an out-of-bounds read.
class StateReader {
 public:
  explicit StateReader(const std::vector<std::int64_t>& data) : data_(data) {}
  std::int64_t get() {
    if (next_ >= data_.size()) throw std::invalid_argument("checkpoint state record ends early (corrupt checkpoint)");
    return data_[next_++];
  }
  int get_int() {
    const std::int64_t v = get();
    if (v < INT32_MIN || v > INT32_MAX)
      throw std::invalid_argument("checkpoint state record holds an out-of-range value");
    return static_cast<int>(v);
  }
  template <class T>
  std::vector<T> get_vector() {
    const std::int64_t n = get();
    if (n < 0 || static_cast<std::uint64_t>(n) > data_.size() - next_)
      throw std::invalid_argument("checkpoint state record holds an impossible length (corrupt checkpoint)");
    std::vector<T> out(static_cast<std::size_t>(n));
    for (auto& v : out) v = static_cast<T>(get());
    return out;
  }
  bool done() const { return next_ == data_.size(); }

 private:
  const std::vector<std::int64_t>& data_;
  std::size_t next_ = 0;
};

}  // namespace micromoe
