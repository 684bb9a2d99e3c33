#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/build-cuda.sh [BUILD_DIR] [cmake args...] - bootstrap Kokkos for CUDA 13 / sm_90
# (.deps/cuda) and build the CUDA variant of the library, app, tests and benchmarks with
# nvcc_wrapper. Compiles and links on a machine without a GPU; runs only where one is.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-cuda}
shift || true
"$ROOT/run/bootstrap.sh" cuda
export PATH=/usr/local/cuda/bin:$PATH
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$ROOT/.deps/cuda" \
  -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
  -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON "$@" >/dev/null
cmake --build "$BUILD" -j "${MICROMOE_JOBS:-$(nproc)}"
