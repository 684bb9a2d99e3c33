#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The command line of checkpoint and restart (docs/restart.md), with a real SIGTERM to every
# rank mid-run: the stopped run writes its checkpoint, `run --restart` continues it, and the
# restarted report equals the whole run's in every dataset but the timings, bit for bit. A
# restart that does not fit (another seed, a missing file) exits 2 with one line and writes
# nothing.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deck=("$MICROMOE_SOURCE/inputs/default.toml" training.iterations=100 training.tokens_per_micro_batch=16
  parallel.replace_interval=4 run.strategies=eplb,microep-adaptive)
run2() { "$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$@"; }

run2 "${deck[@]}" run.quiet=true run.report=A.h5 >A.log 2>&1
run2 "${deck[@]}" run.report=B.h5 >B.log 2>&1 &
job=$!
for _ in $(seq 600); do  # wait for the first progress line (at most 60 s)
  grep -q "iter" B.log 2>/dev/null && break
  sleep 0.1
done
grep -q "iter" B.log || { echo "the run never started:"; cat B.log; exit 1; }
pkill -TERM -f "^$MICROMOE run .*run.report=B.h5" || true
rc=0
wait "$job" || rc=$?
((rc == 0)) || { echo "exit code $rc after SIGTERM"; tail -n 5 B.log; exit 1; }
grep -q "truncated by SIGTERM" B.log || { echo "the run ended before the signal"; exit 1; }
[[ -f B.ckpt.h5 && ! -e B.ckpt.h5.tmp ]] || { echo "no checkpoint after SIGTERM"; exit 1; }

# Refused restarts: exit 2, one line, no report.
for bad in "training.seed=7 --restart B.ckpt.h5" "--restart missing.ckpt.h5"; do
  rc=0
  # shellcheck disable=SC2086
  run2 "${deck[@]}" run.report=R.h5 $bad >R.log 2>&1 || rc=$?
  ((rc == 2)) || { echo "restart '$bad': exit code $rc, expected 2"; cat R.log; exit 1; }
  grep -q "\[run\] restart: " R.log || { echo "restart '$bad': no restart error line"; cat R.log; exit 1; }
  [[ ! -e R.h5 && ! -e R.h5.tmp ]] || { echo "restart '$bad' wrote a report"; exit 1; }
done

run2 "${deck[@]}" run.quiet=true run.report=C.h5 --restart B.ckpt.h5 >C.log 2>&1 ||
  { echo "the restart failed:"; cat C.log; exit 1; }
"$PYTHON" - <<'PY'
import h5py
import numpy as np
timings = {"step_time", "tokens_per_second", "phase_times", "schedule_us"}
with h5py.File("A.h5") as a, h5py.File("B.h5") as b, h5py.File("C.h5") as c:
    stopped = int(b["run"].attrs["iterations_completed"])
    groups = [g for g in b if g != "run"]
    assert int(c["run"].attrs["truncated"]) == 0
    assert sorted(a) == sorted(c), (sorted(a), sorted(c))
    compared = 0
    for g in a:
        if g == "run":
            continue
        for d in a[g]:
            if d in timings:
                continue
            assert a[g][d].shape == c[g][d].shape, (g, d, a[g][d].shape, c[g][d].shape)
            assert np.array_equal(a[g][d][()], c[g][d][()]), f"{g}/{d} differs after the restart"
            compared += 1
print(f"restart_cli: stopped after {stopped} iterations of {groups[-1]}, restarted: {compared} datasets equal")
PY
