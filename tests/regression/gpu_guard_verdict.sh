#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The GPU guard's verdict (benchmarks/gpu/check_guard.py) on made-up figures: a ratio to the floor
# more than 10% under its baseline fails (exit 1), one within the slack passes, a floor (machine)
# drop is only reported as DRIFT, a rate that fell with its floor passes, a rate without a ratio is
# compared on its value, a rising fixed-cost fraction fails, ms rows without a ratio are not
# compared, targets are judged in the table, emulated runs' summary lines are read, bad usage
# exits 2.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CHECK="$MICROMOE_SOURCE/benchmarks/gpu/check_guard.py"
cat >base.csv <<'CSV'
section,name,value,unit,ratio
floor,"device copy 2048 MiB (read + write)",4000,GB/s,-1
floor,"GEMM fp32 gpt 4096x8192x2048",49.5,TFLOP/s,-1
ffn,"fwd+bwd fp32 gpt T=4096",47.0,TFLOP/s,0.95
small,"fp32 per-expert gpt S=8 tokens/expert=512",45.0,TFLOP/s,-1
permute,"gather_rows T=16384 k=2 H=2048",3800,GB/s,0.94
layer,"step floor gpt fp32 E=32 T=4096",44.0,ms,-1
layer,"fixed cost per step (8 tokens, no optimizer) gpt fp32 E=32 T=4096",1.5,ms,0.03
CSV
# variant OUT LINE...: base.csv with each LINE replacing the row of the same section and name
variant() {
  local out=$1 line key
  shift
  cp base.csv "$out"
  for line in "$@"; do
    key=${line%,*,*,*}
    grep -vF "$key," "$out" >"$out.tmp" || true
    echo "$line" >>"$out.tmp"
    mv "$out.tmp" "$out"
  done
}
# guard FILE: run the verdict against base.csv into FILE.out, exit status in rc
guard() {
  set +e
  "$PYTHON" "$CHECK" "$1" --baseline base.csv >"$1.out"
  rc=$?
  set -e
}
sed 's/^permute,\(.*\),3800,GB\/s,0.94/permute,\1,3500,GB\/s,0.87/' base.csv >ok.csv      # -8%: within 10%
sed 's/^ffn,\(.*\),47.0,TFLOP\/s,0.95/ffn,\1,40.0,TFLOP\/s,0.81/' base.csv >bad.csv       # -15%: regression
# the copy floor 20% down, the step floor (ms, no ratio) 50% up: machine drift and an uncompared row
variant floor.csv 'floor,"device copy 2048 MiB (read + write)",3200,GB/s,-1' \
  'layer,"step floor gpt fp32 E=32 T=4096",66.0,ms,-1'
# the FFN 20% down against an unchanged cuBLAS floor: its ratio fell 20%
variant ffnratio.csv 'ffn,"fwd+bwd fp32 gpt T=4096",37.6,TFLOP/s,0.76'
# the FFN 20% down with its cuBLAS floor: the ratio is unchanged
variant ffnfloor.csv 'ffn,"fwd+bwd fp32 gpt T=4096",37.6,TFLOP/s,0.95' \
  'floor,"GEMM fp32 gpt 4096x8192x2048",39.6,TFLOP/s,-1'
