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
OUT=${OUT:-$PWD/.device-out}
mkdir -p "$OUT"
ROOT=$PWD
BUILD=$ROOT/build-simulate
export PATH=/usr/local/cuda/bin:$PATH
start=$SECONDS
budget=${BUDGET_S:-345}
left() { echo $((budget - (SECONDS - start))); }
log() { echo "[$((SECONDS - start)) s] $*" | tee -a "$OUT/timeline.txt"; }

nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,memory.used --format=csv | tee "$OUT/gpu.txt"
git rev-parse HEAD > "$OUT/commit.txt" 2>/dev/null || cat REVISION > "$OUT/commit.txt" 2>/dev/null
if [[ ! -f .deps/cuda/bin/nvcc_wrapper ]]; then
  MICROMOE_OFFLINE=1 run/bootstrap.sh cuda > "$OUT/bootstrap.log" 2>&1 || { tail -30 "$OUT/bootstrap.log"; exit 1; }
fi
log "kokkos ready"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$ROOT/.deps/cuda" \
  -DKokkosKernels_ROOT="$ROOT/.deps/cuda" -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
  -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON -DMICROMOE_ENABLE_LP=OFF -DMICROMOE_ENABLE_TESTS=OFF \
  -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_ENABLE_GPU_BENCH=ON > "$OUT/configure.log" 2>&1 ||
  { tail -20 "$OUT/configure.log"; exit 1; }
cmake --build "$BUILD" -j 16 --target micromoe_app bench_gpu > "$OUT/build.log" 2>&1 ||
  { grep -m10 error "$OUT/build.log"; tail -20 "$OUT/build.log"; exit 1; }
log "built"
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
