#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/sizes.sh - on the H200: the CUDA build of the size limits and memory budget
# (lib/budget): its tests, `micromoe check` and a short run printing the device side of the
# budget (cudaMemGetInfo), and decks refused up front for device memory. Logs under $OUT.
set -uo pipefail
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
cat "$OUT/gpu.txt"
B=$ROOT/build-sizes
device_build "$B" "micromoe_app test_budget_sizes test_budget_memory" -DMICROMOE_ENABLE_BENCHMARKS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DMICROMOE_TEST_RANKS="1;2" -DMPIEXEC_PREFLAGS="--allow-run-as-root;--oversubscribe"
M=$B/app/micromoe
cd "$OUT" || exit 1
(cd "$B" && timeout 120 ctest -R test_budget --output-on-failure) >"$OUT/ctest.log" 2>&1
echo "ctest rc=$?"; tail -8 "$OUT/ctest.log"
: >empty.toml
timeout 60 "$M" check empty.toml >check.txt 2>&1; echo "check rc=$?"; tail -1 check.txt
timeout 120 "$M" run empty.toml training.iterations=3 training.warmup_iterations=1 run.strategies=ep,microep \
  run.report=tiny.h5 >run.txt 2>&1
echo "run rc=$?"; head -2 run.txt
# Refused up front: device memory (nccl: no host staging), the View limit, and a deck that fits
# the device but whose results would not fit the host.
for deck in "parallel.backend=nccl model.hidden=4096 model.ffn=16384 training.tokens_per_micro_batch=262144 model.top_k=8" \
  "model.hidden=2048 model.ffn=262144" "training.iterations=2147483647"; do
  # shellcheck disable=SC2086
  timeout 60 "$M" run empty.toml run.report=refused.h5 $deck >refused.txt 2>&1
  echo "refused rc=$? ($deck): $(cut -c1-400 refused.txt)"
done
[[ -e refused.h5 ]] && echo "FAIL: a refused deck wrote its report"
echo "done after $((SECONDS - start)) s"
