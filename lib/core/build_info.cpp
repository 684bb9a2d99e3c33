// SPDX-License-Identifier: BSD-3-Clause
#include "core/build_info.hpp"

#include <mpi.h>

#include <sstream>

#include "core/build_config.hpp"
#include "core/error.hpp"
#include "core/kokkos_compat.hpp"
#include "core/kokkos_types.hpp"

#if MICROMOE_ENABLE_NCCL
#include <nccl.h>
#endif

namespace micromoe {

namespace {
std::string mpi_library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MICROMOE_CHECK_MPI(MPI_Get_library_version(text, &length));
  std::string s(text, static_cast<std::size_t>(length));
  const auto eol = s.find('\n');  // MPICH and Open MPI print several lines; the first names it
  return eol == std::string::npos ? s : s.substr(0, eol);
}
}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  std::vector<std::pair<std::string, std::string>> info;
  info.emplace_back("micromoe_version", MICROMOE_VERSION_STRING);
  info.emplace_back("git_revision", MICROMOE_GIT_REVISION);
  info.emplace_back("build_type", MICROMOE_BUILD_TYPE);
  info.emplace_back("compiler", MICROMOE_CXX_COMPILER);
  info.emplace_back("kokkos_version", compat::kokkos_version_string());
  info.emplace_back("kokkos_execution_space", ExecSpace::name());
  info.emplace_back("kokkos_host_execution_space", HostExecSpace::name());
  info.emplace_back("mpi_library", mpi_library_version());
#if MICROMOE_ENABLE_NCCL
  int nccl = 0;
  ncclGetVersion(&nccl);
  info.emplace_back("nccl_version", std::to_string(nccl / 10000) + "." + std::to_string(nccl / 100 % 100) + "." +
                                        std::to_string(nccl % 100));
#else
  info.emplace_back("nccl_version", "disabled");
#endif
  return info;
}

std::string build_info_text() {
  std::ostringstream os;
  for (const auto& [key, value] : build_info()) os << key << ": " << value << "\n";
  return os.str();
}

}  // namespace micromoe