# a rate without a ratio 15% down: compared on the value
variant small.csv 'small,"fp32 per-expert gpt S=8 tokens/expert=512",38.0,TFLOP/s,-1'
# the fixed cost from 3% to 4% of the step (within 10% + 1 point) and to 8% (beyond)
variant fixedok.csv 'layer,"fixed cost per step (8 tokens, no optimizer) gpt fp32 E=32 T=4096",2.0,ms,0.04'
variant fixedbad.csv 'layer,"fixed cost per step (8 tokens, no optimizer) gpt fp32 E=32 T=4096",4.0,ms,0.08'
cat >emulate-x-r8-s1.0.txt <<'TXT'
ep / microep: compute time 1.193x, imbalance 1.236x, gain captured 0.965 (target >= 0.9)
throughput relative to balanced: microep 0.724 (target >= 0.95), microep-adaptive 0.994, eplb 0.906
TXT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
"$PYTHON" "$CHECK" ok.csv --baseline base.csv >ok.out || fail "a -8% rate failed the guard"
grep -q "0 regression" ok.out || fail "ok.csv: expected no regression"
grep -q "| ffn | fwd+bwd fp32 gpt T=4096 .*| 0.90 | yes |" ok.out || fail "fp32 FFN at 95% not judged as meeting 90%"
set +e
"$PYTHON" "$CHECK" bad.csv --baseline base.csv >bad.out
rc=$?
set -e
((rc == 1)) || fail "a -15% rate: exit $rc, expected 1"
grep -q "REGRESSION: ffn fwd+bwd fp32 gpt T=4096" bad.out || fail "the regressed rate is not named"
grep -q "| 0.90 | \*\*no\*\* |" bad.out || fail "fp32 FFN at 81% not judged as missing 90%"
grep -q "^0 floor figure(s) drifted" ok.out || fail "ok.csv: expected no drift"
guard floor.csv
((rc == 0)) || fail "a floor 20% down: exit $rc, expected 0"
grep -q "^DRIFT: floor device copy 2048 MiB (read + write): 3200.0 GB/s vs baseline 4000.0$" floor.csv.out ||
  fail "the drifted floor is not reported"
grep -q "^1 floor figure(s) drifted" floor.csv.out || fail "floor.csv: drift count"
grep -q "^0 regression" floor.csv.out || fail "floor.csv: expected no regression"
guard ffnratio.csv
((rc == 1)) || fail "an FFN ratio 20% down: exit $rc, expected 1"
grep -q "^REGRESSION: ffn fwd+bwd fp32 gpt T=4096: ratio 0.760 < baseline 0.950 (value 37.6 TFLOP/s)$" \
  ffnratio.csv.out || fail "the FFN ratio regression is not named"
grep -q "^1 regression" ffnratio.csv.out || fail "ffnratio.csv: regression count"
guard ffnfloor.csv
((rc == 0)) || fail "an FFN 20% down with its floor: exit $rc, expected 0"
grep -q "^0 regression" ffnfloor.csv.out || fail "ffnfloor.csv: expected no regression"
grep -q "^DRIFT: floor GEMM fp32 gpt 4096x8192x2048: 39.6 TFLOP/s vs baseline 49.5$" ffnfloor.csv.out ||
  fail "ffnfloor.csv: the GEMM floor's drift is not reported"
guard small.csv
((rc == 1)) || fail "a rate without a ratio 15% down: exit $rc, expected 1"
grep -q "^REGRESSION: small fp32 per-expert gpt S=8 tokens/expert=512: value 38.0 TFLOP/s < baseline 45.0$" \
  small.csv.out || fail "the value regression is not named"
guard fixedok.csv
((rc == 0)) || fail "a fixed cost from 3% to 4% of the step: exit $rc, expected 0"
guard fixedbad.csv
((rc == 1)) || fail "a fixed cost from 3% to 8% of the step: exit $rc, expected 1"
fixed="fixed cost per step (8 tokens, no optimizer) gpt fp32 E=32 T=4096"
grep -qF "REGRESSION: layer $fixed: ratio 0.080 > baseline 0.030 (value 4.000 ms)" \
  fixedbad.csv.out || fail "the fixed-cost regression is not named"
"$PYTHON" "$CHECK" ok.csv --emulate emulate-x-r8-s1.0.txt >emu.out || fail "emulate lines"
grep -q "emulate-x-r8-s1.0: ep/microep time ratio over imbalance ratio | 0.965 .* yes |" emu.out || fail "gain capture"
grep -q "microep throughput / balanced | 0.724 .* \*\*no\*\* |" emu.out || fail "microep vs balanced"
grep -q "microep-adaptive throughput / balanced | 0.994 .* yes |" emu.out || fail "adaptive vs balanced"
set +e
"$PYTHON" "$CHECK" >/dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "no arguments: exit $rc, expected 2"
set +e
"$PYTHON" "$CHECK" ok.csv --baseline missing.csv >/dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "a missing baseline: exit $rc, expected 2"
echo "gpu guard verdict: $failures failures"
((failures == 0))
