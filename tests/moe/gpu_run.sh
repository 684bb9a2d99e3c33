#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# tests/moe/gpu_run.sh build|run - the MoE layer's tests on one GPU (the nvidia-h200 machine):
#   build  Kokkos for CUDA from the carried .deps/sources, then only the MoE test targets.
#   run    exactness tests with NCCL at 1 rank and with MPI at 2 and 4 ranks sharing the GPU.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MICROMOE_BUILD_DIR:-$ROOT/build-device-moe}
export PATH=/usr/local/cuda/bin:$PATH
targets="test_moe_exact test_moe_edge_cases test_moe_training test_moe_dump test_moe_gradient_sync test_moe_profiling test_strategy"
case ${1:-run} in
  build)
    [[ -f $ROOT/.deps/cuda/.complete ]] || MICROMOE_OFFLINE=1 "$ROOT/run/bootstrap.sh" cuda
    mpi_flags=""
    if mpirun --version 2>&1 | grep -qi "open mpi"; then mpi_flags="--allow-run-as-root;--oversubscribe"; fi
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DKokkos_ROOT="$ROOT/.deps/cuda" -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
      -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON -DMICROMOE_ENABLE_LP=OFF \
      -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMPIEXEC_PREFLAGS="$mpi_flags" | tail -n 2
    cmake --build "$BUILD" -j "$(nproc)" --target $targets 2>&1 | tail -n 5
    ;;
  run)
    flags=""
    if mpirun --version 2>&1 | grep -qi "open mpi"; then flags="--allow-run-as-root --oversubscribe"; fi
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
    status=0
    for t in test_moe_exact test_moe_edge_cases test_moe_training test_moe_dump test_moe_gradient_sync test_moe_profiling; do
      echo "== $t: 1 rank, NCCL backend"
      (cd "$BUILD" && MICROMOE_TEST_BACKEND=nccl mpirun $flags -n 1 "tests/moe/$t" 2>&1 | tail -n 3) || status=1
      for n in 2 4; do
        echo "== $t: $n ranks sharing the GPU, MPI backend"
        (cd "$BUILD" && MICROMOE_TEST_BACKEND=mpi OMP_NUM_THREADS=1 mpirun $flags -n $n "tests/moe/$t" 2>&1 | tail -n 3) || status=1
      done
    done
    echo "== test_strategy"
    (cd "$BUILD" && mpirun $flags -n 1 tests/strategy/test_strategy 2>&1 | tail -n 2) || status=1
    exit $status
    ;;
esac
