#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/misc14.sh - issue 14's remaining H200 figures (run from the repository root; results
# in $OUT; under 5 minutes with its build):
#   wire-2r-{fp32,bf16}rows.h5   dispatch / combine / backward phase times and bytes_sent of a bf16
#                                GPT-32x1.3B layer (inputs/gpu/exchange.toml), MPI backend, 2 ranks
#                                sharing the GPU with EP over both (so copies cross), wire fp32 vs auto
#   migrate-{gpt,mixtral}.h5     microep-adaptive re-placing after every iteration, 4 ranks: the
#                                migration phase and migrated_bytes per re-placement, the first one
#                                included, with the migration in bounded rounds (moe/migration_rounds.hpp)
#   *.txt                        the reports' phase_times, migrated_bytes and bytes_sent (h5dump)
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

short=(training.iterations=4 training.warmup_iterations=1 training.micro_batches=2 model.layers=1)
wire=(model.precision=bf16 run.strategies=microep "${short[@]}" parallel.ep_size=2 parallel.microep_group=1)
run wire-2r-fp32rows 2 inputs/gpu/exchange.toml "${wire[@]}" model.wire_precision=fp32
run wire-2r-bf16rows 2 inputs/gpu/exchange.toml "${wire[@]}" model.wire_precision=auto
migrate=(run.strategies=microep-adaptive parallel.replace_interval=1 "${short[@]}")
run migrate-gpt 4 inputs/paper/gpt-32x1.3b.toml "${migrate[@]}"
run migrate-mixtral 4 inputs/paper/mixtral-8x7b.toml "${migrate[@]}" training.tokens_per_micro_batch=2048
log "done"
