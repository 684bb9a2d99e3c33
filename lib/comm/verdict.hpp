// SPDX-License-Identifier: BSD-3-Clause
// "One rank tries, every rank learns the verdict": a step that can fail on some ranks only (a
// deck read, the report written by rank 0) ends the same way on every rank, so no rank is left
// waiting in a collective the others have abandoned. Every function here is collective over
// its communicator.
#pragma once

#include <functional>

#include "comm/communicator.hpp"

namespace micromoe::comm {

/// Runs `attempt` on every rank. When it throws on any rank, every rank throws the error of the
/// lowest rank that failed, with that rank's message: an InputError as InputError, any other
/// exception as micromoe::Error. Returns normally on every rank when no rank failed.
void agree_on_every_rank(const Communicator& comm, const std::function<void()>& attempt);

/// Runs `attempt` on rank 0 only; its error, if any, is thrown on every rank as above.
void agree_on_root(const Communicator& comm, const std::function<void()>& attempt);

/// Runs `attempt` on rank 0 only and returns its result (an exit code) on every rank; its
/// error, if any, is thrown on every rank as above.
int agree_on_root_exit_code(const Communicator& comm, const std::function<int()>& attempt);

}  // namespace micromoe::comm
