// SPDX-License-Identifier: BSD-3-Clause
#include "core/error.hpp"

#include <mpi.h>

#include <sstream>

namespace micromoe::detail {

void throw_check_failure(const char* library, const char* expression, const std::string& message, const char* file,
                         int line) {
  std::ostringstream os;
  os << library << " call failed: " << expression << ": " << message << " (" << file << ":" << line << ")";
  throw Error(os.str());
}

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace micromoe::detail
