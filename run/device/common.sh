#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/common.sh - the preamble every run/device/*.sh script shares, sourced from the
# repository root on the H200 (no network). It sets OUT (created), ROOT, the clock (start,
# budget = ${BUDGET_S:-345} s unless the script set `budget` first, left, log to
# ${DEVICE_LOG:-$OUT/timeline.txt}), writes gpu.txt and commit.txt, bootstraps Kokkos for CUDA
# when .deps/cuda lacks it, and sets mpi_flags (Open MPI as root, oversubscribed). Then
#   device_build DIR "TARGET..." [CMAKE_FLAG...]
# configures DIR for CUDA (Release, Ninja, NCCL on, LP off, plus the flags given) and builds
# those targets with -j16; it exits the script with a log line when either step fails.
OUT=${OUT:-$PWD/.device-out}
mkdir -p "$OUT"
ROOT=$PWD
export PATH=/usr/local/cuda/bin:$PATH
start=$SECONDS
budget=${budget:-${BUDGET_S:-345}}
DEVICE_LOG=${DEVICE_LOG:-$OUT/timeline.txt}
left() { echo $((budget - (SECONDS - start))); }
log() { echo "[$((SECONDS - start)) s] $*" | tee -a "$DEVICE_LOG"; }

nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,memory.total,memory.used --format=csv \
  > "$OUT/gpu.txt" 2>&1
cat "$ROOT/REVISION" > "$OUT/commit.txt" 2>/dev/null || git -C "$ROOT" rev-parse HEAD > "$OUT/commit.txt" 2>/dev/null
if [[ ! -f .deps/cuda/bin/nvcc_wrapper ]]; then
  MICROMOE_OFFLINE=1 run/bootstrap.sh cuda > "$OUT/bootstrap.log" 2>&1 ||
    { log "bootstrap failed"; tail -30 "$OUT/bootstrap.log"; exit 1; }
fi
log "kokkos ready"
mpi_flags=()
if mpirun --version 2>&1 | grep -qi "open mpi"; then mpi_flags=(--allow-run-as-root --oversubscribe); fi

device_build() {
  local dir=$1 targets=$2
  shift 2
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$ROOT/.deps/cuda" \
    -DKokkosKernels_ROOT="$ROOT/.deps/cuda" -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
    -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON -DMICROMOE_ENABLE_LP=OFF "$@" > "$OUT/configure.log" 2>&1 ||
    { log "configure failed"; tail -20 "$OUT/configure.log"; exit 1; }
  # shellcheck disable=SC2086
  cmake --build "$dir" -j 16 --target $targets > "$OUT/build.log" 2>&1 ||
    { log "build failed"; grep -m10 error "$OUT/build.log"; tail -20 "$OUT/build.log"; exit 1; }
  log "built $targets"
}
