#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/adaptive.sh - on the H200 (no network): build the CUDA app only and run
# `micromoe emulate` on two real traces (inputs/traces: Qwen 60 experts, Switch 128 experts,
# layer 0 of wikitext) for ep, eplb, microep, microep-adaptive and balanced, at 8 emulated ranks
# and at 24 (Qwen) / 32 (Switch) ranks. Logs, reports and the time ratios go to $OUT.
# Budget: under 6 minutes with the build; the larger layouts run only while time is left.
# Session 7: re-run for the per-expert replica floors (parallel.adaptive_min_replicas = 0,
# auto); the deck's value is recorded in $OUT/floor.txt.
# Session 8: re-run for the placements without the same-slot rule (bounded moves across slot
# indices, exact slot packing, auto floors up to d; eplb at exactly S + 1 slots).
set -uo pipefail
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-cuda-adaptive
device_build "$BUILD" micromoe_app -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_ENABLE_TESTS=OFF \
  -DMICROMOE_ENABLE_GPU_BENCH=OFF
grep -h "adaptive_min_replicas" inputs/traces/emulate-qwen.toml inputs/traces/emulate-switch128.toml > "$OUT/floor.txt" 2>/dev/null ||
  echo "adaptive_min_replicas: default 0 (auto)" > "$OUT/floor.txt"
app=$(find "$BUILD/app" -maxdepth 1 -type f -name micromoe -perm -u+x | head -n 1)
[[ -n $app ]] || { echo "no micromoe binary under $BUILD/app"; ls "$BUILD/app"; exit 1; }
run_one() {  # deck ranks
  local name=$(basename "$1" .toml)-$2
  timeout 150 "$app" emulate "$1" --ranks "$2" run.report="$OUT/$name.h5" > "$OUT/$name.txt" 2>&1
  echo "$name rc=$? at $((SECONDS - start)) s"
  tail -n 25 "$OUT/$name.txt"
}
run_one inputs/traces/emulate-qwen.toml 8
run_one inputs/traces/emulate-switch128.toml 8
((SECONDS - start < 250)) && run_one inputs/traces/emulate-qwen.toml 24
((SECONDS - start < 280)) && run_one inputs/traces/emulate-switch128.toml 32
echo "done after $((SECONDS - start)) s"
