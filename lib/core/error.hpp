// SPDX-License-Identifier: BSD-3-Clause
// The library's error type and the macros that check every MPI, NCCL, CUDA and HDF5 return
// code, reporting the failing expression, the library's own message, and file:line.
#pragma once

#include <stdexcept>
#include <string>

namespace micromoe {

/// Every error MicroMoE raises. The message names what failed and where.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An error in user input (deck, trace, command line, JSON): reported without a stack of
/// internals, and every rank reaches it together.
class InputError : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void throw_check_failure(const char* library, const char* expression, const std::string& message,
                                      const char* file, int line);
std::string mpi_error_string(int code);
}  // namespace detail

}  // namespace micromoe

/// Checks an MPI call: throws micromoe::Error naming the call, MPI's message, file and line.
#define MICROMOE_CHECK_MPI(expr)                                                                                    \
  do {                                                                                                              \
    const int micromoe_mpi_rc_ = (expr);                                                                            \
    if (micromoe_mpi_rc_ != 0 /* MPI_SUCCESS */)                                                                    \
      ::micromoe::detail::throw_check_failure("MPI", #expr, ::micromoe::detail::mpi_error_string(micromoe_mpi_rc_), \
                                              __FILE__, __LINE__);                                                  \
  } while (0)

/// Checks an HDF5 call (negative return = failure).
#define MICROMOE_CHECK_HDF5(expr)                                                                         \
  ([&]() {                                                                                                \
    const auto micromoe_h5_rc_ = (expr);                                                                  \
    if (micromoe_h5_rc_ < 0)                                                                              \
      ::micromoe::detail::throw_check_failure("HDF5", #expr, "negative return code", __FILE__, __LINE__); \
    return micromoe_h5_rc_;                                                                               \
  }())

/// Checks a condition that must hold; throws micromoe::Error with the message otherwise.
#define MICROMOE_REQUIRE(cond, message)                                                                     \
  do {                                                                                                      \
    if (!(cond)) ::micromoe::detail::throw_check_failure("MicroMoE", #cond, (message), __FILE__, __LINE__); \
  } while (0)
