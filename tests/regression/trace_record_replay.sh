#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Record and replay: a run of the synthetic workload records every expert's routed copies
# (expert_copies); postprocess/report_to_trace.py cuts a trace from them; replaying that trace
# with two strategies routes exactly the recorded counts in every (iteration, layer,
# micro-batch), and the per-rank loads of ep follow from them.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
common=(training.iterations=3 training.warmup_iterations=1 training.micro_batches=2 training.tokens_per_micro_batch=24
  parallel.ep_size=2 parallel.microep_group=1 run.quiet=true)
"$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" \
  workload.zipf_s=1.2 run.strategies=ep run.report=recorded.h5 >record.log
"$PYTHON" "$MICROMOE_SOURCE/postprocess/report_to_trace.py" recorded.h5 --out trace.csv
"$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" \
  workload.kind=trace workload.trace_file=trace.csv run.strategies=ep,microep run.report=replayed.h5 >replay.log
PYTHONPATH="$MICROMOE_SOURCE/postprocess" "$PYTHON" - <<'PY'
import numpy as np
from micromoe_report import open_report
recorded = open_report("recorded.h5").strategy("ep")
counts = recorded.expert_copies
assert counts.shape[:3] == (3, recorded.loads.shape[1], 2), counts.shape
assert np.all(counts.sum(axis=3) == 2 * 24 * 2), counts.sum(axis=3)  # ranks x tokens x top-k
assert counts.max() > counts.mean() * 1.5, "zipf 1.2 should route unevenly"
replayed = open_report("replayed.h5")
for name in ("ep", "microep"):
    got = replayed.strategy(name).expert_copies
    assert np.array_equal(got, counts), (name, got, counts)
# ep's loads are the counts of each rank's experts (ep size 2: experts split in halves).
E = counts.shape[3]
ep_loads = replayed.strategy("ep").loads
assert np.array_equal(ep_loads[..., 0], counts[..., : E // 2].sum(axis=3))
assert np.array_equal(ep_loads[..., 1], counts[..., E // 2 :].sum(axis=3))
print("trace record + replay: counts reproduced exactly,", counts.shape)
PY
