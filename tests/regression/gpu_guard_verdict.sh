#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The GPU guard's verdict (benchmarks/gpu/check_guard.py) on made-up figures: a rate more than
# 10% under its baseline fails (exit 1), one within the slack passes, targets are judged in the
# table, emulated runs' summary lines are read, bad usage exits 2.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CHECK="$MICROMOE_SOURCE/benchmarks/gpu/check_guard.py"
cat >base.csv <<'CSV'
section,name,value,unit,ratio
floor,"device copy 2048 MiB (read + write)",4000,GB/s,-1
ffn,"fwd+bwd fp32 gpt T=4096",47.0,TFLOP/s,0.95
permute,"gather_rows T=16384 k=2 H=2048",3800,GB/s,0.94
CSV
sed 's/^permute,\(.*\),3800,GB\/s,0.94/permute,\1,3500,GB\/s,0.87/' base.csv >ok.csv      # -8%: within 10%
sed 's/^ffn,\(.*\),47.0,TFLOP\/s,0.95/ffn,\1,40.0,TFLOP\/s,0.81/' base.csv >bad.csv       # -15%: regression
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
"$PYTHON" "$CHECK" ok.csv --emulate emulate-x-r8-s1.0.txt >emu.out || fail "emulate lines"
grep -q "emulate-x-r8-s1.0: ep/microep time ratio over imbalance ratio | 0.965 .* yes |" emu.out || fail "gain capture"
grep -q "microep throughput / balanced | 0.724 .* \*\*no\*\* |" emu.out || fail "microep vs balanced"
grep -q "microep-adaptive throughput / balanced | 0.994 .* yes |" emu.out || fail "adaptive vs balanced"
set +e
"$PYTHON" "$CHECK" >/dev/null 2>&1
rc=$?
set -e
((rc == 2)) || fail "no arguments: exit $rc, expected 2"
echo "gpu guard verdict: $failures failures"
((failures == 0))
