#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# A tiny real run of the default deck on N ranks: the report passes check_report.py, the
# post-processing draws every plot from it, and a rerun gives bit-identical losses and loads.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ranks=${1:-4}
args=(training.iterations=4 training.tokens_per_micro_batch=64 training.micro_batches=2 run.quiet=true)
"$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${args[@]}" run.report=a.h5 >run.log
"$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${args[@]}" run.report=b.h5 >/dev/null
"$PYTHON" "$MICROMOE_SOURCE/tests/regression/check_report.py" a.h5 --ranks "$ranks" --tokens 64 --top-k 2 \
  --micro-batches 2 --layers 2 $( ((ranks < 4)) && echo --no-balance-comparison)
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("a.h5") as a, h5py.File("b.h5") as b:
    for g in ("ep", "microep", "microep-adaptive", "eplb", "balanced", "ep-capacity"):
        for d in ("loss", "loads", "tokens_dropped"):
            if not np.array_equal(a[g][d][...], b[g][d][...]):
                raise SystemExit(f"rerun differs in {g}/{d}: runs are not reproducible")
print("rerun: bit-identical losses, loads and drops")
PY
"$PYTHON" "$MICROMOE_SOURCE/postprocess/plot_report.py" a.h5 --out plots >/dev/null
for f in imbalance.png step_time_breakdown.png throughput.png schedule_time.png summary.md; do
  [[ -s plots/$f ]] || { echo "post-processing did not write plots/$f"; exit 1; }
done
grep -q "^| microep " plots/summary.md
# The verification dump of layer 1, micro-batch 0, checked with numpy alone.
"$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${args[@]}" training.iterations=1 training.warmup_iterations=0 \
  run.strategies=microep run.dump_layer=1 run.dump_micro_batch=0 run.report=d.h5 >/dev/null
"$PYTHON" "$MICROMOE_SOURCE/tests/regression/check_dump.py" d_dump_microep.h5
echo "tiny_run: OK on $ranks ranks"
