#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# postprocess/npy_to_trace.py: per-token expert ids saved with numpy (.npz of layers, one file
# per source rank) become a per-source trace whose replay on 2 ranks routes exactly the ids'
# counts on each rank; bad arrays exit 2 with one line.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$PYTHON" - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
for rank in range(2):
    # 2 layers x 12 tokens x top-2, distinct experts per token; skewed towards low ids.
    ids = {f"layer_{l}": np.array([rng.choice(8, 2, replace=False, p=np.arange(8, 0, -1) / 36) for _ in range(12)])
           for l in range(2)}
    np.savez(f"rank{rank}.npz", **ids)
np.save("float.npy", np.zeros((4, 2)))
PY
"$PYTHON" "$MICROMOE_SOURCE/postprocess/npy_to_trace.py" rank0.npz rank1.npz --file-axis source --out ids.csv
grep -q "^# top_k = 2$" ids.csv
"$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" model.experts=8 model.top_k=2 \
  model.layers=2 workload.kind=trace workload.trace_file=ids.csv training.iterations=1 training.warmup_iterations=0 \
  training.micro_batches=1 training.tokens_per_micro_batch=12 parallel.ep_size=2 parallel.microep_group=1 \
  run.strategies=ep run.dump_layer=1 run.dump_micro_batch=0 run.quiet=true run.report=ids.h5 >run.log
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("ids_dump_ep.h5") as d:
    choices = d["choices"][...]
for rank in range(2):
    ids = np.load(f"rank{rank}.npz")["layer_1"]
    got = np.bincount(choices[rank * 12:(rank + 1) * 12].ravel(), minlength=8)
    assert np.array_equal(got, np.bincount(ids.ravel(), minlength=8)), (rank, got)
print("npy_to_trace: each rank's counts reproduced exactly")
PY
set +e
out=$("$PYTHON" "$MICROMOE_SOURCE/postprocess/npy_to_trace.py" float.npy 2>&1); rc=$?
set -e
((rc == 2)) && [[ "$out" == "npy_to_trace: error: float.npy: expert ids must be integers"* ]] || { echo "FAIL: $rc $out"; exit 1; }
echo "bad input: $out"
