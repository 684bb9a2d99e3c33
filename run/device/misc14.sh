#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/misc14.sh - issue 14's remaining H200 figures (run from the repository root; results
# in $OUT; under 5 minutes with its build):
#   migrate-{gpt,mixtral}.h5  microep-adaptive re-placing after every iteration, 4 ranks sharing the
#                             GPU (MPI backend): the migration phase and migrated_bytes of every
#                             re-placement, the first one included, with the migration in bounded
#                             rounds (moe/migration_rounds.hpp; copies above 256 MiB in pieces since
#                             d53cb60: a rerun measures Mixtral's first migration with bounded staging;
#                             before: docs/PERFORMANCE.md, wire.sh and the 19:54 run on b7b4a8c)
#   migrate-gpt-eplb.h5       the same with eplb (re-placement cost without replica communicators)
#   *.txt                     the reports' phase_times, migrated_bytes, bytes_sent, step_time (h5dump)
# (The 2-rank bf16 / fp32 wire pair was measured by the coordinator with run/device/wire.sh.)
# Every run is skipped once the time budget is spent (timeline.txt says which ran).
set -uo pipefail
budget=${BUDGET_S:-290}
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-misc14
device_build "$BUILD" micromoe_app -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_ENABLE_TESTS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90
APP=$BUILD/app/micromoe

# run NAME RANKS DECK key=value... : one `micromoe run` into $OUT/NAME.{h5,log}, unless the budget is spent.
run() {
  local name=$1 ranks=$2 deck=$3
  shift 3
  if (($(left) < 25)); then
    log "skip $name (budget spent)"
    return
  fi
  timeout "$(left)" mpirun "${mpi_flags[@]}" -n "$ranks" "$APP" run "$deck" run.quiet=true run.report="$OUT/$name.h5" \
    "$@" > "$OUT/$name.log" 2>&1
  log "$name rc=$?"
  local strategy
  strategy=$(grep -o 'run.strategies=[a-z-]*' <<< "$*" | head -n 1 | cut -d= -f2)
  for d in phase_times migrated_bytes bytes_sent step_time; do
    h5dump -d "/$strategy/$d" "$OUT/$name.h5" > "$OUT/$name-$d.txt" 2>&1
  done
}

short=(training.iterations=5 training.warmup_iterations=1 training.micro_batches=2 model.layers=1)
migrate=(parallel.replace_interval=1 "${short[@]}")
run migrate-gpt 4 inputs/paper/gpt-32x1.3b.toml run.strategies=microep-adaptive "${migrate[@]}"
run migrate-mixtral 4 inputs/paper/mixtral-8x7b.toml run.strategies=microep-adaptive "${migrate[@]}" \
  training.tokens_per_micro_batch=2048
run migrate-gpt-eplb 4 inputs/paper/gpt-32x1.3b.toml run.strategies=eplb "${migrate[@]}"
log "done"
