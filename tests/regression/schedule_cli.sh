#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# `micromoe schedule` through the executable: the optimal max load of a hand-checked instance,
# conserving plans and routes, and one-line errors with exit code 2 for malformed input.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set +e  # this script counts failures itself
# Slot 0: expert 0 on GPUs 0,1 and expert 1 on GPUs 2,3; slot 1: expert 2 on 0,2, expert 3 on 1,3.
# Expert 0 carries 80 of 120 copies and lives only on GPUs {0,1}: the optimum is 80 / 2 = 40.
cat >good.json <<'JSON'
{"gpus": 4, "gpus_per_node": 2,
 "placement": [[0, 2], [0, 3], [1, 2], [1, 3]],
 "counts": [[40, 0, 5, 5], [40, 0, 5, 5], [0, 10, 0, 0], [0, 10, 0, 0]]}
JSON
"$MICROMOE" schedule --input good.json >out.json || { echo "FAIL: schedule exited $?"; exit 1; }
/usr/bin/python3 - <<'PY' || exit 1
import json
r = json.load(open("out.json"))
counts = [[40, 0, 5, 5], [40, 0, 5, 5], [0, 10, 0, 0], [0, 10, 0, 0]]
assert r["max_load"] == 40, r["max_load"]
assert r["lower_bound"] <= 40
loads = [0] * 4
for p in r["plan"]:
    loads[p["gpu"]] += p["tokens"]
assert max(loads) == 40 and sum(loads) == 120, loads
sent = {}
for x in r["routes"]:
    sent[(x["src"], x["expert"])] = sent.get((x["src"], x["expert"]), 0) + x["tokens"]
for s in range(4):
    for e in range(4):
        assert sent.get((s, e), 0) == counts[s][e], (s, e)
for key in ("imbalance", "cross_gpu_tokens", "cross_node_tokens", "solve_us"):
    assert key in r, key
print("schedule: optimal max load 40, plan and routes conserve every token")
PY
failures=0
expect_bad() {
  local needle=$1 text=$2 out rc
  printf '%s' "$text" >bad.json
  out=$("$MICROMOE" schedule --input bad.json 2>&1 >/dev/null); rc=$?
  if ((rc != 2)) || ! grep -qi -- "$needle" <<<"$out" || (( $(wc -l <<<"$out") != 1 )); then
    echo "FAIL: expected exit 2 and one line mentioning '$needle', got $rc: $out"; failures=$((failures + 1))
  else
    echo "ok: $needle"
  fi
}
expect_bad "json" '{"gpus": 4,'
expect_bad "negative" '{"gpus": 2, "placement": [[0],[0]], "counts": [[1],[-1]]}'
expect_bad "twice" '{"gpus": 2, "placement": [[0,0],[1,1]], "counts": [[1,1],[1,1]]}'
expect_bad "counts" '{"gpus": 2, "placement": [[0],[0]], "counts": [[1,2,3]]}'

# Input files that are not regular files: refused with exit 2, never waited on (a FIFO's open
# would block); a missing file is an input error too. Every message is one bounded line.
expect_bad_input() {
  local needle=$1 input=$2 out rc
  out=$(timeout 60 "$MICROMOE" schedule --input "$input" 2>&1 >/dev/null); rc=$?
  if ((rc != 2)) || ! grep -qi -- "$needle" <<<"$out" || (( $(wc -l <<<"$out") != 1 )) || (( ${#out} > 500 )); then
    echo "FAIL: --input $input: expected exit 2 and one short line mentioning '$needle', got $rc: ${out:0:300}" | cut -c1-400
    failures=$((failures + 1))
  else
    echo "ok: --input ${input:0:40}: $needle"
  fi
}
mkfifo in_fifo
mkdir in_dir
expect_bad_input "FIFO" in_fifo
expect_bad_input "directory" in_dir
expect_bad_input "cannot open" no_such_input.json
expect_bad_input "more characters]" "$(printf 'x%.0s' $(seq 3000)).json"

# Batch mode through the executable (no MPI, no Kokkos): the shipped example, every placement,
# JSON lines and a summary; bad input exits 2 with one short line and leaves no output file.
examples=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../inputs/schedule" && pwd)
if "$MICROMOE" schedule --batch "$examples/batch-small.jsonl" --gpus 4 --ep 2 --replace-interval 2 >batch.jsonl; then
  /usr/bin/python3 - <<'PY' || failures=$((failures + 1))
import json
lines = [json.loads(l) for l in open("batch.jsonl")]
summary = lines[-1]["summary"]
assert len(lines) == 12 * 5 + 1, len(lines)
assert set(summary["placements"]) == {"ep", "symmetric", "random", "adaptive", "eplb"}
for r in lines[:-1]:
    assert r["max_load"] >= r["optimum"] >= r["memory_bound"] - 1e-9, r
assert summary["placements"]["adaptive"]["replacements"] >= 1
print("schedule --batch: 12 micro-batches x 5 placements, max load >= optimum >= memory bound")
PY
else
  echo "FAIL: schedule --batch exited $?"; failures=$((failures + 1))
fi
expect_bad_batch() {
  local needle=$1 input=$2 out rc
  shift 2
  out=$(timeout 60 "$MICROMOE" schedule --batch "$input" --gpus 4 --out batch_out.jsonl "$@" 2>&1 >/dev/null); rc=$?
  if ((rc != 2)) || ! grep -qi -- "$needle" <<<"$out" || (( $(wc -l <<<"$out") != 1 )) || (( ${#out} > 500 )) ||
     [[ -e batch_out.jsonl ]]; then
    echo "FAIL: --batch ${input:0:40} $*: expected exit 2, one short line mentioning '$needle' and no output, got $rc: ${out:0:300}"
    failures=$((failures + 1))
  else
    echo "ok: --batch: $needle"
  fi
}
head -c 200000 /dev/zero | tr '\0' '[' >deep.jsonl
expect_bad_batch "deeper than 8" deep.jsonl
expect_bad_batch "FIFO" in_fifo
expect_bad_batch "needs --experts" "$examples/../default.toml"
{ cat "$examples/batch-small.jsonl"; echo '{"counts": [[1]]}'; } >late_bad.jsonl
expect_bad_batch "late_bad.jsonl:13" late_bad.jsonl
expect_bad_batch "unknown placement" "$examples/batch-small.jsonl" --placements ep,balanced
((failures == 0))
