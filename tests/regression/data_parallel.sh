#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Several MicroEP groups (data parallelism across groups) train exactly the same model as one
# group over all ranks: on 4 ranks, one group of 4 (ep_size 2, d = 2) and two groups of 2
# (ep_size 1, d = 2) give the same losses for every strategy that keeps the math, and the
# report's loads cover all 4 ranks.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
args=(training.iterations=3 training.warmup_iterations=0 training.tokens_per_micro_batch=64
  run.strategies=ep,eplb,microep,microep-adaptive parallel.replace_interval=1 run.quiet=true)
"$MPIEXEC" $MPIEXEC_FLAGS -n 4 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${args[@]}" \
  parallel.ep_size=2 parallel.microep_group=2 run.report=one_group.h5 >/dev/null
"$MPIEXEC" $MPIEXEC_FLAGS -n 4 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${args[@]}" \
  parallel.ep_size=1 parallel.microep_group=2 run.report=two_groups.h5 >/dev/null
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("one_group.h5") as a, h5py.File("two_groups.h5") as b:
    for g in ("ep", "eplb", "microep", "microep-adaptive"):
        la, lb = a[g]["loss"][...], b[g]["loss"][...]
        if not np.allclose(la, lb, rtol=1e-5, atol=0):
            raise SystemExit(f"{g}: losses differ between one and two MicroEP groups: {la} vs {lb}")
        loads = b[g]["loads"][...]
        if loads.shape[-1] != 4 or not np.all(loads.sum(axis=3) == 4 * 64 * 2):
            raise SystemExit(f"{g}: two-group loads do not cover 4 ranks x 64 tokens x top-2")
print("data parallel: two MicroEP groups train exactly like one")
PY
