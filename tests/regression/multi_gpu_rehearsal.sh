#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run/multi-gpu.sh rehearsed on CPUs (the mpi backend, 2 ranks, both paper decks at tiny sizes):
# its runs stage writes a report, phase and cost tables for a Zipf run and for the trace cut from
# it and replayed, and one targets table over all of them, so the script a multi-GPU node runs
# once is known to work end to end before that node is lent.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out=$work/out
MICROMOE_BUILD_DIR=$(dirname "$(dirname "$MICROMOE")") MICROMOE_MULTI_STAGES=runs MICROMOE_MULTI_BACKEND=mpi \
  MICROMOE_MULTI_RANKS=2 MICROMOE_MULTI_ZIPF=1.0 MICROMOE_MULTI_ITERATIONS=3 \
  MICROMOE_MULTI_OVERRIDES="model.hidden=32 model.ffn=64 training.micro_batches=2 training.tokens_per_micro_batch=48" \
  bash "$MICROMOE_SOURCE/run/multi-gpu.sh" "$out" >script.log 2>&1 || { cat script.log; exit 1; }
cat "$out/status.txt"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
for deck in gpt-32x1.3b mixtral-16x2b; do
  for run in s1.0 trace; do
    name=$deck-np2-$run
    grep -q "run $name rc=0" "$out/status.txt" || fail "$name did not run cleanly"
    [[ -s $out/$name.h5 ]] || fail "$name: no report"
    grep -q "Costs against ep and balanced" "$out/$name.md" 2>/dev/null || fail "$name: no cost table"
    grep -q "^| $name.h5 | 2 | " "$out/targets.md" 2>/dev/null || fail "$name: not in targets.md"
  done
  [[ -s $out/trace-$deck.csv ]] || fail "$deck: no trace cut from the s = 1.0 run"
done
grep -q "rc=[1-9]" "$out/status.txt" && fail "a stage failed"
echo "multi_gpu_rehearsal: $failures failures"
((failures == 0))
