#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/wire.sh - issue 14 items 3-6 on one H200 (run from the repository root; results in
# $OUT; under 6 minutes with its build):
#   wire-{2,4}r-{fp32,bf16}rows.h5  dispatch / combine / backward phase times and bytes_sent of a
#                                   bf16 GPT-32x1.3B layer (inputs/gpu/exchange.toml), MPI backend,
#                                   2 and 4 ranks sharing the GPU, model.wire_precision fp32 vs auto
#   migrate-{gpt,mixtral}.h5        microep-adaptive re-placing every iteration: the migration
#                                   phase (and migrated_bytes where the report has it)
#   sched-1r.h5, wire-4r-*.h5       count_exchange / schedule / permute phases: the scheduler's
#                                   exposed time in the step at 1 rank and 4 ranks
# Every run is skipped once the script's time budget is spent (run.log says which ran).
set -uo pipefail
budget=${WIRE_BUDGET_S:-330}
DEVICE_LOG=${OUT:-$PWD/.device-out}/run.log
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-wire
device_build "$BUILD" micromoe_app -DMICROMOE_ENABLE_BENCHMARKS=OFF -DCMAKE_CUDA_ARCHITECTURES=90
APP=$BUILD/app/micromoe

# run NAME RANKS DECK key=value... : one `micromoe run` into $OUT/NAME.{h5,log}, unless the budget is spent.
run() {
  local name=$1 ranks=$2 deck=$3
  shift 3
  local left=$((budget - (SECONDS - start)))
  if ((left < 25)); then
    log "skip $name (budget spent)"
    return
  fi
  timeout "$left" mpirun "${mpi_flags[@]}" -n "$ranks" "$APP" run "$deck" run.quiet=true run.report="$OUT/$name.h5" "$@" \
    > "$OUT/$name.log" 2>&1
  log "$name rc=$?"
}

short=(training.iterations=4 training.warmup_iterations=1 training.micro_batches=2 model.layers=1)
wire=(model.precision=bf16 run.strategies=microep "${short[@]}")
run wire-4r-fp32rows 4 inputs/gpu/exchange.toml "${wire[@]}" model.wire_precision=fp32
run wire-4r-bf16rows 4 inputs/gpu/exchange.toml "${wire[@]}" model.wire_precision=auto
run migrate-gpt 4 inputs/paper/gpt-32x1.3b.toml run.strategies=microep-adaptive parallel.replace_interval=1 "${short[@]}"
# The deck's ep_size 2 x d 2 needs 4 ranks; EP over both ranks, so copies cross (with ep_size 1
# both ranks hold every expert and microep keeps every copy local: nothing on the wire).
two=(parallel.ep_size=2 parallel.microep_group=1)
run wire-2r-fp32rows 2 inputs/gpu/exchange.toml "${wire[@]}" "${two[@]}" model.wire_precision=fp32
run wire-2r-bf16rows 2 inputs/gpu/exchange.toml "${wire[@]}" "${two[@]}" model.wire_precision=auto
run sched-1r 1 inputs/gpu/exchange.toml run.strategies=microep parallel.ep_size=1 parallel.microep_group=1 "${short[@]}"
run migrate-mixtral 4 inputs/paper/mixtral-8x7b.toml run.strategies=microep-adaptive parallel.replace_interval=1 \
  training.tokens_per_micro_batch=2048 "${short[@]}"
log "done"
