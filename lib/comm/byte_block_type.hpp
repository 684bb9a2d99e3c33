// SPDX-License-Identifier: BSD-3-Clause
// A contiguous block of bytes as one MPI datatype, committed and freed in RAII. Exchanges count
// in such blocks (rows, per-peer blocks) so that payloads past 2^31 bytes keep int counts.
#pragma once

#include <mpi.h>

#include <climits>
#include <cstddef>
#include <string>

#include "core/error.hpp"

namespace micromoe::comm {

class ByteBlockType {
 public:
  /// `what` names the block in the error when it is too wide ("token row").
  ByteBlockType(std::size_t bytes, const std::string& what) {
    MICROMOE_REQUIRE(bytes <= static_cast<std::size_t>(INT_MAX), what + " wider than MPI's int count");
    MICROMOE_CHECK_MPI(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type_));
    MICROMOE_CHECK_MPI(MPI_Type_commit(&type_));
  }
  ~ByteBlockType() { MPI_Type_free(&type_); }
  ByteBlockType(const ByteBlockType&) = delete;
  ByteBlockType& operator=(const ByteBlockType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

}  // namespace micromoe::comm
