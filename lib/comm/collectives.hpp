// SPDX-License-Identifier: BSD-3-Clause
// The small host collectives of the layer (routing counts, iteration loads, gathered
// parameters) over a Communicator, so no raw MPI call sits above lib/comm.
#pragma once

#include <cstddef>
#include <cstdint>

#include "comm/communicator.hpp"

namespace micromoe::comm {

/// Collective: every rank's `n` values, rank-major, into `all` [comm.size() * n].
void all_gather(const Communicator& comm, const std::int64_t* mine, std::size_t n, std::int64_t* all);

/// Collective, in place: data[i] <- sum over the ranks of data[i].
void all_reduce_sum(const Communicator& comm, float* data, std::size_t n);
void all_reduce_sum(const Communicator& comm, std::int64_t* data, std::size_t n);

}  // namespace micromoe::comm
