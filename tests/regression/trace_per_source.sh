#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Per-source replay through real runs: with the shipped per-source trace (8 source ranks x 5,100
# tokens, top-1) at 1, 2 and 4 ranks, rank r routes exactly the counts of the sources s with
# s mod ranks == r (read back from the verification dump's choices, gathered in rank order);
# the Megatron JSONL of the same counts replays identically; balanced keeps its forced routing
# and the report says so; a top_k that contradicts the trace's declaration exits 2.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
traces="$MICROMOE_SOURCE/inputs/traces"
common=(model.experts=8 model.top_k=1 model.hidden=16 model.ffn=16 model.layers=1 training.iterations=1
  training.warmup_iterations=0 training.micro_batches=1 parallel.microep_group=1 run.dump_layer=0
  run.dump_micro_batch=0 run.quiet=true workload.kind=trace)
for ranks in 1 2 4; do
  tokens=$((8 * 5100 / ranks))
  "$MPIEXEC" $MPIEXEC_FLAGS -n "$ranks" "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" \
    workload.trace_file="$traces/switch8-per-source.csv" training.tokens_per_micro_batch=$tokens \
    parallel.ep_size=$ranks run.strategies=ep,balanced run.report=csv$ranks.h5 >run$ranks.log
  mv csv${ranks}_dump_ep.h5 dump_csv$ranks.h5
done
"$MPIEXEC" $MPIEXEC_FLAGS -n 4 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" \
  workload.trace_file="$traces/switch8-megatron.jsonl" training.tokens_per_micro_batch=10200 parallel.ep_size=4 \
  run.strategies=ep run.report=jsonl4.h5 >jsonl.log
TRACE="$traces/switch8-per-source.csv" PYTHONPATH="$MICROMOE_SOURCE/postprocess" "$PYTHON" - <<'PY'
import csv, os
import h5py, numpy as np
from micromoe_report import open_report, balanced_note
counts = np.zeros((8, 8), dtype=int)  # source x expert, layer 0
with open(os.environ["TRACE"]) as f:
    for r in csv.DictReader(line for line in f if not line.startswith("#")):
        if r["layer"] == "0":
            counts[int(r["source"]), int(r["expert"])] = int(r["tokens"])
def per_rank(dump, ranks):
    with h5py.File(dump) as d:
        choices = d["choices"][...].ravel()
    tokens = choices.size // ranks
    return [np.bincount(choices[r * tokens:(r + 1) * tokens], minlength=8) for r in range(ranks)]
for ranks in (1, 2, 4):
    got = per_rank(f"dump_csv{ranks}.h5", ranks)
    for r in range(ranks):
        expected = counts[[s for s in range(8) if s % ranks == r]].sum(axis=0)
        assert np.array_equal(got[r], expected), (ranks, r, got[r], expected)
    report = open_report(f"csv{ranks}.h5")
    assert report.strategy("ep").summary["trace_replayed"] in (1, "1")
    assert report.strategy("balanced").summary["trace_replayed"] in (0, "0")
    assert balanced_note(report), "the report does not label balanced's forced routing"
    # balanced routes round robin (the ideal), not the trace: every expert gets the same copies.
    copies = report.strategy("balanced").expert_copies[0, 0, 0]
    assert copies.max() - copies.min() <= 1, copies
    assert not np.array_equal(report.strategy("ep").expert_copies[0, 0, 0], copies)
got = per_rank("jsonl4_dump_ep.h5", 4)
for r in range(4):
    assert np.array_equal(got[r], counts[[r, r + 4]].sum(axis=0)), (r, got[r])
print("per-source replay: each rank's counts reproduced exactly at 1, 2, 4 ranks (CSV) and 4 ranks (JSONL)")
PY
grep -q "balanced: forced uniform routing, not the trace" run4.log || { echo "FAIL: summary lacks balanced's label"; exit 1; }
# The trace declares top_k = 1: a deck with top_k 2 is refused on every rank, naming both.
set +e
out=$("$MPIEXEC" $MPIEXEC_FLAGS -n 2 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" \
  model.top_k=2 workload.trace_file="$traces/switch8-per-source.csv" parallel.ep_size=2 run.report=bad.h5 2>&1)
rc=$?
set -e
((rc == 2)) || { echo "FAIL: top_k mismatch exited $rc"; echo "$out"; exit 1; }
[[ $(grep -c "error" <<<"$out") == 1 && "$out" == *"top_k = 1"*"model.top_k = 2"* ]] || { echo "FAIL: $out"; exit 1; }
[[ ! -e bad.h5 ]] || { echo "FAIL: a report was written"; exit 1; }
echo "top_k mismatch: exit 2, one line: $out"
# The cap: top-1-like counts replayed with top_k 2 on 1 rank x 10 tokens (at most 10 copies per
# expert). Expert 0 wants 18 of 20 copies: 8 go to expert 1, the only other with a share (not
# to the lowest ids), and rank 0 warns once with the rows and the total-variation distance.
printf 'iteration,layer,micro_batch,expert,tokens\n0,0,0,0,90\n0,0,0,1,10\n' >capped.csv
"$MPIEXEC" $MPIEXEC_FLAGS -n 1 "$MICROMOE" run "$MICROMOE_SOURCE/inputs/default.toml" "${common[@]}" model.top_k=2 \
  workload.trace_file=capped.csv training.tokens_per_micro_batch=10 parallel.ep_size=1 run.strategies=ep \
  run.report=capped.h5 >capped.log 2>capped.err
grep -q "warning: trace capped.csv: the one-copy-per-token cap (top_k = 2) reshaped 1 of 1 micro-batch rows" capped.err &&
  grep -q "total-variation distance up to 0.4000" capped.err || { echo "FAIL: no cap warning"; cat capped.err; exit 1; }
[[ $(grep -c warning capped.err) == 1 ]] || { echo "FAIL: the warning is not printed once"; exit 1; }
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("capped_dump_ep.h5") as d:
    counts = np.bincount(d["choices"][...].ravel(), minlength=8)
assert list(counts) == [10, 10, 0, 0, 0, 0, 0, 0], counts
print("cap: excess redistributed proportionally, warned once")
PY
