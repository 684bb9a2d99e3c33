#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/simulate2.sh - on the H200 (from the repository root, OUT set): why simulate's
# compute missed emulate's in 3 of 12 validation cells (docs/PERFORMANCE.md, "Validation").
# Logs the GPU's SM clock, power and throttle reasons every 100 ms (smi.csv) while it
# calibrates with the sustained timing (micromoe calibrate's default, each grid point back to
# back) and, in the same session, the old burst timing (--sustain-ms 0); the GPT layer also with
# the 8- and 2-slot calls of its 8- and 32-rank layouts; then emulate at 8 and 32 ranks with
# MICROMOE_EMULATE_TRACE=1 (every rank's slot rows of iteration 1). Everything under $OUT; each
# stage is skipped when the budget would not hold it.
set -uo pipefail
OUT=${OUT:-$PWD/.device-out}
mkdir -p "$OUT"
ROOT=$PWD
BUILD=$ROOT/build-simulate
export PATH=/usr/local/cuda/bin:$PATH
start=$SECONDS
budget=${BUDGET_S:-295}
left() { echo $((budget - (SECONDS - start))); }
log() { echo "[$((SECONDS - start)) s, $(date -u +%H:%M:%S.%N | cut -c1-12)] $*" | tee -a "$OUT/timeline.txt"; }

nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.limit,temperature.gpu,memory.used --format=csv |
  tee "$OUT/gpu.txt"
git rev-parse HEAD > "$OUT/commit.txt" 2>/dev/null || cat REVISION > "$OUT/commit.txt" 2>/dev/null
# Clock / power log: the newer field names first, the older ones if those are unknown.
fields=timestamp,clocks.sm,power.draw,temperature.gpu,utilization.gpu
for reasons in clocks_event_reasons clocks_throttle_reasons; do
  if nvidia-smi --query-gpu="$reasons.sw_power_cap" --format=csv > /dev/null 2>&1; then
    fields=$fields,$reasons.active,$reasons.sw_power_cap,$reasons.hw_slowdown,$reasons.sw_thermal_slowdown
    break
  fi
done
nvidia-smi --query-gpu="$fields" --format=csv -lms 100 > "$OUT/smi.csv" 2> "$OUT/smi.err" &
smi=$!
trap 'kill $smi 2> /dev/null' EXIT

if [[ ! -f .deps/cuda/bin/nvcc_wrapper ]]; then
  MICROMOE_OFFLINE=1 run/bootstrap.sh cuda > "$OUT/bootstrap.log" 2>&1 || { tail -30 "$OUT/bootstrap.log"; exit 1; }
fi
log "kokkos ready"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$ROOT/.deps/cuda" \
  -DKokkosKernels_ROOT="$ROOT/.deps/cuda" -DCMAKE_CXX_COMPILER="$ROOT/.deps/cuda/bin/nvcc_wrapper" \
  -DMICROMOE_ENABLE_CUDA=ON -DMICROMOE_ENABLE_NCCL=ON -DMICROMOE_ENABLE_LP=OFF -DMICROMOE_ENABLE_TESTS=OFF \
  -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_ENABLE_GPU_BENCH=OFF > "$OUT/configure.log" 2>&1 ||
  { tail -20 "$OUT/configure.log"; exit 1; }
cmake --build "$BUILD" -j 16 --target micromoe_app > "$OUT/build.log" 2>&1 ||
  { grep -m10 error "$OUT/build.log"; tail -20 "$OUT/build.log"; exit 1; }
log "built"
APP=$BUILD/app/micromoe
GPT=inputs/gpu/emulate-gpt.toml
MIX=inputs/gpu/emulate-mixtral.toml

calibrate() {  # NAME NEED_S DECK [calibrate options]
  local name=$1 need=$2 deck=$3
  shift 3
  (($(left) > need)) || { log "skip calibrate $name (budget)"; return; }
  log "calibrate $name start"
  timeout $((need + 30)) "$APP" calibrate "$deck" --out "$OUT/h200-$name.h5" "$@" > "$OUT/calibrate-$name.txt" 2>&1
  log "calibrate $name rc=$?"
}
emulate() {  # NAME RANKS NEED_S
  local name=$1 ranks=$2 need=$3
  (($(left) > need)) || { log "skip emulate $name $ranks (budget)"; return; }
  log "emulate $name $ranks start"
  MICROMOE_EMULATE_TRACE=1 timeout $((need + 30)) "$APP" emulate inputs/gpu/emulate-$name.toml --ranks "$ranks" \
    run.strategies=ep,microep,balanced run.report="$OUT/emulate-$name-$ranks.h5" > "$OUT/emulate-$name-$ranks.txt" \
    2> "$OUT/emulate-$name-$ranks.trace"
  log "emulate $name $ranks rc=$?"
}

# Most telling first: the Mixtral layer (balanced was 11-12% low) sustained, then its emulate.
calibrate mixtral-bf16 45 $MIX
emulate mixtral 8 15
calibrate gpt-bf16 40 $GPT
emulate gpt 8 12
emulate gpt 32 15
calibrate mixtral-bf16-burst 15 $MIX --sustain-ms 0
calibrate gpt-bf16-8slots 35 $GPT --slots 8 --max-rows 16384
emulate mixtral 32 40
calibrate deepseek-v3-bf16 40 inputs/simulate/deepseek-v3.toml
calibrate gpt-bf16-2slots 35 $GPT --slots 2
kill $smi 2> /dev/null
grep -h "slots per timed call" "$OUT"/calibrate-*.txt
grep -h "median compute" "$OUT"/emulate-*.txt
cat "$OUT/timeline.txt"
