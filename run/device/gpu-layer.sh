#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/gpu-layer.sh - on the H200 (from the repository root, OUT set): the layer's exactness,
# training, shift, precision (bf16 wire), gradient-sync, parameter-store (migration rounds) and
# restart tests built for CUDA and run at 1, 2 and 4 ranks sharing the GPU (MPI backend), the check
# that a change to the routing types, the gradient sync or the migration keeps the GPU layer exact.
# Everything under $OUT; a test group is skipped when the budget would not hold it.
set -uo pipefail
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-gpu-layer
tests=(test_moe_exact test_moe_training test_moe_shift test_moe_precision test_moe_gradient_sync
  test_moe_parameter_store test_moe_edge_cases test_restart)
device_build "$BUILD" "micromoe_app ${tests[*]}" -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_TEST_RANKS="1;2;4" \
  -DMPIEXEC_PREFLAGS="$(IFS=';'; echo "${mpi_flags[*]}")"
cd "$BUILD"
for t in "${tests[@]}"; do
  (($(left) > 30)) || { log "skip $t (budget)"; continue; }
  timeout $(($(left) - 20)) ctest -R "^${t}(_np[0-9]+)?\$" --output-on-failure > "$OUT/$t.log" 2>&1
  log "$t rc=$? ($(grep -o '[0-9]*% tests passed.*' "$OUT/$t.log" | head -n 1))"
done
log "done"
