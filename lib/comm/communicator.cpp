// SPDX-License-Identifier: BSD-3-Clause
#include "comm/communicator.hpp"

#include <utility>

#include "core/error.hpp"

namespace micromoe::comm {

Communicator::Communicator(MPI_Comm user) {
  MICROMOE_CHECK_MPI(MPI_Comm_dup(user, &comm_));
  MICROMOE_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
  MICROMOE_CHECK_MPI(MPI_Comm_size(comm_, &size_));
}

Communicator::Communicator(MPI_Comm owned, Adopt) : comm_(owned) {
  if (comm_ != MPI_COMM_NULL) {
    MICROMOE_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
    MICROMOE_CHECK_MPI(MPI_Comm_size(comm_, &size_));
  }
}

Communicator::~Communicator() { release(); }

Communicator::Communicator(Communicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      rank_(std::exchange(other.rank_, -1)),
      size_(std::exchange(other.size_, 0)) {}

Communicator& Communicator::operator=(Communicator&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
    rank_ = std::exchange(other.rank_, -1);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void Communicator::release() noexcept {
  int finalized = 0;
  MPI_Finalized(&finalized);
  // Freeing after MPI_Finalize is erroneous; a leaked handle at exit is harmless.
  if (comm_ != MPI_COMM_NULL && !finalized) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
}

Communicator Communicator::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  MICROMOE_CHECK_MPI(MPI_Comm_split(comm_, color, key, &out));
  return Communicator(out, Adopt{});
}

}  // namespace micromoe::comm
