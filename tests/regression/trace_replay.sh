#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Trace replay: a micro-batch's per-expert counts in the run equal the trace's (read back from
# the verification dump's choices), and every rank-total matches tokens * top_k.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# 2 ranks x 16 tokens x top-2 = 64 copies per micro-batch: the trace's rows sum to exactly that,
# so no rescaling applies and the replay must reproduce them exactly.
cat >trace.csv <<'CSV'
iteration,layer,micro_batch,expert,tokens
0,0,0,0,30
0,0,0,3,20
0,0,0,7,10
0,0,0,12,4
0,1,0,1,32
0,1,0,2,32
CSV
"$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" workload.kind=trace \
  workload.trace_file=trace.csv training.iterations=2 training.warmup_iterations=0 training.micro_batches=1 \
  training.tokens_per_micro_batch=16 run.strategies=ep,microep run.dump_layer=0 run.dump_micro_batch=0 \
  parallel.ep_size=2 parallel.microep_group=1 run.quiet=true run.report=trace.h5 >run.log
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("trace_dump_microep.h5") as d:
    counts = np.bincount(d["choices"][...].ravel(), minlength=16)
expected = np.zeros(16, dtype=int)
expected[[0, 3, 7, 12]] = [30, 20, 10, 4]
assert np.array_equal(counts, expected), (counts, expected)
with h5py.File("trace.h5") as f:
    for g in ("ep", "microep"):
        loads = f[g]["loads"][...]
        assert np.all(loads.sum(axis=3) == 64), loads.sum(axis=3)
    # Layer 1 is all experts 1 and 2: with ep_size 2 (8 experts per GPU) one GPU computes everything.
    assert f["ep"]["imbalance"][0, 1, 0] == 2.0, f["ep"]["imbalance"][...]
print("trace replay: counts reproduced exactly")
PY
