// SPDX-License-Identifier: BSD-3-Clause
#include "comm/collectives.hpp"

#include <algorithm>
#include <climits>

#include "core/error.hpp"

namespace micromoe::comm {

namespace {
int count_of(std::size_t n) {
  MICROMOE_REQUIRE(n <= static_cast<std::size_t>(INT_MAX), "collective: too many values for one MPI call");
  return static_cast<int>(n);
}
}  // namespace

void all_gather(const Communicator& comm, const std::int64_t* mine, std::size_t n, std::int64_t* all) {
  const int c = count_of(n);
  MICROMOE_CHECK_MPI(MPI_Allgather(mine, c, MPI_INT64_T, all, c, MPI_INT64_T, comm.get()));
}

// Sums of more than INT_MAX values (a whole rank's expert gradients can be) go in INT_MAX pieces.
void all_reduce_sum(const Communicator& comm, float* data, std::size_t n) {
  for (std::size_t done = 0; done < n; done += static_cast<std::size_t>(INT_MAX))
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, data + done, count_of(std::min<std::size_t>(n - done, INT_MAX)),
                                     MPI_FLOAT, MPI_SUM, comm.get()));
}

void all_reduce_sum(const Communicator& comm, std::int64_t* data, std::size_t n) {
  for (std::size_t done = 0; done < n; done += static_cast<std::size_t>(INT_MAX))
    MICROMOE_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, data + done, count_of(std::min<std::size_t>(n - done, INT_MAX)),
                                     MPI_INT64_T, MPI_SUM, comm.get()));
}

}  // namespace micromoe::comm
