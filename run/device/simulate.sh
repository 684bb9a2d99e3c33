#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/simulate.sh - on the H200 (from the repository root, OUT set): build the CUDA app,
# write the H200 calibrations that inputs/calibration ships (micromoe calibrate of the GPT,
# Mixtral and DeepSeek-V3-like layers), and the validation runs of docs/PERFORMANCE.md
# ("micromoe simulate against the GPU"): micromoe emulate at 8 and 32 ranks (the compute part,
# same counts as simulate) and bench_gpu's single-GPU layer step. Everything under $OUT;
# each stage is skipped when the 6-minute budget would not hold it.
set -uo pipefail
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-simulate
cat "$OUT/gpu.txt"
device_build "$BUILD" "micromoe_app bench_gpu" -DMICROMOE_ENABLE_TESTS=OFF -DMICROMOE_ENABLE_BENCHMARKS=OFF \
  -DMICROMOE_ENABLE_GPU_BENCH=ON
APP=$BUILD/app/micromoe

# 1. Calibrations (the layers of inputs/simulate and inputs/gpu/emulate-*.toml): several slots
#    per timed FFN call (the deck's, memory permitting), as a rank runs them.
for spec in gpt:inputs/gpu/emulate-gpt.toml mixtral:inputs/gpu/emulate-mixtral.toml \
  deepseek-v3:inputs/simulate/deepseek-v3.toml; do
  name=${spec%%:*} deck=${spec#*:}
  (($(left) > 60)) || { log "skip calibrate $name (budget)"; continue; }
  timeout 90 "$APP" calibrate "$deck" --out "$OUT/h200-$name-bf16.h5" > "$OUT/calibrate-$name.txt" 2>&1
  log "calibrate $name rc=$?"
done

# The GPT grid with one slot per call as well (the first calibration's way), up to 4,096 rows.
timeout 60 "$APP" calibrate inputs/gpu/emulate-gpt.toml --slots 1 --max-rows 4096 --out "$OUT/h200-gpt-bf16-1slot.h5" \
  > "$OUT/calibrate-gpt-1slot.txt" 2>&1
log "calibrate gpt 1 slot rc=$?"

# 2. emulate at 8 and 32 ranks (the compute part of simulate is checked against these reports).
for spec in gpt:8 gpt:32 mixtral:8 mixtral:32; do
  name=${spec%%:*} ranks=${spec#*:}
  (($(left) > 45)) || { log "skip emulate $name $ranks (budget)"; continue; }
  timeout $(($(left) - 30)) "$APP" emulate inputs/gpu/emulate-$name.toml --ranks "$ranks" \
    run.strategies=ep,microep,balanced run.report="$OUT/emulate-$name-$ranks.h5" > "$OUT/emulate-$name-$ranks.txt" 2>&1
  log "emulate $name $ranks rc=$?"
done

# 3. bench_gpu's single-GPU layer step (GPT and Mixtral shapes, fp32 and bf16).
if (($(left) > 40)); then
  timeout $(($(left) - 5)) "$BUILD/benchmarks/gpu/bench_gpu" --sections layer --csv "$OUT/bench_gpu_layer.csv" \
    > "$OUT/bench_gpu_layer.txt" 2>&1
  log "bench_gpu layer rc=$?"
else
  log "skip bench_gpu (budget)"
fi
tail -n 25 "$OUT"/calibrate-gpt.txt 2>/dev/null
grep -h "median\|ep \|microep\|balanced" "$OUT"/emulate-*.txt 2>/dev/null | head -30
cat "$OUT/timeline.txt"
