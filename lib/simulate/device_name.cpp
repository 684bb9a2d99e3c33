// SPDX-License-Identifier: BSD-3-Clause
#include <fstream>
#include <string>

#include "core/build_config.hpp"
#include "core/kokkos_types.hpp"
#include "simulate/measure_calibration.hpp"

#if MICROMOE_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

namespace micromoe::simulate {

std::string device_name() {
#if MICROMOE_ENABLE_CUDA
  int device = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess)
    return std::string(prop.name) + " (CUDA)";
#endif
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      const auto name = colon == std::string::npos ? line : line.substr(colon + 2);
      return "CPU " + name + " (" + ExecSpace::name() + ")";
    }
  return std::string("CPU (") + ExecSpace::name() + ")";
}

}  // namespace micromoe::simulate
