// SPDX-License-Identifier: BSD-3-Clause
// RAII ownership of MPI communicators.
#pragma once

#include <mpi.h>

namespace micromoe::comm {

/// A duplicate of a user's communicator, owned for the lifetime of this object: library
/// traffic is isolated from the user's own messages (MPI_Comm_dup), and MPI_Comm_free runs
/// in the destructor. Construction and split() are collective over the parent communicator.
class Communicator {
 public:
  /// Collective over `user`: duplicates it.
  explicit Communicator(MPI_Comm user);
  ~Communicator();

  Communicator(Communicator&& other) noexcept;
  Communicator& operator=(Communicator&& other) noexcept;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Collective: ranks with the same color form a new communicator, ordered by key.
  /// A rank passing MPI_UNDEFINED as color receives an empty (null) communicator.
  Communicator split(int color, int key) const;

  /// Takes ownership of `owned` (e.g. from MPI_Comm_create_group; MPI_COMM_NULL gives an
  /// invalid object): no duplicate, freed in the destructor.
  static Communicator adopt(MPI_Comm owned) { return Communicator(owned, Adopt{}); }

  /// True unless this rank was left out of a split (or the object was moved from).
  bool valid() const { return comm_ != MPI_COMM_NULL; }

 private:
  struct Adopt {};
  Communicator(MPI_Comm owned, Adopt);
  void release() noexcept;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = -1;
  int size_ = 0;
};

}  // namespace micromoe::comm
