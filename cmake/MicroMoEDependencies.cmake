# SPDX-License-Identifier: BSD-3-Clause
# Every dependency, what it is for, and how to fix its absence. Nothing is downloaded here:
# run/bootstrap.sh installs all of it (Debian packages + Kokkos into .deps/).

set(_micromoe_deps_hint "run 'run/bootstrap.sh' (as root on Debian 12) or see README.md")
if(MICROMOE_ENABLE_CUDA)
  list(APPEND CMAKE_PREFIX_PATH ${PROJECT_SOURCE_DIR}/.deps/cuda)
else()
  list(APPEND CMAKE_PREFIX_PATH ${PROJECT_SOURCE_DIR}/.deps/cpu)
endif()

macro(micromoe_require found what fix)
  if(NOT ${found})
    message(FATAL_ERROR "MicroMoE needs ${what}, which was not found.\n  Fix: ${fix}")
  endif()
endmacro()

# Kokkos: views and kernels of the data path (3.4.01 tested; 4.x/5.x supported).
find_package(Kokkos 3.4 QUIET)
micromoe_require(Kokkos_FOUND "Kokkos >= 3.4 (data path)"
  "${_micromoe_deps_hint}, or pass -DKokkos_ROOT=<prefix> (.deps/cpu or .deps/cuda)")
kokkos_check(DEVICES CUDA RETURN_VALUE _micromoe_kokkos_has_cuda)
if(MICROMOE_ENABLE_CUDA AND NOT _micromoe_kokkos_has_cuda)
  message(FATAL_ERROR "MICROMOE_ENABLE_CUDA=ON but Kokkos at ${Kokkos_DIR} has no CUDA backend.\n"
                      "  Fix: run/bootstrap.sh cuda, then -DKokkos_ROOT=${PROJECT_SOURCE_DIR}/.deps/cuda")
elseif(NOT MICROMOE_ENABLE_CUDA AND _micromoe_kokkos_has_cuda)
  message(FATAL_ERROR "Kokkos at ${Kokkos_DIR} is a CUDA build; configure with -DMICROMOE_ENABLE_CUDA=ON")
endif()

# Kokkos Kernels: expert GEMMs (BLAS on the CPU, cuBLAS on the GPU).
find_package(KokkosKernels QUIET)
micromoe_require(KokkosKernels_FOUND "Kokkos Kernels (expert GEMMs)"
  "${_micromoe_deps_hint}, or pass -DKokkosKernels_ROOT=<prefix>")

# MPI: ranks, count all-gather, host-staged token exchange.
find_package(MPI QUIET COMPONENTS C CXX)
micromoe_require(MPI_FOUND "MPI (ranks and token exchange)" "apt-get install mpich libmpich-dev")

# HDF5: reports and verification dumps (serial HDF5, written by rank 0).
find_package(HDF5 QUIET COMPONENTS C)
micromoe_require(HDF5_FOUND "HDF5 (reports)" "apt-get install libhdf5-dev")
if(NOT TARGET hdf5::hdf5)
  add_library(hdf5::hdf5 INTERFACE IMPORTED)
  target_include_directories(hdf5::hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(hdf5::hdf5 INTERFACE ${HDF5_C_LIBRARIES})
  target_compile_definitions(hdf5::hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()

# toml++ (header-only use): input decks. The GPU machine gets the headers from .deps/sources.
find_path(MICROMOE_TOMLPP_INCLUDE_DIR NAMES toml++/toml.h toml++/toml.hpp HINTS ${PROJECT_SOURCE_DIR}/.deps/sources/include)
micromoe_require(MICROMOE_TOMLPP_INCLUDE_DIR "toml++ 3.x headers (input decks)" "apt-get install libtomlplusplus-dev")
if(NOT TARGET micromoe_tomlplusplus)
  add_library(micromoe_tomlplusplus INTERFACE)
  target_include_directories(micromoe_tomlplusplus SYSTEM INTERFACE $<BUILD_INTERFACE:${MICROMOE_TOMLPP_INCLUDE_DIR}>)
  target_compile_definitions(micromoe_tomlplusplus INTERFACE TOML_HEADER_ONLY=1 TOML_EXCEPTIONS=1)
endif()

# nlohmann-json: `micromoe schedule` input and output (app/commands/schedule_json.cpp).
find_package(nlohmann_json 3.10 QUIET)
micromoe_require(nlohmann_json_FOUND "nlohmann-json >= 3.10 (schedule command)" "apt-get install nlohmann-json3-dev")

# CLI11: the command line of the micromoe executable.
find_package(CLI11 2.1 QUIET)
micromoe_require(CLI11_FOUND "CLI11 >= 2.1 (command line)" "apt-get install libcli11-dev")

# NCCL: the GPU token-exchange backend.
if(MICROMOE_ENABLE_NCCL)
  find_path(MICROMOE_NCCL_INCLUDE_DIR nccl.h HINTS $ENV{NCCL_HOME}/include /usr/local/cuda/include)
  find_library(MICROMOE_NCCL_LIBRARY nccl HINTS $ENV{NCCL_HOME}/lib /usr/local/cuda/lib64)
  micromoe_require(MICROMOE_NCCL_LIBRARY "NCCL (GPU token exchange)"
    "install libnccl-dev, set NCCL_HOME, or configure with -DMICROMOE_ENABLE_NCCL=OFF")
  add_library(micromoe_nccl INTERFACE)
  target_include_directories(micromoe_nccl INTERFACE ${MICROMOE_NCCL_INCLUDE_DIR})
  target_link_libraries(micromoe_nccl INTERFACE ${MICROMOE_NCCL_LIBRARY})
endif()
if(MICROMOE_ENABLE_CUDA)
  find_package(CUDAToolkit REQUIRED)  # cuBLAS for the bf16/TF32 expert path, cudart for NCCL streams
endif()

# GLPK: the LP oracle of the scheduler tests and the LP comparator of its benchmarks.
if(MICROMOE_ENABLE_LP)
  find_path(MICROMOE_GLPK_INCLUDE_DIR glpk.h)
  find_library(MICROMOE_GLPK_LIBRARY glpk)
  micromoe_require(MICROMOE_GLPK_LIBRARY "GLPK (LP oracle for tests/benchmarks)"
    "apt-get install libglpk-dev, or configure with -DMICROMOE_ENABLE_LP=OFF")
  add_library(micromoe_glpk INTERFACE)
  target_include_directories(micromoe_glpk INTERFACE ${MICROMOE_GLPK_INCLUDE_DIR})
  target_link_libraries(micromoe_glpk INTERFACE ${MICROMOE_GLPK_LIBRARY})
endif()

if(MICROMOE_ENABLE_TESTS)
  find_package(GTest QUIET)
  micromoe_require(GTest_FOUND "GoogleTest (tests)" "apt-get install libgtest-dev libgmock-dev, or -DMICROMOE_ENABLE_TESTS=OFF")
endif()
if(MICROMOE_ENABLE_BENCHMARKS)
  find_package(benchmark QUIET)
  micromoe_require(benchmark_FOUND "Google Benchmark (perf programs)" "apt-get install libbenchmark-dev, or -DMICROMOE_ENABLE_BENCHMARKS=OFF")
endif()
