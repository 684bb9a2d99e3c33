#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# SIGTERM (what Slurm sends at the time limit) to every rank mid-run: the job finishes the
# current iteration, writes a whole report marked truncated, and exits 0.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" training.iterations=100000 \
  training.tokens_per_micro_batch=32 run.strategies=ep,microep run.report=t.h5 >run.log 2>&1 &
job=$!
for _ in $(seq 600); do  # wait for the first progress line (at most 60 s)
  grep -q "iter" run.log 2>/dev/null && break
  sleep 0.1
done
grep -q "iter" run.log || { echo "the run never started:"; cat run.log; exit 1; }
# Signal the ranks (as Slurm does), not the launcher: Open MPI's mpirun ends the job on SIGTERM.
pkill -TERM -f "^$MICROMOE run .*run.report=t.h5" || true
rc=0
wait "$job" || rc=$?
tail -n 3 run.log
((rc == 0)) || { echo "exit code $rc after SIGTERM"; exit 1; }
[[ -f t.h5 && ! -e t.h5.tmp ]] || { echo "no whole report after SIGTERM"; exit 1; }
grep -q "truncated by SIGTERM" run.log
"$PYTHON" "$MICROMOE_SOURCE/tests/regression/check_report.py" t.h5 --ranks 2 --tokens 32 --top-k 2 \
  --micro-batches 2 --layers 2 --strategies ep,microep --truncated
"$PYTHON" - <<'PY'
import h5py
with h5py.File("t.h5") as f:
    done = int(f["run"].attrs["iterations_completed"])
    assert 0 < done < 100000, done
    assert f["ep"]["loss"].shape[0] == done, (f["ep"]["loss"].shape, done)
print(f"sigterm: truncated report with {done} iterations")
PY
