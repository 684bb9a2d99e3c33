#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device-build.sh [OUT_DIR] - on a GPU machine without network: build Kokkos/Kokkos
# Kernels for CUDA from the carried sources (.deps/sources, made here by
# `run/bootstrap.sh sources`), build MicroMoE with CUDA + NCCL, and run the tests labelled
# gpu and mpi with as many ranks as GPUs (MPI-backend tests also at 2 and 4 ranks sharing
# the GPUs). Expects nvcc 13, an MPI, NCCL, HDF5, CMake >= 3.22, GoogleTest, nlohmann-json and
# CLI11 on the machine (the Ubuntu 24.04 H200 machine has them; GLPK, only an oracle of
# the CPU scheduler tests, is not needed); toml++ comes from
# .deps/sources/include. Logs go to OUT_DIR (default build-device/logs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build-device}
OUT=${1:-$BUILD/logs}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
[[ -f $ROOT/.deps/sources/kokkos-3.4.01.tar.gz ]] ||
  { echo "device-build: .deps/sources missing: run 'run/bootstrap.sh sources' on a networked machine and carry .deps/sources" >&2; exit 1; }

gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
((gpus > 0)) || { echo "device-build: no GPU visible (nvidia-smi -L)" >&2; exit 1; }
echo "device-build: $gpus GPU(s): $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"

start=$SECONDS
MICROMOE_OFFLINE=1 "$ROOT/run/bootstrap.sh" cuda 2>&1 | tee "$OUT/bootstrap.log"
echo "device-build: Kokkos for CUDA ready after $((SECONDS - start)) s"

# Open MPI refuses root without these; the MPI-backend tests may put several ranks on a GPU.
mpi_flags=""
if mpirun --version 2>&1 | grep -qi "open mpi"; then mpi_flags="--allow-run-as-root;--oversubscribe"; fi
ranks="1;2;4"
((gpus > 4)) && ranks="1;2;4;$gpus"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DKokkos_ROOT="$ROOT/.deps/cuda" -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
  -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON -DMICROMOE_TEST_RANKS="$ranks" \
  -DMICROMOE_ENABLE_LP=OFF -DMICROMOE_ENABLE_BENCHMARKS=${MICROMOE_ENABLE_BENCHMARKS:-ON} \
  -DMPIEXEC_PREFLAGS="$mpi_flags" 2>&1 | tee "$OUT/configure.log" | tail -n 3
cmake --build "$BUILD" -j "$(nproc)" 2>&1 | tee "$OUT/build.log" | tail -n 3
echo "device-build: built after $((SECONDS - start)) s"

cd "$BUILD"
# MICROMOE_DEVICE_TESTS: a ctest -R regex to run only some tests (default: every gpu|mpi test).
if [[ -n ${MICROMOE_DEVICE_TESTS:-} ]]; then
  ctest --output-on-failure -L 'gpu|mpi' -R "$MICROMOE_DEVICE_TESTS" 2>&1 | tee "$OUT/ctest.log"
else
  ctest --output-on-failure -L 'gpu|mpi' 2>&1 | tee "$OUT/ctest.log"
fi
