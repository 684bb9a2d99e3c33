// SPDX-License-Identifier: BSD-3-Clause
#include "comm/verdict.hpp"

#include <exception>
#include <string>

#include "core/error.hpp"

namespace micromoe::comm {

namespace {

enum Outcome : int { kSucceeded = 0, kInputError = 1, kError = 2 };

/// Runs `attempt` here when `participate`, then agrees with every rank on the first failure.
void agree(const Communicator& comm, bool participate, const std::function<void()>& attempt) {
  int outcome = kSucceeded;
  std::string message;
  if (participate) {
    try {
      attempt();
    } catch (const InputError& e) {
      outcome = kInputError;
      message = e.what();
    } catch (const std::exception& e) {
      outcome = kError;
      message = e.what();
    } catch (...) {
      outcome = kError;
      message = "unknown exception";
    }
  }
  const int mine = outcome == kSucceeded ? comm.size() : comm.rank();
  int first_failed = 0;
  MICROMOE_CHECK_MPI(MPI_Allreduce(&mine, &first_failed, 1, MPI_INT, MPI_MIN, comm.get()));
  if (first_failed == comm.size()) return;

  // The first failed rank tells every rank what went wrong.
  int length = static_cast<int>(message.size());
  MICROMOE_CHECK_MPI(MPI_Bcast(&outcome, 1, MPI_INT, first_failed, comm.get()));
  MICROMOE_CHECK_MPI(MPI_Bcast(&length, 1, MPI_INT, first_failed, comm.get()));
  message.resize(static_cast<std::size_t>(length));
  MICROMOE_CHECK_MPI(MPI_Bcast(message.data(), length, MPI_CHAR, first_failed, comm.get()));
  if (outcome == kInputError) throw InputError(message);
  throw Error(message);
}

}  // namespace

void agree_on_every_rank(const Communicator& comm, const std::function<void()>& attempt) { agree(comm, true, attempt); }

void agree_on_root(const Communicator& comm, const std::function<void()>& attempt) {
  agree(comm, comm.rank() == 0, attempt);
}

int agree_on_root_exit_code(const Communicator& comm, const std::function<int()>& attempt) {
  int code = 0;
  agree_on_root(comm, [&] { code = attempt(); });
  MICROMOE_CHECK_MPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm.get()));
  return code;
}

}  // namespace micromoe::comm
