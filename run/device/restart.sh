#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run/device/restart.sh - on the H200 (from the repository root, OUT set): build the CUDA app
# and test_restart, then run the restart equivalence on the GPU (docs/restart.md): test_restart
# at 1 rank and at 2 ranks sharing the GPU (MPI backend), and the command line: a run of the
# default deck stopped by SIGTERM, restarted with --restart, against the whole run (every
# dataset but the timings, bit for bit). Everything under $OUT; stages are skipped when the
# 6-minute budget would not hold them.
set -uo pipefail
# shellcheck source=run/device/common.sh
source "$(dirname "$0")/common.sh"
BUILD=$ROOT/build-restart
cat "$OUT/gpu.txt"
device_build "$BUILD" "micromoe_app test_restart" -DMICROMOE_ENABLE_BENCHMARKS=OFF -DMICROMOE_TEST_RANKS="1;2" \
  -DMPIEXEC_PREFLAGS="$(IFS=';'; echo "${mpi_flags[*]}")"
APP=$BUILD/app/micromoe

# 1. test_restart (every strategy, re-placements, trace) at 1 rank and 2 ranks sharing the GPU.
cd "$BUILD"
for n in 1 2; do
  (($(left) > 60)) || { log "skip test_restart_np$n (budget)"; continue; }
  timeout $(($(left) - 40)) ctest -R "^test_restart_np$n\$" --output-on-failure > "$OUT/test_restart_np$n.log" 2>&1
  log "test_restart_np$n rc=$? ($(grep -o '[0-9]* tests\? passed\|[0-9]*% tests passed.*' "$OUT/test_restart_np$n.log" | head -n 1))"
done
cd "$ROOT"

# 2. The command line on the GPU: whole run vs SIGTERM + --restart (one rank).
if (($(left) > 60)); then
  w=$OUT/cli && mkdir -p "$w"
  deck="inputs/default.toml parallel.microep_group=1 training.iterations=40 parallel.replace_interval=4 run.quiet=false"
  timeout 60 "$APP" run $deck run.report="$w/A.h5" run.checkpoint="$w/A.ckpt.h5" > "$w/A.log" 2>&1
  log "cli whole run rc=$?"
  "$APP" run $deck run.report="$w/B.h5" run.checkpoint="$w/B.ckpt.h5" > "$w/B.log" 2>&1 &
  job=$!
  for _ in $(seq 300); do grep -q "iter   10/" "$w/B.log" 2>/dev/null && break; sleep 0.1; done
  kill -TERM "$job"
  wait "$job"
  log "cli stopped run rc=$? ($(grep -c ' iter ' "$w/B.log") iterations)"
  timeout 60 "$APP" run $deck run.report="$w/C.h5" run.checkpoint="$w/C.ckpt.h5" --restart "$w/B.ckpt.h5" \
    > "$w/C.log" 2>&1
  log "cli restarted run rc=$?"
  PY=$(command -v python3)
  "$PY" - "$w" <<'PY' 2>&1 | tee "$OUT/cli-compare.txt"
import sys
import h5py
import numpy as np
w = sys.argv[1]
timings = {"step_time", "tokens_per_second", "phase_times", "schedule_us"}
with h5py.File(f"{w}/A.h5") as a, h5py.File(f"{w}/C.h5") as c:
    bad = compared = 0
    for g in a:
        if g == "run":
            continue
        for d in a[g]:
            if d in timings:
                continue
            same = a[g][d].shape == c[g][d].shape and np.array_equal(a[g][d][()], c[g][d][()])
            compared += 1
            bad += not same
            if not same:
                print(f"DIFFER {g}/{d}")
    print(f"cli restart on the GPU: {compared} datasets compared, {bad} differ")
    sys.exit(1 if bad or compared == 0 else 0)
PY
  log "cli compare rc=${PIPESTATUS[0]}"
fi
log "done"
